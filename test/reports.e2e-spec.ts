import { randomUUID } from 'node:crypto';
import { REPORT_STATUSES, ReportStatus } from '../src/reports/report';
import { RunningApp, startApp } from './support/app';
import { sharedBrokers } from './support/kafka';
import { kcatConsume, kcatProduce } from './support/kcat';
import { SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

interface ReportBody {
  userId: string;
  reportId: string;
  reportStatus: ReportStatus;
  createdAt: string;
  updatedAt: string;
}

/** A legal way to bring a new (pending) report to each status. */
const PATH_TO: Record<ReportStatus, ReportStatus[]> = {
  pending: [],
  queued: ['queued'],
  processing: ['queued', 'processing'],
  completed: ['queued', 'processing', 'completed'],
  failed: ['queued', 'processing', 'failed'],
  canceled: ['canceled'],
};
const LEGAL = new Set([
  'pending→queued',
  'pending→canceled',
  'queued→processing',
  'queued→canceled',
  'processing→completed',
  'processing→failed',
  'failed→pending',
  'canceled→pending',
]);

function client(app: RunningApp) {
  const json = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  });
  return {
    create: async (userId: string) =>
      json(await fetch(`${app.baseUrl}/v4/new/report?user_id=${userId}`, { method: 'POST' })),
    list: async (userId: string) => {
      const response = await fetch(`${app.baseUrl}/v4/reports?user_id=${userId}`);
      return { status: response.status, body: (await response.json()) as ReportBody[] };
    },
    put: async (userId: string, body: unknown) =>
      json(
        await fetch(`${app.baseUrl}/v4/report?user_id=${userId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      ),
  };
}

describe('reports: the status machine over HTTP, its outbox and its stream', () => {
  let app: RunningApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    app = await startApp();
    api = client(app);
  });
  afterAll(() => app.close());

  const newReport = async (userId: string, status: ReportStatus = 'pending'): Promise<string> => {
    const created = await api.create(userId);
    expect(created.status).toBe(201);
    const reportId = created.body.reportId as string;
    for (const step of PATH_TO[status]) {
      expect((await api.put(userId, { id: reportId, status: step })).status).toBe(200);
    }
    return reportId;
  };

  it('creates a report in pending and lists it', async () => {
    const user = randomUUID();
    const created = await api.create(user);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      userId: user,
      reportId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      reportStatus: 'pending',
      createdAt: expect.any(String) as unknown,
      updatedAt: expect.any(String) as unknown,
    });
    const listed = await api.list(user);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([created.body]);
    expect((await api.list(randomUUID())).body).toEqual([]);
  });

  it('states its status machine at GET /v4/transitions, as the product defines it', async () => {
    const response = await fetch(`${app.baseUrl}/v4/transitions`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { statuses: string[]; next: Record<string, string[]> };
    expect(body.statuses).toEqual([...REPORT_STATUSES]);
    const stated = Object.entries(body.next).flatMap(([from, targets]) =>
      targets.map((to) => `${from}→${to}`),
    );
    expect(new Set(stated)).toEqual(LEGAL);
    expect(stated).toHaveLength(LEGAL.size);
  });

  const pairs = REPORT_STATUSES.flatMap((from) => REPORT_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s: 200 when legal, else 409 naming the current status', async (from, to) => {
    const user = randomUUID();
    const reportId = await newReport(user, from);
    const answer = await api.put(user, { id: reportId, status: to });
    if (LEGAL.has(`${from}→${to}`)) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ reportId, reportStatus: to });
    } else {
      expect(answer.status).toBe(409);
      expect(answer.body.message).toContain(`is ${from}`);
      expect((await api.list(user)).body[0].reportStatus).toBe(from);
    }
  });

  it('answers 404 for an unknown report and for a report of another user', async () => {
    const owner = randomUUID();
    const reportId = await newReport(owner);
    expect((await api.put(owner, { id: randomUUID(), status: 'queued' })).status).toBe(404);
    const intruder = await api.put(randomUUID(), { id: reportId, status: 'queued' });
    expect(intruder.status).toBe(404);
    expect((await api.list(owner)).body[0].reportStatus).toBe('pending');
  });

  it.each([
    ['a user_id that is not a UUID', 'not-a-uuid', { id: randomUUID(), status: 'queued' }, /user_id/],
    ['a report id that is not a UUID', randomUUID(), { id: '42', status: 'queued' }, /id must be a UUID/],
    ['an unknown status', randomUUID(), { id: randomUUID(), status: 'done' }, /status must be one of/],
    ['no status', randomUUID(), { id: randomUUID() }, /status/],
    [
      'an extra field',
      randomUUID(),
      { id: randomUUID(), status: 'queued', userId: 'x' },
      /userId should not exist/,
    ],
  ])('answers 400 for %s', async (_what, user, body, message) => {
    const answer = await api.put(user, body);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body.message)).toMatch(message);
  });

  it('lets exactly one of many concurrent conflicting transitions win', async () => {
    const user = randomUUID();
    // From queued, processing and canceled each exclude the other: whichever wins, the rest conflict.
    const reportId = await newReport(user, 'queued');
    const targets: ReportStatus[] = Array.from({ length: 30 }, (_, n) =>
      n % 2 === 0 ? 'processing' : 'canceled',
    );
    const answers = await Promise.all(targets.map((status) => api.put(user, { id: reportId, status })));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 409)).toHaveLength(targets.length - 1);
    expect((await api.list(user)).body[0].reportStatus).toBe(winners[0].body.reportStatus);
  });

  it('streams every change of the user’s reports once, in order, and resumes from the database', async () => {
    const user = randomUUID();
    const reader = await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${user}`);
    await reader.waitForPosition();
    const reportId = await newReport(user, 'processing'); // pending, queued, processing
    await newReport(randomUUID(), 'queued'); // another user's: not on this stream
    const events = await reader.waitForEvents(3);
    reader.close();
    expect(events.map((event) => event.type)).toEqual(Array(3).fill('report_status_update'));
    expect(events.map((event) => JSON.parse(event.data) as unknown)).toEqual(
      ['pending', 'queued', 'processing'].map((status) => ({ id: reportId, status })),
    );

    expect((await api.put(user, { id: reportId, status: 'failed' })).status).toBe(200);
    expect((await api.put(user, { id: reportId, status: 'pending' })).status).toBe(200);
    const resumed = await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${user}`, {
      'last-event-id': events[2].id!,
    });
    await resumed.waitForEvents(2);
    expect((await api.put(user, { id: reportId, status: 'queued' })).status).toBe(200);
    await resumed.waitForEvents(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    resumed.close();
    expect(resumed.events.map((event) => (JSON.parse(event.data) as { status: string }).status)).toEqual([
      'failed',
      'pending',
      'queued',
    ]);
    const ids = [...events, ...resumed.events].map((event) => BigInt(event.id!));
    expect(ids.every((id, n) => n === 0 || id > ids[n - 1])).toBe(true);
  });
});

describe('reports over Kafka: two instances, and status updates from v4_messages', () => {
  let a: RunningApp;
  let b: RunningApp;
  let brokers: string;

  beforeAll(async () => {
    brokers = sharedBrokers();
    [a, b] = await Promise.all([startApp({ KAFKA_BROKERS: brokers }), startApp({ KAFKA_BROKERS: brokers })]);
    for (const app of [a, b]) {
      await waitUntilReady(app);
    }
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  async function waitUntilReady(app: RunningApp): Promise<void> {
    const deadline = Date.now() + 45_000;
    while ((await fetch(`${app.baseUrl}/health/ready`)).status !== 200) {
      if (Date.now() > deadline) {
        throw new Error(
          `${app.baseUrl} not ready: ${await (await fetch(`${app.baseUrl}/health/ready`)).text()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('streams from B a change made on A, once', async () => {
    const user = randomUUID();
    const reader = await SseReader.open(`${b.baseUrl}/v4/sse?user_id=${user}`);
    // The stream's position is read from the store after it starts listening: what follows it is sent.
    await reader.waitForPosition();
    const created = await client(a).create(user);
    const reportId = created.body.reportId as string;
    expect((await client(a).put(user, { id: reportId, status: 'queued' })).status).toBe(200);
    await reader.waitForEvents(2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    reader.close();
    expect(reader.events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { id: reportId, status: 'pending' },
      { id: reportId, status: 'queued' },
    ]);
  });

  it('streams on both instances every change of many made at once through both, once and in id order', async () => {
    const user = randomUUID();
    const readers = await Promise.all(
      [a, b].map((app) => SseReader.open(`${app.baseUrl}/v4/sse?user_id=${user}`)),
    );
    await Promise.all(readers.map((reader) => reader.waitForPosition()));
    const reports: string[] = [];
    for (let n = 0; n < 6; n++) {
      reports.push((await client(n % 2 ? b : a).create(user)).body.reportId as string);
    }
    // Every report from pending to completed, each step through A or B in turn, all reports at once: the
    // two instances write, and announce, events of the same user at the same time.
    await Promise.all(
      reports.map(async (id, n) => {
        for (const [step, status] of ['queued', 'processing', 'completed'].entries()) {
          expect((await client((n + step) % 2 ? b : a).put(user, { id, status })).status).toBe(200);
        }
      }),
    );
    const total = reports.length * 4;
    for (const reader of readers) {
      await reader.waitForEvents(total, 20_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    readers.forEach((reader) => reader.close());
    for (const reader of readers) {
      const ids = reader.events.map((event) => BigInt(event.id!));
      expect(ids).toHaveLength(total);
      expect(ids.every((id, n) => n === 0 || id > ids[n - 1])).toBe(true);
      const changes = reader.events.map((event) => JSON.parse(event.data) as { id: string; status: string });
      for (const id of reports) {
        expect(changes.filter((change) => change.id === id).map((change) => change.status)).toEqual([
          'pending',
          'queued',
          'processing',
          'completed',
        ]);
      }
    }
    expect(readers[0].events.map((event) => event.id)).toEqual(readers[1].events.map((event) => event.id));
  });

  it('applies status updates from v4_messages once, and dead-letters the rejected ones with the reason', async () => {
    const user = randomUUID();
    const created = await client(a).create(user);
    const reportId = created.body.reportId as string;
    const reader = await SseReader.open(`${a.baseUrl}/v4/sse?user_id=${user}`);
    const unknown = randomUUID();
    // One key, so one partition: handled in the order sent (records without a key are spread over
    // the partitions, and each partition is handled on its own). Dead letters keep the key.
    await kcatProduce(
      brokers,
      'v4_messages',
      [
        JSON.stringify({ id: reportId, status: 'queued' }),
        JSON.stringify({ id: reportId, status: 'completed' }), // illegal from queued
        JSON.stringify({ id: unknown, status: 'queued' }),
        '{"id": "not json',
        JSON.stringify({ id: reportId, status: 'processing' }),
      ],
      { key: reportId },
    );
    await reader.waitForEvents(2, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    reader.close();
    expect(reader.events.map((event) => (JSON.parse(event.data) as { status: string }).status)).toEqual([
      'queued',
      'processing',
    ]);
    expect((await client(b).list(user)).body[0].reportStatus).toBe('processing');

    let letters: { value: string; reason: string }[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const records = await kcatConsume(brokers, 'v4_messages.dead-letter', { timeoutMs: 3_000 });
      letters = records
        .map((record) => JSON.parse(record.value!.toString()) as { value: string; reason: string })
        .filter(
          (letter) =>
            letter.value.includes(reportId) ||
            letter.value.includes(unknown) ||
            letter.value === '{"id": "not json',
        );
      if (letters.length >= 3) {
        break;
      }
    }
    expect(letters.map((letter) => letter.reason)).toEqual([
      expect.stringContaining(`is queued; it cannot become completed`),
      expect.stringContaining(`report ${unknown} does not exist`),
      expect.stringContaining('not JSON'),
    ]);
  });
});
