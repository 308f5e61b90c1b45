import type { GatewayError } from './gateway-error.js';

/**
 * Where a hub's connection stands: `connecting` until it first opens, `connected` while it is open,
 * `reconnecting` after it was lost (or found dead) until it opens again.
 */
export type HubStatus = 'connecting' | 'connected' | 'reconnecting';

/** One event of one stream, as the gateway framed it; `data` is the raw text, parsed by the subscription. */
export interface HubEvent {
  stream: string;
  type?: string;
  data: string;
  position: string;
}

export interface HubListener {
  event(e: HubEvent): void;
  /** The stream's history did not reach back to its position: the listener should refetch. */
  gap(stream: string): void;
  /** A refusal (4xx) of this stream, or a fault the hub gave up on; not retried in a loop. */
  error(stream: string, err: GatewayError): void;
}

/** Carries subscriptions. LocalHub: one GET /sse connection of this page; TabHub: one per browser. */
export interface Hub {
  /** Carries `stream` for `listener`; resumes after `position` when given (a new tab, a new leader). */
  add(stream: string, listener: HubListener, position?: string): void;
  remove(stream: string, listener: HubListener): void;
  /** The last position delivered of each stream this hub carries. */
  positions(): Record<string, string>;
  close(): void;
}
