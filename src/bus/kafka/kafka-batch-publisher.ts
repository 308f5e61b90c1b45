import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ICustomPartitioner, Kafka, Message, Partitioners, Producer } from 'kafkajs';
import { BusUnavailableError } from '../bus.errors';
import { OutgoingRecord } from '../message-bus.interface';
import { describe, withTimeout } from './kafka-helpers';
import { KafkaAck, KafkaPublisherOptions } from './kafka-publisher';

/**
 * How long the broker lets a transaction stay open before it aborts it: one left open by a producer
 * that lost the broker mid-batch (or by a process that died) holds back what read_committed
 * consumers see of its partitions until then, so keep it short. A restarted producer of this
 * process fences it sooner: it reuses the transactional id.
 */
const TRANSACTION_TIMEOUT_MS = 10_000;
const ABORT_TIMEOUT_MS = 2_000;

/**
 * Writes a batch of records all or none: one Kafka transaction per batch, acks=all, committed only
 * when every record was acknowledged within the publish timeout. The service's consumers read
 * committed records only (kafkajs's default isolation), so a batch that failed, even half written,
 * is never delivered. One transaction at a time per producer (Kafka's rule): batches queue here.
 */
export class KafkaBatchPublisher {
  /** Stable for the process: a producer rebuilt after a failure fences the transaction it left. */
  private readonly transactionalId: string;
  /** The partition kafkajs chose for each message of the batch being sent. */
  private readonly partitions = new WeakMap<Message, number>();
  private producer?: Promise<Producer>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Pick<Kafka, 'producer'>,
    clientId: string,
    private readonly options: KafkaPublisherOptions,
    private readonly reachable: () => boolean,
    private readonly onFailure: (reason: string) => void,
  ) {
    this.transactionalId = `${clientId}.publish.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
  }

  /** The acknowledgement of each record, in the order given, once the transaction committed. */
  sendAll(records: readonly OutgoingRecord[]): Promise<KafkaAck[]> {
    const turn = this.queue.then(() => this.send(records));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await withTimeout(
      producer?.then((connected) => connected.disconnect()).catch(() => undefined),
      ABORT_TIMEOUT_MS,
    );
  }

  private async send(records: readonly OutgoingRecord[]): Promise<KafkaAck[]> {
    if (!this.reachable()) {
      throw new BusUnavailableError(
        `Kafka is not reachable (${this.options.brokers.join(',')}); none of the messages was sent, retry shortly`,
      );
    }
    const deadline = Date.now() + this.options.publishTimeoutMs;
    const messages = records.map(({ key, value }): Message => ({ key, value }));
    let stage = 'connect';
    let transaction: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      const producer = await this.beforeDeadline(this.connected(), deadline);
      stage = 'send';
      transaction = await this.beforeDeadline(producer.transaction(), deadline);
      const acks = await this.beforeDeadline(
        transaction.sendBatch({
          acks: -1,
          timeout: this.options.publishTimeoutMs,
          topicMessages: topicMessagesOf(records, messages),
        }),
        deadline,
      );
      // Past the deadline nothing is committed: the caller gets a 503 and none of it is delivered.
      stage = 'commit';
      await this.beforeDeadline(transaction.commit(), deadline);
      const base = new Map(acks.map((ack) => [`${ack.topicName}/${ack.partition}`, Number(ack.baseOffset)]));
      const seen = new Map<string, number>();
      return records.map(({ topic }, index) => {
        const partition = this.partitions.get(messages[index]);
        const where = `${topic}/${partition}`;
        const offset = base.get(where);
        if (partition === undefined || offset === undefined) {
          throw new Error(`Kafka acknowledged no offset for ${where}`);
        }
        const nth = seen.get(where) ?? 0;
        seen.set(where, nth + 1);
        return { partition, offset: offset + nth };
      });
    } catch (error) {
      const reason = error instanceof BusUnavailableError ? error.message : describe(error);
      this.onFailure(reason);
      if (stage !== 'commit' && transaction !== undefined) {
        await withTimeout(
          transaction.abort().catch(() => undefined),
          ABORT_TIMEOUT_MS,
        );
      }
      // A producer whose transaction failed may be in an error state: the next batch builds a
      // new one, whose start fences (aborts) anything this one left open.
      void this.disconnect();
      throw new BusUnavailableError(
        stage === 'commit'
          ? `Kafka did not confirm the commit of the ${records.length} messages: ${reason}; retry shortly`
          : `Kafka did not take the ${records.length} messages (${reason}); none of them is delivered, retry shortly`,
      );
    }
  }

  private connected(): Promise<Producer> {
    this.producer ??= this.create();
    const producer = this.producer;
    producer.catch(() => {
      if (this.producer === producer) {
        this.producer = undefined;
      }
    });
    return producer;
  }

  private async create(): Promise<Producer> {
    const partitioner = Partitioners.DefaultPartitioner();
    const remembering: ICustomPartitioner = () => (args) => {
      const partition = partitioner(args);
      this.partitions.set(args.message, partition);
      return partition;
    };
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: remembering,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: this.transactionalId,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      // Bounded, so that a lost broker gives a timely 503; the transaction keeps a retried
      // record from being written twice.
      retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 1_000 },
    });
    await producer.connect();
    return producer;
  }

  private beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BusUnavailableError(
              `no acknowledgement within ${this.options.publishTimeoutMs} ms (KAFKA_PUBLISH_TIMEOUT_MS)`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    work.catch(() => undefined);
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }
}

/** The batch per topic, in the order given: kafkajs keeps that order within each partition. */
function topicMessagesOf(
  records: readonly OutgoingRecord[],
  messages: readonly Message[],
): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  records.forEach(({ topic }, index) => {
    const list = byTopic.get(topic) ?? [];
    list.push(messages[index]);
    byTopic.set(topic, list);
  });
  return [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
}
