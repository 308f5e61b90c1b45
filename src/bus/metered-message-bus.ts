import { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Observable } from 'rxjs';
import { Histogram, Registry } from 'prom-client';
import {
  BusDelivery,
  BusHealth,
  BusRecord,
  MessageBus,
  OutgoingRecord,
  SubscribeOptions,
  TopicOptions,
} from './message-bus.interface';
import { TopicClaims } from './topic-claims';

/** The `topic` label of a batch publish, which no topic name can be (parentheses are not allowed). */
const BATCH_TOPIC_LABEL = '(batch)';

/**
 * Wraps whichever MessageBus runs, to time every publish (`bus_publish_duration_seconds`), and
 * ties it to the application's lifecycle: it starts once every feature has declared its topics,
 * and closes after the SSE layer has ended the streams. Before it starts, it checks that no topic
 * opened to clients is one of the service's own (TopicClaims): start-up stops if one is.
 */
export class MeteredMessageBus implements MessageBus, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly publishDuration: Histogram<'topic' | 'outcome'>;
  private readonly claims = new TopicClaims();

  constructor(
    readonly inner: MessageBus,
    registry: Registry,
  ) {
    this.publishDuration = new Histogram({
      name: 'bus_publish_duration_seconds',
      help: 'Time from a publish to its acknowledgement by the bus, by topic and outcome',
      labelNames: ['topic', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    // Every feature declared its topics when it was made, before any application hook runs.
    this.claims.assertSeparate();
    this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  declareTopic(topic: string, options?: TopicOptions): void {
    this.claims.declared(topic, options);
    this.inner.declareTopic(topic, options);
  }

  handleCommands(topic: string, group: string, handler: (record: BusRecord) => Promise<void>): void {
    this.claims.commands(topic);
    this.inner.handleCommands(topic, group, handler);
  }

  start(): void {
    this.inner.start?.();
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async publish(topic: string, key: string | null, value: string): Promise<BusRecord> {
    const stop = this.publishDuration.startTimer({ topic });
    try {
      const record = await this.inner.publish(topic, key, value);
      stop({ outcome: 'ok' });
      return record;
    } catch (error) {
      stop({ outcome: 'error' });
      throw error;
    }
  }

  /** Timed as one publish, under the topic `(batch)`: its records may go to several topics. */
  async publishAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]> {
    const stop = this.publishDuration.startTimer({ topic: BATCH_TOPIC_LABEL });
    try {
      const stored = await this.inner.publishAll(records);
      stop({ outcome: 'ok' });
      return stored;
    } catch (error) {
      stop({ outcome: 'error' });
      throw error;
    }
  }

  subscribe(topic: string, options?: SubscribeOptions): Observable<BusDelivery> {
    return this.inner.subscribe(topic, options);
  }

  head(topic: string): string {
    return this.inner.head(topic);
  }

  health(): BusHealth {
    return this.inner.health();
  }
}
