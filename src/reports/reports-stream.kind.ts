import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { parameterByDto } from '../multiplex/stream-catalog';
import { SseItem } from '../sse/sse-replay';
import { UserIdQueryDto } from './dto/user-id-query.dto';
import { REPORT_STREAM_ACCESS, REPORTS_STREAM } from './reports.constants';
import { ReportsService } from './reports.service';

/** `reports:<user uuid>` in GET /sse: what GET /v4/sse?user_id=<uuid> sends, resumable from the database. */
@MultiplexStream()
export class ReportsStreamKind implements StreamKind {
  readonly prefix = 'reports';
  readonly pattern = 'reports:<user uuid>';
  readonly access = REPORT_STREAM_ACCESS;
  readonly userCap = REPORTS_STREAM;

  constructor(private readonly reports: ReportsService) {}

  parse(parameter: string | undefined): ParsedParameter {
    return parameterByDto(UserIdQueryDto, 'user_id', parameter);
  }

  open(userId: string, lastEventId?: string): Observable<SseItem> {
    return this.reports.stream(userId, lastEventId);
  }
}
