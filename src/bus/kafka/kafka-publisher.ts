import { Kafka, Partitioners, Producer } from 'kafkajs';
import { BusUnavailableError } from '../bus.errors';
import { describe } from './kafka-helpers';

export interface KafkaPublisherOptions {
  readonly brokers: string[];
  readonly publishTimeoutMs: number;
}

/** Where the broker wrote a published record. */
export interface KafkaAck {
  readonly partition: number;
  readonly offset: number;
}

/**
 * The producer: writes one record with acks=all and turns any failure, or no acknowledgement
 * within the publish timeout, into a BusUnavailableError (a 503 for the caller).
 */
export class KafkaPublisher {
  private readonly producer: Pick<Producer, 'connect' | 'disconnect' | 'send'>;
  private connected = false;

  constructor(
    kafka: Pick<Kafka, 'producer'>,
    private readonly options: KafkaPublisherOptions,
    /** Whether the cluster answered the latest readiness probe. */
    private readonly reachable: () => boolean,
    /** Told why a send failed, for the health details. */
    private readonly onFailure: (reason: string) => void,
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded retries, so that an unreachable broker gives a timely 503, not a late delivery.
      retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 1_000 },
    });
  }

  get ready(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(topic: string, key: string | null, value: string): Promise<KafkaAck> {
    // Known unreachable (the readiness probe failed): say so now rather than after the timeout.
    if (!this.connected || !this.reachable()) {
      throw new BusUnavailableError(
        `Kafka is not reachable (${this.options.brokers.join(',')}); the message was not sent, retry shortly`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BusUnavailableError(
              `Kafka did not acknowledge the message within ${this.options.publishTimeoutMs} ms; it may or may not have been written`,
            ),
          ),
        this.options.publishTimeoutMs,
      );
    });
    try {
      const [ack] = await Promise.race([
        this.producer.send({
          topic,
          acks: -1,
          timeout: this.options.publishTimeoutMs,
          messages: [{ key, value }],
        }),
        timeout,
      ]);
      return { partition: ack.partition, offset: Number(ack.baseOffset) };
    } catch (error) {
      if (error instanceof BusUnavailableError) {
        throw error;
      }
      const reason = describe(error);
      this.onFailure(reason);
      throw new BusUnavailableError(`Kafka did not take the message: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
