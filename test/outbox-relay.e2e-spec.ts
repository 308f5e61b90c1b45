import { Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { Subscription } from 'rxjs';
import { InMemoryMessageBus } from '../src/bus/in-memory-message-bus';
import { BusRecord, isBusRecord } from '../src/bus/message-bus.interface';
import { ConfigModule } from '../src/config/config.module';
import { OutboxRelay } from '../src/reports/outbox-relay';
import { decodeReportEvent } from '../src/reports/report-event.codec';
import { ReportEvent } from '../src/reports/report';
import { REPORT_UPDATES_TOPIC } from '../src/reports/reports.constants';
import { REPORTS_REPOSITORY, ReportsRepository } from '../src/reports/reports.repository';
import { ReportsStoreModule } from '../src/reports/reports-store.module';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { changed, drainOutbox, queueTogether } from './support/reports-outbox';

jest.setTimeout(60_000);

/**
 * A bus that refuses publishes while `down`, as Kafka does when it cannot take a record in time, and
 * holds them until `held` settles, as when it is behind.
 */
class FlakyBus extends InMemoryMessageBus {
  down = false;
  held?: Promise<void>;

  override async publish(topic: string, key: string | null, value: string): Promise<BusRecord> {
    await this.held;
    if (this.down) {
      throw new Error('bus down');
    }
    return super.publish(topic, key, value);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe(OutboxRelay.name, () => {
  let url: string;
  let module: TestingModule;
  let repository: ReportsRepository;
  let bus: FlakyBus;
  let relay: OutboxRelay;
  let received: ReportEvent[];
  let subscription: Subscription;

  beforeAll(async () => {
    url = await createTestDatabase('outbox_relay');
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot({ DATABASE_URL: url }), ReportsStoreModule],
    }).compile();
    module.useLogger(false);
    await module.init();
    repository = module.get<ReportsRepository>(REPORTS_REPOSITORY);
  });

  beforeEach(async () => {
    await drainOutbox(repository); // what earlier tests left
    bus = new FlakyBus(100, 1_000_000);
    relay = new OutboxRelay(repository, bus); // not bootstrapped: no sweep unless woken
    received = [];
    subscription = bus.subscribe(REPORT_UPDATES_TOPIC).subscribe((delivery) => {
      if (isBusRecord(delivery)) {
        received.push(decodeReportEvent(delivery.value) as ReportEvent);
      }
    });
  });

  afterEach(() => subscription.unsubscribe());

  afterAll(async () => {
    await module?.close();
    await dropTestDatabase(url);
  });

  it("publishes a change's list in id order as soon as it is handed over, and the next statement marks it", async () => {
    const user = randomUUID();
    const first = await repository.create(user);
    const second = await repository.create(user);
    const result = changed(await repository.transition(user, first.report.reportId, 'queued', ['pending']));

    relay.announce(result.announce);
    await settle();
    expect(received).toEqual([first.event, second.event, result.event]);

    expect(repository.hasUnwrittenMarks()).toBe(true);
    expect(await repository.nextToPublish(100)).toEqual([]); // marked by this very statement
    expect(repository.hasUnwrittenMarks()).toBe(false);
  });

  it('publishes a list once, however many changes of its statement hand it over', async () => {
    const user = randomUUID();
    const one = await repository.create(user);
    const two = await repository.create(user);
    const [a, b] = await queueTogether(repository, [one.report, two.report]);
    expect(a.announce).toBe(b.announce); // one statement

    relay.announce(a.announce);
    relay.announce(b.announce);
    await settle();
    expect(received).toEqual([one.event, two.event, a.event, b.event]);
  });

  it('skips what a later list repeats once it has been acknowledged', async () => {
    const user = randomUUID();
    const one = await repository.create(user);
    const two = await repository.create(user);
    // The second statement runs before the first list is published: it carries that list again.
    const a = changed(await repository.transition(user, one.report.reportId, 'queued', ['pending']));
    const b = changed(await repository.transition(user, two.report.reportId, 'queued', ['pending']));
    expect(b.announce).toEqual([one.event, two.event, a.event, b.event]);

    relay.announce(a.announce);
    relay.announce(b.announce);
    await settle();
    expect(received).toEqual([one.event, two.event, a.event, b.event]);
  });

  it('leaves lists to the sweep while too many announced events wait for a slow bus', async () => {
    let release = () => undefined as void;
    bus.held = new Promise<void>((resolve) => (release = resolve));
    const sweep = jest.spyOn(repository, 'nextToPublish');
    try {
      const user = randomUUID();
      const list = (from: number, length: number): ReportEvent[] =>
        Array.from({ length }, (_, n) => ({
          id: String(from + n),
          userId: user,
          reportId: randomUUID(),
          status: 'queued' as const,
          createdAt: new Date().toISOString(),
        }));
      const first = list(1e12, 1_500);
      const second = list(1e12 + 1_500, 600); // 2,100 would wait: more than the relay holds
      relay.announce(first);
      relay.announce(second);
      await settle();
      expect(sweep).toHaveBeenCalled(); // the sweep takes over, from the database

      bus.held = undefined;
      release();
      await settle();
      expect(received.map((event) => event.id)).toEqual(first.map((event) => event.id));
    } finally {
      sweep.mockRestore();
    }
  });

  it('leaves what it could not publish to the sweep, which publishes it once the bus is back', async () => {
    const logged = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const user = randomUUID();
      const made = await repository.create(user);
      bus.down = true;
      const result = changed(await repository.transition(user, made.report.reportId, 'queued', ['pending']));
      relay.announce(result.announce);
      await settle();
      expect(received).toEqual([]);
      expect(logged).toHaveBeenCalledWith('Outbox relay paused: bus down');

      bus.down = false;
      relay.announce([]); // an empty list wakes the sweep, as the interval would
      await settle();
      expect(received).toEqual([made.event, result.event]);
      expect(await repository.nextToPublish(100)).toEqual([]);
    } finally {
      logged.mockRestore();
    }
  });
});
