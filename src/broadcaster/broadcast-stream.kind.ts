import { Observable } from 'rxjs';
import { MultiplexStream, ParsedParameter, StreamKind } from '../multiplex/stream-kind';
import { noParameter } from '../multiplex/stream-catalog';
import { SseItem } from '../sse/sse-replay';
import { BROADCAST_STREAM_ACCESS } from './broadcaster.constants';
import { BroadcasterService } from './broadcaster.service';

/** `broadcast` in GET /sse: what GET /events sends. */
@MultiplexStream()
export class BroadcastStreamKind implements StreamKind {
  readonly prefix = 'broadcast';
  readonly pattern = 'broadcast';
  readonly access = BROADCAST_STREAM_ACCESS;

  constructor(private readonly broadcaster: BroadcasterService) {}

  parse(parameter: string | undefined): ParsedParameter {
    return noParameter(parameter);
  }

  open(_parameter: string, lastEventId?: string): Observable<SseItem> {
    return this.broadcaster.stream(lastEventId);
  }
}
