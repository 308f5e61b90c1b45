import { BusRecord } from './message-bus.interface';

/**
 * A bounded, append-only log of one topic: the in-memory stand-in for a Kafka partition. Offsets
 * increase from 1 (0 is "before the first record"); positions are `<epoch>-<offset>`, so that an id
 * from an earlier run of the process is recognised as foreign rather than mistaken for one of this
 * run.
 */
export class TopicLog {
  private readonly ring: (BusRecord | undefined)[];
  private nextOffset = 1;
  private firstRetained = 1;
  /** Characters of message text retained: the size bound, so big messages cannot pile up. */
  private retainedSize = 0;

  constructor(
    readonly topic: string,
    private readonly epoch: string,
    private readonly capacity: number,
    private readonly maxSize: number,
  ) {
    this.ring = new Array<BusRecord | undefined>(capacity);
  }

  append(key: string | null, value: string): BusRecord {
    const offset = this.nextOffset++;
    while (offset - this.firstRetained >= this.capacity) {
      this.evictOldest();
    }
    const record: BusRecord = {
      topic: this.topic,
      key,
      value,
      position: this.positionOf(offset),
      timestamp: Date.now(),
    };
    this.ring[offset % this.capacity] = record;
    this.retainedSize += value.length;
    // The newest record stays even when it alone is over the bound: live streams still get it.
    while (this.retainedSize > this.maxSize && this.firstRetained < offset) {
      this.evictOldest();
    }
    return record;
  }

  /** Records retained now: for tests and metrics. */
  get retained(): number {
    return this.nextOffset - this.firstRetained;
  }

  /** Position of the newest record (offset 0 before the first one). */
  head(): string {
    return this.positionOf(this.nextOffset - 1);
  }

  /** The position just before the oldest retained record: reading after it replays them all. */
  beforeOldest(): string {
    return this.positionOf(this.firstRetained - 1);
  }

  /**
   * Retained records after `position`, optionally of one key. `complete` is false when records
   * after that position were already dropped (they go on from the oldest retained one), or when
   * the position is not one this log issued (malformed, of another run, ahead of it): then there is
   * no telling what the client missed, so it goes on from the newest record, with nothing replayed.
   */
  readAfter(
    position: string,
    key?: string,
  ): { records: BusRecord[]; complete: boolean; resumeAfter: string } {
    const oldest = this.firstRetained;
    const requested = this.offsetOf(position);
    const known = requested !== undefined && requested < this.nextOffset;
    const complete = known && requested >= oldest - 1;
    const from = complete ? requested + 1 : known ? oldest : this.nextOffset;
    const records: BusRecord[] = [];
    for (let offset = from; offset < this.nextOffset; offset++) {
      const record = this.ring[offset % this.capacity]!;
      if (key === undefined || record.key === key) {
        records.push(record);
      }
    }
    return { records, complete, resumeAfter: this.positionOf(from - 1) };
  }

  private evictOldest(): void {
    const slot = this.firstRetained % this.capacity;
    this.retainedSize -= this.ring[slot]?.value.length ?? 0;
    this.ring[slot] = undefined;
    this.firstRetained++;
  }

  private positionOf(offset: number): string {
    return `${this.epoch}-${offset}`;
  }

  private offsetOf(position: string): number | undefined {
    const separator = position.lastIndexOf('-');
    if (separator <= 0 || position.slice(0, separator) !== this.epoch) {
      return undefined;
    }
    const digits = position.slice(separator + 1);
    return /^(0|[1-9]\d{0,15})$/.test(digits) ? Number(digits) : undefined;
  }
}
