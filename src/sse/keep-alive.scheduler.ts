import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { SharedComment, SseConnection } from './sse-connection';

interface Ticker {
  readonly timer: NodeJS.Timeout;
  readonly comment: SharedComment;
  readonly connections: Set<SseConnection>;
}

/**
 * Keep-alive comments for every stream. One timer per (interval, text) serves all connections
 * that share it, instead of a timer per connection, and stops with the last of them.
 */
@Injectable()
export class KeepAliveScheduler implements OnApplicationShutdown {
  private readonly tickers = new Map<string, Ticker>();

  /** Sends `: <text>` to the connection every `intervalMs` until the returned function is called. */
  register(connection: SseConnection, intervalMs: number, text: string): () => void {
    const key = `${intervalMs}:${text}`;
    let ticker = this.tickers.get(key);
    if (!ticker) {
      const connections = new Set<SseConnection>();
      const comment = new SharedComment(text);
      const timer = setInterval(() => {
        for (const each of connections) {
          each.sendComment(comment);
        }
      }, intervalMs);
      ticker = { timer, comment, connections };
      this.tickers.set(key, ticker);
    }
    ticker.connections.add(connection);
    const owner = ticker;
    return () => {
      owner.connections.delete(connection);
      if (owner.connections.size === 0 && this.tickers.get(key) === owner) {
        clearInterval(owner.timer);
        this.tickers.delete(key);
      }
    };
  }

  /** Timers running: for leak checks. */
  activeTimers(): number {
    return this.tickers.size;
  }

  onApplicationShutdown(): void {
    for (const ticker of this.tickers.values()) {
      clearInterval(ticker.timer);
    }
    this.tickers.clear();
  }
}
