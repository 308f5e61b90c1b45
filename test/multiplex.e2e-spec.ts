import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { SignJWT } from 'jose';
import { MESSAGE_BUS } from '../src/bus/bus.constants';
import { InMemoryMessageBus } from '../src/bus/in-memory-message-bus';
import { KeepAliveScheduler } from '../src/sse/keep-alive.scheduler';
import { SseConnectionRegistry } from '../src/sse/sse-connection.registry';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { openStalledReader, ParsedEvent, SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const query = (names: string[]) => names.map((name) => `stream=${encodeURIComponent(name)}`).join('&');

/** The events of one stream of a multiplexed connection, as its own route would have them. */
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

/** The position of the `index`-th stream in a composite id. */
const positionIn = (id: string | undefined, index: number) => id?.split(',')[index + 1];

/** Waits until the connection has a position for each of its `count` streams. */
async function waitForPositions(reader: SseReader, count: number): Promise<void> {
  await waitUntil(
    () => reader.lastEventId.split(',').length === count + 1 && !reader.lastEventId.split(',').includes(''),
    `every stream has a position (${reader.lastEventId})`,
  );
}

describe('GET /sse: several streams on one connection (in-memory bus)', () => {
  let running: RunningApp;
  let baseUrl: string;

  beforeAll(async () => {
    running = await startApp({ BUS_HISTORY_SIZE: '20', EVENTS_KEEPALIVE_MS: '300' });
    baseUrl = running.baseUrl;
  });
  afterAll(() => running.close());

  const publish = async (path: string, body: string) => {
    const sent = await post(`${baseUrl}${path}`, body, 'text/plain');
    expect(sent.status).toBe(201);
    return (JSON.parse(sent.text) as { id: string }).id;
  };

  it('carries every kind of stream exactly as its own route sends it, under the stream’s name', async () => {
    const user = unique('multi');
    const owner = randomUUID();
    const entity = unique('sensor');
    expect(
      (await fetch(`${baseUrl}/api/temperature/${entity}/registration`, { method: 'POST' })).status,
    ).toBe(201);
    const observe = (temperature: number) =>
      fetch(`${baseUrl}/api/temperature/${entity}/observations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ temperature }),
      });
    expect((await observe(20.5)).status).toBe(201); // history, replayed by both

    const routes: [string, string][] = [
      [`v2:${user}`, `/v2/sse?username=${user}`],
      [`v3:${user}`, `/v3/sse?username=${user}`],
      ['broadcast', '/events'],
      [`reports:${owner}`, `/v4/sse?user_id=${owner}`],
      [`temperature:${entity}`, `/api/temperature/events/${entity}`],
    ];
    const singles = await Promise.all(routes.map(([, path]) => SseReader.open(`${baseUrl}${path}`)));
    const multiplexed = await SseReader.open(`${baseUrl}/sse?${query(routes.map(([name]) => name))}`);
    expect(multiplexed.status).toBe(200);
    expect(multiplexed.headers?.['content-type']).toMatch(/^text\/event-stream/);
    await Promise.all(singles.map((reader) => reader.waitForPosition()));
    await waitForPositions(multiplexed, routes.length);

    // A message that tries to end its event and forge fields stays data, on both.
    await publish(`/v2/message?username=${user}`, 'line one\nid: 999\nevent: forged\n\ndata: injected');
    await publish(`/v3/message?username=${user}`, 'howdy over v3');
    await publish('/events', 'hello everyone');
    const created = (await (
      await fetch(`${baseUrl}/v4/new/report?user_id=${owner}`, { method: 'POST' })
    ).json()) as {
      reportId: string;
    };
    const moved = await fetch(`${baseUrl}/v4/report?user_id=${owner}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: created.reportId, status: 'queued' }),
    });
    expect(moved.status).toBe(200);
    expect((await observe(22)).status).toBe(201);

    const expected = [1, 1, 2, 2, 3]; // broadcast: `connected` first; temperature: Registered, then two readings
    await Promise.all(singles.map((reader, index) => reader.waitForEvents(expected[index], 10_000)));
    await multiplexed.waitForEvents(
      expected.reduce((sum, count) => sum + count),
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more comes

    routes.forEach(([name], index) => {
      const single = singles[index].events;
      const carried = eventsOf(multiplexed, name);
      // Same data and types; each event's position for its stream is the single route's id.
      expect({ name, events: carried.map(({ type, data }) => ({ type, data })) }).toEqual({
        name,
        events: single.map(({ type, data }) => ({ type, data })),
      });
      expect(carried.map((event) => positionIn(event.id, index))).toEqual(single.map((event) => event.id));
    });
    expect(multiplexed.events.length).toBe(expected.reduce((sum, count) => sum + count));
    expect(eventsOf(multiplexed, `reports:${owner}`)[0].type).toBe('report_status_update');
    expect(multiplexed.events.map((event) => event.type)).toContain(`reports:${owner}.report_status_update`);
    expect(multiplexed.raw).toMatch(/^retry: \d+\n/m);
    [...singles, multiplexed].forEach((reader) => reader.close());
  });

  it('sends keep-alive comments, and ends with a retry hint when the server shuts down', async () => {
    const app = await startApp({ EVENTS_KEEPALIVE_MS: '100' });
    const reader = await SseReader.open(`${app.baseUrl}/sse?stream=broadcast&stream=v2:keepalive`);
    await waitUntil(
      () => reader.comments.filter((comment) => comment === 'keep-alive').length >= 2,
      'keep-alives',
    );
    await app.close();
    await reader.waitForEnd();
    expect(reader.raw).toMatch(/: server shutting down, reconnect\n\nretry: \d+\n\n$/);
  });

  it.each([
    ['kafka:orders', 'unknown'],
    ['nope', 'unknown'],
    ['v2:', 'malformed'],
    ['v3:a:b', 'malformed'],
    ['reports:not-a-uuid', 'malformed'],
    ['temperature:not ok!', 'malformed'],
    ['broadcast:loud', 'malformed'],
  ])('refuses %s with a 400 that names it (%s), before any byte of a stream', async (name, problem) => {
    const response = await fetch(`${baseUrl}/sse?stream=broadcast&stream=${encodeURIComponent(name)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const { message } = (await response.json()) as { message: string };
    expect(message).toContain(`stream ${JSON.stringify(name)} is ${problem}`);
    expect(message).not.toContain('"broadcast"');
  });

  it('refuses a repeated stream (a UUID in another letter case is the same), too many, or none', async () => {
    const owner = randomUUID();
    for (const names of [
      ['broadcast', 'v2:x', 'broadcast'],
      [`reports:${owner}`, `reports:${owner.toUpperCase()}`],
    ]) {
      const response = await fetch(`${baseUrl}/sse?${query(names)}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string }).message).toContain(
        `stream ${JSON.stringify(names.at(-1))} is repeated`,
      );
    }
    const many = Array.from({ length: 21 }, (_, n) => `v2:user-${n}`);
    const tooMany = await fetch(`${baseUrl}/sse?${query(many)}`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/At most 20 streams/);
    const twenty = await SseReader.open(`${baseUrl}/sse?${query(many.slice(0, 20))}`);
    expect(twenty.status).toBe(200);
    await waitForPositions(twenty, 20);
    // The id of a connection with 20 streams, sent back, is taken (ids stay short enough for a header).
    const resumed = await SseReader.open(`${baseUrl}/sse?${query(many.slice(0, 20))}`, {
      'last-event-id': twenty.lastEventId,
    });
    expect(resumed.status).toBe(200);
    twenty.close();
    resumed.close();
    expect((await fetch(`${baseUrl}/sse`)).status).toBe(400);
    expect((await fetch(`${baseUrl}/sse?stream=broadcast&other=1`)).status).toBe(400);
    const long = await fetch(`${baseUrl}/sse?stream=broadcast`, {
      headers: { 'last-event-id': 'x'.repeat(9000) },
    });
    expect(long.status).toBe(400);
  });

  it('resumes every stream after a composite id: exactly what each missed, a gap notice only where history is gone', async () => {
    const user = unique('gappy');
    const owner = randomUUID();
    const names = ['broadcast', `v2:${user}`, `reports:${owner}`, `v3:${user}-quiet`];
    const first = await SseReader.open(`${baseUrl}/sse?${query(names)}`);
    await waitForPositions(first, names.length);
    await publish('/events', 'b1');
    await publish(`/v2/message?username=${user}`, 'm1');
    await publish(`/v3/message?username=${user}-quiet`, 'q1');
    const created = (await (
      await fetch(`${baseUrl}/v4/new/report?user_id=${owner}`, { method: 'POST' })
    ).json()) as {
      reportId: string;
    };
    await first.waitForEvents(5, 10_000); // connected, b1, m1, q1, pending
    first.close();
    const resumeFrom = first.lastEventId;

    // While away: one broadcast, a report transition, and more of the user's messages than the bus keeps.
    await publish('/events', 'b2');
    await fetch(`${baseUrl}/v4/report?user_id=${owner}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: created.reportId, status: 'canceled' }),
    });
    const missed = Array.from({ length: 30 }, (_, n) => `m${n + 2}`);
    for (const message of missed) {
      await publish(`/v2/message?username=${user}`, message);
    }

    const second = await SseReader.open(`${baseUrl}/sse?${query(names)}`, { 'last-event-id': resumeFrom });
    expect(second.status).toBe(200);
    await waitUntil(() => eventsOf(second, `reports:${owner}`).length === 1, 'the report event', 10_000);
    await waitUntil(() => eventsOf(second, `v2:${user}`).at(-1)?.data === 'm31', 'the last message', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(eventsOf(second, 'broadcast').map((event) => event.data)).toEqual(['connected', 'b2']);
    expect(eventsOf(second, `reports:${owner}`).map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { id: created.reportId, status: 'canceled' },
    ]);
    expect(eventsOf(second, `v3:${user}-quiet`)).toEqual([]); // nothing missed, nothing twice
    const [gap, ...replayed] = eventsOf(second, `v2:${user}`);
    expect(gap.type).toBe('history-gap');
    expect(JSON.parse(gap.data)).toMatchObject({ lastEventId: positionIn(resumeFrom, 1) });
    // The history holds the newest 20 records of the topic: the user's newest ones, in order, once.
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.map((event) => event.data)).toEqual(missed.slice(missed.length - replayed.length));
    expect(second.events.map((event) => event.type)).not.toContain(`broadcast.history-gap`);
    expect(second.events.map((event) => event.type)).not.toContain(`reports:${owner}.history-gap`);

    // From the new id, with the id in the query as a client without headers sends it: nothing again.
    await waitUntil(() => second.lastEventId !== '', 'an id');
    second.close();
    const third = await SseReader.open(
      `${baseUrl}/sse?${query(names)}&lastEventId=${encodeURIComponent(second.lastEventId)}`,
    );
    await waitUntil(() => eventsOf(third, 'broadcast').length === 1, 'connected');
    await publish(`/v3/message?username=${user}-quiet`, 'q2');
    await waitUntil(() => eventsOf(third, `v3:${user}-quiet`).length === 1, 'the live message');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(third.events.map((event) => event.data)).toEqual(['connected', 'q2']);
    third.close();
  });

  it('gives every stream its own gap notice for an id of another list of streams', async () => {
    const names = ['broadcast', 'v2:other-list'];
    const reader = await SseReader.open(`${baseUrl}/sse?${query(names)}`, { 'last-event-id': 'abc,1,2' });
    await reader.waitForEvents(3);
    expect(reader.events.map((event) => event.type).sort()).toEqual(
      ['broadcast', 'broadcast.history-gap', 'v2:other-list.history-gap'].sort(),
    );
    reader.close();
  });
});

describe('GET /sse: resources on disconnect', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_CONNECTIONS_PER_USER: '100' });
  });
  afterAll(() => running.close());

  it('leaves no subscriptions, users or keep-alive timers behind after connect/disconnect cycles', async () => {
    const registry = running.app.get(SseConnectionRegistry);
    const bus = running.app.get<InMemoryMessageBus>(MESSAGE_BUS);
    const keepAlive = running.app.get(KeepAliveScheduler);
    const subscriptionsBefore = bus.subscriptionCount();
    const owner = randomUUID();
    const cycle = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const names = [
          'broadcast',
          `v2:u${n % 7}`,
          `v3:u${n % 5}`,
          `reports:${owner}`,
          `temperature:t${n % 3}`,
        ];
        const req = request(`${running.baseUrl}/sse?${query(names)}`, (res) => {
          if (res.statusCode !== 200) {
            reject(new Error(`status ${res.statusCode}`));
          }
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error) =>
          (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error),
        );
        req.end();
      });
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, (_, n) => cycle(batch * 20 + n)));
    }
    await waitUntil(() => registry.size === 0, 'every connection was released');
    expect(registry.usersConnected).toBe(0);
    await waitUntil(
      () => bus.subscriptionCount() === subscriptionsBefore,
      'every bus subscription was released',
    );
    expect(keepAlive.activeTimers()).toBe(0);
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_open_connections\{stream="multiplex"\} 0/);
  });
});

describe('GET /sse: caps', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_CONNECTIONS: '3', SSE_MAX_CONNECTIONS_PER_USER: '1' });
  });
  afterAll(() => running.close());

  it('counts the connection once, and each user stream against its user', async () => {
    const { baseUrl } = running;
    const owner = randomUUID();
    const registry = running.app.get(SseConnectionRegistry);
    const multiplexed = await SseReader.open(
      `${baseUrl}/sse?${query(['v2:capped', `reports:${owner}`, 'broadcast', 'temperature:t-1'])}`,
    );
    expect(multiplexed.status).toBe(200);
    await waitUntil(() => registry.size === 1, 'one connection counted');
    for (const path of ['/v2/sse?username=capped', `/v4/sse?user_id=${owner.toUpperCase()}`]) {
      const refused = await SseReader.open(`${baseUrl}${path}`);
      expect({ path, status: refused.status }).toEqual({ path, status: 429 });
      refused.close();
    }
    const sameUserInAnother = await SseReader.open(`${baseUrl}/sse?stream=broadcast&stream=v2:capped`);
    expect(sameUserInAnother.status).toBe(429);
    sameUserInAnother.close();
    const open = [
      await SseReader.open(`${baseUrl}/v3/sse?username=capped`), // another stream of that user: its own cap
      await SseReader.open(`${baseUrl}/sse?stream=broadcast&stream=temperature:t-1`),
    ];
    expect(open.map((reader) => reader.status)).toEqual([200, 200]);
    const overGlobal = await SseReader.open(`${baseUrl}/events`);
    expect(overGlobal.status).toBe(503);
    overGlobal.close();
    multiplexed.close();
    await waitUntil(() => registry.size === 2, 'the multiplexed connection was released');
    const again = await SseReader.open(`${baseUrl}/v2/sse?username=capped`);
    expect(again.status).toBe(200);
    [...open, again].forEach((reader) => reader.close());
  });
});

describe('GET /sse: slow readers', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_BUFFER_BYTES: '65536', BODY_LIMIT_BYTES: '65536' });
  });
  afterAll(() => running.close());

  it('disconnects a multiplexed reader that stops reading; the others get every event', async () => {
    const stalled = await openStalledReader(running.port, '/sse?stream=broadcast&stream=v2:stalled');
    const healthy = await SseReader.open(`${running.baseUrl}/sse?stream=v2:stalled&stream=broadcast`);
    await healthy.waitForEvents(1);
    const registry = running.app.get(SseConnectionRegistry);
    await waitUntil(() => registry.size === 2, 'both streams are open');
    const payload = 'x'.repeat(32 * 1024);
    let sent = 0;
    while (registry.size === 2 && sent < 2000) {
      await post(`${running.baseUrl}/events`, `${sent}:${payload}`, 'text/plain');
      sent++;
    }
    expect(registry.size).toBe(1);
    await healthy.waitForEvents(1 + sent, 15_000);
    expect(healthy.events.slice(1).map((event) => Number(event.data.split(':')[0]))).toEqual(
      Array.from({ length: sent }, (_, n) => n),
    );
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_slow_reader_disconnects_total\{stream="multiplex"\} 1/);
    healthy.close();
    stalled.destroy();
  });
});

describe('GET /sse: live events behind a replay', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_BUFFER_BYTES: '65536', BODY_LIMIT_BYTES: '65536' });
  });
  afterAll(() => running.close());

  it('drops a reader that stops reading a replay once the live events waiting behind it pass the bound', async () => {
    const { baseUrl } = running;
    const names = ['v2:history', 'broadcast'];
    const first = await SseReader.open(`${baseUrl}/sse?${query(names)}`);
    await waitForPositions(first, names.length);
    first.close();
    // A replay larger than the socket buffers: the reader below stalls in it.
    const chunk = 'h'.repeat(32 * 1024);
    for (let n = 0; n < 300; n++) {
      expect(
        (await post(`${baseUrl}/v2/message?username=history`, `${n}:${chunk}`, 'text/plain')).status,
      ).toBe(201);
    }
    const registry = running.app.get(SseConnectionRegistry);
    await waitUntil(() => registry.size === 0, 'the first reader is gone');
    const stalled = await openStalledReader(running.port, `/sse?${query(names)}`, {
      'Last-Event-ID': first.lastEventId,
    });
    await waitUntil(() => registry.size === 1, 'the stalled reader is open');
    await new Promise((resolve) => setTimeout(resolve, 300)); // its socket buffers fill with the replay
    let sent = 0;
    while (registry.size === 1 && sent < 10) {
      await post(`${baseUrl}/events`, `${sent}:${chunk}`, 'text/plain');
      sent++;
    }
    expect(registry.size).toBe(0);
    expect(sent).toBeLessThanOrEqual(3); // 65536 bytes: the third 32 KB broadcast is over the bound
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_slow_reader_disconnects_total\{stream="multiplex"\} 1/);
    stalled.destroy();
  });
});

describe('GET /sse under AUTH_MODE=jwt', () => {
  const SECRET = 'an HS256 secret of at least thirty-two characters';
  const token = (subject: string, expiresIn = 300) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(subject)
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
      .sign(new TextEncoder().encode(SECRET));
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
  });
  afterAll(() => running.close());

  const open = async (names: string[], bearer?: string) =>
    SseReader.open(
      `${running.baseUrl}/sse?${query(names)}`,
      bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
    );

  it('checks every stream as its own route does: one not allowed refuses the whole request, naming it', async () => {
    const alice = await token('alice');
    const owner = randomUUID();
    const ownerToken = await token(owner);

    expect((await open(['broadcast'])).status).toBe(401);
    const allowed = await open(['v2:alice', 'v3:alice', 'broadcast', 'temperature:t-1'], alice);
    expect(allowed.status).toBe(200);
    allowed.close();

    const withBob = await open(['broadcast', 'v2:alice', 'v2:bob'], alice);
    expect(withBob.status).toBe(403);
    await withBob.waitForEnd();
    expect(withBob.headers?.['content-type']).toMatch(/^application\/json/);
    expect((JSON.parse(withBob.raw) as { message: string }).message).toMatch(
      /Stream "v2:bob" is not allowed/,
    );

    const othersReports = await open(['v2:alice', `reports:${owner}`], alice);
    expect(othersReports.status).toBe(403);
    await othersReports.waitForEnd();
    expect(othersReports.raw).toContain(`Stream \\"reports:${owner}\\" is not allowed`);

    // A user's own reports, named in capitals, as the v4 route allows them; the token in the query.
    const ownReports = await SseReader.open(
      `${running.baseUrl}/sse?${query([`reports:${owner.toUpperCase()}`, 'broadcast'])}&access_token=${ownerToken}`,
    );
    expect(ownReports.status).toBe(200);
    ownReports.close();
  });

  it('ends the connection when its token expires, with a retry hint', async () => {
    const reader = await open(['broadcast', 'v2:alice'], await token('alice', 2));
    expect(reader.status).toBe(200);
    await waitUntil(() => reader.ended, 'the stream ended at token expiry', 5_000);
    expect(reader.raw).toMatch(/: token expired, reconnect with a new token\n\nretry: \d+\n\n$/);
  });
});

describe('GET /sse: kafka:<topic> and kafka:<topic>:<key> (topics of KAFKA_SSE_TOPICS, in-memory bus)', () => {
  const SECRET = 'an HS256 secret of at least thirty-two characters';
  const token = (scope: string) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dashboard')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
      .sign(new TextEncoder().encode(SECRET));

  it('carries a topic, and one key of it, exactly as GET /kafka/<topic>/sse does, and resumes them', async () => {
    const running = await startApp({ KAFKA_SSE_TOPICS: 'clicks,orders' });
    try {
      const { baseUrl } = running;
      const produce = async (key: string, body: string) => {
        const sent = await post(`${baseUrl}/kafka/clicks?key=${key}`, body, 'text/plain');
        expect(sent.status).toBe(201);
      };
      const singles = await Promise.all([
        SseReader.open(`${baseUrl}/kafka/clicks/sse`),
        SseReader.open(`${baseUrl}/kafka/clicks/sse?key=page-1`),
      ]);
      const names = ['kafka:clicks', 'kafka:clicks:page-1', 'broadcast'];
      const multiplexed = await SseReader.open(`${baseUrl}/sse?${query(names)}`);
      expect(multiplexed.status).toBe(200);
      await Promise.all(singles.map((reader) => reader.waitForPosition()));
      await waitForPositions(multiplexed, names.length);

      await produce('page-1', '{"page":"/pricing"}');
      await produce('page-2', 'first line\nid: 7\n\ndata: forged');
      await produce('page-1', 'again');
      await singles[0].waitForEvents(3);
      await singles[1].waitForEvents(2);
      await multiplexed.waitForEvents(1 + 3 + 2); // broadcast's `connected`, then the records

      singles.forEach((single, index) => {
        const carried = eventsOf(multiplexed, names[index]);
        expect(carried.map(({ data }) => data)).toEqual(single.events.map(({ data }) => data));
        expect(carried.map((event) => positionIn(event.id, index))).toEqual(
          single.events.map(({ id }) => id),
        );
      });
      expect(eventsOf(multiplexed, 'kafka:clicks')[1].data).toBe('first line\nid: 7\n\ndata: forged');

      // Resume: what each Kafka stream missed after the id of the first record, nothing twice.
      const resumeFrom = multiplexed.events.find((event) => event.type === 'kafka:clicks')?.id;
      multiplexed.close();
      await produce('page-1', 'while away');
      const resumed = await SseReader.open(`${baseUrl}/sse?${query(names)}`, {
        'last-event-id': resumeFrom!,
      });
      await resumed.waitForEvents(3 + 2 + 1); // clicks: 3 after the first; page-1: the same record and 2 after it; broadcast's `connected`
      expect(eventsOf(resumed, 'kafka:clicks').map(({ data }) => data)).toEqual([
        'first line\nid: 7\n\ndata: forged',
        'again',
        'while away',
      ]);
      expect(eventsOf(resumed, 'kafka:clicks:page-1').map(({ data }) => data)).toEqual([
        '{"page":"/pricing"}',
        'again',
        'while away',
      ]);
      [...singles, resumed].forEach((reader) => reader.close());
    } finally {
      await running.close();
    }
  });

  it.each([
    ['kafka:payments', 'unknown', 'topic "payments" is not listed in KAFKA_SSE_TOPICS'],
    ['kafka:', 'malformed', 'it needs a topic after the colon'],
    ['kafka:clicks:', 'malformed', 'key must be 1-256 characters'],
  ])('refuses %s with a 400 that says why (%s)', async (name, problem, why) => {
    const running = await startApp({ KAFKA_SSE_TOPICS: 'clicks' });
    try {
      const response = await fetch(
        `${running.baseUrl}/sse?stream=broadcast&stream=${encodeURIComponent(name)}`,
      );
      expect(response.status).toBe(400);
      const { message } = (await response.json()) as { message: string };
      expect(message).toContain(`stream ${JSON.stringify(name)} is ${problem}`);
      expect(message).toContain(why);
    } finally {
      await running.close();
    }
  });

  it('under AUTH_MODE=jwt, needs the scope kafka:<topic> for each topic, whatever the key', async () => {
    const running = await startApp({
      KAFKA_SSE_TOPICS: 'clicks,orders',
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
    });
    try {
      const open = async (names: string[], scope: string) =>
        SseReader.open(`${running.baseUrl}/sse?${query(names)}`, {
          authorization: `Bearer ${await token(scope)}`,
        });
      const allowed = await open(['kafka:clicks', 'kafka:clicks:page-1', 'broadcast'], 'kafka:clicks');
      expect(allowed.status).toBe(200);
      allowed.close();

      const refused = await open(['kafka:clicks', 'kafka:orders:o-1'], 'kafka:clicks');
      expect(refused.status).toBe(403);
      await refused.waitForEnd();
      expect((JSON.parse(refused.raw) as { message: string }).message).toBe(
        'Stream "kafka:orders:o-1" is not allowed: This stream needs a token with the "kafka:orders" scope',
      );
      const publishOnly = await open(['kafka:clicks'], 'publish');
      expect(publishOnly.status).toBe(403);
      publishOnly.close();
    } finally {
      await running.close();
    }
  });

  it('under AUTH_MODE=jwt, checks access before existence: without the scope, a topic not listed is a 403 like one listed', async () => {
    const running = await startApp({ KAFKA_SSE_TOPICS: 'clicks', AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
    try {
      const ask = async (names: string[], scope: string) => {
        const response = await fetch(`${running.baseUrl}/sse?${query(names)}`, {
          headers: { authorization: `Bearer ${await token(scope)}` },
        });
        const { message } = (await response.json()) as { message: string };
        return { status: response.status, message };
      };
      // Listed, not listed, a service topic, with a key: the same answer, naming only the scope.
      for (const topic of ['clicks', 'v2_messages', 'payments', 'payments:k-1']) {
        const name = `kafka:${topic}`;
        const scope = `kafka:${topic.split(':')[0]}`;
        expect(await ask(['broadcast', name], 'publish')).toEqual({
          status: 403,
          message: `Stream ${JSON.stringify(name)} is not allowed: This stream needs a token with the ${JSON.stringify(scope)} scope`,
        });
      }
      // A name refused for its form, or a repeat, is still a 400; it tells nothing of what the others name.
      const malformed = await ask(['kafka:', 'kafka:payments', 'kafka:clicks:'], 'publish');
      expect(malformed.status).toBe(400);
      expect(malformed.message).toContain('stream "kafka:" is malformed');
      expect(malformed.message).toContain('stream "kafka:clicks:" is malformed');
      expect(malformed.message).not.toContain('payments');
      expect((await ask(['nope'], 'publish')).status).toBe(400);
      // With the scope, the client may learn that the topic is not served: a 400 naming it, as before.
      const scoped = await ask(['kafka:payments'], 'kafka:payments');
      expect(scoped.status).toBe(400);
      expect(scoped.message).toBe(
        'stream "kafka:payments" is unknown: topic "payments" is not listed in KAFKA_SSE_TOPICS',
      );
    } finally {
      await running.close();
    }
  });
});

describe('GET /sse: a connection carrying a temperature stream', () => {
  it('ends after MAX_SSE_CONNECTION_TIME with a retry hint, as the temperature route does, and resumes every stream', async () => {
    const running = await startApp({ MAX_SSE_CONNECTION_TIME: '700ms' });
    try {
      const { baseUrl } = running;
      const entity = unique('bounded');
      expect(
        (await fetch(`${baseUrl}/api/temperature/${entity}/registration`, { method: 'POST' })).status,
      ).toBe(201);
      const names = [`temperature:${entity}`, 'broadcast'];
      const bounded = await SseReader.open(`${baseUrl}/sse?${query(names)}`);
      const unbounded = await SseReader.open(`${baseUrl}/sse?${query(['broadcast', 'v2:bounded'])}`);
      await waitForPositions(bounded, 2);
      await bounded.waitForEnd(5_000);
      expect(bounded.raw).toMatch(/: connection time limit reached, reconnect\n\nretry: \d+\n\n$/);
      expect(unbounded.ended).toBe(false);

      // What came while it was away reaches it once it resumes, on both of its streams.
      await post(
        `${baseUrl}/api/temperature/${entity}/observations`,
        '{"temperature":21}',
        'application/json',
      );
      await post(`${baseUrl}/events`, 'while away', 'text/plain');
      const resumed = await SseReader.open(`${baseUrl}/sse?${query(names)}`, {
        'last-event-id': bounded.lastEventId,
      });
      await resumed.waitForEvents(3); // the observation; broadcast's `connected` (every connection), then the broadcast
      expect(
        eventsOf(resumed, `temperature:${entity}`).map(
          ({ data }) => (JSON.parse(data) as { type: string }).type,
        ),
      ).toEqual(['TemperatureRead']);
      expect(eventsOf(resumed, 'broadcast').map(({ data }) => data)).toEqual(['connected', 'while away']);
      resumed.close();
      unbounded.close();
    } finally {
      await running.close();
    }
  });
});
