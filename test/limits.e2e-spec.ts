import { request } from 'node:http';
import { MESSAGE_BUS } from '../src/bus/bus.constants';
import { InMemoryMessageBus } from '../src/bus/in-memory-message-bus';
import { KeepAliveScheduler } from '../src/sse/keep-alive.scheduler';
import { SseConnectionRegistry } from '../src/sse/sse-connection.registry';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { openStalledReader, SseReader } from './support/sse-reader';

describe('connection caps', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_CONNECTIONS: '4', SSE_MAX_CONNECTIONS_PER_USER: '2' });
  });
  afterAll(() => running.close());

  it('answers 429 past the per-user cap and 503 past the global cap, with Retry-After, before any stream', async () => {
    const open = [
      await SseReader.open(`${running.baseUrl}/v2/sse?username=alice`),
      await SseReader.open(`${running.baseUrl}/v2/sse?username=alice`),
    ];
    const third = await SseReader.open(`${running.baseUrl}/v2/sse?username=alice`);
    expect(third.status).toBe(429);
    expect(third.headers?.['retry-after']).toBe('5');
    await third.waitForEnd();
    expect(JSON.parse(third.raw)).toMatchObject({
      statusCode: 429,
      message: expect.stringContaining('maximum of 2'),
    });

    open.push(await SseReader.open(`${running.baseUrl}/v2/sse?username=bob`));
    open.push(await SseReader.open(`${running.baseUrl}/events`));
    expect(open.map((reader) => reader.status)).toEqual([200, 200, 200, 200]);
    const fifth = await SseReader.open(`${running.baseUrl}/v2/sse?username=carol`);
    expect(fifth.status).toBe(503);
    expect(fifth.headers?.['retry-after']).toBe('5');
    await fifth.waitForEnd();

    // A closed stream frees its place at once.
    open.shift()!.close();
    await waitUntil(
      () => running.app.get(SseConnectionRegistry).size === 3,
      'the closed stream was released',
    );
    const again = await SseReader.open(`${running.baseUrl}/v2/sse?username=alice`);
    expect(again.status).toBe(200);
    [...open, again].forEach((reader) => reader.close());
  });

  it('does not count a stream refused for a bad query', async () => {
    for (let n = 0; n < 10; n++) {
      const bad = await SseReader.open(`${running.baseUrl}/v2/sse?username=dave&nope=1`);
      expect(bad.status).toBe(400);
      await bad.waitForEnd();
    }
    await waitUntil(() => running.app.get(SseConnectionRegistry).size === 0, 'nothing is held');
    const good = await SseReader.open(`${running.baseUrl}/v2/sse?username=dave`);
    expect(good.status).toBe(200);
    good.close();
  });
});

describe('slow readers', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_BUFFER_BYTES: '65536', BODY_LIMIT_BYTES: '65536' });
  });
  afterAll(() => running.close());

  it('disconnects a reader that stops reading; the others get every event', async () => {
    const stalled = await openStalledReader(running.port, '/events', { Accept: 'text/event-stream' });
    const healthy = await SseReader.open(`${running.baseUrl}/events`);
    await healthy.waitForEvents(1);
    await waitUntil(() => running.app.get(SseConnectionRegistry).size === 2, 'both streams are open');

    const payload = 'x'.repeat(32 * 1024);
    let sent = 0;
    const registry = running.app.get(SseConnectionRegistry);
    // Loopback socket buffers hold a few MB; keep publishing until the stalled reader is dropped.
    while (registry.size === 2 && sent < 2000) {
      await post(`${running.baseUrl}/events`, `${sent}:${payload}`, 'text/plain');
      sent++;
    }
    expect(registry.size).toBe(1);
    await post(`${running.baseUrl}/events`, `${sent}:last`, 'text/plain');
    sent++;

    await healthy.waitForEvents(1 + sent, 15_000);
    const numbers = healthy.events.slice(1).map((event) => Number(event.data.split(':')[0]));
    expect(numbers).toEqual(Array.from({ length: sent }, (_, n) => n));
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_slow_reader_disconnects_total\{stream="broadcast"\} 1/);
    healthy.close();
    stalled.destroy();
  });
});

describe('resources on disconnect', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_CONNECTIONS_PER_USER: '100', HEARTBEAT_KEEPALIVE_MS: '20' });
  });
  afterAll(() => running.close());

  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

  /** Opens a stream, waits for its first bytes (the stream really started), then drops it. */
  const cycle = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${running.baseUrl}${path}`, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`status ${res.statusCode} for ${path}`));
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

  it('leaves no subscriptions, users or timers behind after 1,000 connect/disconnect cycles', async () => {
    const registry = running.app.get(SseConnectionRegistry);
    const bus = running.app.get<InMemoryMessageBus>(MESSAGE_BUS);
    const keepAlive = running.app.get(KeepAliveScheduler);
    const timersBefore = timers();
    // Features' own subscriptions (the temperature registry) are there before and after.
    const subscriptionsBefore = bus.subscriptionCount();
    const paths = [
      '/v1/sse?username=u',
      '/v2/sse?username=u',
      '/v3/sse?username=u',
      '/events',
      '/api/temperature/events/u',
    ];

    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          cycle(`${paths[n % paths.length].replace(/=u$|\/u$/, `$&${n}`)}`),
        ),
      );
    }
    await waitUntil(() => registry.size === 0, 'every stream was released');
    expect(registry.usersConnected).toBe(0);
    expect(bus.subscriptionCount()).toBe(subscriptionsBefore);
    expect(keepAlive.activeTimers()).toBe(0);
    await waitUntil(() => timers() <= timersBefore, `timers returned to ${timersBefore} (now ${timers()})`);

    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_open_connections\{stream="v2"\} 0/);
  }, 30_000); // 1,000 HTTP cycles: seconds when the machine is busy with the rest of the suite
});
