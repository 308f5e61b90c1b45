import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { parameterByDto } from '../multiplex/stream-catalog';
import { SseItem } from '../sse/sse-replay';
import { V3UserQueryDto } from './dto/v3-user-query.dto';
import { USER_STREAM_ACCESS, V3_STREAM } from './events.constants';
import { V3EventsService } from './v3-events.service';

/** `v3:<username>` in GET /sse: what GET /v3/sse?username=<username> sends. */
@MultiplexStream()
export class V3StreamKind implements StreamKind {
  readonly prefix = 'v3';
  readonly pattern = 'v3:<username>';
  readonly access = USER_STREAM_ACCESS;
  readonly userCap = V3_STREAM;

  constructor(private readonly events: V3EventsService) {}

  parse(parameter: string | undefined): ParsedParameter {
    return parameterByDto(V3UserQueryDto, 'username', parameter);
  }

  open(username: string, lastEventId?: string): Observable<SseItem> {
    return this.events.stream(username, lastEventId);
  }
}
