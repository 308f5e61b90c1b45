import { Logger } from '@nestjs/common';
import { BusRecord } from '../bus/message-bus.interface';
import { InMemoryMessageBus } from '../bus/in-memory-message-bus';
import { BusUnavailableError } from '../bus/bus.errors';
import { openTemporaryStore } from '../store/testing/temporary-store';
import { OutboxRelay } from './outbox-relay';
import { ReportEvent } from './report';
import { REPORT_UPDATES_TOPIC } from './reports.constants';
import { SqlReportsRepository } from './sql-reports.repository';

const ADA = '6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10';
const BOB = '0b7e2f8a-91c4-4d0e-8a55-3c2b1d9e6f47';

/** The in-memory bus, which can be told to refuse publishes as Kafka does when it is unreachable. */
class RefusingBus extends InMemoryMessageBus {
  refusing = false;

  override publish(topic: string, key: string | null, value: string): Promise<BusRecord> {
    return this.refusing
      ? Promise.reject(new BusUnavailableError('Kafka is not reachable'))
      : super.publish(topic, key, value);
  }
}

/** Waits until `done()` holds, at most `ms`. */
async function until(done: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(OutboxRelay.name, () => {
  let remove: () => Promise<void>;
  let repository: SqlReportsRepository;
  let bus: RefusingBus;
  /** What reached the bus, as (user, report event id, status). */
  let published: { user: string | null; id: string; status: string }[];
  let sut: OutboxRelay;
  let warn: jest.SpyInstance;

  const eventsOf = (user: string) => published.filter((record) => record.user === user);
  const created = async (user: string): Promise<ReportEvent> => (await repository.create(user)).event;

  beforeEach(async () => {
    let store;
    ({ store, remove } = await openTemporaryStore());
    repository = new SqlReportsRepository(store.db);
    bus = new RefusingBus(100, 1_000_000);
    sut = new OutboxRelay(repository, bus);
    published = [];
    bus.subscribe(REPORT_UPDATES_TOPIC).subscribe((delivery) => {
      const { key, value } = delivery as BusRecord;
      const event = JSON.parse(value) as ReportEvent;
      published.push({ user: key, id: event.id, status: event.status });
    });
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await sut.beforeApplicationShutdown();
    jest.restoreAllMocks();
    await remove();
  });

  it('publishes at start what an earlier run committed and did not publish, each user in id order', async () => {
    const events = [await created(ADA), await created(BOB), await created(ADA)];

    sut.onApplicationBootstrap();
    await until(() => published.length === 3);

    expect(eventsOf(ADA).map((record) => record.id)).toEqual([events[0].id, events[2].id]);
    expect(eventsOf(BOB).map((record) => record.id)).toEqual([events[1].id]);
  });

  it('marks what it published, so that a relay started later publishes none of it again', async () => {
    await created(ADA);
    await created(BOB);
    sut.onApplicationBootstrap();
    await until(() => published.length === 2);
    await sut.beforeApplicationShutdown();

    sut = new OutboxRelay(repository, bus);
    sut.onApplicationBootstrap();
    await sleep(600); // two sweeps

    expect(published).toHaveLength(2);
    expect(await repository.nextToPublish(10)).toEqual([]);
  });

  it("publishes a status change's events right after its commit, once however many changes carry the list", async () => {
    const first = await created(ADA);
    const report = (await repository.listByUser(ADA))[0];
    const moved = await repository.transition(ADA, report.reportId, 'queued', ['pending']);
    if (moved.kind !== 'changed') {
      throw new Error(`transition: ${moved.kind}`);
    }

    sut.announce(moved.announce); // not bootstrapped: no sweep runs
    sut.announce(moved.announce);
    await until(() => published.length === 2);
    await sleep(50);

    expect(published).toEqual([
      { user: ADA, id: first.id, status: 'pending' },
      { user: ADA, id: moved.event.id, status: 'queued' },
    ]);
  });

  it('keeps events while the bus refuses them, says so once, and publishes them in order when it takes them again', async () => {
    bus.refusing = true;
    const events = [await created(ADA), await created(ADA)];
    sut.onApplicationBootstrap();
    await sleep(600); // the first pass and two sweeps, all refused

    expect(published).toEqual([]);
    expect(warn.mock.calls.map(([message]) => message as string)).toEqual([
      'Outbox relay paused: Kafka is not reachable',
    ]);

    bus.refusing = false;
    await until(() => published.length === 2);

    expect(published.map((record) => record.id)).toEqual(events.map((event) => event.id));
  });

  it('on shutdown, publishes the changes handed to it and writes their marks before it returns', async () => {
    await created(ADA);
    const report = (await repository.listByUser(ADA))[0];
    const moved = await repository.transition(ADA, report.reportId, 'canceled', ['pending']);
    if (moved.kind !== 'changed') {
      throw new Error(`transition: ${moved.kind}`);
    }

    sut.announce(moved.announce);
    await sut.beforeApplicationShutdown();

    expect(published.map((record) => record.status)).toEqual(['pending', 'canceled']);
    expect(repository.hasUnwrittenMarks()).toBe(false);
    expect(await repository.nextToPublish(10)).toEqual([]);
  });
});
