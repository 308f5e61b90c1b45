import { useSharedHub } from './client.js';
import { GatewayError } from './gateway-error.js';
import type { Hub, HubEvent, HubListener, HubStatus } from './hub.js';
import { LocalHub, LocalHubOptions } from './local-hub.js';
import { comparePositions, isAfter, positionsOf } from './positions.js';

export type { HubStatus } from './hub.js';

export interface TabHubOptions extends LocalHubOptions {
  /** Names the lock and the channel: tabs of one origin with the same name share a connection. */
  name?: string;
  // onStatus (of LocalHubOptions) is told how the shared connection stands, in every tab.
  /** How long a hidden leader keeps the connection before it hands it to a visible tab. */
  hiddenHandoverMs?: number;
  /** How long a new leader waits for the other tabs' subscriptions before it connects. */
  gatherMs?: number;
}

/** What the leader tells the other tabs. */
type LeaderMessage =
  | { t: 'event'; stream: string; type?: string; data: string; position: string }
  | { t: 'gap'; stream: string; position: string | null }
  | { t: 'error'; stream: string; status: number; message: string }
  | { t: 'state'; status: HubStatus; positions: Record<string, string> };

/** What tabs say to each other on the channel. Positions are those delivered so far. */
type Message =
  | LeaderMessage
  | { t: 'hello'; tab: string; visible: boolean; streams: [string, string | null][] }
  | { t: 'sub'; tab: string; stream: string; position: string | null }
  | { t: 'unsub'; tab: string; stream: string }
  | { t: 'bye'; tab: string }
  | { t: 'visible'; tab: string; visible: boolean }
  | { t: 'leader'; tab: string }
  | { t: 'handover'; to: string };

// What this file uses of Web Locks, BroadcastChannel and the page, typed here: the package is also
// compiled without the DOM library (the server's tests import it).
interface Locks {
  request(
    name: string,
    options: { signal?: AbortSignal; steal?: boolean },
    callback: () => Promise<void> | undefined,
  ): Promise<unknown>;
}
interface Channel {
  onmessage: ((event: { data: Message }) => void) | null;
  postMessage(message: Message): void;
  close(): void;
}
type ChannelConstructor = new (name: string) => Channel;
interface EventTarget {
  addEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
  removeEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
}
interface Page extends EventTarget {
  visibilityState?: string;
}

interface Carried {
  listeners: Set<HubListener>;
  position?: string;
}

interface OtherTab {
  streams: Map<string, string | undefined>;
  visible: boolean;
  /** Ends the leader's wait for this tab's lock, which is granted only once the tab is gone. */
  watch?: AbortController;
}

/** The leader's part: the one connection, carrying the union of every tab's streams. */
interface Leadership {
  hub: LocalHub;
  relayed: Map<string, HubListener>;
  /** Tells the other tabs the positions now and then (an id-only block moves them without an event). */
  ticker: ReturnType<typeof setInterval>;
  lastState: string;
  /** Resolving it lets go of the leader lock. */
  release: () => void;
  gathering: boolean;
}

const POSITIONS_TICK_MS = 500;

/**
 * The tabs of one origin share one `GET /sse` connection. The tab holding a Web Lock leads: it runs
 * a LocalHub carrying the union of every tab's streams and relays each event on a BroadcastChannel;
 * each tab hands its own listeners only its own streams, once each, by position. Each tab also holds
 * a lock of its own for its lifetime, so the leader learns that a tab closed (its lock is granted to
 * the leader) and drops its streams. When the leader closes, the lock passes to another tab, which
 * asks every tab where it is and resumes each stream from the earliest position among its tabs;
 * tabs that had an event already ignore it again. Where Web Locks or BroadcastChannel are missing
 * this is a LocalHub of this page.
 */
export class TabHub implements Hub {
  private readonly id = randomId();
  private readonly carried = new Map<string, Carried>();
  private readonly others = new Map<string, OtherTab>();
  private readonly fallback?: LocalHub;
  private readonly name: string;
  private readonly lockName: string;
  private readonly channel?: Channel;
  private readonly locks?: Locks;
  private leading?: Leadership;
  /** Aborts this tab's place in the queue for the leader lock. */
  private queued?: AbortController;
  private releaseTabLock?: () => void;
  private ready = false;
  private closed = false;
  private frozen = false;
  private status: HubStatus = 'connecting';
  private hiddenTimer?: ReturnType<typeof setTimeout>;
  private readonly detachPage: () => void;

  constructor(private readonly options: TabHubOptions) {
    const name = options.name ?? `sse-gateway-client:${options.baseUrl}`;
    this.name = name;
    this.lockName = `${name}:leader`;
    const locks = (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
    const Channel = (globalThis as unknown as { BroadcastChannel?: ChannelConstructor }).BroadcastChannel;
    if (locks === undefined || typeof Channel !== 'function') {
      this.fallback = new LocalHub({ ...options, onStatus: (status) => this.setStatus(status) });
      this.detachPage = () => undefined;
      return;
    }
    this.locks = locks;
    this.channel = new Channel(name);
    this.channel.onmessage = (event) => this.onMessage(event.data);
    this.detachPage = this.attachPage();
    // Other tabs watch this lock to learn that this tab closed, so it is held before this tab speaks.
    void locks.request(`${name}:tab:${this.id}`, {}, () => {
      if (this.closed) {
        return undefined;
      }
      this.ready = true;
      this.post(this.hello());
      this.queueForLead();
      return new Promise<void>((resolve) => (this.releaseTabLock = resolve));
    });
  }

  /** The status of the shared connection, as this tab last heard it. */
  get connectionStatus(): HubStatus {
    return this.status;
  }

  /** Whether this tab runs the shared connection (for tests and diagnostics). */
  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  add(stream: string, listener: HubListener, position?: string): void {
    if (this.closed) {
      throw new Error('The client is closed');
    }
    if (this.fallback !== undefined) {
      this.fallback.add(stream, listener, position);
      return;
    }
    let entry = this.carried.get(stream);
    if (entry === undefined) {
      entry = { listeners: new Set(), position };
      this.carried.set(stream, entry);
      entry.listeners.add(listener);
      if (this.ready) {
        this.post({ t: 'sub', tab: this.id, stream, position: position ?? null });
      }
      this.sync();
      return;
    }
    if (position !== undefined && entry.position === undefined) {
      entry.position = position;
    }
    entry.listeners.add(listener);
  }

  remove(stream: string, listener: HubListener): void {
    if (this.fallback !== undefined) {
      this.fallback.remove(stream, listener);
      return;
    }
    const entry = this.carried.get(stream);
    if (entry === undefined || !entry.listeners.delete(listener) || entry.listeners.size > 0) {
      return;
    }
    this.carried.delete(stream);
    if (this.ready) {
      this.post({ t: 'unsub', tab: this.id, stream });
    }
    this.sync();
  }

  positions(): Record<string, string> {
    if (this.fallback !== undefined) {
      return this.fallback.positions();
    }
    return positionsOf(this.carried);
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    clearTimeout(this.hiddenTimer);
    this.fallback?.close();
    if (this.channel === undefined) {
      return;
    }
    this.detachPage();
    this.stepDown(false);
    this.queued?.abort();
    this.queued = undefined;
    if (this.ready) {
      this.post({ t: 'bye', tab: this.id });
    }
    this.releaseTabLock?.();
    this.carried.clear();
    for (const other of this.others.values()) {
      other.watch?.abort();
    }
    this.others.clear();
    this.channel.close();
  }

  // ---------- every tab ----------

  private post(message: Message): void {
    if (!this.closed || message.t === 'bye') {
      this.channel?.postMessage(message);
    }
  }

  private hello(): Message {
    return {
      t: 'hello',
      tab: this.id,
      visible: isVisible(),
      streams: [...this.carried].map(([stream, entry]) => [stream, entry.position ?? null]),
    };
  }

  private onMessage(message: Message): void {
    if (this.closed) {
      return;
    }
    switch (message.t) {
      case 'hello':
        this.others.set(message.tab, {
          ...this.others.get(message.tab),
          visible: message.visible,
          streams: new Map(message.streams.map(([stream, position]) => [stream, position ?? undefined])),
        });
        if (this.leading !== undefined) {
          this.watchTab(message.tab);
          this.leading.lastState = ''; // the new tab learns the status and the positions now
        }
        this.sync();
        this.considerHandover();
        break;
      case 'sub': {
        const other = this.otherTab(message.tab);
        other.streams.set(message.stream, message.position ?? undefined);
        if (this.leading !== undefined) {
          this.watchTab(message.tab);
          this.leading.lastState = '';
        }
        this.sync();
        break;
      }
      case 'unsub':
        this.others.get(message.tab)?.streams.delete(message.stream);
        this.sync();
        break;
      case 'bye':
        this.forget(message.tab);
        break;
      case 'visible':
        this.otherTab(message.tab).visible = message.visible;
        this.considerHandover();
        break;
      case 'leader':
        if (this.leading !== undefined) {
          this.stepDown(true); // it stole the lock (this tab was hidden): it runs the connection now
        }
        this.post(this.hello());
        break;
      case 'handover':
        if (message.to === this.id && this.leading === undefined && !this.frozen) {
          this.takeLead(true);
        }
        break;
      case 'event':
      case 'gap':
      case 'error':
      case 'state':
        if (this.leading === undefined) {
          this.fromLeader(message);
        }
    }
  }

  private otherTab(tab: string): OtherTab {
    let other = this.others.get(tab);
    if (other === undefined) {
      other = { streams: new Map(), visible: false };
      this.others.set(tab, other);
    }
    return other;
  }

  private forget(tab: string): void {
    const other = this.others.get(tab);
    if (other !== undefined) {
      other.watch?.abort();
      this.others.delete(tab);
      this.sync();
    }
  }

  /** What a follower hears from the leader: its streams' events, gaps, refusals and where they stand. */
  private fromLeader(message: LeaderMessage): void {
    switch (message.t) {
      case 'event':
        this.deliver(message);
        break;
      case 'gap':
        this.deliverGap(message.stream, message.position ?? undefined);
        break;
      case 'error':
        this.deliverError(message.stream, new GatewayError(message.status, message.message, message.stream));
        break;
      case 'state':
        this.setStatus(message.status);
        // Every event before this message came first on the channel, so a position the leader
        // reached is one this tab was given every event up to: resuming from it loses nothing.
        for (const [stream, position] of Object.entries(message.positions)) {
          const entry = this.carried.get(stream);
          if (entry !== undefined && isAfter(position, entry.position)) {
            entry.position = position;
          }
        }
        break;
    }
  }

  private deliver(e: HubEvent): void {
    const entry = this.carried.get(e.stream);
    if (entry === undefined || (e.position !== '' && !isAfter(e.position, entry.position))) {
      return; // another tab's stream, or delivered already (before a new leader resumed)
    }
    if (e.position !== '') {
      entry.position = e.position;
    }
    const event: HubEvent = { stream: e.stream, type: e.type, data: e.data, position: e.position };
    for (const listener of [...entry.listeners]) {
      guarded(() => listener.event(event));
    }
  }

  private deliverGap(stream: string, position: string | undefined): void {
    const entry = this.carried.get(stream);
    if (entry === undefined) {
      return;
    }
    if (position !== undefined) {
      entry.position = position;
    }
    for (const listener of [...entry.listeners]) {
      guarded(() => listener.gap(stream));
    }
  }

  /** A refusal ends the stream in every tab, as LocalHub does, so the union does not ask for it again. */
  private deliverError(stream: string, err: GatewayError): void {
    for (const other of this.others.values()) {
      other.streams.delete(stream);
    }
    const entry = this.carried.get(stream);
    this.carried.delete(stream);
    for (const listener of entry?.listeners ?? []) {
      guarded(() => listener.error(stream, err));
    }
  }

  private setStatus(status: HubStatus): void {
    if (status !== this.status) {
      this.status = status;
      guarded(() => this.options.onStatus?.(status));
    }
  }

  // ---------- the leader lock ----------

  private queueForLead(): void {
    if (this.closed || this.frozen || this.queued !== undefined || this.leading !== undefined) {
      return;
    }
    this.queued = new AbortController();
    this.request(false, this.queued.signal);
  }

  /** Takes the lock from a hidden leader that asked a visible tab to (`steal`), or waits for it. */
  private takeLead(steal: boolean): void {
    this.queued?.abort();
    this.queued = undefined;
    this.request(steal);
  }

  private request(steal: boolean, signal?: AbortSignal): void {
    let mine: Leadership | undefined;
    const held = this.locks!.request(this.lockName, steal ? { steal } : { signal }, () => {
      if (this.closed || this.frozen) {
        return undefined;
      }
      if (this.queued?.signal === signal) {
        this.queued = undefined;
      }
      return new Promise<void>((release) => (mine = this.lead(release)));
    });
    // Rejected when aborted in the queue (closed, frozen, taking over by steal) or when stolen from.
    held.catch(() => {
      if (mine !== undefined && this.leading === mine) {
        this.stepDown(true);
      }
    });
  }

  private lead(release: () => void): Leadership {
    // The leader's status is the one every tab shows: told at once, with the positions.
    const hub = new LocalHub({ ...this.options, onStatus: () => this.tick() });
    const leading: Leadership = {
      hub,
      relayed: new Map(),
      lastState: '',
      release,
      gathering: true,
      ticker: setInterval(() => this.tick(), POSITIONS_TICK_MS),
    };
    this.leading = leading;
    this.post({ t: 'leader', tab: this.id });
    for (const tab of this.others.keys()) {
      this.watchTab(tab);
    }
    // The tabs answer `leader` with where each of their streams is; connecting before they have
    // would start their streams from now, and what the old leader did not relay would be lost.
    setTimeout(() => {
      if (this.leading === leading) {
        leading.gathering = false;
        this.sync();
      }
    }, this.options.gatherMs ?? 150);
    this.considerHandover();
    return leading;
  }

  /** Gives up the connection and the lock; `requeue` waits for the lock again (still open, not frozen). */
  private stepDown(requeue: boolean): void {
    const leading = this.leading;
    if (leading === undefined) {
      return;
    }
    this.leading = undefined;
    clearInterval(leading.ticker);
    leading.hub.close();
    for (const other of this.others.values()) {
      other.watch?.abort();
      other.watch = undefined;
    }
    leading.release();
    if (requeue) {
      this.queueForLead();
    }
  }

  /** A tab's own lock is granted to the leader only once that tab is gone: then its streams go too. */
  private watchTab(tab: string): void {
    const other = this.otherTab(tab);
    if (other.watch !== undefined || this.leading === undefined) {
      return;
    }
    const watch = new AbortController();
    other.watch = watch;
    this.locks!.request(`${this.name}:tab:${tab}`, { signal: watch.signal }, () => {
      if (!watch.signal.aborted) {
        this.forget(tab);
      }
      return undefined;
    }).catch(() => undefined);
  }

  // ---------- the leader ----------

  /** Makes the leader's LocalHub carry exactly the union of every tab's streams. */
  private sync(): void {
    const leading = this.leading;
    if (leading === undefined || leading.gathering || this.closed) {
      return;
    }
    const union = new Map<string, string | undefined>();
    const earliest = (stream: string, position: string | undefined): void => {
      const known = union.get(stream);
      if (
        !union.has(stream) ||
        (position !== undefined && (known === undefined || comparePositions(position, known) === -1))
      ) {
        union.set(stream, position);
      }
    };
    for (const [stream, entry] of this.carried) {
      earliest(stream, entry.position);
    }
    for (const other of this.others.values()) {
      for (const [stream, position] of other.streams) {
        earliest(stream, position);
      }
    }
    for (const [stream, relay] of leading.relayed) {
      if (!union.has(stream)) {
        leading.relayed.delete(stream);
        leading.hub.remove(stream, relay);
      }
    }
    for (const [stream, position] of union) {
      if (!leading.relayed.has(stream)) {
        const relay = this.relay(leading);
        leading.relayed.set(stream, relay);
        leading.hub.add(stream, relay, position);
      }
    }
  }

  /** The leader's one listener of a stream: to this tab's own listeners and to every other tab. */
  private relay(leading: Leadership): HubListener {
    return {
      event: (e) => {
        this.post({ t: 'event', stream: e.stream, type: e.type, data: e.data, position: e.position });
        this.deliver(e);
      },
      gap: (stream) => {
        const position = leading.hub.positions()[stream];
        this.post({ t: 'gap', stream, position: position ?? null });
        this.deliverGap(stream, position);
      },
      error: (stream, err) => {
        leading.relayed.delete(stream);
        this.post({ t: 'error', stream, status: err.status, message: err.message });
        this.deliverError(stream, err);
      },
    };
  }

  /** Tells the tabs the status and positions when they change (and to a tab that just arrived). */
  private tick(): void {
    const leading = this.leading;
    if (leading === undefined) {
      return;
    }
    // A new leader's hub starts `connecting`; the tabs were connected before it took over.
    const status: HubStatus =
      leading.hub.connectionStatus === 'connected'
        ? 'connected'
        : this.status === 'connecting'
          ? 'connecting'
          : 'reconnecting';
    const positions = leading.hub.positions();
    const state = JSON.stringify([status, positions]);
    if (state !== leading.lastState) {
      leading.lastState = state;
      this.post({ t: 'state', status, positions });
    }
    this.setStatus(status);
  }

  // ---------- hidden, frozen and closing pages ----------

  /**
   * A hidden tab's timers are throttled (to once a minute after a while in Chromium) and a frozen one
   * runs nothing: a leader hidden for a while hands the connection to a visible tab, and a leader
   * about to be frozen or put in the back-forward cache lets go of it at once.
   */
  private attachPage(): () => void {
    const doc = (globalThis as { document?: Page }).document;
    const win = globalThis as Partial<EventTarget>;
    if (doc === undefined || win.addEventListener === undefined || win.removeEventListener === undefined) {
      return () => undefined;
    }
    const visibility = (): void => {
      this.post({ t: 'visible', tab: this.id, visible: isVisible() });
      this.considerHandover();
    };
    const freeze = (): void => {
      this.frozen = true;
      this.queued?.abort();
      this.queued = undefined;
      this.stepDown(false);
    };
    const resume = (): void => {
      this.frozen = false;
      this.post(this.hello());
      this.queueForLead();
    };
    const pageshow = (event: { persisted?: boolean }): void => {
      if (event.persisted === true) {
        resume();
      }
    };
    doc.addEventListener('visibilitychange', visibility);
    doc.addEventListener('freeze', freeze);
    doc.addEventListener('resume', resume);
    win.addEventListener('pagehide', freeze);
    win.addEventListener('pageshow', pageshow);
    return () => {
      doc.removeEventListener('visibilitychange', visibility);
      doc.removeEventListener('freeze', freeze);
      doc.removeEventListener('resume', resume);
      win.removeEventListener?.('pagehide', freeze);
      win.removeEventListener?.('pageshow', pageshow);
    };
  }

  private considerHandover(): void {
    if (this.leading === undefined || isVisible()) {
      clearTimeout(this.hiddenTimer);
      this.hiddenTimer = undefined;
      return;
    }
    this.hiddenTimer ??= setTimeout(() => {
      this.hiddenTimer = undefined;
      const visible = [...this.others].find(([, other]) => other.visible)?.[0];
      if (this.leading !== undefined && !isVisible() && visible !== undefined) {
        this.post({ t: 'handover', to: visible });
      }
    }, this.options.hiddenHandoverMs ?? 10_000);
  }
}

function isVisible(): boolean {
  const doc = (globalThis as { document?: Page }).document;
  return doc === undefined || doc.visibilityState !== 'hidden';
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A listener that throws must not stop the others, nor the relay to the other tabs. */
function guarded(call: () => void): void {
  try {
    call();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

// Importing the client in a browser shares its connection among the tabs of the origin.
useSharedHub((options) => new TabHub(options));
