import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { kcatProduce } from './support/kcat';
import { MAIN, Service, startService } from './support/service';
import { SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

async function ready(baseUrl: string, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${baseUrl}/health/ready`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) {
      throw new Error(`${baseUrl} not ready: ${await (await fetch(`${baseUrl}/health/ready`)).text()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function metric(baseUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe('records of other producers on report_updates (the service as a process, on Kafka)', () => {
  let brokers: string;
  let service: Service;

  beforeAll(async () => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
    }
    brokers = sharedBrokers();
    service = await startService({ KAFKA_BROKERS: brokers });
    await ready(service.baseUrl);
  });
  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exit;
    }
  });

  const api = (path: string, method: string, body?: unknown) =>
    fetch(`${service.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('skips a forged event id and malformed records, never exits, and the real transitions still reach the stream', async () => {
    const user = randomUUID();
    const reader = await SseReader.open(`${service.baseUrl}/v4/sse?user_id=${user}`);
    await reader.waitForPosition();
    const created = (await (await api(`/v4/new/report?user_id=${user}`, 'POST')).json()) as {
      reportId: string;
    };
    await reader.waitForEvents(1, 15_000);
    const skippedBefore = await metric(
      service.baseUrl,
      'kafka_records_skipped_total',
      'topic="report_updates"',
    );

    // A well-formed record whose id the store never issued: shown, it would hide what follows.
    const forged = {
      id: '9000000000000000000',
      userId: user,
      reportId: created.reportId,
      status: 'completed',
      createdAt: new Date().toISOString(),
    };
    await kcatProduce(brokers, 'report_updates', [JSON.stringify(forged)], { key: user });
    expect(
      (await api(`/v4/report?user_id=${user}`, 'PUT', { id: created.reportId, status: 'queued' })).status,
    ).toBe(200);
    await reader.waitForEvents(2, 15_000);

    // Records that are not events (as `kcat -K:` with `<uuid>:not json` writes them, and others).
    const malformed = [
      'not json',
      '{}',
      '[1]',
      JSON.stringify({ ...forged, id: 'x' }),
      JSON.stringify({ ...forged, id: '5', status: 'exploded' }),
      JSON.stringify({ ...forged, id: '5', userId: randomUUID() }),
    ];
    await kcatProduce(brokers, 'report_updates', malformed, { key: user });
    const deadline = Date.now() + 15_000;
    while (
      (await metric(service.baseUrl, 'kafka_records_skipped_total', 'topic="report_updates"')) -
        skippedBefore <
        malformed.length &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(
      (await api(`/v4/report?user_id=${user}`, 'PUT', { id: created.reportId, status: 'processing' })).status,
    ).toBe(200);
    await reader.waitForEvents(3, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.baseUrl}/health`)).status).toBe(200);
    expect(reader.ended).toBe(false);
    expect(reader.events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { id: created.reportId, status: 'pending' },
      { id: created.reportId, status: 'queued' },
      { id: created.reportId, status: 'processing' },
    ]);
    expect(Number(reader.events[2].id)).toBeLessThan(Number(forged.id));
    expect(
      (await metric(service.baseUrl, 'kafka_records_skipped_total', 'topic="report_updates"')) -
        skippedBefore,
    ).toBe(malformed.length);
    expect(
      await metric(
        service.baseUrl,
        'report_events_rejected_total',
        'topic="report_updates",reason="unknown id"',
      ),
    ).toBe(1);
    expect(service.output).toMatch(/event id 9000000000000000000 is above the newest event id of the store/);
    reader.close();
  });
});

describe('resume ids and oversized records on the Kafka bus', () => {
  let brokers: string;
  let app: RunningApp;

  beforeAll(async () => {
    brokers = sharedBrokers();
    app = await startApp({ KAFKA_BROKERS: brokers, SSE_MAX_BUFFER_BYTES: '65536' });
    await ready(app.baseUrl);
  });
  afterAll(() => app?.close());

  it('treats a Last-Event-ID past the end of the topic, or one that does not parse, as a gap, then goes on live', async () => {
    const user = unique('ahead');
    // Read back before the resumes below, so that they come after them (a publish is acknowledged
    // when Kafka has it, which can be before this instance has read it back).
    const earlier = await SseReader.open(`${app.baseUrl}/v2/sse?username=${user}`);
    await earlier.waitForPosition();
    for (const n of [1, 2]) {
      expect(
        (await post(`${app.baseUrl}/v2/message?username=${user}`, `old ${n}`, 'text/plain')).status,
      ).toBe(201);
    }
    await earlier.waitForEvents(2, 10_000);
    earlier.close();
    for (const lastEventId of ['999999', '999999.999999', 'garbage', 'mwwj113o-2']) {
      const reader = await SseReader.open(`${app.baseUrl}/v2/sse?username=${user}`, {
        'last-event-id': lastEventId,
      });
      await reader.waitForEvents(1, 10_000);
      const sent = await post(
        `${app.baseUrl}/v2/message?username=${user}`,
        `live after ${lastEventId}`,
        'text/plain',
      );
      const [gap, live] = await reader.waitForEvents(2, 10_000);
      expect(gap.type).toBe('history-gap');
      expect(JSON.parse(gap.data)).toMatchObject({ lastEventId });
      expect(live).toEqual({
        id: (JSON.parse(sent.text) as { id: string }).id,
        data: `live after ${lastEventId}`,
      });
      reader.close();
    }
  });

  it('skips a record of another producer too large for a stream, and the streams go on', async () => {
    const readers = await Promise.all([
      SseReader.open(`${app.baseUrl}/events`),
      SseReader.open(`${app.baseUrl}/v3/sse?username=huge`),
    ]);
    await Promise.all(readers.map((reader) => reader.waitForEvents(reader === readers[0] ? 1 : 0)));
    await waitUntil(() => readers.every((reader) => reader.raw.includes('retry:')), 'the streams are open');
    const skippedBefore = await metric(app.baseUrl, 'kafka_records_skipped_total', 'topic="broadcast"');
    await kcatProduce(brokers, 'broadcast', ['\n'.repeat(20_000), 'after the big one']);
    await kcatProduce(brokers, 'v3_messages', [`huge:${'x'.repeat(70_000)}`, 'huge:after the big one']);
    for (const reader of readers) {
      await waitUntil(
        () => reader.events.some((event) => event.data === 'after the big one'),
        'the next record arrived',
        15_000,
      );
      expect(reader.ended).toBe(false);
      expect(reader.events.filter((event) => event.data !== 'connected').map((event) => event.data)).toEqual([
        'after the big one',
      ]);
      reader.close();
    }
    expect(
      (await metric(app.baseUrl, 'kafka_records_skipped_total', 'topic="broadcast"')) - skippedBefore,
    ).toBe(1);
  });
});
