import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { Counter, Gauge, Registry } from 'prom-client';
import { filter, Observable, Subscription } from 'rxjs';
import { UndeclaredTopicError } from '../bus/bus.errors';
import { LocalFanout } from '../bus/local-fanout';
import { projectThenLive, replayThenLive } from '../bus/replay';
import {
  BusDelivery,
  BusHealth,
  BusRecord,
  MessageBus,
  NEWEST,
  OLDEST,
  SubscribeOptions,
  TopicOptions,
} from '../bus/message-bus.interface';
import { KafkaCommandConsumers } from './kafka-command-consumers';
import { describe, withTimeout } from './kafka-helpers';
import { KafkaPublisher } from './kafka-publisher';
import { KafkaTopics } from './kafka-topics';
import { kafkajsLogCreator } from './kafkajs-logger';
import { parsePosition, PartitionedLog, PartitionedRecord } from './partitioned-log';

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

/** One declared topic: what this process holds of it, and who waits for it to catch up. */
interface TopicState {
  readonly options: TopicOptions;
  readonly log: PartitionedLog;
  /** The end of the topic when consumption started; caught up once every partition reached it. */
  target?: number[];
  caughtUp: boolean;
  readonly waiting: Set<() => void>;
  /**
   * Per partition: the end of the topic as last seen (the high watermark of the latest fetch, or
   * past this process's latest acknowledged publish): for the lag metric and to recognise resume
   * positions past the topic's end.
   */
  readonly highWatermarks: number[];
  /** A request for the topic's end offsets in flight, shared by the streams that wait for it. */
  refreshingEnds?: Promise<void>;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
const PROBE_INTERVAL_MS = 3_000;
const CLOSE_TIMEOUT_MS = 5_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Kafka as the message bus: every instance publishes to Kafka and reads every record back, so a
 * stream sees what any instance (or any other producer) wrote.
 *
 * - Fan-out: each process consumes with a consumer group of its own (unique id per process), so
 *   each instance sees every record, with kafkajs's reconnection, offset commits and rebalancing
 *   rather than hand-made fetching (kafkajs has no manual partition assignment). It starts at the
 *   tail of each topic that resume needs (the whole topic for a commit log); after a broker outage
 *   kafkajs resumes from the group's committed offsets, and a consumer rebuilt after a fatal error
 *   seeks to right after the last record this process took.
 * - A stream is the merge of this process's publishes and the consumed topic without duplicates:
 *   a publish acknowledged at the very next offset of its partition is delivered at once, from the
 *   acknowledgement; the same record consumed later is recognised by its offset and dropped. Any
 *   other record, mine or not, is delivered by the consumer, so every partition stays in order.
 * - Streams subscribe once the consumer has caught up with the topic as it was at start-up, so a
 *   client never gets old records as live ones, and its Last-Event-ID is replayed from a full
 *   history.
 */
export class KafkaMessageBus implements MessageBus {
  private readonly logger = new Logger(KafkaMessageBus.name);
  private readonly topics = new Map<string, TopicState>();
  private readonly fanout = new LocalFanout();
  private readonly kafka: Kafka;
  private readonly admin: KafkaTopics;
  private readonly publisher: KafkaPublisher;
  private consumer?: Consumer;
  private readonly commands: KafkaCommandConsumers;
  /** Unique per process: see the class comment. */
  private readonly groupId: string;
  private positioned = false;
  private consumerJoined = false;
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
    this.groupId = `${options.clientId}.fanout.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
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
    this.skipped = new Counter({
      name: 'kafka_records_skipped_total',
      help: 'Malformed records skipped by the consumer (logged with the reason), by topic',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.commands = new KafkaCommandConsumers(this.kafka, options.clientId, this.skipped, this.logger);
    const topics = this.topics;
    new Gauge({
      name: 'kafka_consumer_lag',
      help: 'Records of a partition not yet consumed by this instance (high watermark minus position)',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [topic, state] of topics) {
          state.highWatermarks.forEach((high, partition) => {
            const next = state.log.nextOffset(partition) ?? high;
            this.set({ topic, partition: String(partition) }, Math.max(0, high - next));
          });
        }
      },
    });
  }

  declareTopic(topic: string, options: TopicOptions = {}): void {
    if (this.topics.has(topic)) {
      return;
    }
    if (this.connecting) {
      throw new Error(`Topic ${topic} was declared after the Kafka bus started`);
    }
    this.topics.set(topic, {
      options,
      log: new PartitionedLog(topic, this.options.historySize, this.options.historyBytes),
      caughtUp: false,
      waiting: new Set(),
      highWatermarks: [],
    });
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
    const state = this.topic(topic);
    const { partition, offset } = await this.publisher.send(topic, key, value);
    return this.acknowledged(state, partition, offset, key, value);
  }

  subscribe(topic: string, options: SubscribeOptions = {}): Observable<BusDelivery> {
    const state = this.topic(topic);
    const { key } = options;
    if (options.projection) {
      return new Observable<BusDelivery>((subscriber) =>
        projectThenLive(
          subscriber,
          state.log.readAfter(state.log.beforeOldest(), key),
          this.fanout.live(topic, key),
        ),
      );
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
        live = replayThenLive(
          subscriber,
          after,
          replay,
          liveFloor
            ? records$.pipe(filter((record) => record.offset >= (liveFloor[record.partition] ?? 0)))
            : records$,
        );
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
    state.refreshingEnds ??= this.admin
      .endOffsets(topic)
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

  head(topic: string): string {
    return this.topic(topic).log.head();
  }

  health(): BusHealth {
    const catchingUp = [...this.topics].filter(([, state]) => !state.caughtUp).map(([topic]) => topic);
    const commandsJoined = this.commands.joined === this.commands.registered;
    const up =
      this.reachable &&
      this.publisher.ready &&
      this.consumerJoined &&
      commandsJoined &&
      catchingUp.length === 0;
    return {
      up,
      details: {
        kind: 'kafka',
        brokers: this.options.brokers.join(','),
        reachable: this.reachable,
        producer: this.publisher.ready ? 'connected' : 'disconnected',
        consumer: this.consumerJoined ? 'joined' : 'not joined',
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
    await withTimeout(this.consumer?.disconnect(), CLOSE_TIMEOUT_MS);
    await this.commands.disconnect();
    await withTimeout(this.publisher.disconnect(), CLOSE_TIMEOUT_MS);
    await withTimeout(this.admin.disconnect(), CLOSE_TIMEOUT_MS);
    this.logger.log('Kafka consumer and producer closed');
    for (const state of this.topics.values()) {
      state.waiting.clear();
    }
  }

  /**
   * Connects, creates missing topics, positions the consumer group once and starts consuming.
   * Retries with backoff until it succeeds or the bus closes; the service serves meanwhile.
   */
  private async connect(attempt = 1): Promise<void> {
    try {
      await this.admin.connect();
      await this.admin.createMissing([...this.topics.keys(), ...this.commands.topics]);
      if (!this.positioned) {
        await this.position();
      }
      await this.publisher.connect();
      await this.startConsumer();
      await this.commands.start();
      this.reachable = true;
      this.logger.log(
        `Kafka connected (${this.options.brokers.join(',')}); consuming ${[...this.topics.keys()].join(', ')} as ${this.groupId}`,
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
      await withTimeout(this.consumer?.disconnect(), CLOSE_TIMEOUT_MS);
      this.consumer = undefined;
      await this.commands.reset();
      await new Promise<void>((resolve) => {
        this.retryTimer = setTimeout(resolve, delay);
      });
      if (!this.closing) {
        await this.connect(attempt + 1);
      }
    }
  }

  /** Where this process starts reading each topic: the tail resume needs, or a commit log's start. */
  private async position(): Promise<void> {
    for (const [topic, state] of this.topics) {
      const offsets = await this.admin.offsets(topic);
      const partitions = offsets.map(({ partition, low: first, high: end }) => {
        const from = state.options.commitLog ? first : Math.max(first, end - this.options.historySize);
        return { partition, from, end };
      });
      state.target = [];
      for (const { partition, from, end } of partitions) {
        state.log.startAt(partition, from);
        state.target[partition] = end;
        state.highWatermarks[partition] = end;
      }
      this.checkCaughtUp(state);
    }
    this.positioned = true;
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      // The group has this one member: after a broker restart its rejoin waits for the old
      // session to expire, so keep sessions short (Kafka's minimum is 6 s).
      sessionTimeout: 6_000,
      rebalanceTimeout: 6_000,
      heartbeatInterval: 1_000,
      // A fetch returns as soon as records arrive; this only bounds an idle long-poll, which
      // shutdown has to wait out.
      maxWaitTimeInMs: 1_000,
      retry: { initialRetryTime: 300, retries: 5 },
    });
    this.consumer = consumer;
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, () => {
      if (!this.consumerJoined) {
        this.logger.log(`Kafka consumer ${this.groupId} joined`);
      }
      this.consumerJoined = true;
      this.reachable = true;
    });
    consumer.on(CRASH, ({ payload }) => {
      this.consumerJoined = false;
      this.lastError = describe(payload.error);
      if (payload.restart) {
        this.logger.warn(`Kafka consumer stopped (${this.lastError}); kafkajs restarts it`);
        return;
      }
      // kafkajs gives up on errors it deems fatal; start over with the same group, whose committed
      // offsets say where to resume (records already held are recognised by their offsets).
      this.logger.warn(`Kafka consumer failed (${this.lastError}); reconnecting`);
      if (!this.closing && this.consumer === consumer) {
        this.consumer = undefined;
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => this.connect());
      }
    });
    for (const event of [DISCONNECT, STOP]) {
      consumer.on(event, () => {
        this.consumerJoined = false;
      });
    }
    await consumer.connect();
    // A partition not positioned below (one added while running) is read from its beginning.
    await consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: (payload) => Promise.resolve(this.take(payload)),
    });
    // Read on from where this process is: at first the start chosen by position(); after a
    // consumer failure, right after the last record taken (what the group committed may be older).
    for (const [topic, state] of this.topics) {
      state.target?.forEach((_, partition) => {
        consumer.seek({ topic, partition, offset: String(state.log.nextOffset(partition) ?? 0) });
      });
    }
  }

  /** A batch from the consumer, in partition order: into the log and out to the streams. */
  private take({ batch }: EachBatchPayload): void {
    const state = this.topics.get(batch.topic);
    if (!state) {
      return;
    }
    const { partition } = batch;
    state.highWatermarks[partition] = Number(batch.highWatermark);
    for (const message of batch.messages) {
      this.consume(state, partition, message);
    }
    if (!state.caughtUp) {
      this.checkCaughtUp(state);
    }
  }

  private consume(state: TopicState, partition: number, message: KafkaMessage): void {
    const offset = Number(message.offset);
    const where = `${state.log.topic}/${partition}@${offset}`;
    let value: string;
    try {
      value = utf8.decode(message.value ?? new Uint8Array());
    } catch {
      this.skip(state, partition, offset, `Skipped record ${where}: its value is not valid UTF-8`);
      return;
    }
    const rawKey = message.key === null ? null : message.key.toString('utf8');
    const parsed = state.options.parse?.(value, rawKey) ?? { key: rawKey };
    if ('error' in parsed) {
      this.skip(state, partition, offset, `Skipped record ${where}: ${parsed.error}`);
      return;
    }
    const record = state.log.append(partition, offset, parsed.key, value, Number(message.timestamp));
    if (record) {
      this.fanout.dispatch(record);
    }
  }

  private skip(state: TopicState, partition: number, offset: number, why: string): void {
    this.logger.warn(why);
    this.skipped.inc({ topic: state.log.topic });
    state.log.skip(partition, offset);
  }

  /**
   * A publish of this process, acknowledged: delivered now when it is the very next record of its
   * partition here, else left to the consumer, which delivers it in order.
   */
  private acknowledged(
    state: TopicState,
    partition: number,
    offset: number,
    key: string | null,
    value: string,
  ): BusRecord {
    state.highWatermarks[partition] = Math.max(state.highWatermarks[partition] ?? 0, offset + 1);
    const parsed = state.options.parse?.(value, key) ?? { key };
    const routedKey = 'error' in parsed ? key : parsed.key;
    if (state.caughtUp && state.log.nextOffset(partition) === offset) {
      const record = state.log.append(partition, offset, routedKey, value, Date.now());
      if (record) {
        this.fanout.dispatch(record);
        return record;
      }
    }
    return {
      topic: state.log.topic,
      key: routedKey,
      value,
      position: String(offset + 1),
      timestamp: Date.now(),
    };
  }

  private checkCaughtUp(state: TopicState): void {
    const target = state.target;
    if (state.caughtUp || !target) {
      return;
    }
    if (target.every((end, partition) => (state.log.nextOffset(partition) ?? 0) >= end)) {
      state.caughtUp = true;
      const waiting = [...state.waiting];
      state.waiting.clear();
      for (const attach of waiting) {
        attach();
      }
    }
  }

  /** Readiness: can the cluster be reached right now? kafkajs reconnects by itself; this only looks. */
  private async probe(): Promise<void> {
    if (!this.positioned || this.closing) {
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

  private topic(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (!state) {
      throw new UndeclaredTopicError(topic);
    }
    return state;
  }
}
