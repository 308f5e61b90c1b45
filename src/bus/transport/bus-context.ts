import { BaseRpcContext } from '@nestjs/microservices';
import { BusRecord, RecordHeaders } from '../message-bus.interface';

/**
 * What an `@EventPattern` handler of the bus transport gets with `@Ctx()`: the record around the
 * payload, like Nest's KafkaContext, on Kafka and on the in-memory bus alike.
 */
export class BusContext extends BaseRpcContext<[BusRecord]> {
  constructor(record: BusRecord) {
    super([record]);
  }

  getRecord(): BusRecord {
    return this.args[0];
  }

  getTopic(): string {
    return this.args[0].topic;
  }

  /** The routing key: the user of a v3 record, the Kafka key of a command. */
  getKey(): string | null {
    return this.args[0].key;
  }

  /** Where the bus stands after this record: the `id:` a stream gives it, a resume point. */
  getPosition(): string {
    return this.args[0].position;
  }

  getTimestamp(): number {
    return this.args[0].timestamp;
  }

  /** Kafka: the record's partition; undefined on the in-memory bus. */
  getPartition(): number | undefined {
    return this.args[0].partition;
  }

  /** Kafka: the record's offset in its partition; undefined on the in-memory bus. */
  getOffset(): number | undefined {
    return this.args[0].offset;
  }

  /** Kafka: the headers its producer set, as text; empty when none (and on the in-memory bus). */
  getHeaders(): RecordHeaders {
    return this.args[0].headers ?? {};
  }
}
