import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Request } from 'express';
import { map, Observable } from 'rxjs';
import {
  BusDelivery,
  BusGap,
  BusRecord,
  BusReplay,
  isBusGap,
  isBusReplay,
  MessageBus,
  NEWEST,
  OLDEST,
} from '../bus/message-bus.interface';
import { SseEvent } from './sse-event';
import { SseItem, SseReplay } from './sse-replay';

/*
 * Resuming after Last-Event-ID, from the route to the bus: the id as every stream route reads it
 * (LastEventId), and the streams of a topic, resumed after it (TopicEventStream).
 */

/** Longest Last-Event-ID a single stream's route takes. */
export const MAX_EVENT_ID_LENGTH = 256;

/**
 * The id of the last event the client saw: the `Last-Event-ID` header that EventSource sends on
 * reconnect, or a `lastEventId` query parameter for clients that cannot set headers. At most
 * MAX_EVENT_ID_LENGTH characters unless the route says otherwise (`@LastEventId(4096)`).
 */
export const LastEventId = createParamDecorator(
  (maxLength: number | undefined, context: ExecutionContext): string | undefined => {
    const limit = maxLength ?? MAX_EVENT_ID_LENGTH;
    const request = context.switchToHttp().getRequest<Request>();
    const header = request.headers['last-event-id'];
    const query: unknown = request.query?.lastEventId;
    const value = typeof header === 'string' && header !== '' ? header : query;
    if (value === undefined || value === '') {
      return undefined;
    }
    if (typeof value !== 'string' || value.length > limit || /\p{Cc}/u.test(value)) {
      throw new BadRequestException(
        `Last-Event-ID (header or lastEventId query parameter) must be one string of at most ${limit} printable characters`,
      );
    }
    return value;
  },
);

/** Event type of the notice sent when a resume point is older than the retained history. */
export const HISTORY_GAP_EVENT = 'history-gap';

/**
 * The streams of one topic. Each record becomes one SseEvent, shared by every connection it goes
 * to, so it is encoded once however many streams carry it. Its id is the record's position, so
 * Last-Event-ID resumes right after it.
 */
export class TopicEventStream {
  // A live record reaches all its streams in one synchronous dispatch, so remembering the last one
  // is enough to encode it once. Keeping events as long as their records (the resume history)
  // would hold two encoded copies of every retained message.
  private lastRecord?: BusRecord;
  private lastEvent?: SseEvent;

  constructor(
    private readonly bus: MessageBus,
    readonly topic: string,
    /** The event a record makes; by default its value as the data, untyped. */
    private readonly toEvent: (record: BusRecord) => { data: string; type?: string } = (record) => ({
      data: record.value,
    }),
  ) {}

  /**
   * Live events (of one key), after a replay of what followed `lastEventId` when it is given, or
   * of everything held when `replay` is set (entity streams start with the entity's history). The
   * replay, even an empty one, carries the stream's starting position, so the client has an id to
   * resume from before the first event.
   */
  open(options: { key?: string; lastEventId?: string; replay?: boolean } = {}): Observable<SseItem> {
    const after = options.lastEventId ?? (options.replay ? OLDEST : NEWEST);
    return this.bus
      .subscribe(this.topic, { key: options.key, after })
      .pipe(map((delivery) => this.itemFor(delivery)));
  }

  /** Where a client that connects now starts: the topic's newest position. */
  head(): string {
    return this.bus.head(this.topic);
  }

  private itemFor(delivery: BusDelivery): SseItem {
    if (isBusGap(delivery)) {
      return gapEvent(delivery);
    }
    if (isBusReplay(delivery)) {
      return this.replayOf(delivery);
    }
    if (delivery === this.lastRecord && this.lastEvent) {
      return this.lastEvent;
    }
    this.lastRecord = delivery;
    this.lastEvent = this.eventOf(delivery);
    return this.lastEvent;
  }

  /** Each replayed event is made when the connection has room for it, and dropped once written. */
  private replayOf({ position, records }: BusReplay): SseReplay {
    let index = 0;
    return new SseReplay(position, () => {
      const record = records[index++];
      return record && this.eventOf(record);
    });
  }

  private eventOf(record: BusRecord): SseEvent {
    const { data, type } = this.toEvent(record);
    return new SseEvent(record.position, data, type);
  }
}

function gapEvent(gap: BusGap): SseEvent {
  const data = JSON.stringify({
    lastEventId: gap.requested,
    resumedAfter: gap.resumeAfter,
    message:
      'Events after lastEventId are no longer retained, or lastEventId was not issued by this stream; some may have been missed. The stream goes on after resumedAfter.',
  });
  return new SseEvent(gap.resumeAfter, data, HISTORY_GAP_EVENT);
}
