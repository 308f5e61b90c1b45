import { Logger } from '@nestjs/common';
import { Admin, Kafka } from 'kafkajs';
import { withTimeout } from './kafka-helpers';

export interface KafkaTopicsOptions {
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** The offsets of one partition: its first record and its end (the next offset to be written). */
export interface PartitionOffsets {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

const REQUEST_TIMEOUT_MS = 2_500;

/**
 * The admin client: creates the topics that are missing, tells where a topic's partitions start
 * and end, and whether the cluster answers at all.
 */
export class KafkaTopics {
  private readonly admin: Pick<
    Admin,
    'connect' | 'disconnect' | 'listTopics' | 'createTopics' | 'fetchTopicOffsets' | 'describeCluster'
  >;

  constructor(
    kafka: Pick<Kafka, 'admin'>,
    private readonly options: KafkaTopicsOptions,
    private readonly logger: Pick<Logger, 'log'>,
  ) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  async createMissing(wanted: Iterable<string>): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = [...new Set(wanted)].filter((topic) => !existing.has(topic));
    if (missing.length === 0) {
      return;
    }
    // Another instance may create them at the same moment: kafkajs then answers false, not an error.
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: this.options.partitions,
        replicationFactor: this.options.replicationFactor,
      })),
    });
    this.logger.log(`Created Kafka topics: ${missing.join(', ')}`);
  }

  /** Where each partition of the topic starts and ends now. */
  async offsets(topic: string): Promise<PartitionOffsets[]> {
    return toNumbers(await this.admin.fetchTopicOffsets(topic));
  }

  /** The same, failing rather than waiting long: for a stream that waits on the answer. */
  async endOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await withTimeout(
      this.admin.fetchTopicOffsets(topic),
      REQUEST_TIMEOUT_MS,
      'an offsets request',
    );
    return toNumbers(offsets ?? []);
  }

  /** Resolves if the cluster answers a metadata request in time, else rejects with why. */
  async ping(): Promise<void> {
    await withTimeout(this.admin.describeCluster(), REQUEST_TIMEOUT_MS, 'a metadata request');
  }
}

function toNumbers(offsets: { partition: number; low: string; high: string }[]): PartitionOffsets[] {
  return offsets.map(({ partition, low, high }) => ({
    partition,
    low: Number(low),
    high: Number(high),
  }));
}
