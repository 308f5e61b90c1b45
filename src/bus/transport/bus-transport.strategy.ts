import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { Counter, Registry } from 'prom-client';
import { concatMap, filter, isObservable, lastValueFrom, Subscription } from 'rxjs';
import { BusRecord, isBusRecord, MessageBus } from '../message-bus.interface';
import { BusContext } from './bus-context';

/** The `@EventPattern` extras the transport reads. */
export interface BusPatternExtras {
  /**
   * Commands: each record is handled once across every instance (on Kafka, by the consumer group
   * `<KAFKA_CLIENT_ID>.<group>` that they share), and a handler failure has it read again.
   * Without it, every instance handles every record published from now on (fan-out).
   */
  group?: string;
}

type BusEventHandler = MessageHandler<string, BusContext> & { extras?: BusPatternExtras };

/**
 * Nest's microservice transport over the MessageBus, Kafka or in memory: each `@EventPattern(topic)`
 * handler gets the topic's records, the value as `@Payload()` and a BusContext as `@Ctx()`.
 *
 * The bus keeps its guarantees, since the transport only asks it: a fan-out handler is a live
 * subscription (every instance, each record once, in order; malformed records never reach it, they
 * are logged and counted by the bus), a handler with a `group` is the bus's command consumer. The
 * transport connects nothing itself: it listens before the bus starts, and needs no broker.
 */
export class BusTransportStrategy extends Server implements CustomTransportStrategy {
  /** Handler failures are awaited and dealt with here, not left to Nest to log. */
  override readonly propagatesEventHandlerErrors = true;
  private readonly subscriptions: Subscription[] = [];
  private readonly outcomes: Counter<'topic' | 'outcome'>;
  protected override readonly logger = new Logger(BusTransportStrategy.name);

  constructor(
    private readonly bus: MessageBus,
    registry: Registry,
  ) {
    super();
    this.outcomes = new Counter({
      name: 'bus_handler_records_total',
      help: 'Records handed to @EventPattern handlers, by topic and outcome (handled, failed)',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    });
  }

  /** Called by startAllMicroservices(), before the bus starts: commands must be known by then. */
  listen(callback: (error?: unknown) => void): void {
    try {
      for (const [topic, handler] of this.messageHandlers as Map<string, BusEventHandler>) {
        if (!handler.isEventHandler) {
          throw new Error(
            `@MessagePattern('${topic}'): the bus carries events, not requests with replies; use @EventPattern`,
          );
        }
        const group = handler.extras?.group;
        if (group === undefined) {
          this.fanOut(topic, handler);
        } else {
          this.bus.handleCommands(topic, group, (record) => this.handle(handler, record));
        }
      }
    } catch (error) {
      callback(error);
      return;
    }
    callback();
  }

  close(): void {
    this.subscriptions.forEach((subscription) => subscription.unsubscribe());
    this.subscriptions.length = 0;
  }

  on(): never {
    throw new Error('The bus transport has no events to listen to');
  }

  unwrap<T>(): T {
    return this.bus as T;
  }

  /**
   * Every record published from now on, in order; a failure is logged and counted, never retried.
   * One record at a time: records that arrive meanwhile wait in memory, so handlers stay quick.
   */
  private fanOut(topic: string, handler: BusEventHandler): void {
    const records = this.bus.subscribe(topic).pipe(
      filter(isBusRecord),
      concatMap((record) =>
        this.handle(handler, record).catch((error: unknown) => {
          this.logger.error(`Handler of ${topic} failed on ${record.position}: ${String(error)}`);
        }),
      ),
    );
    this.subscriptions.push(records.subscribe());
  }

  /** Runs the handler (and any others of the same topic) to its end; rejects with its error. */
  private async handle(handler: BusEventHandler, record: BusRecord): Promise<void> {
    try {
      const result: unknown = await handler(record.value, new BusContext(record));
      if (isObservable(result)) {
        await lastValueFrom(result, { defaultValue: undefined });
      }
      this.outcomes.inc({ topic: record.topic, outcome: 'handled' });
    } catch (error) {
      this.outcomes.inc({ topic: record.topic, outcome: 'failed' });
      throw error;
    }
  }
}
