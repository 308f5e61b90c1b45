import { SseEvent } from './sse-event';

/** The next event of a replay, undefined once it is over, or a promise of either. */
export type NextReplayEvent = SseEvent | undefined | Promise<SseEvent | undefined>;

/**
 * Events a connection takes at its own pace, as its socket drains, rather than all at once: the
 * replay of what a client missed. Nothing is encoded before the socket has room for it, so a client
 * that resumes far back, or stops reading, costs its connection's buffer bound, not the history.
 * `next()` must not reject: a source that fails ends its stream through its Observable.
 */
export class SseReplay {
  constructor(
    /**
     * Where the stream stands before the first event: sent as an `id:` (without data), so that a
     * client that reconnects before any event resumes from there.
     */
    readonly position: string | undefined,
    readonly next: () => NextReplayEvent,
  ) {}

  /** A replay of events already at hand. */
  static of(position: string | undefined, events: readonly SseEvent[]): SseReplay {
    let index = 0;
    return new SseReplay(position, () => events[index++]);
  }
}

/** What a stream handler's Observable emits: events, and replays to be read at the client's pace. */
export type SseItem = SseEvent | SseReplay;
