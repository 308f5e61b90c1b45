import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { concatMap, Observable, Subscription } from 'rxjs';
import { LocalFanout } from './local-fanout';
import { UndeclaredTopicError } from './bus.errors';
import {
  BusDelivery,
  BusHealth,
  BusRecord,
  NEWEST,
  OLDEST,
  OutgoingRecord,
  SubscribeOptions,
  TopicOptions,
} from './message-bus.interface';
import { MeteredMessageBus } from './metered-message-bus';
import { TopicLog } from './topic-log';

/**
 * The embedded bus: every topic is a bounded in-memory log, and publishing hands the record to
 * this process's streams. Nothing leaves the process, so it serves one instance only. Records
 * come only from this process's own features, so topic options (parsing records of other
 * producers, reading a commit log from its start) have nothing to do here.
 */
export class InMemoryMessageBus extends MeteredMessageBus {
  private readonly logs = new Map<string, TopicLog>();
  private readonly fanout = new LocalFanout();
  /** Distinguishes positions of this run from those a client kept from an earlier one. */
  private readonly epoch = Date.now().toString(36);
  private readonly logger = new Logger(InMemoryMessageBus.name);
  private readonly commandHandlers: { topic: string; handler: (record: BusRecord) => Promise<void> }[] = [];
  private readonly commandSubscriptions: Subscription[] = [];

  constructor(
    private readonly historySize: number,
    private readonly historyMaxSize: number,
    registry = new Registry(),
  ) {
    super(registry);
  }

  protected declare(topic: string, _options?: TopicOptions): void {
    this.log(topic, true);
  }

  /** One process, so every command is handled here, one at a time per topic, as it is published. */
  protected registerCommands(
    topic: string,
    _group: string,
    handler: (record: BusRecord) => Promise<void>,
  ): void {
    this.declare(topic);
    this.commandHandlers.push({ topic, handler });
  }

  start(): void {
    for (const { topic, handler } of this.commandHandlers) {
      const handled = this.fanout
        .live(topic)
        .pipe(
          concatMap((record) =>
            handler(record).catch((error: unknown) =>
              this.logger.error(`Command handler of ${topic} failed on ${record.position}`, String(error)),
            ),
          ),
        );
      this.commandSubscriptions.push(handled.subscribe());
    }
  }

  close(): Promise<void> {
    this.commandSubscriptions.forEach((subscription) => subscription.unsubscribe());
    return Promise.resolve();
  }

  protected send(topic: string, key: string | null, value: string): Promise<BusRecord> {
    const record = this.log(topic).append(key, value);
    this.fanout.dispatch(record);
    return Promise.resolve(record);
  }

  /** One synchronous step: every topic is looked up before the first record is appended. */
  protected sendAll(records: readonly OutgoingRecord[]): Promise<BusRecord[]> {
    const logs = records.map(({ topic }) => this.log(topic));
    const stored = records.map(({ key, value }, index) => logs[index].append(key, value));
    for (const record of stored) {
      this.fanout.dispatch(record);
    }
    return Promise.resolve(stored);
  }

  subscribe(topic: string, options: SubscribeOptions = {}): Observable<BusDelivery> {
    const { key, projection } = options;
    const log = this.log(topic);
    const live = this.fanout.live(topic, key);
    if (projection) {
      // State derived from the log needs every record, one by one, then the live ones.
      return new Observable<BusDelivery>((subscriber) => {
        for (const record of log.readAfter(log.beforeOldest(), key).records) {
          if (subscriber.closed) {
            return undefined;
          }
          subscriber.next(record);
        }
        return live.subscribe(subscriber);
      });
    }
    if (options.after === undefined) {
      return live;
    }
    const requested = options.after;
    return new Observable<BusDelivery>((subscriber) => {
      // Resolved at subscription, in the same step as the live subscription.
      const after = requested === OLDEST ? log.beforeOldest() : requested === NEWEST ? log.head() : requested;
      // The gap notice, the replay and the live subscription in one synchronous step: no record
      // published in between is missed or delivered twice.
      const replay = log.readAfter(after, key);
      if (!replay.complete) {
        subscriber.next({ gap: true, requested: after, resumeAfter: replay.resumeAfter });
      }
      subscriber.next({ replay: true, position: replay.resumeAfter, records: replay.records });
      return subscriber.closed ? undefined : live.subscribe(subscriber);
    });
  }

  head(topic: string): string {
    return this.log(topic).head();
  }

  health(): BusHealth {
    return { up: true, details: { kind: 'memory', topics: this.logs.size } };
  }

  /** Live subscriptions held: for leak checks. */
  subscriptionCount(): number {
    return this.fanout.subscriptionCount();
  }

  private log(topic: string, declare = false): TopicLog {
    let log = this.logs.get(topic);
    if (!log) {
      if (!declare) {
        throw new UndeclaredTopicError(topic);
      }
      log = new TopicLog(topic, this.epoch, this.historySize, this.historyMaxSize);
      this.logs.set(topic, log);
    }
    return log;
  }
}
