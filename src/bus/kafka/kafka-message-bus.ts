import { Logger } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import { filter, Observable, Subscription } from 'rxjs';
import {
  BusDelivery,
  BusHealth,
  BusRecord,
  NEWEST,
  OLDEST,
  OutgoingRecord,
  SubscribeOptions,
  TopicOptions,
} from '../message-bus.interface';
import { KafkaBatchPublisher } from './kafka-batch-publisher';
import { KafkaCommandConsumers } from './kafka-command-consumers';
import { MeteredMessageBus } from '../metered-message-bus';
import { KafkaFanoutConsumer, TopicState } from './kafka-fanout-consumer';
import { describe, withTimeout } from './kafka-helpers';
import { KafkaPublisher } from './kafka-publisher';
import { KafkaTopics, PartitionOffsets } from './kafka-topics';
import { kafkajsLogCreator } from './kafkajs-logger';
import { parsePosition, PartitionedRecord } from './partitioned-log';

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
 * - Streams, held until the consumer caught up, replayed then live: see KafkaStreamReader, below.
 * - This class connects the parts, retries with backoff, and reports readiness and health.
 */
export class KafkaMessageBus extends MeteredMessageBus {
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
    super(registry);
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

  protected declare(topic: string, options: TopicOptions = {}): void {
    if (this.fanout.topics.has(topic)) {
      return;
    }
    if (this.connecting) {
      throw new Error(`Topic ${topic} was declared after the Kafka bus started`);
    }
    this.fanout.declare(topic, options);
  }

  /** Commands: see KafkaCommandConsumers. */
  protected registerCommands(
    topic: string,
    group: string,
    handler: (record: BusRecord) => Promise<void>,
  ): void {
    if (this.connecting) {
      throw new Error(`Commands of ${topic} were registered after the Kafka bus started`);
    }
    this.commands.register(topic, group, handler);
  }

  start(): void {
    this.connecting ??= this.connect();
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
  }

  protected async send(topic: string, key: string | null, value: string): Promise<BusRecord> {
    const state = this.fanout.state(topic);
    const { partition, offset } = await this.publisher.send(topic, key, value);
    return this.fanout.acknowledged(state, partition, offset, key, value);
  }

  /** One transaction: see KafkaBatchPublisher. Delivered here as each publish is, once committed. */
  protected async sendAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]> {
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

/**
 * Streams over what the fan-out consumer holds: a replay from the requested position, then the
 * live records. Streams subscribe once the consumer has caught up with the topic as it was at
 * start-up, so a client never gets old records as live ones, and its Last-Event-ID is replayed
 * from a full history.
 */
export class KafkaStreamReader {
  constructor(
    private readonly fanout: KafkaFanoutConsumer,
    /** The broker's end offsets of a topic, for positions past what this process knows. */
    private readonly endOffsets: (topic: string) => Promise<PartitionOffsets[]>,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  subscribe(topic: string, options: SubscribeOptions = {}): Observable<BusDelivery> {
    const state = this.fanout.state(topic);
    const { key } = options;
    if (options.projection) {
      // State derived from the log needs every record, one by one, then the live ones.
      return new Observable<BusDelivery>((subscriber) => {
        for (const record of state.log.readAfter(state.log.beforeOldest(), key).records) {
          if (subscriber.closed) {
            return undefined;
          }
          subscriber.next(record);
        }
        return this.fanout.live(topic, key).subscribe(subscriber);
      });
    }
    return new Observable<BusDelivery>((subscriber) => {
      let live: Subscription | undefined;
      const attachAt = (after: string) => {
        if (subscriber.closed) {
          return;
        }
        const replay = state.log.readAfter(after, key, state.highWatermarks);
        const { liveFloor } = replay;
        const records$ = this.fanout.live(topic, key) as Observable<PartitionedRecord>;
        // The gap notice, the replay and the live subscription in one synchronous step: no record
        // consumed in between is missed or delivered twice.
        if (!replay.complete) {
          subscriber.next({ gap: true, requested: after, resumeAfter: replay.resumeAfter });
        }
        subscriber.next({ replay: true, position: replay.resumeAfter, records: replay.records });
        if (subscriber.closed) {
          return;
        }
        live = (
          liveFloor
            ? records$.pipe(filter((record) => record.offset >= (liveFloor[record.partition] ?? 0)))
            : records$
        ).subscribe(subscriber);
      };
      const attach = () => {
        const requested = options.after;
        if (requested === undefined) {
          live = this.fanout.live(topic, key).subscribe(subscriber);
          return;
        }
        const after =
          requested === OLDEST
            ? state.log.beforeOldest()
            : requested === NEWEST
              ? state.log.head()
              : requested;
        // Past the end this process knows of: another instance may have read further, or the
        // position is not the topic's. The broker's end offsets tell which before the stream goes on.
        if (this.pastKnownEnd(state, after)) {
          void this.refreshEnds(topic, state).then(() => attachAt(after));
        } else {
          attachAt(after);
        }
      };
      if (state.caughtUp) {
        attach();
      } else {
        state.waiting.add(attach);
      }
      return () => {
        state.waiting.delete(attach);
        live?.unsubscribe();
      };
    });
  }

  private pastKnownEnd(state: TopicState, position: string): boolean {
    const asked = parsePosition(position);
    return (
      asked !== undefined &&
      asked.some(
        (offset, partition) =>
          offset > Math.max(state.highWatermarks[partition] ?? 0, state.log.nextOffset(partition) ?? 0),
      )
    );
  }

  /** Asks the broker for the topic's end offsets; on failure the ends last seen stand. */
  private refreshEnds(topic: string, state: TopicState): Promise<void> {
    state.refreshingEnds ??= this.endOffsets(topic)
      .then((offsets) => {
        for (const { partition, high } of offsets) {
          state.highWatermarks[partition] = Math.max(state.highWatermarks[partition] ?? 0, high);
        }
      })
      .catch((error: unknown) => {
        this.logger.warn(`Could not read the end offsets of ${topic}: ${describe(error)}`);
      })
      .finally(() => {
        state.refreshingEnds = undefined;
      });
    return state.refreshingEnds;
  }
}
