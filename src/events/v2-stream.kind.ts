import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { parameterByDto } from '../multiplex/stream-catalog';
import { SseItem } from '../sse/sse-replay';
import { UserQueryDto } from './dto/user-query.dto';
import { USER_STREAM_ACCESS, V2_STREAM } from './events.constants';
import { EventsService } from './events.service';

/** `v2:<username>` in GET /sse: what GET /v2/sse?username=<username> sends. */
@MultiplexStream()
export class V2StreamKind implements StreamKind {
  readonly prefix = 'v2';
  readonly pattern = 'v2:<username>';
  readonly access = USER_STREAM_ACCESS;
  readonly userCap = V2_STREAM;

  constructor(private readonly events: EventsService) {}

  parse(parameter: string | undefined): ParsedParameter {
    return parameterByDto(UserQueryDto, 'username', parameter);
  }

  open(username: string, lastEventId?: string): Observable<SseItem> {
    return this.events.messages.open({ key: username, lastEventId });
  }
}
