import { Logger } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { Observable } from 'rxjs';
import {
  BusDelivery,
  BusHealth,
  BusRecord,
  MessageBus,
  OutgoingRecord,
  SubscribeOptions,
  TopicOptions,
} from '../message-bus.interface';
import { KafkaBatchPublisher } from './kafka-batch-publisher';
import { KafkaCommandConsumers } from './kafka-command-consumers';
import { KafkaFanoutConsumer } from './kafka-fanout-consumer';
import { describe, withTimeout } from './kafka-helpers';
import { KafkaPublisher } from './kafka-publisher';
import { KafkaStreamReader } from './kafka-stream-reader';
import { KafkaTopics } from './kafka-topics';
import { kafkajsLogCreator } from './kafkajs-logger';

export interface KafkaBusOptions {
  readonly brokers: string[];
  readonly clientId: string;
  readonly publishTimeoutMs: number;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Records (and characters of text) each topic keeps in this process for resume. */
  readonly historySize: number;
  readonly historyBytes: number;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
const PROBE_INTERVAL_MS = 3_000;
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Kafka as the message bus: every instance publishes to Kafka and reads every record back, so a
 * stream sees what any instance (or any other producer) wrote.
 *
 * - Fan-out and de-duplication of this process's own publishes: see KafkaFanoutConsumer.
 * - Streams, held until the consumer caught up, replayed then live: see KafkaStreamReader.
 * - This class connects the parts, retries with backoff, and reports readiness and health.
 */
export class KafkaMessageBus implements MessageBus {
  private readonly logger = new Logger(KafkaMessageBus.name);
  private readonly kafka: Kafka;
  private readonly admin: KafkaTopics;
  private readonly publisher: KafkaPublisher;
  private readonly batchPublisher: KafkaBatchPublisher;
  private readonly fanout: KafkaFanoutConsumer;
  private readonly commands: KafkaCommandConsumers;
  private readonly streams: KafkaStreamReader;
  private reachable = false;
  private lastError?: string;
  private closing = false;
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private readonly skipped: Counter<'topic'>;

  constructor(
    private readonly options: KafkaBusOptions,
    registry: Registry,
  ) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logCreator: kafkajsLogCreator,
      logLevel: logLevel.WARN,
      connectionTimeout: 3_000,
      retry: { initialRetryTime: 300, retries: 5 },
    });
    this.admin = new KafkaTopics(this.kafka, options, this.logger);
    this.publisher = new KafkaPublisher(
      this.kafka,
      options,
      () => this.reachable,
      (reason) => {
        this.lastError = reason;
      },
    );
    this.batchPublisher = new KafkaBatchPublisher(
      this.kafka,
      options.clientId,
      options,
      () => this.reachable && this.publisher.ready,
      (reason) => {
        this.lastError = reason;
      },
    );
    this.skipped = new Counter({
      name: 'kafka_records_skipped_total',
      help: 'Malformed records skipped by the consumer (logged with the reason), by topic',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.fanout = new KafkaFanoutConsumer(this.kafka, options, registry, this.skipped, this.logger, {
      joined: () => {
        this.reachable = true;
      },
      failed: (reason) => {
        this.lastError = reason;
      },
      closing: () => this.closing,
      reconnect: () => this.connect(),
    });
    this.commands = new KafkaCommandConsumers(this.kafka, options.clientId, this.skipped, this.logger);
    this.streams = new KafkaStreamReader(this.fanout, (topic) => this.admin.endOffsets(topic), this.logger);
  }

  declareTopic(topic: string, options: TopicOptions = {}): void {
    if (this.fanout.topics.has(topic)) {
      return;
    }
    if (this.connecting) {
      throw new Error(`Topic ${topic} was declared after the Kafka bus started`);
    }
    this.fanout.declare(topic, options);
  }

  /** Commands: see KafkaCommandConsumers. */
  handleCommands(topic: string, group: string, handler: (record: BusRecord) => Promise<void>): void {
    if (this.connecting) {
      throw new Error(`Commands of ${topic} were registered after the Kafka bus started`);
    }
    this.commands.register(topic, group, handler);
  }

  start(): void {
    this.connecting ??= this.connect();
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
  }

  async publish(topic: string, key: string | null, value: string): Promise<BusRecord> {
    const state = this.fanout.state(topic);
    const { partition, offset } = await this.publisher.send(topic, key, value);
    return this.fanout.acknowledged(state, partition, offset, key, value);
  }

  /** One transaction: see KafkaBatchPublisher. Delivered here as each publish is, once committed. */
  async publishAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]> {
    const states = records.map(({ topic }) => this.fanout.state(topic));
    const acks = await this.batchPublisher.sendAll(records);
    return records.map(({ key, value }, index) =>
      this.fanout.acknowledged(states[index], acks[index].partition, acks[index].offset, key, value),
    );
  }

  subscribe(topic: string, options: SubscribeOptions = {}): Observable<BusDelivery> {
    return this.streams.subscribe(topic, options);
  }

  head(topic: string): string {
    return this.fanout.state(topic).log.head();
  }

  health(): BusHealth {
    const catchingUp = [...this.fanout.topics].filter(([, state]) => !state.caughtUp).map(([topic]) => topic);
    const commandsJoined = this.commands.joined === this.commands.registered;
    const up =
      this.reachable &&
      this.publisher.ready &&
      this.fanout.joined &&
      commandsJoined &&
      catchingUp.length === 0;
    return {
      up,
      details: {
        kind: 'kafka',
        brokers: this.options.brokers.join(','),
        reachable: this.reachable,
        producer: this.publisher.ready ? 'connected' : 'disconnected',
        consumer: this.fanout.joined ? 'joined' : 'not joined',
        ...(this.commands.registered > 0 && {
          commandConsumers: `${this.commands.joined}/${this.commands.registered} joined`,
        }),
        ...(catchingUp.length > 0 && { catchingUp }),
        ...(!up && this.lastError !== undefined && { lastError: this.lastError }),
      },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    // Stopping the consumer commits what it has read; disconnecting the producer flushes it.
    await this.fanout.disconnect();
    await this.commands.disconnect();
    await withTimeout(this.publisher.disconnect(), CLOSE_TIMEOUT_MS);
    await this.batchPublisher.disconnect();
    await withTimeout(this.admin.disconnect(), CLOSE_TIMEOUT_MS);
    this.logger.log('Kafka consumer and producer closed');
    this.fanout.clearWaiting();
  }

  /**
   * Connects, creates missing topics, positions the consumer group once and starts consuming.
   * Retries with backoff until it succeeds or the bus closes; the service serves meanwhile.
   */
  private async connect(attempt = 1): Promise<void> {
    try {
      await this.admin.connect();
      await this.admin.createMissing([...this.fanout.topics.keys(), ...this.commands.topics]);
      if (!this.fanout.positioned) {
        await this.fanout.position((topic) => this.admin.offsets(topic));
      }
      await this.publisher.connect();
      await this.fanout.start();
      await this.commands.start();
      this.reachable = true;
      this.logger.log(
        `Kafka connected (${this.options.brokers.join(',')}); consuming ${[...this.fanout.topics.keys()].join(', ')} as ${this.fanout.groupId}`,
      );
    } catch (error) {
      this.lastError = describe(error);
      if (this.closing) {
        return;
      }
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt - 1, 10));
      this.logger.warn(
        `Kafka not reachable (${this.options.brokers.join(',')}), attempt ${attempt}: ${this.lastError}; retrying in ${delay} ms`,
      );
      await this.fanout.reset();
      await this.commands.reset();
      await new Promise<void>((resolve) => {
        this.retryTimer = setTimeout(resolve, delay);
      });
      if (!this.closing) {
        await this.connect(attempt + 1);
      }
    }
  }

  /** Readiness: can the cluster be reached right now? kafkajs reconnects by itself; this only looks. */
  private async probe(): Promise<void> {
    if (!this.fanout.positioned || this.closing) {
      return;
    }
    try {
      await this.admin.ping();
      if (!this.reachable) {
        this.logger.log('Kafka reachable again');
      }
      this.reachable = true;
    } catch (error) {
      if (this.reachable) {
        this.logger.warn(`Kafka unreachable: ${describe(error)}`);
      }
      this.lastError = describe(error);
      this.reachable = false;
    }
  }
}
