import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { FlushScheduler } from './flush-scheduler';
import { encodeComment, encodeRetry, toHttpChunk } from './sse-framing';
import { SseEvent } from './sse-event';

export interface SseConnectionOptions {
  readonly stream: string;
  /** Id of the request that opened the stream, for logs written outside it. */
  readonly requestId: string;
  readonly user?: string;
  readonly maxBufferBytes: number;
  readonly retryMs: number;
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
 */
export class SseConnection {
  /** Frames queued before the headers are out (the replay), written by start(). */
  private prelude: Buffer[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingEvents = 0;
  private preludeEvents = 0;
  private started = false;
  private closed = false;
  readonly openedAt = Date.now();
  /** Events handed to the socket so far. */
  eventsSent = 0;
  /** Why the stream ended, for its log line; a client that leaves is the default. */
  closeReason = 'client disconnected';
  /**
   * The socket, when frames are written to it directly as HTTP chunks (decided by start()). Kept
   * here so the hot path does not go through the response object.
   */
  private socket: Socket | null = null;

  constructor(
    private readonly response: ServerResponse,
    readonly options: SseConnectionOptions,
    private readonly scheduler: FlushScheduler,
    private readonly hooks: SseConnectionHooks,
  ) {}

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes queued here and not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.pendingBytes + (this.socket ? this.socket.writableLength : this.response.writableLength);
  }

  send(event: SseEvent): void {
    if (!this.started) {
      this.prelude.push(event.frame);
      this.preludeEvents++;
      return;
    }
    this.enqueue(this.socket ? event.chunk : event.frame, 1);
  }

  sendComment(comment: SharedComment): void {
    if (this.started) {
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
    const first = Buffer.concat([encodeRetry(this.options.retryMs), ...this.prelude]);
    this.prelude = [];
    // The replay may exceed the buffer bound by itself; the bound applies to what comes after it.
    this.enqueue(this.framed(first), this.preludeEvents, false);
    this.preludeEvents = 0;
    this.flush();
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
  }

  /** Bytes as this connection writes them: one HTTP chunk when it writes to the socket itself. */
  private framed(bytes: Buffer): Buffer {
    return this.socket ? toHttpChunk(bytes) : bytes;
  }

  private enqueue(bytes: Buffer, events: number, bounded = true): void {
    if (this.closed) {
      return;
    }
    if (bounded && this.bufferedBytes + bytes.length > this.options.maxBufferBytes) {
      this.closeReason = 'slow reader disconnected';
      this.release();
      this.hooks.onSlowReader(this);
      this.response.destroy();
      return;
    }
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.pendingEvents += events;
    if (this.pending.length === 1) {
      this.scheduler.schedule(this);
    }
  }
}
