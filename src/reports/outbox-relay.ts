import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { MESSAGE_BUS } from '../bus/bus.constants';
import { MessageBus } from '../bus/message-bus.interface';
import { ReportEvent } from './report';
import { encodeReportEvent, parseReportRecord } from './report-event.codec';
import { ReportEventIds } from './report-event-ids';
import { REPORT_UPDATES_TOPIC } from './reports.constants';
import { REPORTS_REPOSITORY, ReportsRepository } from './reports.repository';

const SWEEP_INTERVAL_MS = 250;
/** Sweeps start at most this often: the wakes of a burst of creations share one pass. */
const MIN_PASS_INTERVAL_MS = 2;
const BATCH = 500;
/**
 * Events of status changes waiting to be published, at most. Beyond this the bus is behind the changes;
 * the lists that follow are left to the sweep, which reads them from the database at the bus's pace
 * instead of piling them up in memory.
 */
const MAX_ANNOUNCED_WAITING = 2_000;
/** Users whose highest published id the relay remembers (see publishedUpTo), at most. */
const PUBLISHED_UP_TO_USERS = 10_000;

/**
 * The outbox relay: publishes committed report events to the bus, oldest first, then has them marked
 * published. A change and its event are committed together, so an event is never lost: if the process
 * dies between publish and mark, the event is published again after the restart, and streams drop it by
 * its id (ids only grow).
 *
 * Two paths publish. A status change hands over, right after its commit, the list its statement read:
 * the changed users' unpublished events, complete and in id order (`announce`). The sweep pages through
 * whatever is still unpublished, every SWEEP_INTERVAL_MS and after a creation (`wake`): events of an
 * instance that died before publishing, of a list that failed or found the bus behind, of a backlog too
 * long for a list. Every list, from either path and from any instance, holds every unmarked event of its
 * users below its own, and publishes each user's events in its order, each once the one before was
 * acknowledged; an event is marked only after its publish was acknowledged. So whenever an event reaches
 * the bus, every lower id of its user already has: streams see each event once, in order, whatever the
 * interleaving of the lists.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private scheduled = false;
  private lastPass = -Infinity;
  private stopped = false;
  private paused = false;
  /** The lists of status changes, published one after another. */
  private announcing: Promise<void> = Promise.resolve();
  /** Lists already taken: every change of one statement hands over the same list. */
  private readonly announced = new WeakSet<readonly ReportEvent[]>();
  /** Events of lists taken and not yet published. */
  private waiting = 0;
  /**
   * Per user, the highest event id this relay has had acknowledged. When the bus is slower than the
   * changes, each list repeats what the lists before it are still publishing (it is not marked yet);
   * this lets those repeats be skipped.
   */
  private readonly publishedUpTo = new Map<string, bigint>();

  constructor(
    @Inject(REPORTS_REPOSITORY) private readonly repository: ReportsRepository,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Optional() private readonly knownIds?: ReportEventIds,
  ) {
    bus.declareTopic(REPORT_UPDATES_TOPIC, { parse: parseReportRecord });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.wake(), SWEEP_INTERVAL_MS).unref();
    this.wake(); // what an earlier run committed but did not publish
  }

  /**
   * Publishes the list a committed status change carries (TransitionResult.announce), in its order; the
   * same list from the other changes of its statement is ignored. An empty list (its statement found too
   * long a backlog to carry) wakes the sweep instead.
   */
  announce(events: readonly ReportEvent[]): void {
    if (events.length === 0) {
      this.wake();
      return;
    }
    if (this.announced.has(events)) {
      return;
    }
    this.announced.add(events);
    if (this.waiting + events.length > MAX_ANNOUNCED_WAITING) {
      this.wake(); // the bus is behind: the sweep takes these from the database, at the bus's pace
      return;
    }
    this.waiting += events.length;
    this.announcing = this.announcing.then(async () => {
      await this.publishInOrder(events);
      this.waiting -= events.length;
    });
  }

  /**
   * Sweeps what is pending now, without waiting for the interval. The wakes of one turn of the event
   * loop start one pass, at most one every MIN_PASS_INTERVAL_MS.
   */
  wake(): void {
    if (this.stopped) {
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      const go = () => {
        this.scheduled = false;
        this.lastPass = performance.now();
        this.start();
      };
      const wait = this.lastPass + MIN_PASS_INTERVAL_MS - performance.now();
      if (wait > 0) {
        setTimeout(go, wait);
      } else {
        setImmediate(go);
      }
    }
  }

  private start(): void {
    if (this.stopped) {
      return;
    }
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /**
   * On SIGTERM: publishes the lists handed over, then sweeps until nothing is left to mark, so accepted
   * changes are announced before the bus closes and what was published is marked.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.announcing;
    await this.running;
    this.stopped = true;
    do {
      await this.drain();
    } while (this.repository.hasUnwrittenMarks() && !this.paused);
  }

  /**
   * Sweep passes of one statement each: write the marks recorded so far, fetch what is next, publish it.
   * A short page ends the drain, and its marks wait for the next statement (a transition's, the next
   * pass's). Until then another relay may publish those events again, which streams drop by id.
   */
  private async drain(): Promise<void> {
    for (;;) {
      let events: ReportEvent[];
      try {
        events = await this.repository.nextToPublish(BATCH);
      } catch (error) {
        this.pause(error); // unpublished events stay in the outbox; the next sweep tries again
        return;
      }
      if (events.length === 0 || !(await this.publishInOrder(events)) || events.length < BATCH) {
        return;
      }
    }
  }

  /**
   * Publishes the events, each user's one after another, each once the previous one was acknowledged;
   * different users' at the same time (order matters per user only, and a bus such as Kafka takes one
   * round trip per record). False if one failed.
   */
  private async publishInOrder(events: readonly ReportEvent[]): Promise<boolean> {
    const byUser = new Map<string, ReportEvent[]>();
    for (const event of events) {
      const own = byUser.get(event.userId);
      if (own) {
        own.push(event);
      } else {
        byUser.set(event.userId, [event]);
      }
    }
    const done = await Promise.all([...byUser.values()].map((own) => this.publishOneUser(own)));
    if (!done.every(Boolean)) {
      return false;
    }
    if (this.paused) {
      this.paused = false;
      this.logger.log('Outbox relay publishing again');
    }
    return true;
  }

  /**
   * One user's events, in order. An event at or below the highest id of that user this relay has had
   * acknowledged is skipped: the list that published that one had published every earlier event of the
   * user before it (or found it marked), so it is on the bus already.
   */
  private async publishOneUser(events: readonly ReportEvent[]): Promise<boolean> {
    const user = events[0].userId;
    try {
      for (const event of events) {
        const id = BigInt(event.id);
        if (id <= (this.publishedUpTo.get(user) ?? 0n)) {
          continue;
        }
        this.knownIds?.committed(id); // before its record can reach a stream of this process
        await this.bus.publish(REPORT_UPDATES_TOPIC, user, encodeReportEvent(event));
        this.repository.markPublished([event.id]);
        if (id > (this.publishedUpTo.get(user) ?? 0n)) {
          if (this.publishedUpTo.size >= PUBLISHED_UP_TO_USERS) {
            this.publishedUpTo.clear(); // it only saves duplicates; forgetting is safe
          }
          this.publishedUpTo.set(user, id);
        }
      }
      return true;
    } catch (error) {
      this.pause(error); // what was not published stays in the outbox for the sweep
      return false;
    }
  }

  /** Said once, not per attempt. */
  private pause(error: unknown): void {
    if (!this.paused) {
      this.paused = true;
      this.logger.warn(`Outbox relay paused: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
