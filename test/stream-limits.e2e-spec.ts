import { randomUUID } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SseConnectionRegistry } from '../src/sse/sse-connection.registry';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { launchChromium } from './support/browser';
import { SseReader } from './support/sse-reader';
import { TcpProxy } from './support/tcp-proxy';

jest.setTimeout(120_000);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Bytes of ArrayBuffers (socket buffers, encoded frames) the process holds once garbage is collected.
 * V8 frees ArrayBuffers' memory on a background thread after a GC, so the count is read after that
 * thread had time to run, and after a second collection.
 */
async function settledArrayBuffers(): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return process.memoryUsage().arrayBuffers;
}

const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** What the page records of its EventSource (in the browser, where the DOM's types are). */
interface PageState {
  received: { data: string; id: string }[];
  opens: number;
}
declare const window: { state: PageState };
declare class EventSource {
  constructor(url: string);
  onopen: () => void;
  onmessage: (event: { data: string; lastEventId: string }) => void;
}

describe('a publish too large for a stream', () => {
  const BOUND = 16_384;
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_BUFFER_BYTES: String(BOUND) });
  });
  afterAll(() => running.close());

  it('is refused with 413 naming the limit on every publish route, and the open streams go on', async () => {
    const { baseUrl } = running;
    const readers = await Promise.all([
      SseReader.open(`${baseUrl}/v2/sse?username=big`),
      SseReader.open(`${baseUrl}/v3/sse?username=big`),
      SseReader.open(`${baseUrl}/events`),
    ]);
    await waitUntil(() => readers.every((reader) => reader.raw.includes('retry:')), 'the streams are open');

    // 6,000 line breaks: 6 KB of body, 42 KB of `data:` lines; 20 KB of text: over 16 KB too.
    for (const message of ['\n'.repeat(6_000), 'x'.repeat(20_000)]) {
      for (const path of ['/v2/message?username=big', '/v3/message?username=big', '/events']) {
        const answer = await post(`${baseUrl}${path}`, message, 'text/plain');
        expect({ path, status: answer.status }).toEqual({ path, status: 413 });
        expect(json(answer.text).message).toMatch(
          new RegExp(
            `would take \\d+ bytes as a server-sent event.*over the ${BOUND} bytes.*SSE_MAX_BUFFER_BYTES`,
          ),
        );
      }
    }
    const byGet = await fetch(`${baseUrl}/events/${'%0A'.repeat(2_500)}`);
    expect(byGet.status).toBe(413);
    expect(json(await byGet.text()).message).toContain('SSE_MAX_BUFFER_BYTES');

    // What fits is taken, and reaches every stream, none of which was cut.
    const fits = 'y'.repeat(BOUND - 200);
    expect((await post(`${baseUrl}/v2/message?username=big`, fits, 'text/plain')).status).toBe(201);
    expect((await post(`${baseUrl}/v3/message?username=big`, fits, 'text/plain')).status).toBe(201);
    expect((await post(`${baseUrl}/events`, fits, 'text/plain')).status).toBe(201);
    for (const reader of readers) {
      await waitUntil(
        () => reader.events.some((event) => event.data === fits),
        'the message that fits arrived',
      );
      expect(reader.ended).toBe(false);
      expect(reader.events.map((event) => event.data).filter((data) => data !== 'connected')).toEqual([fits]);
      reader.close();
    }
  });
});

describe('the id in the first block of every stream', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // A long retry: a message published right after a drop is sent while the client is away.
    running = await startApp({ SSE_RETRY_MS: '1500' });
  });
  afterAll(() => running.close());

  it('is the stream position, on every stream route, before any event', async () => {
    const { baseUrl } = running;
    const user = randomUUID();
    expect((await fetch(`${baseUrl}/api/temperature/first-id/registration`, { method: 'POST' })).status).toBe(
      201,
    );
    const v2 = (await post(`${baseUrl}/v2/message?username=first-id`, 'before', 'text/plain')).text;
    for (const path of [
      '/v2/sse?username=first-id',
      '/v3/sse?username=first-id',
      '/events',
      '/api/temperature/events/first-id',
      `/v4/sse?user_id=${user}`,
    ]) {
      const reader = await SseReader.open(`${baseUrl}${path}`);
      await waitUntil(() => /\nid: .*\n/.test(reader.raw), `${path} sent an id`);
      // The first block with an id comes before any event: the broadcaster's first event (`connected`)
      // carries it, the other streams an id-only block (with the retry hint when the position is known
      // at once). Nest's writer may put the `: stream open` comment before or after it.
      const blocks = reader.raw.split('\n\n');
      const first = blocks.findIndex((block) => /^id: /m.test(block));
      const before = blocks.slice(0, Math.max(first, 0));
      const opening = first === -1 ? undefined : /^id: (.+)$/m.exec(blocks[first])?.[1];
      expect({ path, opening, eventsBefore: before.filter((block) => /^data:/m.test(block)) }).toEqual({
        path,
        opening: expect.any(String) as unknown,
        eventsBefore: [],
      });
      if (path.startsWith('/v2')) {
        expect(opening).toBe(json(v2).id); // the newest position of the topic
      }
      if (path.startsWith('/v4')) {
        expect(opening).toBe('0'); // the user's newest event id: none yet
      }
      reader.close();
    }
  });

  it('lets a browser EventSource that lost its connection before any event resume and get what it missed', async () => {
    const proxy = new TcpProxy(running.port);
    await proxy.start();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${proxy.port}/health`);
      await page.evaluate(() => {
        const state: PageState = { received: [], opens: 0 };
        window.state = state;
        const source = new EventSource('/v2/sse?username=early-drop');
        source.onopen = () => state.opens++;
        source.onmessage = (event) => state.received.push({ data: event.data, id: event.lastEventId });
      });
      const state = () => page.evaluate(() => window.state);
      const deadline = Date.now() + 10_000;
      while ((await state()).opens < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 300)); // the retry/id block is read
      proxy.dropAll();
      const sent = json(
        (await post(`${running.baseUrl}/v2/message?username=early-drop`, 'while away', 'text/plain')).text,
      );
      while ((await state()).received.length < 1 && Date.now() < deadline + 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Sent while no connection was open: the reconnect resumed from the position of the first
      // block, which dispatched no event.
      expect(await state()).toEqual({ received: [{ data: 'while away', id: sent.id }], opens: 2 });
    } finally {
      await browser.close();
      await proxy.stop();
    }
  });
});

describe('replays of retained history', () => {
  const BOUND = 256 * 1024;
  const RETAINED = 250;
  const BODY = 64_000;
  const STALLED = 20;
  let running: RunningApp;
  let oldest: string;

  beforeAll(async () => {
    running = await startApp({
      BUS_HISTORY_BYTES: String(40_000_000),
      SSE_MAX_BUFFER_BYTES: String(BOUND),
      // Long enough that the stalled streams are still open when they are measured on a loaded machine.
      SSE_REPLAY_TIMEOUT_MS: '8000',
    });
    let first = '';
    for (let n = 0; n < RETAINED; n++) {
      const answer = await post(`${running.baseUrl}/events`, `${n}:${'x'.repeat(BODY)}`, 'text/plain');
      expect(answer.status).toBe(201);
      first ||= json(answer.text).id as string;
    }
    oldest = first.replace(/-\d+$/, '-0');
  });
  afterAll(() => running.close());

  it('treats a Last-Event-ID the bus never issued as a gap from the newest record, on every stream route', async () => {
    const { baseUrl } = running;
    expect((await fetch(`${baseUrl}/api/temperature/gap-e/registration`, { method: 'POST' })).status).toBe(
      201,
    );
    for (const n of [1, 2, 3]) {
      await post(`${baseUrl}/v2/message?username=gap-u`, `old ${n}`, 'text/plain');
      await post(`${baseUrl}/v3/message?username=gap-u`, `old ${n}`, 'text/plain');
    }
    const streams: [string, () => Promise<unknown>, string][] = [
      ['/events', () => post(`${baseUrl}/events`, 'live', 'text/plain'), 'live'],
      [
        '/v2/sse?username=gap-u',
        () => post(`${baseUrl}/v2/message?username=gap-u`, 'live', 'text/plain'),
        'live',
      ],
      [
        '/v3/sse?username=gap-u',
        () => post(`${baseUrl}/v3/message?username=gap-u`, 'live', 'text/plain'),
        'live',
      ],
      [
        '/api/temperature/events/gap-e',
        () =>
          fetch(`${baseUrl}/api/temperature/gap-e/observations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"temperature": 21.5}',
          }),
        '21.5',
      ],
    ];
    for (const garbage of ['garbage', `${oldest.replace(/-0$/, '')}-99999999`, 'zzzz-1']) {
      for (const [path, publish, live] of streams) {
        const reader = await SseReader.open(`${baseUrl}${path}`, { 'last-event-id': garbage });
        await waitUntil(
          () => reader.events.some((event) => event.type === 'history-gap'),
          `${path}: a gap notice`,
        );
        await publish();
        await waitUntil(
          () => reader.events.some((event) => event.data.includes(live)),
          `${path}: the live event`,
        );
        const events = reader.events.filter((event) => event.data !== 'connected');
        expect({
          path,
          garbage,
          types: events.map((event) => event.type ?? event.data),
        }).toEqual({
          path,
          garbage,
          types: ['history-gap', expect.stringContaining(live)],
        });
        expect(json(events[0].data)).toMatchObject({ lastEventId: garbage });
        reader.close();
      }
    }
  });

  it('goes at the pace of each socket: stalled clients hold at most the buffer bound, the server stays responsive, a replay not read in time ends', async () => {
    const registry = running.app.get(SseConnectionRegistry);
    await waitUntil(() => registry.size === 0, 'the streams of earlier tests are closed');
    const before = await settledArrayBuffers();
    const stalled: Socket[] = [];
    for (let i = 0; i < STALLED; i++) {
      const socket = connect(running.port, '127.0.0.1');
      socket.pause(); // never reads: the kernel buffers fill, then the server's
      socket.write(
        `GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: ${oldest}\r\n\r\n`,
      );
      stalled.push(socket);
    }
    const healthTimes: number[] = [];
    const until = Date.now() + 2_500;
    while (Date.now() < until) {
      const started = performance.now();
      expect((await fetch(`${running.baseUrl}/health`)).status).toBe(200);
      healthTimes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitUntil(() => registry.size >= STALLED, 'every stalled stream is open');
    const queued = registry.queuedBytes();
    const grown = (await settledArrayBuffers()) - before;

    expect(Math.max(...healthTimes)).toBeLessThan(1_000);
    // The history is 16 MB: one copy per stalled client would be 320 MB. Each client may hold its
    // bound and what the socket took; the rest is slack for the process's own buffers.
    expect(grown).toBeLessThan(STALLED * BOUND * 2 + 64 * 1024 * 1024);
    expect(queued).toHaveLength(STALLED);
    expect(Math.max(...queued)).toBeLessThanOrEqual(BOUND);

    // SSE_REPLAY_TIMEOUT_MS: a replay not read in time ends, and its client can resume later.
    await waitUntil(() => registry.size === 0, 'the stalled replays were ended', 20_000);
    stalled.forEach((socket) => socket.destroy());
  });

  it('replays everything retained, in order, to a client that reads', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/events`, { 'last-event-id': oldest });
    await reader.waitForEvents(1 + RETAINED, 30_000);
    const data = reader.events.map((event) => event.data.slice(0, event.data.indexOf(':')));
    expect(data.slice(1, 1 + RETAINED)).toEqual(Array.from({ length: RETAINED }, (_, n) => String(n)));
    reader.close();
  });
});
