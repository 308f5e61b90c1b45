import { SignJWT } from 'jose';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CompositeEventId } from '../src/multiplex/multiplexer';
import { SseConnectionRegistry } from '../src/sse/sse-connection.registry';
import { post, ready, RunningApp, startApp, waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { openStalledReader, SseReader } from './support/sse-reader';

jest.setTimeout(180_000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and ArrayBuffers (encoded frames, socket buffers) the process holds once garbage is collected. */
async function settledMemory(): Promise<number> {
  for (let n = 0; n < 3; n++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100)); // ArrayBuffers are freed off-thread
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const query = (names: string[]) => names.map((name) => `stream=${encodeURIComponent(name)}`).join('&');
const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/**
 * The largest message of `unit` repeated that `publish` takes: from a guess above it, one unit
 * less until the answer is 201. The answer just before was a 413, so one unit more is refused.
 */
async function largestAccepted(
  unit: string,
  guess: number,
  publish: (body: string) => Promise<{ status: number; text: string }>,
): Promise<{ body: string; refusedAbove: string }> {
  let previous: { status: number; text: string } | undefined;
  for (let count = guess; count > 0; count--) {
    const answer = await publish(unit.repeat(count));
    if (answer.status === 201) {
      expect(previous).toBeDefined(); // the guess was above the bound
      return { body: unit.repeat(count), refusedAbove: previous!.text };
    }
    expect(answer.status).toBe(413);
    previous = answer;
  }
  throw new Error(`nothing of ${JSON.stringify(unit)} was accepted`);
}

describe('GET /sse: an event that fits its own route fits every multiplexed connection carrying it', () => {
  const BOUND = 64 * 1024;
  const topic = `bounds-${Date.now().toString(36)}`;
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      SSE_MAX_BUFFER_BYTES: String(BOUND),
      BODY_LIMIT_BYTES: String(1024 * 1024),
      KAFKA_SSE_TOPICS: topic,
    });
  });
  afterAll(() => running.close());

  it('delivers the largest accepted event on v2, /events and a kafka topic, intact, to multiplexed readers with the longest names and 20 streams', async () => {
    const { baseUrl } = running;
    // The longest names a connection may carry (200 characters, two bytes each where the kind allows
    // it), and 20 streams: the longest event: lines and composite ids.
    const user = 'é'.repeat(128);
    const key = 'é'.repeat(200 - `kafka:${topic}:`.length);
    const big = [`v2:${user}`, 'broadcast', `kafka:${topic}`, `kafka:${topic}:${key}`];
    const others = Array.from({ length: 20 - big.length }, (_, n) => `v2:${'o'.repeat(120)}-${n}`);
    const names = [...big, ...others];
    const multiplexed = await Promise.all(
      Array.from({ length: 5 }, () => SseReader.open(`${baseUrl}/sse?${query(names)}`)),
    );
    const single = await Promise.all([
      SseReader.open(`${baseUrl}/v2/sse?username=${encodeURIComponent(user)}`),
      SseReader.open(`${baseUrl}/events`),
      SseReader.open(`${baseUrl}/kafka/${topic}/sse?key=${encodeURIComponent(key)}`),
    ]);
    const readers = [...multiplexed, ...single];
    expect(readers.map((reader) => reader.status)).toEqual(readers.map(() => 200));
    await waitUntil(() => readers.every((reader) => reader.retry !== undefined), 'every stream is open');
    // Every position of the composite ids is set: they are as long as they get.
    const someone = `v2:${'o'.repeat(120)}-0`;
    for (const [path, name] of [
      ['/events', 'broadcast'],
      [`/kafka/${topic}`, `kafka:${topic}`],
      [`/v2/message?username=${encodeURIComponent(user)}`, big[0]],
      [`/v2/message?username=${encodeURIComponent(someone.slice(3))}`, someone],
    ]) {
      expect((await post(`${baseUrl}${path}`, 'first', 'text/plain')).status).toBe(201);
      await waitUntil(
        () => multiplexed.every((reader) => reader.events.some((event) => event.type === name)),
        `the first event of ${name}`,
      );
    }

    const routes: { path: string; unit: string; streams: string[] }[] = [
      { path: `/v2/message?username=${encodeURIComponent(user)}`, unit: '\n', streams: [big[0]] },
      { path: `/v2/message?username=${encodeURIComponent(user)}`, unit: 'x', streams: [big[0]] },
      { path: '/events', unit: '\n', streams: ['broadcast'] },
      { path: '/events', unit: 'x', streams: ['broadcast'] },
      { path: `/kafka/${topic}?key=${encodeURIComponent(key)}`, unit: '\n', streams: big.slice(2) },
      { path: `/kafka/${topic}?key=${encodeURIComponent(key)}`, unit: 'x', streams: big.slice(2) },
    ];
    for (const { path, unit, streams } of routes) {
      const before = multiplexed.map((reader) => reader.events.length);
      const { body, refusedAbove } = await largestAccepted(
        unit,
        Math.ceil(BOUND / (unit === 'x' ? 1 : 7)),
        (text) => post(`${baseUrl}${path}`, text, 'text/plain'),
      );
      expect(json(refusedAbove).message).toMatch(new RegExp(`over the ${BOUND} bytes.*SSE_MAX_BUFFER_BYTES`));
      // Not one byte of it was lost: each multiplexed reader got it under each stream that carries it.
      await waitUntil(
        () =>
          multiplexed.every(
            (reader, index) => reader.ended || reader.events.length >= before[index] + streams.length,
          ),
        `${path} (${JSON.stringify(unit)}): the largest accepted event arrived`,
      );
      for (const reader of multiplexed) {
        expect({ path, unit, ended: reader.ended }).toEqual({ path, unit, ended: false });
        const got = reader.events.slice(-streams.length);
        expect(got.map((event) => event.type).sort()).toEqual([...streams].sort());
        expect(got.every((event) => event.data === body)).toBe(true);
      }
    }
    await waitUntil(
      () => single.every((reader) => reader.events.filter((event) => event.data.length > 1000).length === 2),
      'the single routes got each largest event',
    );
    expect(readers.map((reader) => reader.ended)).toEqual(readers.map(() => false));
    readers.forEach((reader) => reader.close());
  });
});

describe('GET /sse on Kafka: replays of many streams to clients that never read', () => {
  const SECRET = 'an HS256 secret of at least thirty-two characters';
  const BOUND = 256 * 1024;
  const PER_USER = 4;
  const STALLED = 24;
  const RECORD = 200_000;
  const suffix = Date.now().toString(36);
  const topics = ['r1', 'r2', 'r3'].map((name) => `replay-${name}-${suffix}`);
  const keys = Array.from({ length: 16 }, (_, n) => `k${n}`);
  // 20 streams, 10 MB of history to replay from the start: more than a socket takes.
  const names = [
    'broadcast',
    ...topics.map((topic) => `kafka:${topic}`),
    ...keys.map((key) => `kafka:${topics[0]}:${key}`),
  ];
  const fromTheStart = new CompositeEventId(names).encode(
    names.map((name) => (name === 'broadcast' ? '' : '0')),
  );
  const path = `/sse?${query(names)}`;
  const token = (subject: string, scope: string) =>
    new SignJWT({ scope })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(subject)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(SECRET));
  const published = new Map<string, string[]>();
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({
      KAFKA_BROKERS: sharedBrokers(),
      KAFKA_SSE_TOPICS: topics.join(','),
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      BODY_LIMIT_BYTES: String(1024 * 1024),
      SSE_MAX_BUFFER_BYTES: String(BOUND),
      SSE_MAX_REPLAYS_PER_USER: String(PER_USER),
      SSE_REPLAY_TIMEOUT_MS: '15000',
    });
    await ready(running, 60_000);
    const publisher = await token('publisher', 'publish');
    for (const topic of topics) {
      const count = topic === topics[0] ? keys.length : 10;
      for (let n = 0; n < count; n++) {
        const value = `${topic}:${n}:${'x'.repeat(RECORD)}`;
        const answer = await fetch(`${running.baseUrl}/kafka/${topic}?key=k${n}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${publisher}`, 'content-type': 'text/plain' },
          body: value,
        });
        expect(answer.status).toBe(201);
        for (const name of [`kafka:${topic}`, `kafka:${topic}:k${n}`]) {
          published.set(name, [...(published.get(name) ?? []), value]);
        }
      }
    }
  });
  afterAll(() => running?.close());

  /** Reads the whole replay of every kafka stream; fails unless it is every record, intact, in order. */
  async function readsFullReplay(bearer: string): Promise<void> {
    const reader = await SseReader.open(`${running.baseUrl}${path}`, {
      authorization: `Bearer ${bearer}`,
      'last-event-id': fromTheStart,
    });
    expect(reader.status).toBe(200);
    const expected = names.slice(1).map((name) => published.get(name) ?? []);
    const total = expected.reduce((sum, values) => sum + values.length, 0);
    await waitUntil(
      () => reader.events.filter((event) => event.type?.startsWith('kafka:')).length >= total,
      `the whole replay (${total} events)`,
      60_000,
    );
    for (const [index, name] of names.slice(1).entries()) {
      const got = reader.events.filter((event) => event.type === name).map((event) => event.data);
      expect({
        name,
        count: got.length,
        intact: got.every((data, n) => data === expected[index][n]),
      }).toEqual({
        name,
        count: expected[index].length,
        intact: true,
      });
    }
    expect(reader.ended).toBe(false);
    reader.close();
  }

  it('costs one user at most its replays read at once, keeps /health fast, gives a reader the whole replay, and frees everything after', async () => {
    const registry = running.app.get(SseConnectionRegistry);
    const scopes = topics.map((topic) => `kafka:${topic}`).join(' ');
    const mallory = await token('mallory', scopes);
    const before = await settledMemory();
    const serverSockets = new Map<number, Socket>();
    const server = running.app.getHttpServer() as {
      on(event: 'connection', listener: (socket: Socket) => void): void;
    };
    server.on('connection', (socket) => serverSockets.set(socket.remotePort!, socket));

    const stalled: Socket[] = [];
    for (let n = 0; n < STALLED; n++) {
      stalled.push(
        await openStalledReader(running.port, path, {
          authorization: `Bearer ${mallory}`,
          'last-event-id': fromTheStart,
        }),
      );
    }
    await waitUntil(() => registry.size >= STALLED, 'every stalled connection is open');
    const healthTimes: number[] = [];
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      const started = performance.now();
      expect((await fetch(`${running.baseUrl}/health`)).status).toBe(200);
      healthTimes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Meanwhile another user reads the same replay, whole.
    await readsFullReplay(await token('alice', scopes));

    // What the server wrote to the stalled connections: a connection reading its replay costs what
    // the kernel's socket buffers take (the server's send buffer up to tcp_wmem's maximum, the
    // client's receive buffer) and its buffer bound (twice: it carries a topic and its keys); the
    // connections waiting for their turn, their headers and first blocks.
    const [, , wmemMax] = readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/).map(Number);
    const [, rmemDefault] = readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const perReplay = wmemMax + rmemDefault + 2 * 2 * BOUND;
    const written = stalled.map((socket) => serverSockets.get(socket.localPort!)?.bytesWritten ?? 0);
    expect(written.filter((bytes) => bytes > 0)).toHaveLength(STALLED);
    const total = written.reduce((sum, bytes) => sum + bytes, 0);
    expect({ total, within: total <= PER_USER * perReplay + STALLED * 16 * 1024 }).toEqual({
      total,
      within: true,
    });
    expect(Math.max(...registry.queuedBytes())).toBeLessThanOrEqual(2 * BOUND);
    expect(Math.max(...healthTimes)).toBeLessThan(500);

    // Once they go, their turns go with them: the same user reads a whole replay, and memory returns.
    stalled.forEach((socket) => socket.destroy());
    await waitUntil(() => registry.size === 0, 'the stalled connections are closed', 10_000);
    expect(registry.usersReplaying).toBe(0);
    await readsFullReplay(mallory);
    await waitUntil(() => registry.size === 0 && registry.usersReplaying === 0, 'the reader is closed');
    const grown = (await settledMemory()) - before;
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });
});
