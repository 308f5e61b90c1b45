import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { EventSource } from 'eventsource';
import { jest } from '@jest/globals';
import { createClient, GatewayError } from '../../client/src/index.js';
import type { Client } from '../../client/src/index.js';
import { post, RunningApp, startApp, waitUntil } from '../support/app.js';
import { SseReader } from '../support/sse-reader.js';
import { TcpProxy } from '../support/tcp-proxy.js';

// An ES module (test/client/package.json), as the client package is: jest loads the client's
// sources and its ES-module-only dependency natively. Scripts run from the repository's root.
jest.setTimeout(120_000);
const ROOT = process.cwd();

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const urlOf = (input: string | URL | Request) => (input instanceof Request ? input.url : input.toString());

/** Records the GET /sse requests a client makes and what each stream sent, passing them on to the real gateway. */
function countingFetch(): { fetch: typeof fetch; urls: string[]; headers: Headers[]; bodies: string[] } {
  const urls: string[] = [];
  const headers: Headers[] = [];
  const bodies: string[] = [];
  return {
    urls,
    headers,
    bodies,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (urlOf(input).includes('/sse?')) {
        urls.push(urlOf(input));
        headers.push(new Headers(init?.headers));
        const index = bodies.push('') - 1;
        const reader = response.clone().body?.pipeThrough(new TextDecoderStream()).getReader();
        void (async () => {
          for (;;) {
            const { done, value } = (await reader?.read().catch(() => ({ done: true, value: '' }))) ?? {
              done: true,
            };
            if (done) {
              return;
            }
            bodies[index] += value;
          }
        })();
      }
      return response;
    },
  };
}

describe('@sse-gateway/client on Node against the gateway (in-memory bus)', () => {
  let running: RunningApp;
  const clients: Client[] = [];
  const client = (options: Parameters<typeof createClient>[0] = {}) => {
    const made = createClient({ baseUrl: running.baseUrl, keepAliveMs: 300, ...options });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    running = await startApp({ EVENTS_KEEPALIVE_MS: '300', KAFKA_SSE_TOPICS: 'clicks' });
  });
  afterEach(() => clients.splice(0).forEach((made) => made.close()));
  afterAll(() => running.close());

  it('delivers typed events of every subscription over one connection, and publishes over the routes', async () => {
    const user = unique('typed');
    const owner = randomUUID();
    const counting = countingFetch();
    const sut = client({ fetch: counting.fetch });
    const texts: string[] = [];
    const statuses: string[] = [];
    const clicks: unknown[] = [];
    sut.subscribe(`v2:${user}`, { onEvent: (e) => texts.push(e.data) });
    sut.subscribe(`reports:${owner}`, { onEvent: (e) => statuses.push(`${e.type}:${e.data.status}`) });
    sut.subscribe('kafka:clicks', { onEvent: (e) => clicks.push(e.data) });
    await waitUntil(() => Object.keys(sut.positions()).length === 3, 'every stream has its position');
    expect(counting.urls).toHaveLength(1);

    await sut.publish(`v2:${user}`, 'hello 🤠');
    await sut.publish('kafka:clicks:page-1', { page: '/pricing' });
    await fetch(`${running.baseUrl}/v4/new/report?user_id=${owner}`, { method: 'POST' });
    await waitUntil(() => texts.length === 1 && statuses.length === 1 && clicks.length === 1, 'the events');
    expect(texts).toEqual(['hello 🤠']);
    expect(statuses).toEqual(['report_status_update:pending']);
    expect(clicks).toEqual([{ page: '/pricing' }]);
    expect(counting.urls).toHaveLength(1);
  });

  it('reopens with the new list and each position when subscriptions change: nothing lost or repeated on those that stay', async () => {
    const user = unique('steady');
    const counting = countingFetch();
    const sut = client({ fetch: counting.fetch });
    const seen: string[] = [];
    sut.subscribe(`v2:${user}`, { onEvent: (e) => seen.push(e.data) });
    await waitUntil(() => sut.positions()[`v2:${user}`] !== undefined, 'the position');
    const publisher = client();
    let sent = 0;
    const publishing = (async () => {
      while (sent < 60) {
        await publisher.publish(`v2:${user}`, `m${++sent}`);
        await sleep(5);
      }
    })();
    const others = [] as { close(): void }[];
    for (let n = 0; n < 5; n++) {
      await sleep(40);
      others.push(sut.subscribe(`v3:${unique('other')}`, { onEvent() {} }));
      await sleep(40);
      others.shift()?.close();
    }
    await publishing;
    await waitUntil(() => seen.length >= 60, `all 60 messages (got ${seen.length})`);
    await sleep(200);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, n) => `m${n + 1}`));
    expect(counting.urls.length).toBeGreaterThanOrEqual(10);
    expect(counting.urls.at(-1)).toMatch(/position=/);
  });

  it('throws at subscribe for a malformed name, naming it; a 4xx reaches onError once and is not retried', async () => {
    const counting = countingFetch();
    const sut = client({ fetch: counting.fetch });
    expect(() => sut.subscribe('reprots:x' as 'broadcast', { onEvent() {} })).toThrow(
      /stream "reprots:x" is unknown/,
    );
    const errors: GatewayError[] = [];
    const broadcasts: string[] = [];
    sut.subscribe('kafka:not-listed', { onEvent() {}, onError: (error) => errors.push(error) });
    sut.subscribe('broadcast', { onEvent: (e) => broadcasts.push(e.data) });
    await waitUntil(() => errors.length === 1, 'the refusal');
    expect(errors[0]).toBeInstanceOf(GatewayError);
    expect(errors[0].status).toBe(400);
    expect(errors[0].stream).toBe('kafka:not-listed');
    expect(errors[0].message).toMatch(/stream "kafka:not-listed" is unknown/);
    // The other stream goes on, on a connection without the refused one.
    await waitUntil(() => broadcasts.includes('connected'), 'the broadcast stream');
    await sleep(1000);
    expect(errors).toHaveLength(1);
    expect(counting.urls).toHaveLength(2);
    await expect(sut.publish('kafka:not-listed', 'x')).rejects.toThrow(/not-listed/);
  });

  it('reconnects with backoff after the network is lost, and after a connection goes silent; nothing lost', async () => {
    const proxy = new TcpProxy(running.port);
    await proxy.start();
    try {
      const user = unique('flaky');
      const counting = countingFetch();
      const statuses: string[] = [];
      const sut = client({
        baseUrl: `http://127.0.0.1:${proxy.port}`,
        fetch: counting.fetch,
        onStatus: (status) => statuses.push(status),
      });
      const seen: string[] = [];
      sut.subscribe(`v2:${user}`, { onEvent: (e) => seen.push(e.data) });
      await waitUntil(() => sut.positions()[`v2:${user}`] !== undefined, 'the position');
      const publisher = client();
      await publisher.publish(`v2:${user}`, 'a');
      await waitUntil(() => seen.length === 1, 'a');
      proxy.dropAll();
      await publisher.publish(`v2:${user}`, 'b');
      await waitUntil(() => seen.length === 2, 'b, after the reconnect', 10_000);
      expect(counting.urls.length).toBe(2);

      // Silent: the proxy keeps the connection but passes nothing (a stalled middlebox).
      proxy.stall();
      await publisher.publish(`v2:${user}`, 'c');
      await waitUntil(
        () => counting.urls.length === 3,
        'a reopen after two silent keep-alive intervals',
        5_000,
      );
      await waitUntil(() => seen.length === 3, 'c, after the reopen', 5_000);
      expect(seen).toEqual(['a', 'b', 'c']);
      // onStatus of a LocalHub: opened, cut, reopened, silent, reopened (it starts `connecting`).
      await waitUntil(() => statuses.length === 5, 'connected again after the silence', 5_000);
      expect(statuses).toEqual(['connected', 'reconnecting', 'connected', 'reconnecting', 'connected']);
    } finally {
      await proxy.stop();
    }
  });

  it('falls back to EventSource with access_token where streaming fetch is missing', async () => {
    const user = unique('es');
    const sut = client({ transport: 'eventsource', eventSource: EventSource as never });
    const seen: string[] = [];
    sut.subscribe(`v2:${user}`, { onEvent: (e) => seen.push(`${e.data}@${e.position !== ''}`) });
    await sleep(300);
    await client().publish(`v2:${user}`, 'over EventSource');
    await waitUntil(() => seen.length === 1, 'the event');
    expect(seen).toEqual(['over EventSource@true']);
  });

  it('serves the browser build at /client/index.js: an ES module with an ETag, 304 when unchanged', async () => {
    const response = await fetch(`${running.baseUrl}/client/index.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    const body = await response.text();
    expect(body).toMatch(/export\s*\{[^}]*createClient/);
    expect(body).not.toMatch(/from\s*["']eventsource-parser["']/); // bundled in: no bare import for a page
    // node:http, as a browser's cache revalidates: fetch() adds `Cache-Control: no-cache` to a
    // request that carries If-None-Match, which asks for the whole file again.
    const again = await new Promise<number | undefined>((resolve, reject) =>
      httpGet(`${running.baseUrl}/client/index.js`, { headers: { 'if-none-match': etag! } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject),
    );
    expect(again).toBe(304);
  });

  it('close() leaves nothing behind: a Node process using the client exits by itself', async () => {
    const user = unique('exit');
    const script = `
      import { createClient } from ${JSON.stringify(join(ROOT, 'client', 'dist', 'index.js'))};
      const client = createClient({ baseUrl: ${JSON.stringify(running.baseUrl)}, keepAliveMs: 300 });
      client.subscribe(${JSON.stringify(`v2:${user}`)}, {
        onEvent(e) { console.log('event', e.data); client.close(); },
      });
      setTimeout(() => client.publish(${JSON.stringify(`v2:${user}`)}, 'bye'), 300);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(output).toContain('event bye');
    expect(code).toBe(0); // null: it was still running 10 s later, held by a timer or a socket
  });
});

describe('@sse-gateway/client at a cap (429 with Retry-After)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ SSE_MAX_CONNECTIONS_PER_USER: '1' });
  });
  afterAll(() => running.close());

  it('waits the Retry-After of a 429 before trying again (not its 100 ms retry hint), then connects', async () => {
    const user = unique('capped');
    const holder = await SseReader.open(`${running.baseUrl}/v2/sse?username=${user}`);
    expect(holder.status).toBe(200);
    const attempts: number[] = [];
    const errors: unknown[] = [];
    const sut = createClient({
      baseUrl: running.baseUrl,
      retryMs: 100,
      fetch: (input, init) => {
        attempts.push(Date.now());
        return fetch(input, init);
      },
    });
    try {
      const seen: string[] = [];
      sut.subscribe(`v2:${user}`, { onEvent: (e) => seen.push(e.data), onError: (e) => errors.push(e) });
      await waitUntil(() => attempts.length === 1, 'the first attempt');
      await sleep(2000);
      expect(attempts).toHaveLength(1); // a 100 ms backoff would have tried ten times by now
      holder.close();
      await waitUntil(() => attempts.length === 2, 'the attempt after Retry-After', 6000);
      expect(attempts[1] - attempts[0]).toBeGreaterThanOrEqual(4900);
      await waitUntil(() => sut.positions()[`v2:${user}`] !== undefined, 'the connection');
      await post(`${running.baseUrl}/v2/message?username=${user}`, 'through', 'text/plain');
      await waitUntil(() => seen.length === 1, 'the message');
      expect(errors).toEqual([]); // a 429 is retried, not a refusal
    } finally {
      sut.close();
      holder.close();
    }
  });
});

describe('@sse-gateway/client: token renewal under AUTH_MODE=jwt', () => {
  const SECRET = 'an HS256 secret of at least thirty-two characters';
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, EVENTS_KEEPALIVE_MS: '1000' });
  });
  afterAll(() => running.close());

  it('renews 10-second tokens for a minute of steady publishing: every message once, in order, the token never in the URL', async () => {
    const user = unique('renew');
    let issued = 0;
    const sign = (claims: Record<string, string>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setExpirationTime(Math.floor(Date.now() / 1000) + 10)
        .sign(new TextEncoder().encode(SECRET));
    const token = () => {
      issued++;
      return new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setExpirationTime(Math.floor(Date.now() / 1000) + 10)
        .sign(new TextEncoder().encode(SECRET));
    };
    const counting = countingFetch();
    const sut = createClient({ baseUrl: running.baseUrl, token, keepAliveMs: 1000, fetch: counting.fetch });
    const publisher = createClient({ baseUrl: running.baseUrl, token: () => sign({ scope: 'publish' }) });
    try {
      const seen: string[] = [];
      const errors: unknown[] = [];
      sut.subscribe(`v2:${user}`, { onEvent: (e) => seen.push(e.data), onError: (e) => errors.push(e) });
      await waitUntil(() => sut.positions()[`v2:${user}`] !== undefined, 'the position');
      const end = Date.now() + 60_000;
      let sent = 0;
      while (Date.now() < end) {
        await publisher.publish(`v2:${user}`, `m${++sent}`);
        await sleep(50);
      }
      await waitUntil(() => seen.length >= sent, `every message (${seen.length} of ${sent})`, 10_000);
      await sleep(300);
      expect(errors).toEqual([]);
      expect(seen).toEqual(Array.from({ length: sent }, (_, n) => `m${n + 1}`));
      // A new connection per token: about one every 8 s, each made before the old one expired.
      expect(counting.urls.length).toBeGreaterThanOrEqual(6);
      expect(counting.urls.every((url) => !url.includes('access_token'))).toBe(true);
      expect(counting.headers.every((headers) => headers.get('authorization')?.startsWith('Bearer '))).toBe(
        true,
      );
      expect(issued).toBeGreaterThanOrEqual(6);
      // Each connection was let go before its token expired: none was ended by the server for it.
      expect(counting.bodies.filter((body) => body.includes('token expired'))).toEqual([]);
    } finally {
      sut.close();
      publisher.close();
    }
  }, 100_000);
});
