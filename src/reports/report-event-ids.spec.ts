import { Registry } from 'prom-client';
import { BusRecord } from '../bus/message-bus.interface';
import { ReportEventIds } from './report-event-ids';
import { ReportsRepository } from './reports.repository';

/** A store whose newest event id the test sets, answering each query when the test says. */
class Store {
  newest = '0';
  queries: ((id: string) => void)[] = [];
  readonly repository = {
    maxEventId: () => new Promise<string>((resolve) => this.queries.push(resolve)),
  } as unknown as ReportsRepository;

  answer(): void {
    const waiting = this.queries;
    this.queries = [];
    waiting.forEach((resolve) => resolve(this.newest));
  }
}

const record = (id: string): BusRecord => ({
  topic: 'report_updates',
  key: 'u',
  value: id,
  position: id,
  timestamp: 0,
});

describe(ReportEventIds.name, () => {
  let store: Store;
  let registry: Registry;
  let sut: ReportEventIds;

  beforeEach(() => {
    store = new Store();
    registry = new Registry();
    sut = new ReportEventIds(store.repository, registry);
  });

  const rejected = async () => (await registry.getSingleMetric('report_events_rejected_total')!.get()).values;

  it('accepts ids up to the highest known committed one at once, without asking the store', () => {
    sut.committed(10n);
    expect(sut.check(record('10'), '10')).toBe(true);
    expect(sut.check(record('3'), '3')).toBe(true);
    expect(store.queries).toHaveLength(0);
  });

  it('asks the store about records above it, and rejects, logs and counts an id it never issued', async () => {
    store.newest = '12';
    const forged = record('900');
    const verdicts = [sut.check(forged, '900'), sut.check(forged, '900')]; // two streams, one record
    expect(store.queries).toHaveLength(1);
    store.answer();
    expect(await Promise.all(verdicts.map((verdict) => Promise.resolve(verdict)))).toEqual([false, false]);
    expect(store.queries).toHaveLength(0);
    expect(await rejected()).toEqual([
      expect.objectContaining({ labels: { topic: 'report_updates', reason: 'unknown id' }, value: 1 }),
    ]);
    // Learnt from the store: 12 and below need no question now.
    expect(sut.check(record('11'), '11')).toBe(true);
    expect(sut.check(record('12'), '12')).toBe(true);
  });

  it('does not judge a record by a query that started before it came: it waits for one that starts after', async () => {
    store.newest = '5';
    const early = sut.check(record('5'), '5');
    // Event 6 is committed, and its record comes, while the first query runs.
    const late = sut.check(record('6'), '6');
    const later = sut.check(record('6b'), '6');
    store.answer();
    expect(await early).toBe(true);
    store.newest = '6';
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.queries).toHaveLength(1); // one more query, shared by both late records
    store.answer();
    expect(await late).toBe(true);
    expect(await later).toBe(true);
    expect(await rejected()).toEqual([]);
  });
});
