import { BusRecord, RecordHeaders } from '../message-bus.interface';

/** A record consumed from Kafka, with where it sits in its topic. */
export interface PartitionedRecord extends BusRecord {
  readonly partition: number;
  readonly offset: number;
}

export interface PartitionedRead {
  readonly records: PartitionedRecord[];
  /** False when records after the requested position may have been dropped, or it is foreign. */
  readonly complete: boolean;
  /** The position delivery goes on from. */
  readonly resumeAfter: string;
  /**
   * Set when the requested position is ahead of this process (a client that was on a faster
   * instance): live records below these offsets were already seen by the client and are skipped.
   */
  readonly liveFloor?: readonly number[];
}

const VECTOR = /^\d{1,16}(\.\d{1,16}){0,1023}$/;

/**
 * What this process holds of one Kafka topic: the records it has consumed, in the order it
 * consumed them, bounded by count and size like TopicLog.
 *
 * A position is a vector: the next offset to read in each partition, dot-separated (`15` for one
 * partition, `15.7.9` for three), meaning "every record before these offsets was seen". Each
 * partition is in the same order on every instance, so a position means the same everywhere and a
 * client resumes on whichever instance it reaches; a partition-wide offset alone would not do when
 * records of one user are spread over several partitions.
 */
export class PartitionedLog {
  private readonly ring: (PartitionedRecord | undefined)[];
  private nextSeq = 0;
  private firstSeq = 0;
  private retainedSize = 0;
  /** Per partition: the next offset to take. */
  private readonly next: number[] = [];
  /** Per partition: every record from this offset on is still held (or was never written). */
  private readonly retainedFrom: number[] = [];

  constructor(
    readonly topic: string,
    private readonly capacity: number,
    private readonly maxSize: number,
  ) {
    this.ring = new Array<PartitionedRecord | undefined>(capacity);
  }

  /** Where consumption of a partition starts: nothing before it is held. */
  startAt(partition: number, offset: number): void {
    this.grow(partition);
    this.next[partition] = offset;
    this.retainedFrom[partition] = offset;
  }

  /** The next offset this log takes in a partition. */
  nextOffset(partition: number): number | undefined {
    return this.next[partition];
  }

  /** A record that is not kept (malformed): the partition moves past it all the same. */
  skip(partition: number, offset: number): void {
    this.ensureStarted(partition, offset);
    if (offset >= this.next[partition]) {
      this.next[partition] = offset + 1;
    }
  }

  /** Takes a record, unless this log already moved past its offset (then undefined: a duplicate). */
  append(
    partition: number,
    offset: number,
    key: string | null,
    value: string,
    timestamp: number,
    headers?: RecordHeaders,
  ): PartitionedRecord | undefined {
    this.ensureStarted(partition, offset);
    if (offset < this.next[partition]) {
      return undefined;
    }
    this.next[partition] = offset + 1;
    const record: PartitionedRecord = {
      topic: this.topic,
      key,
      value,
      position: this.next.join('.'),
      timestamp,
      partition,
      offset,
      headers,
    };
    while (this.nextSeq - this.firstSeq >= this.capacity) {
      this.evictOldest();
    }
    this.ring[this.nextSeq++ % this.capacity] = record;
    this.retainedSize += value.length;
    // The newest record stays even when it alone is over the bound: live streams still get it.
    while (this.retainedSize > this.maxSize && this.nextSeq - this.firstSeq > 1) {
      this.evictOldest();
    }
    return record;
  }

  /** Records held now: for tests and metrics. */
  get retained(): number {
    return this.nextSeq - this.firstSeq;
  }

  /** The position after everything taken so far: a resume point that replays nothing. */
  head(): string {
    return this.next.length === 0 ? '0' : this.next.join('.');
  }

  /**
   * The held record at `offset` of `partition`, if this process has consumed it: looked for from the
   * newest, where a record whose publish was just acknowledged is.
   */
  recordAt(partition: number, offset: number): PartitionedRecord | undefined {
    if ((this.next[partition] ?? 0) <= offset) {
      return undefined;
    }
    for (let seq = this.nextSeq - 1; seq >= this.firstSeq; seq--) {
      const record = this.ring[seq % this.capacity];
      if (record?.partition === partition && record.offset <= offset) {
        return record.offset === offset ? record : undefined;
      }
    }
    return undefined;
  }

  /** A resume point just after `offset` of `partition`: what this process holds, and that record. */
  positionAfter(partition: number, offset: number): string {
    const next = Array.from(
      { length: Math.max(this.next.length, partition + 1) },
      (_, index) => this.next[index] ?? 0,
    );
    next[partition] = Math.max(next[partition], offset + 1);
    return next.join('.');
  }

  /** The position before everything held: reading after it replays all of it. */
  beforeOldest(): string {
    return this.retainedFrom.length === 0 ? '0' : this.retainedFrom.join('.');
  }

  /**
   * Held records after `position`, optionally of one key, oldest first. A position that does not
   * parse, or that is past `ends` (the topic's end offsets, when known) in any partition, was not
   * issued by the topic: there is no telling what the client missed in any partition (its other
   * offsets are no more the client's than that one), so every partition goes on from what this
   * process has taken, with a gap.
   */
  readAfter(position: string, key?: string, ends?: readonly number[]): PartitionedRead {
    const requested = parsePosition(position);
    if (
      requested === undefined ||
      (ends !== undefined &&
        requested.some((asked, partition) => asked > Math.max(ends[partition] ?? 0, this.next[partition] ?? 0)))
    ) {
      return { records: [], complete: false, resumeAfter: this.head() };
    }
    const partitions = Math.max(this.next.length, requested.length);
    const floor: number[] = [];
    let complete = true;
    let ahead = false;
    for (let partition = 0; partition < partitions; partition++) {
      const asked = requested[partition] ?? 0;
      const held = this.retainedFrom[partition] ?? 0;
      const next = this.next[partition] ?? 0;
      if (asked < held) {
        complete = false;
      }
      floor[partition] = Math.max(asked, held);
      ahead ||= floor[partition] > next;
    }
    const records: PartitionedRecord[] = [];
    for (let seq = this.firstSeq; seq < this.nextSeq; seq++) {
      const record = this.ring[seq % this.capacity]!;
      if (record.offset >= (floor[record.partition] ?? 0) && (key === undefined || record.key === key)) {
        records.push(record);
      }
    }
    return {
      records,
      complete,
      resumeAfter: floor.length === 0 ? '0' : floor.join('.'),
      liveFloor: ahead ? floor : undefined,
    };
  }

  private ensureStarted(partition: number, offset: number): void {
    // A partition added to the topic while running starts where its first record is.
    if (this.next[partition] === undefined) {
      this.startAt(partition, offset);
    }
  }

  private grow(partition: number): void {
    for (let index = this.next.length; index <= partition; index++) {
      this.next[index] ??= 0;
      this.retainedFrom[index] ??= 0;
    }
  }

  private evictOldest(): void {
    const slot = this.firstSeq++ % this.capacity;
    const record = this.ring[slot];
    this.ring[slot] = undefined;
    if (record) {
      this.retainedSize -= record.value.length;
      this.retainedFrom[record.partition] = Math.max(this.retainedFrom[record.partition], record.offset + 1);
    }
  }
}

/** The offsets of a position, or undefined when it is not one. */
export function parsePosition(position: string): number[] | undefined {
  return VECTOR.test(position) ? position.split('.').map(Number) : undefined;
}
