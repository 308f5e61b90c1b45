/**
 * Opening many SSE streams against the server under test, at most `concurrency` attempts in flight, and
 * keeping the books every load generator keeps on them: which are ready, which failed and why, how long
 * each took to open, which closed afterwards.
 *
 * By default each stream is an HTTP/1.1 GET on a plain TCP socket whose response (head, chunked framing,
 * SSE) is decoded by sse-stream.ts, reading into one buffer shared by every socket: each read is parsed
 * synchronously and whatever must outlive it is copied, so about 5 µs of CPU per socket read. The `http`
 * client (node:http with a keep-alive Agent) costs about twice as much per event.
 */
import * as http from 'node:http';
import * as net from 'node:net';

import { logStep, type Tally } from './log';
import { SseStream, type SseSink } from './sse-stream';
import { percentileOf, round } from './stats';
import { nowNs, signal, sleep } from './time';

/** One stream: parser state (SseStream) plus the pool's bookkeeping; load generators extend it. */
export class PooledStream extends SseStream {
  ready = false;
  failed = false;
  closed = false;
  startedAt = 0;
  socket: net.Socket | null = null;
  req: http.ClientRequest | null = null;
  readyTimer: NodeJS.Timeout | null = null;

  constructor(
    sink: SseSink,
    readonly index: number,
  ) {
    super(sink);
  }

  destroy(): void {
    this.socket?.destroy();
    this.req?.destroy();
  }
}

export interface StreamPoolOptions<T extends PooledStream> {
  host: string;
  port: number;
  count: number;
  concurrency: number;
  create: (sink: SseSink, index: number) => T;
  path: (stream: T) => string;
  /** false: the load generator calls markReady itself (on a `connected` event, say). */
  readyOnHead: boolean;
  onEvent: (stream: T, data: string, hasId: boolean, now: number) => void;
  /** Failures are counted here as `connect_<reason>`. */
  errors: Tally;
  client?: 'net' | 'http';
  /**
   * On loopback, streams come from 127.0.0.1-8 in turn: one source address has 28,000 ephemeral ports, and
   * once most are taken (open streams plus the TIME_WAIT of earlier runs), each connect() searches for a
   * free one: 19,000 streams then took twice as long to open, for the load generator, not the server.
   */
  spreadLoopback?: boolean;
}

export class StreamPool<T extends PooledStream> {
  readonly streams: T[] = [];
  /** ms from the attempt to ready, of every ready stream (sorted once open() resolves). */
  readonly connectTimes: number[] = [];
  readyCount = 0;
  settled = 0;
  /** Ready streams that closed before shutdown. */
  disconnects = 0;
  private attempted = 0;
  private inProgress = 0;
  private shuttingDown = false;
  private readonly finished = signal();
  private readonly sseAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private readonly sink: SseSink;

  constructor(private readonly o: StreamPoolOptions<T>) {
    this.sink = {
      onHead: (stream, status) => {
        if (status !== 200) {
          this.markFailed(stream as T, `status_${status}`);
        } else if (o.readyOnHead) {
          this.markReady(stream as T);
        }
      },
      onEvent: (stream, data, hasId, now) => o.onEvent(stream as T, data, hasId, now),
      onEnd: (stream) => this.onClosed(stream as T),
    };
  }

  get failedCount(): number {
    return this.settled - this.readyCount;
  }

  /** Opens every stream; resolves once each is ready or failed, or after `timeoutMs`, to the ms it took. */
  async open(timeoutMs: number, progressEveryMs = 0): Promise<number> {
    const start = performance.now();
    const progress =
      progressEveryMs > 0
        ? setInterval(
            () => logStep(`… ${this.readyCount}/${this.o.count} open, ${this.failedCount} failed`),
            progressEveryMs,
          )
        : null;
    this.startMore();
    if (this.o.count === 0) {
      this.finished.fire();
    }
    await Promise.race([this.finished.done, sleep(timeoutMs)]);
    if (progress) {
      clearInterval(progress);
    }
    this.connectTimes.sort((a, b) => a - b);
    return performance.now() - start;
  }

  /** `<ready>/<count> open in <s> s[ (per connection p50 …, p99 …)][, <n> failed: {…}]` */
  openedLine(connectMs: number, withPercentiles: boolean): string {
    const t = this.connectTimes;
    return (
      `${this.readyCount}/${this.o.count} open in ${(connectMs / 1000).toFixed(2)} s` +
      (withPercentiles
        ? ` (per connection p50 ${percentileOf(t, 0.5)?.toFixed(1)} ms, p99 ${percentileOf(t, 0.99)?.toFixed(1)} ms)`
        : '') +
      (this.failedCount > 0 ? `, ${this.failedCount} failed: ${JSON.stringify(this.o.errors.counts)}` : '')
    );
  }

  /** The result line's connections_open and connect_failed. */
  openedCounts(): { connections_open: number; connect_failed: number } {
    return { connections_open: this.readyCount, connect_failed: this.o.count - this.readyCount };
  }

  /** users, connections_open, connect_failed, connect_ms of a load with one stream per user. */
  userFigures(connectMs: number): Record<string, unknown> {
    const at = (p: number): number => round(percentileOf(this.connectTimes, p) ?? 0, 1);
    return {
      users: this.o.count,
      ...this.openedCounts(),
      connect_ms: { total: Math.round(connectMs), p50: at(0.5), p99: at(0.99) },
    };
  }

  markReady(s: T): void {
    if (s.ready || s.failed) {
      return;
    }
    s.ready = true;
    this.readyCount++;
    this.clearTimer(s);
    this.connectTimes.push(performance.now() - s.startedAt);
    this.settle();
  }

  markFailed(s: T, reason: string): void {
    if (s.ready || s.failed) {
      return;
    }
    s.failed = true;
    this.o.errors.add(`connect_${reason}`);
    this.clearTimer(s);
    s.destroy();
    this.settle();
  }

  /** Closes every stream; closes after this are not counted as disconnects. */
  close(): void {
    this.shuttingDown = true;
    for (const s of this.streams) {
      s.destroy();
    }
    this.sseAgent.destroy();
  }

  private clearTimer(s: T): void {
    if (s.readyTimer) {
      clearTimeout(s.readyTimer);
      s.readyTimer = null;
    }
  }

  private settle(): void {
    this.inProgress--;
    this.settled++;
    if (this.settled === this.o.count) {
      this.finished.fire();
    } else {
      this.startMore();
    }
  }

  private onClosed(s: T): void {
    if (s.closed) {
      return;
    }
    s.closed = true;
    if (s.ready && !this.shuttingDown) {
      this.disconnects++;
    } else if (!s.ready) {
      this.markFailed(s, 'closed_before_ready');
    }
  }

  private startMore(): void {
    while (this.attempted < this.o.count && this.inProgress < this.o.concurrency) {
      this.attempted++;
      this.inProgress++;
      this.openOne(this.attempted - 1);
    }
  }

  private openOne(i: number): void {
    const s = this.o.create(this.sink, i);
    this.streams.push(s);
    s.startedAt = performance.now();
    s.readyTimer = setTimeout(() => this.markFailed(s, 'timeout'), 30_000);
    if (this.o.client === 'http') {
      this.openHttp(s, this.o.path(s));
    } else {
      this.openNet(s, this.o.path(s));
    }
  }

  private openNet(s: T, path: string): void {
    const { host, port } = this.o;
    const socket = net.connect({
      host,
      port,
      ...(this.o.spreadLoopback && host === '127.0.0.1'
        ? { localAddress: `127.0.0.${1 + (s.index % 8)}` }
        : {}),
      noDelay: true,
      onread: {
        buffer: this.readBuffer,
        callback: (nread: number): boolean => {
          s.feedHttp(this.readBuffer, nread, nowNs());
          return true;
        },
      },
    });
    s.socket = socket;
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nAccept: text/event-stream\r\n` +
          `Cache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n`,
      ),
    );
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!s.ready) {
        this.markFailed(s, err.code ?? 'error');
      }
    });
    socket.on('close', () => this.onClosed(s));
  }

  private openHttp(s: T, path: string): void {
    const req = http.request({
      host: this.o.host,
      port: this.o.port,
      path,
      method: 'GET',
      agent: this.sseAgent,
      headers: { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' },
    });
    s.req = req;
    req.on('response', (res) => {
      this.sink.onHead(s, res.statusCode ?? 0);
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      res.on('data', (chunk: Buffer) => s.feedBody(chunk, 0, chunk.length, nowNs()));
      res.on('end', () => this.onClosed(s));
      res.on('close', () => this.onClosed(s));
      res.on('error', () => this.onClosed(s));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!s.ready) {
        this.markFailed(s, err.code ?? 'error');
      } else {
        this.onClosed(s);
      }
    });
    req.end();
  }
}

/** One stream per user, ready on its 200 head (the stream is subscribed before the head is sent). */
export function userStreams<T extends PooledStream>(
  args: { host: string; port: number; users: number; connectConcurrency: number },
  o: Pick<StreamPoolOptions<T>, 'create' | 'path' | 'onEvent' | 'errors'>,
): StreamPool<T> {
  return new StreamPool<T>({
    host: args.host,
    port: args.port,
    count: args.users,
    concurrency: args.connectConcurrency,
    readyOnHead: true,
    ...o,
  });
}
