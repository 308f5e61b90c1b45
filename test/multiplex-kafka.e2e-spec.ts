import { randomUUID } from 'node:crypto';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { ParsedEvent, SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const query = (names: string[]) => names.map((name) => `stream=${encodeURIComponent(name)}`).join('&');

async function ready(app: RunningApp, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${app.baseUrl}/health/ready`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) {
      throw new Error(`${app.baseUrl} is not ready`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The events of one stream of a multiplexed connection: type after the name, and data. */
function eventsOf(reader: SseReader, name: string): { type?: string; data: string }[] {
  return reader.events
    .filter((event: ParsedEvent) => event.type === name || event.type?.startsWith(`${name}.`))
    .map((event) => ({
      ...(event.type !== name && { type: event.type!.slice(name.length + 1) }),
      data: event.data,
    }));
}

const positionsIn = (id: string) => id.split(',').slice(1);

describe('GET /sse on Kafka: a composite id resumes on another instance', () => {
  const HISTORY = 50;
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    const brokers = sharedBrokers();
    // B keeps a shorter history for resume than A: what a client missed may be gone there.
    [a, b] = await Promise.all([
      startApp({ KAFKA_BROKERS: brokers }),
      startApp({ KAFKA_BROKERS: brokers, BUS_HISTORY_SIZE: String(HISTORY) }),
    ]);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const send = async (app: RunningApp, path: string, body: string) =>
    expect((await post(`${app.baseUrl}${path}`, body, 'text/plain')).status).toBe(201);
  const observe = async (app: RunningApp, entity: string, temperature: number) =>
    expect(
      (
        await fetch(`${app.baseUrl}/api/temperature/${entity}/observations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ temperature }),
        })
      ).status,
    ).toBe(201);
  const move = async (app: RunningApp, owner: string, id: string, status: string) =>
    expect(
      (
        await fetch(`${app.baseUrl}/v4/report?user_id=${owner}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, status }),
        })
      ).status,
    ).toBe(200);

  it('replays exactly what each stream missed, in order, once; a gap notice only for the stream whose history is gone', async () => {
    const user = unique('mk');
    const owner = randomUUID();
    const entity = unique('mk-sensor');
    const names = ['broadcast', `v2:${user}`, `v3:${user}`, `reports:${owner}`, `temperature:${entity}`];
    expect((await post(`${a.baseUrl}/api/temperature/${entity}/registration`, '')).status).toBe(201);

    // On A: a first event of each stream.
    const onA = await SseReader.open(`${a.baseUrl}/sse?${query(names)}`);
    expect(onA.status).toBe(200);
    await waitUntil(() => eventsOf(onA, names[4]).length === 1, 'the entity history (Registered)', 15_000);
    await send(a, '/events', `${user} b1`);
    await send(a, `/v2/message?username=${user}`, 'm1');
    await send(a, `/v3/message?username=${user}`, 'v3 one');
    const created = (await (
      await fetch(`${a.baseUrl}/v4/new/report?user_id=${owner}`, { method: 'POST' })
    ).json()) as {
      reportId: string;
    };
    await observe(a, entity, 1);
    await waitUntil(
      () =>
        names.every(
          (name) => eventsOf(onA, name).length === (name === 'broadcast' || name === names[4] ? 2 : 1),
        ),
      'a first event of each stream on A',
      15_000,
    );
    await waitUntil(() => eventsOf(onA, 'broadcast').at(-1)?.data === `${user} b1`, 'b1');
    onA.close();
    const fromA = onA.lastEventId;
    expect(positionsIn(fromA)).toHaveLength(names.length);

    // While away, published on both instances: more of the v2 user's messages than B keeps.
    await send(b, '/events', `${user} b2`);
    await move(b, owner, created.reportId, 'canceled');
    await observe(a, entity, 2);
    const missed = Array.from({ length: HISTORY + 10 }, (_, n) => `m${n + 2}`);
    for (const message of missed) {
      await send(a, `/v2/message?username=${user}`, message);
    }

    const onB = await SseReader.open(`${b.baseUrl}/sse?${query(names)}`, { 'last-event-id': fromA });
    expect(onB.status).toBe(200);
    await waitUntil(
      () => eventsOf(onB, names[1]).at(-1)?.data === missed.at(-1),
      'the last v2 message on B',
      20_000,
    );
    await waitUntil(
      () => eventsOf(onB, names[3]).length === 1 && eventsOf(onB, names[4]).length === 1,
      'the report and the reading on B',
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up

    expect(eventsOf(onB, 'broadcast')).toEqual([{ data: 'connected' }, { data: `${user} b2` }]);
    expect(eventsOf(onB, names[2])).toEqual([]); // v3: nothing missed, nothing again
    expect(eventsOf(onB, names[3])).toEqual([
      { type: 'report_status_update', data: JSON.stringify({ id: created.reportId, status: 'canceled' }) },
    ]);
    expect(eventsOf(onB, names[4]).map((event) => JSON.parse(event.data) as unknown)).toEqual([
      expect.objectContaining({ type: 'TemperatureRead', entityId: entity, temperature: 2 }),
    ]);
    const [gap, ...replayed] = eventsOf(onB, names[1]);
    expect(gap.type).toBe('history-gap');
    expect(JSON.parse(gap.data)).toMatchObject({ lastEventId: positionsIn(fromA)[1] });
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.map((event) => event.data)).toEqual(missed.slice(missed.length - replayed.length));
    expect(onB.events.filter((event) => event.type?.endsWith('.history-gap'))).toHaveLength(1);

    // And back on A with B's id: only what came since, every stream exactly.
    onB.close();
    const fromB = onB.lastEventId;
    await send(b, `/v2/message?username=${user}`, 'after B');
    await send(b, `/v3/message?username=${user}`, 'v3 after B');
    await move(a, owner, created.reportId, 'pending');
    const again = await SseReader.open(`${a.baseUrl}/sse?${query(names)}`, { 'last-event-id': fromB });
    await waitUntil(
      () =>
        eventsOf(again, names[1]).length === 1 &&
        eventsOf(again, names[2]).length === 1 &&
        eventsOf(again, names[3]).length === 1,
      'what came since, on A',
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(again.events.map((event) => event.data)).toEqual([
      'connected',
      ...['after B', 'v3 after B', JSON.stringify({ id: created.reportId, status: 'pending' })].filter(
        (data) => again.events.some((event) => event.data === data),
      ),
    ]);
    expect(eventsOf(again, names[1])).toEqual([{ data: 'after B' }]);
    expect(eventsOf(again, names[2])).toEqual([{ data: 'v3 after B' }]);
    expect(eventsOf(again, names[3])).toEqual([
      { type: 'report_status_update', data: JSON.stringify({ id: created.reportId, status: 'pending' }) },
    ]);
    expect(eventsOf(again, names[4])).toEqual([]);
    again.close();
  });
});
