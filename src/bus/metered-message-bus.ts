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
 * What every MessageBus implementation shares, as a base class rather than a wrapper so that a
 * subscription goes straight to the implementation: every publish is timed
 * (`bus_publish_duration_seconds`), and the bus is tied to the application's lifecycle: it starts
 * once every feature has declared its topics, and closes after the SSE layer has ended the
 * streams. Before it starts, it checks that no topic opened to clients is one of the service's own
 * (TopicClaims): start-up stops if one is.
 */
export abstract class MeteredMessageBus implements MessageBus, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly publishDuration: Histogram<'topic' | 'outcome'>;
  private readonly claims = new TopicClaims();

  protected constructor(registry: Registry) {
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
    this.declare(topic, options);
  }

  handleCommands(topic: string, group: string, handler: (record: BusRecord) => Promise<void>): void {
    this.claims.commands(topic);
    this.registerCommands(topic, group, handler);
  }

  publish(topic: string, key: string | null, value: string): Promise<BusRecord> {
    return this.timed(topic, () => this.send(topic, key, value));
  }

  /** Timed as one publish, under the topic `(batch)`: its records may go to several topics. */
  publishAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]> {
    return this.timed(BATCH_TOPIC_LABEL, () => this.sendAll(records));
  }

  abstract subscribe(topic: string, options?: SubscribeOptions): Observable<BusDelivery>;
  abstract head(topic: string): string;
  abstract health(): BusHealth;
  abstract start(): void;
  abstract close(): Promise<void>;

  /** MessageBus.declareTopic, once the claim is recorded. */
  protected abstract declare(topic: string, options?: TopicOptions): void;
  /** MessageBus.handleCommands, once the claim is recorded. */
  protected abstract registerCommands(
    topic: string,
    group: string,
    handler: (record: BusRecord) => Promise<void>,
  ): void;
  /** MessageBus.publish, timed. */
  protected abstract send(topic: string, key: string | null, value: string): Promise<BusRecord>;
  /** MessageBus.publishAll, timed. */
  protected abstract sendAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]>;

  /** Started at once, so that a bus refusing the publish outright (an undeclared topic) throws as it does. */
  private timed<T>(topic: string, publish: () => Promise<T>): Promise<T> {
    const stop = this.publishDuration.startTimer({ topic });
    let pending: Promise<T>;
    try {
      pending = publish();
    } catch (error) {
      stop({ outcome: 'error' });
      throw error;
    }
    return pending.then(
      (result) => {
        stop({ outcome: 'ok' });
        return result;
      },
      (error: unknown) => {
        stop({ outcome: 'error' });
        throw error;
      },
    );
  }
}
