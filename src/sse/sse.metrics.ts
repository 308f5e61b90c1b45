import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics.registry';

/**
 * SSE counters. The hot path adds to plain numbers; Prometheus reads them at scrape time, so a
 * broadcast to ten thousand streams costs no label lookups.
 */
@Injectable()
export class SseMetrics {
  readonly open = new Map<string, number>();
  readonly eventsSent = new Map<string, number>();
  readonly slowReaders = new Map<string, number>();
  readonly rejected = new Map<string, number>();

  constructor(registry: MetricsRegistry) {
    const readInto = (target: Map<string, number>) =>
      function (this: Gauge | Counter) {
        this.reset();
        for (const [stream, value] of target) {
          this.inc({ stream }, value);
        }
      };
    new Gauge({
      name: 'sse_open_connections',
      help: 'Open SSE connections, by stream',
      labelNames: ['stream'],
      registers: [registry],
      collect: readInto(this.open),
    });
    new Counter({
      name: 'sse_events_sent_total',
      help: 'Events written to SSE connections (one per event per connection), by stream',
      labelNames: ['stream'],
      registers: [registry],
      collect: readInto(this.eventsSent),
    });
    new Counter({
      name: 'sse_slow_reader_disconnects_total',
      help: 'Connections dropped because the client fell behind its buffer bound, by stream',
      labelNames: ['stream'],
      registers: [registry],
      collect: readInto(this.slowReaders),
    });
    new Counter({
      name: 'sse_connections_rejected_total',
      help: 'Streams refused by the global (503) or per-user (429) cap or while draining, by stream',
      labelNames: ['stream'],
      registers: [registry],
      collect: readInto(this.rejected),
    });
  }

  add(target: Map<string, number>, stream: string, delta: number): void {
    target.set(stream, (target.get(stream) ?? 0) + delta);
  }
}
