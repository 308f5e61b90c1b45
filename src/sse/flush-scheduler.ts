/** Something with bytes waiting to go out. */
export interface Flushable {
  flush(): void;
}

/**
 * Writes out, once per event-loop turn, everything queued during it: events that arrive in the same
 * turn leave in one write per socket, and one `setImmediate` serves every connection.
 */
export class FlushScheduler {
  private dirty: Flushable[] = [];
  private scheduled = false;

  schedule(target: Flushable): void {
    this.dirty.push(target);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const batch = this.dirty;
    this.dirty = [];
    for (const target of batch) {
      target.flush();
    }
  };
}
