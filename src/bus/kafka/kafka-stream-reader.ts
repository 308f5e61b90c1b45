import { Logger } from '@nestjs/common';
import { filter, Observable, Subscription } from 'rxjs';
import { projectThenLive, replayThenLive } from '../replay';
import { BusDelivery, NEWEST, OLDEST, SubscribeOptions } from '../message-bus.interface';
import { KafkaFanoutConsumer, TopicState } from './kafka-fanout-consumer';
import { describe } from './kafka-helpers';
import { PartitionOffsets } from './kafka-topics';
import { parsePosition, PartitionedRecord } from './partitioned-log';

/**
 * Streams over what the fan-out consumer holds: a replay from the requested position, then the
 * live records. Streams subscribe once the consumer has caught up with the topic as it was at
 * start-up, so a client never gets old records as live ones, and its Last-Event-ID is replayed
 * from a full history.
 */
export class KafkaStreamReader {
  constructor(
    private readonly fanout: KafkaFanoutConsumer,
    /** The broker's end offsets of a topic, for positions past what this process knows. */
    private readonly endOffsets: (topic: string) => Promise<PartitionOffsets[]>,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  subscribe(topic: string, options: SubscribeOptions = {}): Observable<BusDelivery> {
    const state = this.fanout.state(topic);
    const { key } = options;
    if (options.projection) {
      return new Observable<BusDelivery>((subscriber) =>
        projectThenLive(
          subscriber,
          state.log.readAfter(state.log.beforeOldest(), key),
          this.fanout.live(topic, key),
        ),
      );
    }
    return new Observable<BusDelivery>((subscriber) => {
      let live: Subscription | undefined;
      const attachAt = (after: string) => {
        if (subscriber.closed) {
          return;
        }
        const replay = state.log.readAfter(after, key, state.highWatermarks);
        const { liveFloor } = replay;
        const records$ = this.fanout.live(topic, key) as Observable<PartitionedRecord>;
        live = replayThenLive(
          subscriber,
          after,
          replay,
          liveFloor
            ? records$.pipe(filter((record) => record.offset >= (liveFloor[record.partition] ?? 0)))
            : records$,
        );
      };
      const attach = () => {
        const requested = options.after;
        if (requested === undefined) {
          live = this.fanout.live(topic, key).subscribe(subscriber);
          return;
        }
        const after =
          requested === OLDEST
            ? state.log.beforeOldest()
            : requested === NEWEST
              ? state.log.head()
              : requested;
        // Past the end this process knows of: another instance may have read further, or the
        // position is not the topic's. The broker's end offsets tell which before the stream goes on.
        if (this.pastKnownEnd(state, after)) {
          void this.refreshEnds(topic, state).then(() => attachAt(after));
        } else {
          attachAt(after);
        }
      };
      if (state.caughtUp) {
        attach();
      } else {
        state.waiting.add(attach);
      }
      return () => {
        state.waiting.delete(attach);
        live?.unsubscribe();
      };
    });
  }

  private pastKnownEnd(state: TopicState, position: string): boolean {
    const asked = parsePosition(position);
    return (
      asked !== undefined &&
      asked.some(
        (offset, partition) =>
          offset > Math.max(state.highWatermarks[partition] ?? 0, state.log.nextOffset(partition) ?? 0),
      )
    );
  }

  /** Asks the broker for the topic's end offsets; on failure the ends last seen stand. */
  private refreshEnds(topic: string, state: TopicState): Promise<void> {
    state.refreshingEnds ??= this.endOffsets(topic)
      .then((offsets) => {
        for (const { partition, high } of offsets) {
          state.highWatermarks[partition] = Math.max(state.highWatermarks[partition] ?? 0, high);
        }
      })
      .catch((error: unknown) => {
        this.logger.warn(`Could not read the end offsets of ${topic}: ${describe(error)}`);
      })
      .finally(() => {
        state.refreshingEnds = undefined;
      });
    return state.refreshingEnds;
  }
}
