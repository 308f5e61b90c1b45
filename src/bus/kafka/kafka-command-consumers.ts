import { Logger } from '@nestjs/common';
import { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { Counter } from 'prom-client';
import { BusRecord } from '../message-bus.interface';
import { describe, withTimeout } from './kafka-helpers';
import { decodeRecord } from './kafka-record.decoder';

type CommandHandler = (record: BusRecord) => Promise<void>;

interface CommandRegistration {
  readonly topic: string;
  readonly group: string;
  readonly handler: CommandHandler;
}

const CLOSE_TIMEOUT_MS = 5_000;
const REBUILD_DELAY_MS = 1_000;

/**
 * Commands are read by a consumer group shared by every instance (`<KAFKA_CLIENT_ID>.<group>`),
 * so Kafka gives each partition to one instance: each record is handled once. A new group starts
 * at the topic's beginning, so commands sent before any instance ran are handled too.
 */
export class KafkaCommandConsumers {
  private readonly handlers: CommandRegistration[] = [];
  /** The running consumer of each registration (none while it is being rebuilt). */
  private readonly consumers = new Map<CommandRegistration, Consumer>();
  private readonly joinedConsumers = new Set<Consumer>();
  private stopped = false;

  constructor(
    private readonly kafka: Pick<Kafka, 'consumer'>,
    private readonly clientId: string,
    /** Shared with the fan-out consumer: one metric of malformed records per topic. */
    private readonly skipped: Counter<'topic'>,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    /** How long to wait before building a consumer again after kafkajs gave one up. */
    private readonly rebuildDelayMs = REBUILD_DELAY_MS,
  ) {}

  register(topic: string, group: string, handler: CommandHandler): void {
    this.handlers.push({ topic, group, handler });
  }

  get topics(): string[] {
    return this.handlers.map(({ topic }) => topic);
  }

  /** How many command consumers are registered, and how many of them joined their group. */
  get registered(): number {
    return this.handlers.length;
  }

  get joined(): number {
    return this.joinedConsumers.size;
  }

  async start(): Promise<void> {
    if (this.consumers.size > 0) {
      return; // still running: only the fan-out consumer was rebuilt
    }
    this.stopped = false;
    for (const registration of this.handlers) {
      await this.startOne(registration);
    }
  }

  /** Disconnects every command consumer (at most a few seconds each). */
  async disconnect(): Promise<void> {
    this.stopped = true;
    await Promise.all(
      [...this.consumers.values()].map((consumer) => withTimeout(consumer.disconnect(), CLOSE_TIMEOUT_MS)),
    );
  }

  /** Disconnects and forgets the consumers, so that the next start builds them anew. */
  async reset(): Promise<void> {
    await this.disconnect();
    this.consumers.clear();
    this.joinedConsumers.clear();
  }

  private async startOne(registration: CommandRegistration): Promise<void> {
    const { topic, group, handler } = registration;
    const consumer = this.kafka.consumer({
      groupId: `${this.clientId}.${group}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 1_000,
      // A member that vanished (an instance killed, a broker restarted) holds its partitions until
      // its session expires: keep that short, commands wait meanwhile.
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1_000,
    });
    this.consumers.set(registration, consumer);
    const { GROUP_JOIN, CRASH, DISCONNECT, STOP } = consumer.events;
    consumer.on(GROUP_JOIN, () => this.joinedConsumers.add(consumer));
    for (const event of [DISCONNECT, STOP]) {
      consumer.on(event, () => this.joinedConsumers.delete(consumer));
    }
    consumer.on(CRASH, ({ payload }) => {
      this.joinedConsumers.delete(consumer);
      this.logger.warn(
        `Kafka command consumer of ${topic} stopped (${describe(payload.error)}); ${payload.restart ? 'kafkajs restarts it' : 'building it again'}`,
      );
      if (!payload.restart) {
        // kafkajs gives up on errors it deems fatal: without a new consumer, these commands would
        // wait until the process restarts. The group's committed offsets say where to go on.
        void this.rebuild(registration, consumer);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: (payload) => this.handle(topic, handler, payload) });
  }

  /** Replaces a consumer kafkajs gave up on, retrying until it runs or the consumers stop. */
  private async rebuild(registration: CommandRegistration, failed: Consumer): Promise<void> {
    if (this.stopped || this.consumers.get(registration) !== failed) {
      return;
    }
    this.consumers.delete(registration);
    await withTimeout(failed.disconnect().catch(() => undefined), CLOSE_TIMEOUT_MS);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, this.rebuildDelayMs));
      // Stopped, or reset and started anew meanwhile: that start built it already.
      if (this.stopped || this.consumers.has(registration)) {
        return;
      }
      try {
        await this.startOne(registration);
        return;
      } catch (error) {
        const consumer = this.consumers.get(registration);
        this.consumers.delete(registration);
        await withTimeout(consumer?.disconnect().catch(() => undefined), CLOSE_TIMEOUT_MS);
        this.logger.warn(
          `Could not build the Kafka command consumer of ${registration.topic} again (${describe(error)}); retrying`,
        );
      }
    }
  }

  private async handle(
    topic: string,
    handler: CommandHandler,
    { partition, message }: Pick<EachMessagePayload, 'partition' | 'message'>,
  ): Promise<void> {
    const where = `${topic}/${partition}@${message.offset}`;
    const decoded = decodeRecord(message);
    if ('error' in decoded) {
      // Committed as handled: read again, it would fail the same way and hold every command after it.
      this.logger.warn(`Skipped command ${where}: ${decoded.error}`);
      this.skipped.inc({ topic });
      return;
    }
    const record: BusRecord = {
      topic,
      key: decoded.key,
      value: decoded.value,
      position: where,
      timestamp: decoded.timestamp,
      partition,
      offset: Number(message.offset),
      headers: decoded.headers,
    };
    try {
      await handler(record);
    } catch (error) {
      // Not committed: kafkajs retries the record, then restarts the consumer from it.
      this.logger.error(`Command handler of ${topic} failed on ${where}, retrying: ${describe(error)}`);
      throw error;
    }
  }
}
