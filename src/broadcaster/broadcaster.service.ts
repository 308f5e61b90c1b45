import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { SseEvent } from '../sse/sse-event';
import { SseItem } from '../sse/sse-replay';
import { StreamFit } from '../sse/stream-fit';
import { TopicEventStream } from '../sse/topic-event-stream';
import { BROADCAST_TOPIC } from './broadcaster.constants';

/** One stream that every client gets: each broadcast goes to all of them. */
@Injectable()
export class BroadcasterService {
  private readonly streams: TopicEventStream;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly fit: StreamFit,
  ) {
    bus.declareTopic(BROADCAST_TOPIC, { parse: this.fit.parser(() => bus.head(BROADCAST_TOPIC).length) });
    this.streams = new TopicEventStream(bus, BROADCAST_TOPIC, (record) => ({ data: record.value }));
  }

  /**
   * `data: connected` first, then every broadcast. The greeting carries the client's position (the
   * resume point, or the newest broadcast), so a reconnect resumes right after what it saw.
   */
  stream(lastEventId?: string): Observable<SseItem> {
    const after = lastEventId ?? this.streams.head();
    return startingWith(new SseEvent(after, 'connected'), this.streams.open({ lastEventId: after }));
  }

  async broadcast(message: string): Promise<{ id: string }> {
    this.fit.assertFits(message, this.bus.head(BROADCAST_TOPIC).length);
    const record = await this.bus.publish(BROADCAST_TOPIC, null, message);
    return { id: record.position };
  }
}

/**
 * `first`, then what `source` emits: rxjs's concat(of(first), source) without its merge machinery
 * (an operator subscriber, three closures and their scopes), which would live as long as the stream.
 * The subscriber is handed to `source` as it is, so no wrapper is made either.
 */
function startingWith<T>(first: T, source: Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    subscriber.next(first);
    return subscriber.closed ? undefined : source.subscribe(subscriber);
  });
}
