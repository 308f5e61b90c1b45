import { Observable, Subscriber, Subscription } from 'rxjs';
import { BusDelivery, BusRecord } from './message-bus.interface';

/** What a topic log gives back for a resume point. */
export interface Replay {
  readonly records: readonly BusRecord[];
  /** False when records after the requested position may be missing: the subscriber is told first. */
  readonly complete: boolean;
  readonly resumeAfter: string;
}

/**
 * Hands a subscriber the replay (a gap notice first when it is incomplete), then subscribes it to
 * live records, in one synchronous step: no record published in between is missed or delivered
 * twice. Shared by every MessageBus implementation.
 */
export function replayThenLive(
  subscriber: Subscriber<BusDelivery>,
  requested: string,
  replay: Replay,
  live: Observable<BusRecord>,
): Subscription | undefined {
  if (!replay.complete) {
    subscriber.next({ gap: true, requested, resumeAfter: replay.resumeAfter });
  }
  for (const record of replay.records) {
    if (subscriber.closed) {
      return undefined;
    }
    subscriber.next(record);
  }
  return live.subscribe(subscriber);
}
