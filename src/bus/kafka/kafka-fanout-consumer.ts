import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { Counter, Gauge, Registry } from 'prom-client';
import { Observable } from 'rxjs';
import { UndeclaredTopicError } from '../bus.errors';
import { LocalFanout } from '../local-fanout';
import { BusRecord, ParsedRecord, TopicOptions } from '../message-bus.interface';
import { describe, withTimeout } from './kafka-helpers';
import { decodeRecord } from './kafka-record.decoder';
import { PartitionOffsets } from './kafka-topics';
import { PartitionedLog } from './partitioned-log';

export interface KafkaFanoutOptions {
  readonly clientId: string;
  /** Records (and characters of text) each topic keeps in this process for resume. */
  readonly historySize: number;
  readonly historyBytes: number;
}

/** What the fan-out consumer tells the bus, which owns the connection. */
export interface KafkaFanoutHooks {
  /** The consumer joined its group: the cluster answers. */
  joined(): void;
  /** Why the consumer stopped, for the health details. */
  failed(reason: string): void;
  closing(): boolean;
  /** Connects again after kafkajs gave up on the consumer. */
  reconnect(): Promise<void>;
}

/** One declared topic: what this process holds of it, and who waits for it to catch up. */
export interface TopicState {
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

const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Reads every declared topic into this process's logs and hands each record to the live streams.
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
 */
export class KafkaFanoutConsumer {
  readonly topics = new Map<string, TopicState>();
  /** Unique per process: see the class comment. */
  readonly groupId: string;
  private readonly fanout = new LocalFanout();
  private consumer?: Consumer;
  private isPositioned = false;
  private isJoined = false;

  constructor(
    private readonly kafka: Pick<Kafka, 'consumer'>,
    private readonly options: KafkaFanoutOptions,
    registry: Registry,
    /** Shared with the command consumers: one metric of malformed records per topic. */
    private readonly skipped: Counter<'topic'>,
    private readonly logger: Pick<Logger, 'log' | 'warn'>,
    private readonly hooks: KafkaFanoutHooks,
  ) {
    this.groupId = `${options.clientId}.fanout.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
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

  /** Whether position() ran: where each topic is read from is chosen once per process. */
  get positioned(): boolean {
    return this.isPositioned;
  }

  get joined(): boolean {
    return this.isJoined;
  }

  declare(topic: string, options: TopicOptions): void {
    this.topics.set(topic, {
      options,
      log: new PartitionedLog(topic, this.options.historySize, this.options.historyBytes),
      caughtUp: false,
      waiting: new Set(),
      highWatermarks: [],
    });
  }

  state(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (!state) {
      throw new UndeclaredTopicError(topic);
    }
    return state;
  }

  /** The records of the topic (of one key) delivered from now on. */
  live(topic: string, key?: string): Observable<BusRecord> {
    return this.fanout.live(topic, key);
  }

  /** Where this process starts reading each topic: the tail resume needs, or a commit log's start. */
  async position(offsetsOf: (topic: string) => Promise<PartitionOffsets[]>): Promise<void> {
    for (const [topic, state] of this.topics) {
      const offsets = await offsetsOf(topic);
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
    this.isPositioned = true;
  }

  async start(): Promise<void> {
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
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP, END_BATCH_PROCESS } = consumer.events;
    // Transaction markers and the records of aborted transactions (POST /publish batches) take
    // offsets that no message shows: kafkajs reports how far each batch went, even one made only
    // of them, so that the log moves past them and a partition that ends with one catches up.
    consumer.on(END_BATCH_PROCESS, ({ payload }) => {
      this.passed(payload.topic, payload.partition, Number(payload.lastOffset));
    });
    consumer.on(GROUP_JOIN, () => {
      if (!this.isJoined) {
        this.logger.log(`Kafka consumer ${this.groupId} joined`);
      }
      this.isJoined = true;
      this.hooks.joined();
    });
    consumer.on(CRASH, ({ payload }) => {
      this.isJoined = false;
      const reason = describe(payload.error);
      this.hooks.failed(reason);
      if (payload.restart) {
        this.logger.warn(`Kafka consumer stopped (${reason}); kafkajs restarts it`);
        return;
      }
      // kafkajs gives up on errors it deems fatal; start over with the same group, whose committed
      // offsets say where to resume (records already held are recognised by their offsets).
      this.logger.warn(`Kafka consumer failed (${reason}); reconnecting`);
      if (!this.hooks.closing() && this.consumer === consumer) {
        this.consumer = undefined;
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => this.hooks.reconnect());
      }
    });
    for (const event of [DISCONNECT, STOP]) {
      consumer.on(event, () => {
        this.isJoined = false;
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

  /** Stopping the consumer commits what it has read (waits a few seconds at most). */
  async disconnect(): Promise<void> {
    await withTimeout(this.consumer?.disconnect(), CLOSE_TIMEOUT_MS);
  }

  /** Disconnects and forgets the consumer, so that the next start builds it anew. */
  async reset(): Promise<void> {
    await this.disconnect();
    this.consumer = undefined;
  }

  /** Streams still waiting for their topic to catch up will not get it: forget them. */
  clearWaiting(): void {
    for (const state of this.topics.values()) {
      state.waiting.clear();
    }
  }

  /** A batch from the consumer, in partition order: into the log and out to the streams. */
  take({ batch }: Pick<EachBatchPayload, 'batch'>): void {
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

  /**
   * A publish of this process, acknowledged: delivered now when it is the very next record of its
   * partition here, else left to the consumer, which delivers it in order. Either way its position
   * is a vector any stream of the topic can resume after.
   */
  acknowledged(
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
    // Consumed before its acknowledgement came back: streams already have it, under this id.
    const consumed = state.log.recordAt(partition, offset);
    if (consumed) {
      return consumed;
    }
    return {
      topic: state.log.topic,
      key: routedKey,
      value,
      position: state.log.positionAfter(partition, offset),
      timestamp: Date.now(),
    };
  }

  /** Every offset of the partition up to `lastOffset` was read, shown as a message or not. */
  passed(topic: string, partition: number, lastOffset: number): void {
    const state = this.topics.get(topic);
    if (!state || !Number.isSafeInteger(lastOffset) || lastOffset < 0) {
      return;
    }
    state.log.skip(partition, lastOffset);
    if (!state.caughtUp) {
      this.checkCaughtUp(state);
    }
  }

  private consume(state: TopicState, partition: number, message: KafkaMessage): void {
    const offset = Number(message.offset);
    const where = `${state.log.topic}/${partition}@${offset}`;
    const decoded = decodeRecord(message);
    if ('error' in decoded) {
      this.skip(state, partition, offset, `Skipped record ${where}: ${decoded.error}`);
      return;
    }
    const { value, key, timestamp, headers } = decoded;
    let parsed: ParsedRecord;
    try {
      parsed = state.options.parse?.(value, key) ?? { key };
    } catch (error) {
      // A topic's parser throwing on some record must not stall the topic either.
      parsed = { error: `it could not be parsed (${describe(error)})` };
    }
    if ('error' in parsed) {
      this.skip(state, partition, offset, `Skipped record ${where}: ${parsed.error}`);
      return;
    }
    const record = state.log.append(partition, offset, parsed.key, value, timestamp, headers);
    if (record) {
      this.fanout.dispatch(record);
    }
  }

  private skip(state: TopicState, partition: number, offset: number, why: string): void {
    this.logger.warn(why);
    this.skipped.inc({ topic: state.log.topic });
    state.log.skip(partition, offset);
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
}
