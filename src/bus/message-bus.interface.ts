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
}

/**
 * Told first when a subscriber asks to resume after a position the bus no longer holds (older than
 * the retained history, or from another run). Delivery then goes on from `resumeAfter`.
 */
export interface BusGap {
  readonly gap: true;
  readonly requested: string;
  readonly resumeAfter: string;
}

export type BusDelivery = BusRecord | BusGap;

export const isBusGap = (delivery: BusDelivery): delivery is BusGap => 'gap' in delivery;

export interface SubscribeOptions {
  /** Only records with this key; all records of the topic when absent. */
  key?: string;
  /**
   * Resume: first the retained records after this position (exclusive), then live ones, each once
   * and in order. Absent: live records only.
   */
  after?: string;
}

export interface BusHealth {
  readonly up: boolean;
  readonly details: Record<string, unknown>;
}

/** The message bus every feature publishes to and streams from. Domain code only sees this. */
export interface MessageBus {
  /** Resolves once the record is durable for this implementation (appended; acknowledged). */
  publish(topic: string, key: string | null, value: string): Promise<BusRecord>;

  subscribe(topic: string, options?: SubscribeOptions): Observable<BusDelivery>;

  /** The position of the newest record of the topic: a resume point that replays nothing. */
  head(topic: string): string;

  health(): BusHealth;
}
