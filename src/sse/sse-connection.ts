import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { FlushScheduler } from './flush-scheduler';
import type { KeepAliveTarget, WriteClock } from './keep-alive.scheduler';
import { ReplayLimiter } from './replay.limiter';
import { encodeComment, encodeRetry, toHttpChunk } from './sse-framing';
import { SseEvent, SsePositionMarker } from './sse-event';
import { SseItem, SseReplay } from './sse-replay';

export interface SseConnectionOptions {
  readonly stream: string;
  /** Id of the request that opened the stream, for logs written outside it. */
  readonly requestId: string;
  /** Whose streams it carries, for logs: one user, or several for a multiplexed connection. */
  readonly user?: string;
  /** Keys of the per-user caps it counts against. */
  readonly userKeys: readonly string[];
  readonly maxBufferBytes: number;
  readonly retryMs: number;
  /** How long a replay may take to be read before the client is dropped as a slow reader. */
  readonly replayTimeoutMs: number;
  /** Whose replays these are, for the per-user limit of replays read at once: the token's subject. */
  readonly replayUser?: string;
}

export interface SseConnectionHooks {
  /** The client fell behind by more than maxBufferBytes and was disconnected. */
  onSlowReader(connection: SseConnection): void;
  /** Events handed to the socket. */
  onEventsSent(connection: SseConnection, count: number): void;
}

/** A comment that every connection of a stream sends, encoded once in both framings. */
export class SharedComment {
  readonly frame: Buffer;
  readonly chunk: Buffer;

  constructor(text: string) {
    this.frame = encodeComment(text);
    this.chunk = toHttpChunk(this.frame);
  }
}

/**
 * One open stream: queues encoded frames, writes them out once per event-loop turn, and drops the
 * client when more than `maxBufferBytes` wait for it. On HTTP/1.1 the frames go to the socket as
 * ready-made chunks, so an event's bytes are built once and shared by every connection.
 *
 * A replay (SseReplay) is read as the socket drains: its events are made and queued only while
 * less than half of `maxBufferBytes` wait, then the connection waits for the socket's `drain`.
 * Events that come while a replay is being read wait behind it, in order, within a bound of their
 * own; a replay not read within `replayTimeoutMs` drops the client as a slow reader.
 */
export class SseConnection implements KeepAliveTarget {
  /** Frames queued before the headers are out, written by start(). */
  private prelude: Buffer[] = [];
  /** The stream's starting position, when known before the headers are out: an `id:` in the first block. */
  private openingId?: string;
  /** Replays being read and the events that came after them, in order; empty: events go out at once. */
  private backlog: SseItem[] = [];
  /** Bytes of the events waiting in the backlog (a replay's are not made yet). */
  private backlogBytes = 0;
  /** A replay's event read but not yet queued: it waits for room. */
  private lookahead?: SseEvent;
  /** A replay's next event is being fetched. */
  private fetching = false;
  private waitingForRoom = false;
  /** This connection's turn to read a replay, when its user's replays are limited (ReplayLimiter). */
  private replayTurn: 'none' | 'waiting' | 'held' = 'none';
  private replayDeadline?: NodeJS.Timeout;
  /** An `id:` was queued: the client has a resume point. */
  private hasId = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of `pending` that are this connection's own framing (see SseEvent.framingAllowance). */
  private pendingAllowance = 0;
  private pendingEvents = 0;
  private preludeEvents = 0;
  private started = false;
  private closed = false;
  readonly openedAt = Date.now();
  /** Events handed to the socket so far. */
  eventsSent = 0;
  /** When the last write was queued, on the keep-alive scheduler's clock: a keep-alive is owed only after an interval of silence. */
  lastWriteAt = 0;
  private writeClock?: WriteClock;
  /** Why the stream ended, for its log line; a client that leaves is the default. */
  closeReason = 'client disconnected';
  /**
   * The socket, when frames are written to it directly as HTTP chunks (decided by start()). Kept
   * here so the hot path does not go through the response object.
   */
  private socket: Socket | null = null;
  /**
   * pump() and replayTurnGranted() as callbacks, made the first time one is needed: most streams
   * never wait for room or for a replay turn, and a closure made up front would live as long as each.
   */
  private pumpCallback?: () => void;
  private replayTurnCallback?: () => void;

  constructor(
    private readonly response: ServerResponse,
    readonly options: SseConnectionOptions,
    private readonly scheduler: FlushScheduler,
    private readonly hooks: SseConnectionHooks,
    private readonly replays?: ReplayLimiter,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes queued here and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.pendingBytes + (this.socket ? this.socket.writableLength : this.response.writableLength);
  }

  /** Everything waiting for the client here: buffered bytes and events behind a replay. */
  get queuedBytes(): number {
    return this.bufferedBytes + this.backlogBytes;
  }

  send(item: SseItem): void {
    if (this.closed) {
      return;
    }
    if (item instanceof SseReplay) {
      this.sendReplay(item);
      return;
    }
    this.hasId = true;
    const events = item instanceof SsePositionMarker ? 0 : 1;
    if (this.backlog.length > 0) {
      this.backlogBytes += boundBytes(item);
      if (this.backlogBytes > this.options.maxBufferBytes) {
        this.dropSlowReader();
        return;
      }
      this.backlog.push(item);
      return;
    }
    if (!this.started) {
      this.prelude.push(item.frame);
      this.preludeEvents += events;
      return;
    }
    const chunked = this.socket !== null;
    this.enqueue(chunked ? item.chunk : item.frame, events, true, item.framingAllowance(chunked));
  }

  private sendReplay(replay: SseReplay): void {
    // Events carry ids; before the first one, the replay's position is the client's resume point.
    if (replay.position !== undefined && !this.hasId) {
      if (this.started) {
        this.send(new SsePositionMarker(replay.position));
      } else {
        this.openingId = replay.position;
        this.hasId = true;
      }
    }
    this.backlog.push(replay);
    this.replayDeadline ??= setTimeout(() => {
      this.closeReason = 'replay not read in time';
      this.dropSlowReader();
    }, this.options.replayTimeoutMs);
    if (this.started && !this.waitingForRoom) {
      this.pump();
    }
  }

  /**
   * Moves what waits in the backlog to the socket while it has room: at most half of
   * `maxBufferBytes` queued at a time (one event, whatever its size, when nothing is queued, so that
   * no event is stuck), leaving the other half for what comes live; then waits for the socket to
   * drain. A replay's events are made here, one by one.
   */
  private pump(): void {
    this.waitingForRoom = false;
    while (!this.closed && !this.fetching) {
      const head = this.backlog[0];
      if (head === undefined) {
        clearTimeout(this.replayDeadline);
        this.replayDeadline = undefined;
        this.endReplayTurn();
        return;
      }
      let event: SseEvent | undefined;
      if (head instanceof SseEvent) {
        event = head;
      } else {
        if (!this.hasReplayTurn()) {
          return; // replayTurnGranted() goes on
        }
        const next = this.lookahead ?? head.next();
        if (next instanceof Promise) {
          this.fetching = true;
          void next.then((fetched) => {
            this.fetching = false;
            if (fetched === undefined) {
              this.backlog.shift();
            } else {
              this.lookahead = fetched;
            }
            this.pump();
          });
          return;
        }
        if (next === undefined) {
          this.backlog.shift();
          continue;
        }
        event = next;
      }
      const bytes = this.socket ? event.chunk : event.frame;
      const buffered = this.bufferedBytes;
      if (buffered > 0 && buffered + bytes.length > this.options.maxBufferBytes / 2) {
        if (head !== event) {
          this.lookahead = event;
        }
        this.awaitRoom();
        return;
      }
      if (head === event) {
        this.backlog.shift();
        this.backlogBytes -= boundBytes(event);
      } else {
        this.lookahead = undefined;
      }
      this.enqueue(bytes, event instanceof SsePositionMarker ? 0 : 1, false);
    }
  }

  /**
   * Whether this connection may read its replay now: always, unless its user already reads as many
   * replays as the limit allows; then it waits for a turn (replayTurnGranted).
   */
  private hasReplayTurn(): boolean {
    const user = this.options.replayUser;
    if (this.replayTurn === 'held' || user === undefined || this.replays === undefined) {
      return true;
    }
    if (this.replayTurn === 'none') {
      this.replayTurn = this.replays.acquire(user, this.onReplayTurn) ? 'held' : 'waiting';
    }
    return this.replayTurn === 'held';
  }

  private replayTurnGranted(): void {
    this.replayTurn = 'held';
    if (this.closed) {
      this.endReplayTurn();
    } else if (this.started && !this.waitingForRoom) {
      this.pump();
    }
  }

  /** Gives back the turn (or the place in the line for one) once nothing is left to replay. */
  private endReplayTurn(): void {
    const user = this.options.replayUser;
    if (user === undefined || this.replays === undefined) {
      return;
    }
    if (this.replayTurn === 'held') {
      this.replays.release(user);
    } else if (this.replayTurn === 'waiting') {
      this.replays.withdraw(user, this.onReplayTurn);
    }
    this.replayTurn = 'none';
  }

  private get onRoom(): () => void {
    return (this.pumpCallback ??= () => this.pump());
  }

  private get onReplayTurn(): () => void {
    return (this.replayTurnCallback ??= () => this.replayTurnGranted());
  }

  /** Resumes the pump once the queued bytes are out: at once if the kernel took them, else on `drain`. */
  private awaitRoom(): void {
    if (this.waitingForRoom) {
      return;
    }
    this.waitingForRoom = true;
    if (this.pending.length === 0) {
      this.afterWrite();
    } // else flush() calls afterWrite() once it has written them
  }

  private afterWrite(): void {
    if (!this.waitingForRoom || this.closed) {
      return;
    }
    const target = this.socket ?? this.response;
    if (target.writableNeedDrain) {
      target.once('drain', this.onRoom);
    } else {
      setImmediate(this.onRoom); // the kernel took it all: go on, after what else waits to run
    }
  }

  stampWritesWith(clock: WriteClock | undefined): void {
    this.writeClock = clock;
    this.lastWriteAt = clock?.now ?? 0;
  }

  sendComment(comment: SharedComment): void {
    // While a replay is read, its events keep the connection alive.
    if (this.started && this.backlog.length === 0) {
      this.enqueue(this.socket ? comment.chunk : comment.frame, 0);
    }
  }

  /**
   * Called once the response headers are out: sends the `retry:` hint and what was queued before
   * (replayed history) in one write, and from then on writes as events come.
   */
  start(): void {
    if (this.closed || this.started) {
      return;
    }
    this.started = true;
    const chunked = (this.response as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding;
    this.socket = chunked === true ? this.response.socket : null;
    const first = Buffer.concat([encodeRetry(this.options.retryMs, this.openingId), ...this.prelude]);
    this.prelude = [];
    // What came before the headers are out is a few events; replays wait in the backlog.
    this.enqueue(this.framed(first), this.preludeEvents, false);
    this.preludeEvents = 0;
    this.flush();
    if (this.backlog.length > 0) {
      this.pump();
    }
  }

  flush(): void {
    if (this.closed || this.pending.length === 0) {
      return;
    }
    const bytes =
      this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const events = this.pendingEvents;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingAllowance = 0;
    this.pendingEvents = 0;
    const socket = this.socket;
    if (socket) {
      if (socket.destroyed) {
        this.release(); // gone; the close handler releases the rest
        return;
      }
      // The headers are out and the body is chunked; these bytes are whole chunks, so they go to
      // the socket as they are, after whatever the response wrote before.
      socket.write(bytes);
    } else {
      this.response.write(bytes);
    }
    if (events > 0) {
      this.eventsSent += events;
      this.hooks.onEventsSent(this, events);
    }
    this.afterWrite();
  }

  /** Writes a last comment and `retry:` hint so the client reconnects (elsewhere), then stops. */
  finish(comment: string): void {
    if (this.closed) {
      return;
    }
    this.closeReason = comment;
    if (this.started) {
      this.sendComment(new SharedComment(comment));
      this.enqueue(this.framed(encodeRetry(this.options.retryMs)), 0);
      this.flush();
    }
    this.release();
  }

  /** Frees what this connection holds; the response itself is ended by its owner. */
  release(): void {
    this.closed = true;
    this.prelude = [];
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingAllowance = 0;
    this.backlog = [];
    this.backlogBytes = 0;
    this.lookahead = undefined;
    clearTimeout(this.replayDeadline);
    this.replayDeadline = undefined;
    this.endReplayTurn();
  }

  /** Drops the client, which fell behind by more than the buffer bound: its socket is destroyed. */
  dropSlowReader(reason = 'slow reader disconnected'): void {
    if (this.closed) {
      return;
    }
    if (this.closeReason === 'client disconnected') {
      this.closeReason = reason;
    }
    this.release();
    this.hooks.onSlowReader(this);
    this.response.destroy();
  }

  /** Bytes as this connection writes them: one HTTP chunk when it writes to the socket itself. */
  private framed(bytes: Buffer): Buffer {
    return this.socket ? toHttpChunk(bytes) : bytes;
  }

  /** `allowance`: bytes of `bytes` that are this connection's own framing, outside the bound. */
  private enqueue(bytes: Buffer, events: number, bounded = true, allowance = 0): void {
    if (this.closed) {
      return;
    }
    if (
      bounded &&
      this.bufferedBytes - this.pendingAllowance + bytes.length - allowance > this.options.maxBufferBytes
    ) {
      this.dropSlowReader();
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.pendingAllowance += allowance;
    this.pendingEvents += events;
    if (this.writeClock !== undefined) {
      this.lastWriteAt = this.writeClock.now;
    }
    if (this.pending.length === 1) {
      this.scheduler.schedule(this);
    }
  }
}

/** What an event counts against the buffer bound: its frame, less this connection's own framing. */
function boundBytes(event: SseEvent): number {
  return event.frame.length - event.framingAllowance(false);
}
