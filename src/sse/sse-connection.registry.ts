import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ServerResponse } from 'node:http';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { FlushScheduler } from './flush-scheduler';
import { ReplayLimiter } from './replay.limiter';
import { SseConnection, SseConnectionHooks } from './sse-connection';
import { ConnectionLimitError, ServerDrainingError, UserConnectionLimitError } from './sse.errors';
import { SseMetrics } from './sse.metrics';
import { StreamUser } from './sse.constants';

/**
 * Every open stream of this process: enforces the global and per-user caps, counts streams for
 * metrics, and ends them all, with a retry hint, when the process shuts down.
 */
@Injectable()
export class SseConnectionRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger(SseConnectionRegistry.name);
  private readonly connections = new Map<SseConnection, () => void>();
  private readonly perUser = new Map<string, number>();
  private readonly scheduler = new FlushScheduler();
  private readonly replays: ReplayLimiter;
  private draining = false;
  private readonly hooks: SseConnectionHooks = {
    onSlowReader: (connection) => {
      this.metrics.add(this.metrics.slowReaders, connection.options.stream, 1);
      const { stream, requestId, maxBufferBytes } = connection.options;
      this.logger.warn(
        `Disconnected a slow reader on ${stream} (stream request ${requestId}): more than ${maxBufferBytes} bytes waited for it`,
      );
    },
    onEventsSent: (connection, count) =>
      this.metrics.add(this.metrics.eventsSent, connection.options.stream, count),
  };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: SseMetrics,
  ) {
    this.replays = new ReplayLimiter(config.SSE_MAX_REPLAYS_PER_USER);
  }

  get size(): number {
    return this.connections.size;
  }

  /** Bytes waiting in this process for each open stream: for checks of the buffer bound. */
  queuedBytes(): number[] {
    return [...this.connections.keys()].map((connection) => connection.queuedBytes);
  }

  /** Users with at least one open stream: for leak checks. */
  get usersConnected(): number {
    return this.perUser.size;
  }

  /** Users reading or waiting to read a replay: for leak checks. */
  get usersReplaying(): number {
    return this.replays.size;
  }

  /**
   * Admits a stream, or throws the error that says why not. `onFinish` is called when the server
   * ends the stream itself (shutdown), so its owner can end the response. `eventCopies`: how many
   * times one event can reach it (its buffer bound is that many times SSE_MAX_BUFFER_BYTES);
   * `replayUser`: whose replays it reads, limited to SSE_MAX_REPLAYS_PER_USER at once.
   */
  open(
    response: ServerResponse,
    stream: string,
    requestId: string,
    users: readonly StreamUser[],
    onFinish: () => void,
    { eventCopies = 1, replayUser }: { eventCopies?: number; replayUser?: string } = {},
  ): SseConnection {
    const refuse = (error: Error): never => {
      this.metrics.add(this.metrics.rejected, stream, 1);
      throw error;
    };
    if (this.draining) {
      refuse(new ServerDrainingError());
    }
    if (this.connections.size >= this.config.SSE_MAX_CONNECTIONS) {
      refuse(new ConnectionLimitError(this.config.SSE_MAX_CONNECTIONS));
    }
    // A connection carrying several user streams counts once against each of them; any at its cap refuses it.
    const userKeys = users.map((entry) => userKeyOf(entry.stream, entry.user));
    for (const key of userKeys) {
      if ((this.perUser.get(key) ?? 0) >= this.config.SSE_MAX_CONNECTIONS_PER_USER) {
        refuse(new UserConnectionLimitError(this.config.SSE_MAX_CONNECTIONS_PER_USER));
      }
    }
    const connection = new SseConnection(
      response,
      {
        stream,
        requestId,
        user: users.length === 0 ? undefined : [...new Set(users.map((entry) => entry.user))].join(','),
        userKeys,
        maxBufferBytes: this.config.SSE_MAX_BUFFER_BYTES * eventCopies,
        retryMs: this.config.SSE_RETRY_MS,
        replayTimeoutMs: this.config.SSE_REPLAY_TIMEOUT_MS,
        replayUser,
      },
      this.scheduler,
      this.hooks,
      this.replays,
    );
    this.connections.set(connection, onFinish);
    for (const key of userKeys) {
      this.perUser.set(key, (this.perUser.get(key) ?? 0) + 1);
    }
    this.metrics.add(this.metrics.open, stream, 1);
    return connection;
  }

  /**
   * Forgets a stream and everything counted for it. Safe to call more than once. A stream `refused`
   * before it started (a pipe's 400) gets no `stream closed` line: its refusal has a line of its own.
   */
  close(connection: SseConnection, refused = false): void {
    if (!this.connections.delete(connection)) {
      return;
    }
    connection.release();
    const { stream, user, requestId, userKeys } = connection.options;
    this.metrics.add(this.metrics.open, stream, -1);
    if (!refused) {
      this.logger.log({
        msg: 'stream closed',
        req: { id: requestId },
        stream,
        user,
        durationMs: Date.now() - connection.openedAt,
        eventsSent: connection.eventsSent,
        reason: connection.closeReason,
      });
    }
    for (const key of userKeys) {
      const left = (this.perUser.get(key) ?? 1) - 1;
      if (left > 0) {
        this.perUser.set(key, left);
      } else {
        this.perUser.delete(key);
      }
    }
  }

  /** On shutdown: refuse new streams, end open ones with a retry hint so clients go elsewhere. */
  beforeApplicationShutdown(): void {
    this.draining = true;
    const open = [...this.connections];
    for (const [connection, onFinish] of open) {
      connection.finish('server shutting down, reconnect');
      onFinish();
    }
    if (open.length > 0) {
      this.logger.log(`Ended ${open.length} open stream(s) for shutdown`);
    }
  }
}

/** Caps count per stream and user. */
function userKeyOf(stream: string, user: string): string {
  return `${stream}\u0000${user}`;
}
