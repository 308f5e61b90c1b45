import { ClientProxy, ReadPacket, WritePacket } from '@nestjs/microservices';
import { AsyncSubject, Observable, throwError } from 'rxjs';
import { BusRecord, MessageBus } from '../message-bus.interface';

/** What `emit(topic, record)` sends: the value, and the routing key (none: topic-wide). */
export interface OutgoingBusRecord {
  readonly key?: string | null;
  readonly value: string;
}

/**
 * Nest's producer side over the MessageBus (Kafka or in memory), like ClientKafka: `emit(topic,
 * record)` publishes at once; its Observable gives the stored record (its position) once the bus
 * acknowledged it, or fails with the bus's error (BusUnavailableError, a 503 for HTTP callers).
 * The bus connects by itself, so there is nothing to connect here.
 */
export class BusClient extends ClientProxy {
  constructor(private readonly bus: MessageBus) {
    super();
  }

  /** Eager, as every ClientProxy emit is: late subscribers still get the outcome. */
  override emit<TResult = BusRecord, TInput = OutgoingBusRecord>(
    topic: string,
    record: TInput,
  ): Observable<TResult> {
    if (!isOutgoingBusRecord(record)) {
      return throwError(
        () => new TypeError(`emit('${topic}', record): a record is { key?, value }, value a string`),
      );
    }
    const outcome = new AsyncSubject<TResult>();
    this.produce(topic, record).then(
      (stored) => {
        outcome.next(stored as TResult);
        outcome.complete();
      },
      (error: unknown) => outcome.error(error),
    );
    return outcome.asObservable();
  }

  /**
   * What emit() does, as the bus's own promise: for request handlers that await the
   * acknowledgement on every call, where an Observable would only add work.
   */
  produce(topic: string, record: OutgoingBusRecord): Promise<BusRecord> {
    return this.bus.publish(topic, record.key ?? null, record.value);
  }

  connect(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  unwrap<T>(): T {
    return this.bus as T;
  }

  protected dispatchEvent<T = BusRecord>(packet: ReadPacket<OutgoingBusRecord>): Promise<T> {
    return this.produce(String(packet.pattern), packet.data) as Promise<T>;
  }

  /** send(): the bus carries events only; there is no one to reply. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({
      err: new Error(
        `send('${String(packet.pattern)}'): the bus carries events, not requests with replies; use emit()`,
      ),
    });
    return () => {};
  }
}

const isOutgoingBusRecord = (record: unknown): record is OutgoingBusRecord =>
  typeof record === 'object' && record !== null && typeof (record as OutgoingBusRecord).value === 'string';
