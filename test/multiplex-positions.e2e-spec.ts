import { randomUUID } from 'node:crypto';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { ParsedEvent, SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const query = (names: string[]) => names.map((name) => `stream=${encodeURIComponent(name)}`).join('&');
const positions = (values: string[]) =>
  values.map((value) => `position=${encodeURIComponent(value)}`).join('&');
/** Each stream's position in a composite id, decoded as the client decodes it. */
const positionsIn = (id: string) =>
  id
    .split(',')
    .slice(1)
    .map((part) => decodeURIComponent(part));

function eventsOf(reader: SseReader, name: string): ParsedEvent[] {
  return reader.events.flatMap((event) => {
    if (event.type === name) {
      return [{ id: event.id, data: event.data }];
    }
    if (event.type?.startsWith(`${name}.`)) {
      return [{ id: event.id, type: event.type.slice(name.length + 1), data: event.data }];
    }
    return [];
  });
}

async function waitForPositions(reader: SseReader, count: number): Promise<void> {
  await waitUntil(
    () => reader.lastEventId.split(',').length === count + 1 && !reader.lastEventId.split(',').includes(''),
    `every stream has a position (${reader.lastEventId})`,
  );
}

async function ready(app: RunningApp, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(`${app.baseUrl}/health/ready`).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) {
      throw new Error(`${app.baseUrl} is not ready`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('GET /sse?position=…: a position per stream when the list of streams changes (in-memory bus)', () => {
  let running: RunningApp;
  let baseUrl: string;

  beforeAll(async () => {
    running = await startApp({ BUS_HISTORY_SIZE: '20' });
    baseUrl = running.baseUrl;
  });
  afterAll(() => running.close());

  const publish = async (path: string, body: string) =>
    expect((await post(`${baseUrl}${path}`, body, 'text/plain')).status).toBe(201);

  it('resumes the streams that stay exactly after their positions, in a new list with a new stream', async () => {
    const user = unique('moved');
    const owner = randomUUID();
    const first = await SseReader.open(`${baseUrl}/sse?${query(['broadcast', `v2:${user}`])}`);
    await waitForPositions(first, 2);
    await publish(`/v2/message?username=${user}`, 'm1');
    await publish('/events', 'b1');
    await first.waitForEvents(3); // connected, m1, b1
    first.close();
    const [broadcastAt, userAt] = positionsIn(first.lastEventId);

    await publish(`/v2/message?username=${user}`, 'm2');
    await publish('/events', 'b2');
    await publish(`/v2/message?username=${user}`, 'm3');

    // Another list (a report stream added, the order changed): the old composite id does not apply.
    const names = [`v2:${user}`, `reports:${owner}`, 'broadcast'];
    const second = await SseReader.open(
      `${baseUrl}/sse?${query(names)}&${positions([userAt, '', broadcastAt])}`,
    );
    expect(second.status).toBe(200);
    await waitUntil(() => eventsOf(second, `v2:${user}`).length === 2, 'the missed messages');
    await waitUntil(() => eventsOf(second, 'broadcast').length === 2, 'the missed broadcast');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsOf(second, `v2:${user}`).map((event) => event.data)).toEqual(['m2', 'm3']);
    expect(eventsOf(second, 'broadcast').map((event) => event.data)).toEqual(['connected', 'b2']);
    expect(second.events.map((event) => event.type)).not.toContainEqual(
      expect.stringContaining('history-gap'),
    );

    // The new stream starts afresh and is live.
    await fetch(`${baseUrl}/v4/new/report?user_id=${owner}`, { method: 'POST' });
    await waitUntil(() => eventsOf(second, `reports:${owner}`).length === 1, 'the new report');
    second.close();
  });

  it('gives a gap notice for a position no longer retained, one ahead of the stream, and one of another run', async () => {
    const old = unique('old');
    const ahead = unique('ahead');
    const foreign = unique('foreign');
    const first = await SseReader.open(`${baseUrl}/sse?${query([`v2:${old}`])}`);
    await publish(`/v2/message?username=${old}`, 'o1');
    await first.waitForEvents(1);
    first.close();
    const [oldAt] = positionsIn(first.lastEventId);
    for (let n = 2; n <= 30; n++) {
      await publish(`/v2/message?username=${old}`, `o${n}`); // more than the 20 the bus keeps
    }
    const epoch = oldAt.slice(0, oldAt.lastIndexOf('-'));
    const names = [`v2:${old}`, `v2:${ahead}`, `v2:${foreign}`];
    const reader = await SseReader.open(
      `${baseUrl}/sse?${query(names)}&${positions([oldAt, `${epoch}-99999999`, 'zz0other-3'])}`,
    );
    expect(reader.status).toBe(200);
    await waitUntil(
      () => eventsOf(reader, `v2:${old}`).at(-1)?.data === 'o30',
      'the newest retained message',
    );
    await waitUntil(() => eventsOf(reader, `v2:${foreign}`).length === 1, 'the gap of the foreign position');
    const [gap, ...replayed] = eventsOf(reader, `v2:${old}`);
    expect(gap.type).toBe('history-gap');
    expect(JSON.parse(gap.data)).toMatchObject({ lastEventId: oldAt });
    expect(replayed.map((event) => event.data)).toEqual(
      Array.from({ length: 29 }, (_, n) => `o${n + 2}`).slice(29 - replayed.length),
    );
    expect(eventsOf(reader, `v2:${ahead}`).map((event) => event.type)).toEqual(['history-gap']);
    expect(eventsOf(reader, `v2:${foreign}`).map((event) => event.type)).toEqual(['history-gap']);
    // A forged position replays nothing: the stream goes on live from the newest event.
    await publish(`/v2/message?username=${ahead}`, 'live');
    await waitUntil(() => eventsOf(reader, `v2:${ahead}`).length === 2, 'the live message');
    expect(eventsOf(reader, `v2:${ahead}`)[1].data).toBe('live');
    reader.close();
  });

  it('takes a Last-Event-ID of the same list over the positions in the URL (EventSource sends it on reconnect)', async () => {
    const user = unique('newer');
    const names = [`v2:${user}`];
    const first = await SseReader.open(`${baseUrl}/sse?${query(names)}`);
    await publish(`/v2/message?username=${user}`, 'm1');
    await publish(`/v2/message?username=${user}`, 'm2');
    await first.waitForEvents(2);
    const afterFirst = first.events[0].id!;
    first.close();
    const [stale] = positionsIn(afterFirst);
    const second = await SseReader.open(`${baseUrl}/sse?${query(names)}&${positions([stale])}`, {
      'last-event-id': first.lastEventId,
    });
    await publish(`/v2/message?username=${user}`, 'm3');
    await waitUntil(() => second.events.length >= 1, 'the live message');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(second.events.map((event) => event.data)).toEqual(['m3']); // not m2 again
    second.close();
  });

  it('refuses positions that are not one per stream, too long or with control characters: 400 naming the problem', async () => {
    const names = ['broadcast', 'v2:someone'];
    const cases: [string, RegExp][] = [
      [
        positions(['x']),
        /position must be given once per stream, in the order of stream \(2\).*1 were given/,
      ],
      [positions(['a', 'b', 'c']), /once per stream.*3 were given/],
      [positions(['a', 'x'.repeat(257)]), /position must be shorter than or equal to 256 characters/],
      [positions(['a', 'b\u0007']), /no control characters/],
    ];
    for (const [extra, message] of cases) {
      const response = await fetch(`${baseUrl}/sse?${query(names)}&${extra}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { message: string | string[] };
      expect(String(body.message)).toMatch(message);
    }
    // Exactly at the bound it is taken (and, unknown to the stream, answered with its gap notice).
    const reader = await SseReader.open(`${baseUrl}/sse?${query(names)}&${positions(['', 'x'.repeat(256)])}`);
    expect(reader.status).toBe(200);
    await waitUntil(() => eventsOf(reader, 'v2:someone').length === 1, 'the gap notice');
    expect(eventsOf(reader, 'v2:someone')[0].type).toBe('history-gap');
    reader.close();
  });
});

describe('GET /sse?position=… on Kafka: positions from one instance resume on another', () => {
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    const brokers = sharedBrokers();
    [a, b] = await Promise.all([startApp({ KAFKA_BROKERS: brokers }), startApp({ KAFKA_BROKERS: brokers })]);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('resumes each stream on instance B after the positions instance A gave, in another list', async () => {
    const user = unique('kafka-moved');
    const first = await SseReader.open(`${a.baseUrl}/sse?${query([`v3:${user}`, 'broadcast'])}`);
    await waitForPositions(first, 2);
    expect((await post(`${a.baseUrl}/v3/message?username=${user}`, 'k1', 'text/plain')).status).toBe(201);
    await waitUntil(() => eventsOf(first, `v3:${user}`).length === 1, 'k1', 20_000);
    first.close();
    const [userAt, broadcastAt] = positionsIn(first.lastEventId);
    for (const message of ['k2', 'k3']) {
      expect((await post(`${a.baseUrl}/v3/message?username=${user}`, message, 'text/plain')).status).toBe(
        201,
      );
    }
    const other = unique('kafka-other');
    const names = ['broadcast', `v2:${other}`, `v3:${user}`];
    const second = await SseReader.open(
      `${b.baseUrl}/sse?${query(names)}&${positions([broadcastAt, '', userAt])}`,
    );
    expect(second.status).toBe(200);
    await waitUntil(() => eventsOf(second, `v3:${user}`).length === 2, 'the missed messages on B', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(eventsOf(second, `v3:${user}`).map((event) => event.data)).toEqual(['k2', 'k3']);
    expect(second.events.map((event) => event.type)).not.toContainEqual(
      expect.stringContaining('history-gap'),
    );
    second.close();
  });
});
