/**
 * Group commit for single-row writes: what callers submit while earlier statements run is written by the
 * next statement, together. One statement of N rows costs the database one parse, one plan and one commit
 * (one WAL flush) instead of N, and this process one round trip; at low load a write still goes alone,
 * at once (it waits only for the current turn of the event loop to end, so writes that arrived together
 * leave together).
 *
 * Writes with the same key (the same row) are never in one statement, nor in two statements at once: a
 * statement updates a row once, and two concurrent statements on one row would wait on each other. They
 * run in the order they were submitted. When a statement of several writes fails, each of its writes is
 * tried again alone, so one bad write fails only its own caller.
 */
export interface KeyedBatcherOptions<I, R> {
  /** Writes the items in one statement; returns one outcome per item, in order. */
  run(items: readonly I[]): Promise<readonly R[]>;
  /** Items per statement, at most. */
  maxBatch: number;
  /** Statements in flight at once, at most (each holds a pool connection). */
  maxInFlight: number;
}

interface Queued<I, R> {
  key: string;
  item: I;
  resolve(outcome: R): void;
  reject(error: unknown): void;
}

export class KeyedBatcher<I, R> {
  private queue: Queued<I, R>[] = [];
  /** Keys with a write in a statement now. */
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly options: KeyedBatcherOptions<I, R>) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ key, item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) {
        return; // every waiting key is busy; the statement holding it pumps again when it ends
      }
      this.start(batch);
    }
  }

  /** Oldest first, skipping keys that are busy or already taken; a skipped write keeps its place. */
  private take(): Queued<I, R>[] {
    const batch: Queued<I, R>[] = [];
    const rest: Queued<I, R>[] = [];
    const taken = new Set<string>();
    for (const queued of this.queue) {
      if (batch.length < this.options.maxBatch && !this.busy.has(queued.key) && !taken.has(queued.key)) {
        taken.add(queued.key);
        batch.push(queued);
      } else {
        rest.push(queued);
      }
    }
    this.queue = rest;
    return batch;
  }

  private start(batch: Queued<I, R>[]): void {
    this.inFlight++;
    for (const queued of batch) {
      this.busy.add(queued.key);
    }
    const items = batch.map((queued) => queued.item);
    // Inside a promise, so that a run that throws at once rejects like one that fails later.
    Promise.resolve()
      .then(() => this.options.run(items))
      .then(
        (results) => {
          if (results.length !== batch.length) {
            throw new Error(`a batch of ${batch.length} writes returned ${results.length} outcomes`);
          }
          batch.forEach((queued, index) => queued.resolve(results[index]));
        },
        (error: unknown) => {
          if (batch.length > 1) {
            return this.retryAlone(batch);
          }
          batch.forEach((queued) => queued.reject(error));
        },
      )
      .catch((error: unknown) => batch.forEach((queued) => queued.reject(error)))
      .finally(() => {
        this.inFlight--;
        for (const queued of batch) {
          this.busy.delete(queued.key);
        }
        this.pump();
      });
  }

  /** After a failed statement: each write alone, one after another, holding its key meanwhile. */
  private async retryAlone(batch: Queued<I, R>[]): Promise<void> {
    for (const queued of batch) {
      try {
        const [outcome] = await this.options.run([queued.item]);
        queued.resolve(outcome);
      } catch (error) {
        queued.reject(error);
      }
    }
  }
}
