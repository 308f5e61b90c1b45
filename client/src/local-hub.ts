import { Backoff } from './backoff.js';
import {
  ConnectionEvents,
  Ending,
  EventSourceConstructor,
  Frame,
  GatewayConnection,
  openEventSourceConnection,
  openFetchConnection,
} from './gateway-connection.js';
import { GatewayError } from './gateway-error.js';
import type { Hub, HubListener, HubStatus } from './hub.js';
import { isAfter, positionsOf } from './positions.js';
import { renewalLead, tokenExpiresAt } from './token-expiry.js';

export interface LocalHubOptions {
  baseUrl: string;
  /** Called before each connect and before the token expires. */
  token?: () => string | Promise<string>;
  /** The gateway's keep-alive interval of `GET /sse` (EVENTS_KEEPALIVE_MS): silent for two of them, a connection is dead. */
  keepAliveMs?: number;
  /** The first reconnect delay until the server's `retry:` hint says otherwise. */
  retryMs?: number;
  /** The longest delay between reconnects. */
  maxRetryMs?: number;
  fetch?: typeof fetch;
  /** Used only where a streaming `fetch` is missing (or when `transport: 'eventsource'`). */
  eventSource?: EventSourceConstructor;
  transport?: 'fetch' | 'eventsource';
  /**
   * Told each time the connection's status changes (it starts as `connecting`): `connected` once a
   * connection is live, `reconnecting` when it is lost or found dead. A reopen for a changed list of
   * streams is no change: the status stays until the new connection opens or fails.
   */
  onStatus?: (status: HubStatus) => void;
}

interface Carried {
  listeners: Set<HubListener>;
  /** The last position delivered; undefined before the stream's first. */
  position?: string;
}

/** What the page or process is connected with: one GET /sse request, its streams and their order. */
interface Link {
  connection?: GatewayConnection;
  streams: readonly string[];
  live: boolean;
  lastActivity: number;
  /** Events of a link not yet switched to are delivered too: the de-duplication by position keeps each once. */
  token?: string;
}

/** Suffixes of typed events on `GET /sse`: `<name>.<type>`. */
const GAP = 'history-gap';
const TYPED_EVENTS = ['report_status_update', GAP];

/**
 * One `GET /sse` connection carrying every stream of this page (or process). It reopens with the
 * current position of every stream when the list changes, when the connection is lost (with
 * backoff) or found dead, and before the token expires (the next connection is made before the old
 * one is let go). Each stream's events are delivered in order and once, by position (positions.ts).
 */
export class LocalHub implements Hub {
  private readonly carried = new Map<string, Carried>();
  private readonly backoff: Backoff;
  private readonly keepAliveMs: number;
  private current?: Link;
  /** The connection of a renewed token, until it is live. */
  private next?: Link;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private renewTimer?: ReturnType<typeof setTimeout>;
  private watchdog?: ReturnType<typeof setInterval>;
  private reopenQueued = false;
  private closed = false;
  private status: HubStatus = 'connecting';
  /** Bumped by every (re)open: a token that arrives for an older one is dropped. */
  private generation = 0;
  private readonly detachWindow: () => void;

  constructor(private readonly options: LocalHubOptions) {
    this.backoff = new Backoff(options.retryMs ?? 2000, options.maxRetryMs ?? 30_000);
    this.keepAliveMs = options.keepAliveMs ?? 15_000;
    this.detachWindow = this.attachWindow();
  }

  add(stream: string, listener: HubListener, position?: string): void {
    this.assertOpen();
    let entry = this.carried.get(stream);
    if (entry === undefined) {
      entry = { listeners: new Set(), position };
      this.carried.set(stream, entry);
      this.queueReopen();
    } else if (position !== undefined && entry.position === undefined) {
      entry.position = position;
    }
    entry.listeners.add(listener);
  }

  remove(stream: string, listener: HubListener): void {
    const entry = this.carried.get(stream);
    if (entry === undefined || !entry.listeners.delete(listener)) {
      return;
    }
    if (entry.listeners.size === 0) {
      this.carried.delete(stream);
      this.queueReopen();
    }
  }

  positions(): Record<string, string> {
    return positionsOf(this.carried);
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.carried.clear();
    this.drop();
    this.detachWindow();
  }

  /** Whether a connection is open and has been heard from lately (for tests and for TabHub). */
  get connected(): boolean {
    return this.current?.live === true && !this.isSilent(this.current);
  }

  /** The status last told to `onStatus`. */
  get connectionStatus(): HubStatus {
    return this.status;
  }

  private setStatus(status: HubStatus): void {
    if (status === this.status || this.closed) {
      return;
    }
    this.status = status;
    try {
      this.options.onStatus?.(status);
    } catch {
      // A throwing status callback of the page must not take the connection's bookkeeping with it.
    }
  }

  /** The connection was lost or is dead: `reconnecting`, unless it never opened (still `connecting`). */
  private lost(): void {
    if (this.status === 'connected') {
      this.setStatus('reconnecting');
    }
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new Error('The client is closed');
    }
  }

  /** Several subscribes in one turn of the event loop make one new connection, not several. */
  private queueReopen(): void {
    if (this.reopenQueued) {
      return;
    }
    this.reopenQueued = true;
    queueMicrotask(() => {
      this.reopenQueued = false;
      if (!this.closed) {
        this.reopen();
      }
    });
  }

  /** Lets go of every connection and timer, then connects with the streams carried now, if any. */
  private reopen(): void {
    this.drop();
    if (this.carried.size > 0) {
      void this.connect();
    }
  }

  private drop(): void {
    this.generation++;
    for (const link of [this.current, this.next]) {
      link?.connection?.close();
    }
    this.current = undefined;
    this.next = undefined;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.renewTimer);
    clearInterval(this.watchdog);
    this.reconnectTimer = undefined;
    this.renewTimer = undefined;
    this.watchdog = undefined;
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    let token: string | undefined;
    try {
      token = await this.options.token?.();
    } catch (error) {
      if (generation === this.generation) {
        this.retryLater({ status: 0, message: `the token could not be had: ${describe(error)}` });
      }
      return;
    }
    if (generation !== this.generation || this.closed) {
      return;
    }
    this.current = this.open(token, (link) => this.onLive(link));
    this.watchdog ??= setInterval(() => this.checkAlive(), Math.max(100, this.keepAliveMs / 2));
  }

  /** Starts one GET /sse with the streams carried now and their positions. */
  private open(token: string | undefined, live: (link: Link) => void): Link {
    const streams = [...this.carried.keys()];
    const link: Link = { streams, live: false, lastActivity: Date.now(), token };
    const url = new URL('/sse', this.options.baseUrl);
    for (const stream of streams) {
      url.searchParams.append('stream', stream);
    }
    for (const stream of streams) {
      url.searchParams.append('position', this.carried.get(stream)?.position ?? '');
    }
    const events: ConnectionEvents = {
      open: () => {
        link.live = true;
        link.lastActivity = Date.now();
        live(link);
      },
      activity: () => {
        link.lastActivity = Date.now();
      },
      retry: (ms) => {
        this.backoff.retryHint = ms;
      },
      frame: (frame) => this.onFrame(link, frame),
      end: (ending) => this.onEnd(link, ending),
    };
    const eventSource =
      this.options.eventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    const useEventSource =
      this.options.transport === 'eventsource' ||
      (this.options.transport !== 'fetch' && !hasStreamingFetch());
    if (useEventSource && eventSource !== undefined) {
      const names = streams.flatMap((stream) => [stream, ...TYPED_EVENTS.map((type) => `${stream}.${type}`)]);
      link.connection = openEventSourceConnection(
        { url: url.toString(), token, eventSource, fetch: this.fetch },
        names,
        events,
      );
    } else {
      link.connection = openFetchConnection({ url: url.toString(), token, fetch: this.fetch }, events);
    }
    return link;
  }

  private get fetch(): typeof fetch {
    return this.options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private onLive(link: Link): void {
    if (link !== this.current) {
      return;
    }
    this.backoff.reset();
    this.scheduleRenewal(link.token);
    this.setStatus('connected');
  }

  private onFrame(link: Link, frame: Frame): void {
    if (link !== this.current && link !== this.next) {
      return;
    }
    const positions = decodeCompositeId(frame.id, link.streams.length);
    if (frame.data === undefined) {
      // An id-only block: streams moved without an event (where each listens from).
      positions?.forEach((position, index) => this.advance(link.streams[index], position));
      return;
    }
    const target = frame.event === undefined ? undefined : streamOf(frame.event, link.streams);
    if (target === undefined) {
      return;
    }
    const entry = this.carried.get(target.stream);
    if (entry === undefined) {
      return;
    }
    const position = positions?.[link.streams.indexOf(target.stream)];
    if (target.type === GAP) {
      if (position !== undefined) {
        entry.position = position;
      }
      for (const listener of [...entry.listeners]) {
        listener.gap(target.stream);
      }
    } else if (position === undefined || isAfter(position, entry.position)) {
      if (position !== undefined) {
        entry.position = position;
      }
      const event = { stream: target.stream, type: target.type, data: frame.data, position: position ?? '' };
      for (const listener of [...entry.listeners]) {
        listener.event(event);
      }
    }
    // The other streams' positions in this id are where they were: moving them forward only
    // keeps a connection being switched to from taking any of them back.
    positions?.forEach((other, index) => {
      if (link.streams[index] !== target.stream) {
        this.advance(link.streams[index], other);
      }
    });
  }

  private advance(stream: string, position: string | undefined): void {
    const entry = this.carried.get(stream);
    if (entry !== undefined && position !== undefined && isAfter(position, entry.position)) {
      entry.position = position;
    }
  }

  private onEnd(link: Link, ending: Ending): void {
    if (link === this.next) {
      // The renewed connection failed: the old one goes on; try again after a delay.
      this.next = undefined;
      if (ending.status >= 400 && ending.status < 500 && ending.status !== 429) {
        return; // the refusal reaches the listeners when the current connection is refused too
      }
      this.renewTimer = setTimeout(() => void this.renew(), this.backoff.next(ending.retryAfterMs));
      return;
    }
    if (link !== this.current) {
      return;
    }
    this.current = undefined;
    clearTimeout(this.renewTimer);
    this.lost();
    if (ending.status >= 400 && ending.status < 500 && ending.status !== 429) {
      this.refuse(link, ending);
      return;
    }
    this.retryLater(ending);
  }

  /**
   * A 4xx is not retried as it is: the streams it names (a 403 of one, a 400 naming some) are
   * dropped with an error to their listeners and the others reconnect; when it names none, every
   * stream of the request gets it.
   */
  private refuse(link: Link, ending: Ending): void {
    const named = link.streams.filter((stream) => ending.message.includes(JSON.stringify(stream)));
    const refused = named.length > 0 ? named : link.streams;
    for (const stream of refused) {
      const entry = this.carried.get(stream);
      this.carried.delete(stream);
      for (const listener of entry?.listeners ?? []) {
        listener.error(stream, new GatewayError(ending.status, ending.message, stream));
      }
    }
    this.reopen();
  }

  private retryLater(ending: Ending): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.reopen();
    }, this.backoff.next(ending.retryAfterMs));
  }

  /** Renews a little before the token expires, with a connection of its own. */
  private scheduleRenewal(token: string | undefined): void {
    clearTimeout(this.renewTimer);
    const expiresAt = token === undefined ? undefined : tokenExpiresAt(token);
    if (expiresAt === undefined || this.options.token === undefined) {
      return;
    }
    const lifetime = expiresAt - Date.now();
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(0, lifetime - renewalLead(lifetime)));
  }

  /**
   * Opens a connection with a fresh token and the positions delivered so far; once it is live the
   * old one is closed. Until then both deliver, and positions keep each event once.
   */
  private async renew(): Promise<void> {
    this.renewTimer = undefined;
    const generation = this.generation;
    let token: string;
    try {
      token = await this.options.token!();
    } catch {
      if (generation === this.generation) {
        this.renewTimer = setTimeout(() => void this.renew(), this.backoff.next());
      }
      return;
    }
    if (generation !== this.generation || this.current === undefined) {
      return;
    }
    this.next = this.open(token, (link) => {
      if (link !== this.next) {
        return;
      }
      const old = this.current;
      this.current = link;
      this.next = undefined;
      old?.connection?.close();
      this.scheduleRenewal(link.token);
    });
  }

  private isSilent(link: Link): boolean {
    return Date.now() - link.lastActivity > 2 * this.keepAliveMs;
  }

  /** A connection silent for more than two keep-alive intervals is dead (a stalled proxy, a sleeping laptop). */
  private checkAlive(): void {
    const link = this.current;
    if (link?.live === true && this.isSilent(link) && this.options.transport !== 'eventsource') {
      this.lost();
      this.reopen();
    }
  }

  /** Reconnects at once when the network returns, or a page shown again finds its connection dead. */
  private attachWindow(): () => void {
    const target = globalThis as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
      document?: {
        visibilityState?: string;
        addEventListener(type: string, l: () => void): void;
        removeEventListener(type: string, l: () => void): void;
      };
    };
    if (typeof target.addEventListener !== 'function' || target.document === undefined) {
      return () => undefined;
    }
    const now = (): void => {
      if (!this.closed && this.carried.size > 0 && !this.connected) {
        this.lost();
        this.reopen();
      }
    };
    const visible = (): void => {
      if (target.document?.visibilityState === 'visible') {
        now();
      }
    };
    target.addEventListener('online', now);
    target.document.addEventListener('visibilitychange', visible);
    return () => {
      target.removeEventListener?.('online', now);
      target.document?.removeEventListener('visibilitychange', visible);
    };
  }
}

/** Whether `fetch` here streams response bodies (every current browser, and Node). */
function hasStreamingFetch(): boolean {
  return (
    typeof globalThis.fetch === 'function' &&
    typeof ReadableStream === 'function' &&
    typeof TextDecoderStream === 'function' &&
    typeof Response === 'function' &&
    'body' in Response.prototype
  );
}

/**
 * The positions of a composite id (`<tag>,<position>,<position>…`, one per stream of the request,
 * percent-encoded where needed); undefined for an id of another shape.
 */
export function decodeCompositeId(id: string | undefined, count: number): (string | undefined)[] | undefined {
  if (id === undefined || id === '') {
    return undefined;
  }
  const parts = id.split(',');
  if (parts.length !== count + 1) {
    return undefined;
  }
  return parts.slice(1).map((part) => {
    if (part === '') {
      return undefined;
    }
    try {
      return part.includes('%') ? decodeURIComponent(part) : part;
    } catch {
      return undefined;
    }
  });
}

/** The stream of an `event:` name (`<name>` or `<name>.<type>`): the longest name of the request it starts with. */
function streamOf(event: string, streams: readonly string[]): { stream: string; type?: string } | undefined {
  let found: { stream: string; type?: string } | undefined;
  for (const stream of streams) {
    if (event === stream) {
      return { stream };
    }
    if (event.startsWith(`${stream}.`) && (found === undefined || stream.length > found.stream.length)) {
      found = { stream, type: event.slice(stream.length + 1) };
    }
  }
  return found;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
