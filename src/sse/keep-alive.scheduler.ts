import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { SharedComment } from './sse-connection';

/** Ticks of a wheel per keep-alive interval: a comment goes out at most 2/20 of an interval late. */
const TICKS_PER_INTERVAL = 20;

/** A coarse clock, in ticks of a keep-alive wheel: streams stamp their writes with it. */
export interface WriteClock {
  readonly now: number;
}

/** A stream kept alive: SseConnection. */
export interface KeepAliveTarget {
  /** The clock's `now` at the stream's last write of any kind. */
  readonly lastWriteAt: number;
  /** From now on stamps every write with the clock; undefined stops it. */
  stampWritesWith(clock: WriteClock | undefined): void;
  /** Writes the comment (or nothing while a replay is being read, whose events keep it alive). */
  sendComment(comment: SharedComment): void;
}

interface Entry {
  readonly target: KeepAliveTarget;
  /** The slot of the wheel it waits in. */
  slot: number;
  /** Set by remove(): a comment's write may end its stream, which must then not be placed again. */
  removed: boolean;
}

/**
 * The streams of one (interval, text), on one timer. A keep-alive is owed only after a whole
 * interval without a write, so a write costs the stream a clock read and a store, nothing here:
 * each stream waits in the slot of its next possible keep-alive, and when that comes round it is
 * sent the comment if it has been silent since, else moved to the slot an interval after its last
 * write. Each stream is looked at about once per interval, busy or idle.
 */
class KeepAliveWheel implements WriteClock {
  now = 0;
  /** Streams registered. */
  size = 0;
  private readonly slots: Set<Entry>[];
  /** Ticks that certainly span an interval: a write stamped `t` may have come just before tick t + 1. */
  private readonly wait: number;
  private readonly timer: NodeJS.Timeout;
  private readonly tickMs: number;
  private readonly startedAt: number;
  private readonly comment: SharedComment;

  constructor(intervalMs: number, text: string) {
    const tickMs = Math.max(1, Math.floor(intervalMs / TICKS_PER_INTERVAL));
    this.tickMs = tickMs;
    this.startedAt = Date.now();
    this.wait = Math.ceil(intervalMs / tickMs) + 1;
    // A stream is due between the next tick and `wait` ticks on: one more slot never wraps onto the current one.
    this.slots = Array.from({ length: this.wait + 1 }, () => new Set<Entry>());
    this.comment = new SharedComment(text);
    this.timer = setInterval(this.tick, tickMs);
  }

  add(target: KeepAliveTarget): Entry {
    target.stampWritesWith(this);
    const entry: Entry = { target, slot: 0, removed: false };
    this.size++;
    this.place(entry, this.now + this.wait);
    return entry;
  }

  remove(entry: Entry): void {
    this.slots[entry.slot].delete(entry);
    entry.removed = true;
    this.size--;
    entry.target.stampWritesWith(undefined);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private place(entry: Entry, due: number): void {
    entry.slot = due % this.slots.length;
    this.slots[entry.slot].add(entry);
  }

  /**
   * The clock follows the wall clock, not the count of timer callbacks: under load a 20 ms timer
   * fires late, and counting its calls would add those delays up into comments a whole tick late
   * per tick. A late call visits every slot it missed (at most a whole round of the wheel).
   */
  private readonly tick = (): void => {
    const now = Math.floor((Date.now() - this.startedAt) / this.tickMs);
    if (now <= this.now) {
      return; // early, or the wall clock went back: the wheel never turns backwards
    }
    const first = Math.max(this.now + 1, now - this.slots.length + 1);
    this.now = now;
    for (let tick = first; tick <= now; tick++) {
      const index = tick % this.slots.length;
      const slot = this.slots[index];
      // A fresh set first: an entry placed back into this slot waits for its next round, not this loop.
      this.slots[index] = new Set<Entry>();
      for (const entry of slot) {
        const due = entry.target.lastWriteAt + this.wait;
        if (due <= now) {
          entry.target.sendComment(this.comment);
          if (!entry.removed) {
            this.place(entry, now + this.wait);
          }
        } else {
          this.place(entry, due);
        }
      }
    }
  };
}

/**
 * Keep-alive comments for every stream: one is sent only after an interval with no other write on
 * the stream, so a busy stream carries none, and an idle one gets one per interval from its last
 * write (v1's reference output: four `: keep-alive-text` between two `data: hi!`, none beside one).
 * One timer per (interval, text) serves all the streams that share it, and stops with the last.
 */
@Injectable()
export class KeepAliveScheduler implements OnApplicationShutdown {
  private readonly wheels = new Map<string, KeepAliveWheel>();

  /** Keeps the stream alive with `: <text>` after every `intervalMs` of silence, until the returned function is called. */
  register(target: KeepAliveTarget, intervalMs: number, text: string): () => void {
    const key = `${intervalMs}:${text}`;
    let wheel = this.wheels.get(key);
    if (!wheel) {
      wheel = new KeepAliveWheel(intervalMs, text);
      this.wheels.set(key, wheel);
    }
    const owner = wheel;
    const entry = owner.add(target);
    let registered = true;
    return () => {
      if (!registered) {
        return;
      }
      registered = false;
      owner.remove(entry);
      if (owner.size === 0 && this.wheels.get(key) === owner) {
        owner.stop();
        this.wheels.delete(key);
      }
    };
  }

  /** Timers running: for leak checks. */
  activeTimers(): number {
    return this.wheels.size;
  }

  onApplicationShutdown(): void {
    for (const wheel of this.wheels.values()) {
      wheel.stop();
    }
    this.wheels.clear();
  }
}
