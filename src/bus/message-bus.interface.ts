import { Observable } from 'rxjs';

/** One message on a topic, as every implementation delivers it. */
export interface BusRecord {
  readonly topic: string;
  /** Routing key within the topic (a user name, an entity id), or null for topic-wide messages. */
  readonly key: string | null;
  readonly value: string;
  /** Opaque position in the topic, increasing; streams use it as the SSE `id:`. */
  readonly position: string;
  readonly timestamp: number;
  /** Kafka only: the record's partition and its offset there (the in-memory bus has neither). */
  readonly partition?: number;
  readonly offset?: number;
  /** Kafka only, when its producer set any: the record's headers as text (a repeated name: a list). */
  readonly headers?: RecordHeaders;
}

export type RecordHeaders = Readonly<Record<string, string | readonly string[]>>;

/**
 * Told first when a subscriber asks to resume after a position the bus no longer holds (older than
 * the retained history) or never issued (of another run, malformed, ahead of the topic). Delivery
 * then goes on from `resumeAfter`.
 */
export interface BusGap {
  readonly gap: true;
  readonly requested: string;
  readonly resumeAfter: string;
}

/**
 * What a subscriber that gave `after` gets first (after the gap notice, if any): the retained
 * records it missed, all at once but to be read at its own pace, and the position it starts from.
 * Live records follow, each once: the two are taken in one synchronous step.
 */
export interface BusReplay {
  readonly replay: true;
  /** Where the subscription stands before the first of `records`: a resume point. */
  readonly position: string;
  readonly records: readonly BusRecord[];
}

export type BusDelivery = BusRecord | BusGap | BusReplay;

export const isBusGap = (delivery: BusDelivery): delivery is BusGap => 'gap' in delivery;
export const isBusReplay = (delivery: BusDelivery): delivery is BusReplay => 'replay' in delivery;
export const isBusRecord = (delivery: BusDelivery): delivery is BusRecord => 'value' in delivery;

/** `after` this: replay everything the bus holds of the topic (of the key), then live records. */
export const OLDEST = Symbol('oldest retained record');
/** `after` this: live records only, after a BusReplay without records that says where they start. */
export const NEWEST = Symbol('newest record');

export interface SubscribeOptions {
  /** Only records with this key; all records of the topic when absent. */
  key?: string;
  /**
   * Resume: first the retained records after this position (exclusive), as one BusReplay, then
   * live ones, each once and in order. A position the bus never issued (malformed, of another run,
   * ahead of the topic) is a gap: a BusGap, then live records from the newest one. Absent: live
   * records only.
   */
  after?: string | typeof OLDEST | typeof NEWEST;
  /**
   * For state derived from the log, not for client streams: every record the bus holds and every
   * one it takes from now on, as it takes them; on Kafka that includes the whole catch-up at
   * start (for a commit-log topic, the whole retained topic), not only what stays in history.
   */
  projection?: boolean;
}

/** The verdict of a topic's `parse` on one record: its routing key, or why it is skipped. */
export type ParsedRecord = { key: string | null } | { error: string };

export interface TopicOptions {
  /**
   * Checks each record's value and names its routing key. Records written by other producers can
   * be malformed: an `error` skips the record (logged with the reason), it never stops the bus.
   * Default: every value is accepted, keyed by the transport's own record key.
   */
  parse?: (value: string, key: string | null) => ParsedRecord;
  /**
   * The topic is a commit log whose whole retained content matters (entity events): read it from
   * its beginning at start-up, not only the tail kept for resume.
   */
  commitLog?: boolean;
  /**
   * The topic is not the service's: other producers' records, opened to clients as they are by
   * this setting (KAFKA_SSE_TOPICS). Every other topic declared, or read as commands, is the
   * service's own, and an opened topic must not be one of those (see TopicClaims).
   */
  openedBy?: string;
}

/** One record of a batch to publish: see MessageBus.publishAll. */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string;
}

export interface BusHealth {
  readonly up: boolean;
  readonly details: Record<string, unknown>;
}

/**
 * The message bus every feature publishes to and streams from. Domain code only sees this.
 * Features declare their topics when they are constructed; the bus starts once the application
 * is up, so it knows every topic before it connects to a transport.
 */
export interface MessageBus {
  declareTopic(topic: string, options?: TopicOptions): void;

  /**
   * Resolves once the record is durable for this implementation (appended; acknowledged by every
   * in-sync replica). Rejects with BusUnavailableError when the transport cannot take it in time.
   */
  publish(topic: string, key: string | null, value: string): Promise<BusRecord>;

  /**
   * Every record or none: resolves with the stored records, in the order given, once the bus holds
   * all of them (on Kafka: one transaction, committed once every in-sync replica acknowledged every
   * record). Rejects with BusUnavailableError when it cannot; then none of them is delivered. The
   * records of one topic and key keep the order given.
   */
  publishAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]>;

  subscribe(topic: string, options?: SubscribeOptions): Observable<BusDelivery>;

  /**
   * Commands: each record of the topic is handled once across all instances (with Kafka, one
   * consumer group shared by every instance, named by `group`), in order per partition; its offset
   * is committed once the handler resolves. The handler deals with bad commands itself (log,
   * dead-letter) and rejects only on failures worth retrying (a store that is down): Kafka then
   * reads the record again; the in-memory bus logs it and goes on. Call before the bus starts.
   */
  handleCommands(topic: string, group: string, handler: (record: BusRecord) => Promise<void>): void;

  /** The position of the newest record of the topic: a resume point that replays nothing. */
  head(topic: string): string;

  health(): BusHealth;

  /** Starts connecting in the background: the service serves whether or not a transport is up. */
  start?(): void;

  /** Stops consuming (committing what was read) and flushes what was published. */
  close?(): Promise<void>;
}
