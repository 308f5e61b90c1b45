import { Observable, Subscription } from 'rxjs';
import { SseEvent, SsePositionMarker } from '../sse/sse-event';
import { NextReplayEvent, SseItem, SseReplay } from '../sse/sse-replay';
import { SlowReaderError } from '../sse/sse.errors';
import { CompositeEventId } from './composite-event-id';
import { MultiplexedEvents } from './multiplexed-event';

/** One stream of a multiplexed connection: its name, its events, where it resumes from. */
export interface StreamSource {
  readonly name: string;
  readonly events: Observable<SseItem>;
  /** The position it resumes after, or '' when it starts afresh. */
  readonly position: string;
}

/**
 * Several streams on one connection. Each event goes out under its stream's name with a composite
 * id: every stream's position as of that event, so a client that resumes from it gets from each
 * stream exactly what it had not sent.
 *
 * That needs ids to be made in the order events are written. Live events are, as they come. A
 * replay (SseReplay) is read at the client's pace, later: while one is being read, everything
 * that comes (live events of other streams, their replays) waits here behind it, and the whole is
 * handed to the connection as one replay whose events get their ids as the connection takes them.
 * What waits is bounded like the connection's own backlog (`maxQueuedBytes`): beyond it the client
 * is dropped as a slow reader.
 */
export function multiplexStreams(
  sources: readonly StreamSource[],
  ids: CompositeEventId,
  events: MultiplexedEvents,
  maxQueuedBytes: number,
): Observable<SseItem> {
  return new Observable<SseItem>((subscriber) => {
    const positions = ids.tracker(sources.map((source) => source.position));
    /** Items that came while a replay is read, with the index of their stream, in order. */
    let queue: { index: number; item: SseItem; started?: boolean }[] = [];
    let queuedBytes = 0;
    /** A replay of this connection is in the connection's hands: items wait in `queue`. */
    let replaying = false;

    const mapped = (index: number, event: SseEvent): SseEvent => {
      positions.move(index, event.id);
      return event instanceof SsePositionMarker
        ? new SsePositionMarker(positions.id)
        : events.of(event, sources[index].name, positions.id);
    };

    /** The next event of the connection's replay: from the queue, ids made now, in write order. */
    const next = (): NextReplayEvent => {
      for (;;) {
        const head = queue[0];
        if (head === undefined) {
          replaying = false;
          return undefined;
        }
        const { index, item } = head;
        if (item instanceof SseEvent) {
          queue.shift();
          queuedBytes -= item.frame.length;
          return mapped(index, item);
        }
        if (!head.started) {
          head.started = true;
          if (item.position !== undefined && positions.move(index, item.position)) {
            return new SsePositionMarker(positions.id);
          }
        }
        const event = item.next();
        if (event instanceof Promise) {
          return event.then((fetched) => {
            if (fetched === undefined) {
              queue.shift();
              return next();
            }
            return mapped(index, fetched);
          });
        }
        if (event === undefined) {
          queue.shift();
          continue;
        }
        return mapped(index, event);
      }
    };

    const take = (index: number, item: SseItem) => {
      if (!replaying && item instanceof SseEvent) {
        subscriber.next(mapped(index, item));
        return;
      }
      queue.push({ index, item });
      if (item instanceof SseEvent) {
        // At the size its own route sends it, which publishing checked against the bound: the
        // names and composite id this connection adds do not count.
        queuedBytes += item.frame.length;
        if (queuedBytes > maxQueuedBytes) {
          queue = [];
          subscriber.error(
            new SlowReaderError('slow reader disconnected: live events piled up behind a replay'),
          );
          return;
        }
      }
      if (!replaying) {
        replaying = true;
        subscriber.next(new SseReplay(undefined, next));
      }
    };

    const subscriptions = new Subscription();
    let open = sources.length;
    sources.forEach((source, index) => {
      if (subscriber.closed) {
        return;
      }
      subscriptions.add(
        source.events.subscribe({
          next: (item) => take(index, item),
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            if (--open === 0) {
              subscriber.complete();
            }
          },
        }),
      );
    });
    return () => {
      subscriptions.unsubscribe();
      queue = [];
    };
  });
}
