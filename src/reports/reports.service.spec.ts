import { Registry } from 'prom-client';
import { Observable, Subscription } from 'rxjs';
import { InMemoryMessageBus } from '../bus/in-memory-message-bus';
import { SseEvent } from '../sse/sse-event';
import { SseItem, SseReplay } from '../sse/sse-replay';
import { StoreConnection } from '../store/store-connection';
import { openTemporaryStore } from '../store/testing/temporary-store';
import { OutboxRelay } from './outbox-relay';
import { ReportEventIds } from './report-event-ids';
import { IllegalTransitionError, ReportNotFoundError } from './report.errors';
import { ReportsService } from './reports.service';
import { SqlReportsRepository } from './sql-reports.repository';

const ADA = '6f1c1c52-2e55-4a52-9d1c-5b0d7c9a3f10';
const BOB = '0b7e2f8a-91c4-4d0e-8a55-3c2b1d9e6f47';

/** What a stream's events say: report id and status, by event id. */
const summary = (event: SseEvent) => ({
  id: event.id,
  type: event.type,
  data: JSON.parse(event.data) as unknown,
});

/**
 * A client of a stream: reads the replay to its end as the client's socket would, then takes live events.
 * Open until `close()`, as a replay is read only while its stream is.
 */
class StreamClient {
  private readonly events: SseEvent[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly subscription: Subscription;
  private reading = Promise.resolve();

  constructor(items: Observable<SseItem>) {
    this.subscription = items.subscribe((item) => {
      this.reading = this.reading.then(async () => {
        if (item instanceof SseReplay) {
          for (let event = await item.next(); event !== undefined; event = await item.next()) {
            this.take(event);
          }
        } else {
          this.take(item);
        }
      });
    });
  }

  /** The first `count` events, once they came (at most 2 s). */
  async first(count: number): Promise<SseEvent[]> {
    const deadline = Date.now() + 2_000;
    while (this.events.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.events.slice(0, count);
  }

  /** Whether the stream's replay has been read, so that what comes now is live. */
  async replayed(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await this.reading;
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private take(event: SseEvent): void {
    this.events.push(event);
    this.waiting.splice(0).forEach((resolve) => resolve());
  }
}

describe(ReportsService.name, () => {
  let remove: () => Promise<void>;
  let store: StoreConnection;
  let relay: OutboxRelay;
  let sut: ReportsService;
  let clients: StreamClient[];
  const open = (userId: string, lastEventId?: string) => {
    const client = new StreamClient(sut.stream(userId, lastEventId));
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    clients = [];
    ({ store, remove } = await openTemporaryStore());
    const repository = new SqlReportsRepository(store.db);
    const bus = new InMemoryMessageBus(100, 1_000_000);
    const knownIds = new ReportEventIds(repository, new Registry());
    // Not bootstrapped: no sweep runs on its own, so what reaches a stream was published on the service's word.
    relay = new OutboxRelay(repository, bus, knownIds);
    sut = new ReportsService(repository, bus, relay, knownIds);
  });

  afterEach(async () => {
    clients.forEach((client) => client.close());
    await relay.beforeApplicationShutdown();
    await remove();
  });

  it("creates reports in pending and lists each user's own, oldest first", async () => {
    const first = await sut.create(ADA);
    await sut.create(BOB);
    const second = await sut.create(ADA);

    const listed = await sut.list(ADA);
    expect(listed.map((report) => report.reportId)).toEqual([first.reportId, second.reportId]);
    expect(listed.map((report) => report.reportStatus)).toEqual(['pending', 'pending']);
    expect(listed.every((report) => report.userId === ADA)).toBe(true);
  });

  it("announces a new report on its user's open stream at once, not at the relay's next sweep", async () => {
    const client = open(ADA);
    await client.replayed();

    const report = await sut.create(ADA);

    const [event] = await client.first(1);
    expect(summary(event)).toEqual({
      id: expect.stringMatching(/^\d+$/),
      type: 'report_status_update',
      data: { id: report.reportId, status: 'pending' },
    });
  });

  it('moves a report where the status machine allows, and its stream shows the new status', async () => {
    const report = await sut.create(ADA);
    const client = open(ADA);
    await client.replayed();

    const moved = await sut.transition(ADA, report.reportId, 'queued');

    expect(moved).toMatchObject({ reportId: report.reportId, reportStatus: 'queued' });
    const [event] = await client.first(1);
    expect(summary(event).data).toEqual({ id: report.reportId, status: 'queued' });
    expect((await sut.list(ADA))[0].reportStatus).toBe('queued');
  });

  it('refuses a move the status machine forbids, saying where the report can go, and leaves it as it was', async () => {
    const report = await sut.create(ADA);

    const refusal = sut.transition(ADA, report.reportId, 'completed');

    await expect(refusal).rejects.toThrow(IllegalTransitionError);
    await expect(refusal).rejects.toThrow(
      `Report ${report.reportId} is pending; it cannot become completed (from pending it can become queued or canceled)`,
    );
    expect((await sut.list(ADA))[0].reportStatus).toBe('pending');
  });

  it("does not let one user move another user's report, nor one that does not exist", async () => {
    const report = await sut.create(ADA);

    await expect(sut.transition(BOB, report.reportId, 'queued')).rejects.toThrow(ReportNotFoundError);
    await expect(sut.transition(ADA, '9d4a2c3e-0000-4000-8000-000000000000', 'queued')).rejects.toThrow(
      ReportNotFoundError,
    );
    expect((await sut.list(ADA))[0].reportStatus).toBe('pending');
  });

  it('resumes a stream after Last-Event-ID with the changes that followed it, read from the store', async () => {
    const report = await sut.create(ADA);
    const created = await open(ADA, '0').first(1);
    await sut.transition(ADA, report.reportId, 'queued');
    await sut.transition(ADA, report.reportId, 'processing');

    const resumed = await open(ADA, created[0].id).first(2);

    expect(resumed.map((event) => summary(event).data)).toEqual([
      { id: report.reportId, status: 'queued' },
      { id: report.reportId, status: 'processing' },
    ]);
    expect(resumed.map((event) => BigInt(event.id) > BigInt(created[0].id))).toEqual([true, true]);
  });
});
