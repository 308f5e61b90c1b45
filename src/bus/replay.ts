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
 * Hands a subscriber the replay (a gap notice first when it is incomplete) as one BusReplay, then
 * subscribes it to live records, in one synchronous step: no record published in between is
 * missed or delivered twice. The subscriber reads the replay's records at its own pace (a stream,
 * as its socket drains). Shared by every MessageBus implementation.
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
  subscriber.next({ replay: true, position: replay.resumeAfter, records: replay.records });
  if (subscriber.closed) {
    return undefined;
  }
  return live.subscribe(subscriber);
}

/**
 * For projections: every retained record, one by one, then live ones, in one synchronous step.
 * State derived from the log needs them all, at once.
 */
export function projectThenLive(
  subscriber: Subscriber<BusDelivery>,
  replay: Replay,
  live: Observable<BusRecord>,
): Subscription | undefined {
  for (const record of replay.records) {
    if (subscriber.closed) {
      return undefined;
    }
    subscriber.next(record);
  }
  return live.subscribe(subscriber);
}
