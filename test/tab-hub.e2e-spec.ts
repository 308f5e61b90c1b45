import { Page } from 'playwright-core';
import { metric, RunningApp, startApp } from './support/app';
import { launchChromium, RunningBrowser } from './support/browser';

jest.setTimeout(90_000);

/**
 * A page of the gateway's origin that only loads the client the gateway serves: the HTML shell is
 * answered by the test (the app serves no blank page), `/client/index.js` and `/sse` by the app.
 */
const SHELL = '/tab-hub-test.html';
const PAGE_SCRIPT = `
import { createClient, useSharedHub, TabHub } from '/client/index.js';
// The default factory of the browser build, kept in reach so the test can ask who leads.
useSharedHub((options) => (window.hub = new TabHub(options)));
window.received = {};
window.gaps = [];
window.errors = [];
window.client = createClient({ baseUrl: location.origin, gatherMs: 150 });
window.subscribe = (stream) => {
  window.received[stream] = [];
  window.client.subscribe(stream, {
    onEvent: (e) => window.received[stream].push(e.data),
    onGap: () => window.gaps.push(stream),
    onError: (err) => window.errors.push(stream + ': ' + err.status + ' ' + err.message),
  });
};
window.ready = true;
`;

// The globals PAGE_SCRIPT makes (tsconfig has no DOM lib).
declare const window: {
  ready?: boolean;
  hub: { isLeader: boolean; connectionStatus: string };
  received: Record<string, string[]>;
  gaps: string[];
  errors: string[];
  subscribe(stream: string): void;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting until ${what}; last: ${JSON.stringify(value)}`,
      );
    }
    await sleep(50);
    value = await probe();
  }
  return value;
}

async function publishV2(baseUrl: string, user: string, text: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v2/message?username=${user}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: text,
  });
  expect(response.status).toBe(201);
}

const openMultiplex = (running: RunningApp) => metric(running, 'sse_open_connections', 'stream="multiplex"');
const received = (page: Page, stream: string) => page.evaluate((s) => window.received[s] ?? [], stream);
const isLeader = (page: Page) => page.evaluate(() => window.hub.isLeader);
const status = (page: Page) => page.evaluate(() => window.hub.connectionStatus);

describe('TabHub: the tabs of one origin share one connection (Chromium)', () => {
  let running: RunningApp;
  let browser: RunningBrowser;
  /** Every GET /sse a page of the context made, with its streams. */
  let requests: string[][];

  beforeAll(async () => {
    running = await startApp({ DATABASE_URL: '' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  beforeEach(async () => {
    requests = [];
    for (const page of browser.context.pages()) {
      await page.close();
    }
    await browser.context.unroute('**/*');
    await browser.context.route(`${running.baseUrl}${SHELL}`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>tabs</title><script type="module">${PAGE_SCRIPT}</script>`,
      }),
    );
  });

  afterEach(() => {
    expect(browser.pageErrors).toEqual([]);
  });

  async function openTab(...streams: string[]): Promise<Page> {
    const page = await browser.newPage();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/sse') {
        requests.push(url.searchParams.getAll('stream'));
      }
    });
    await page.goto(`${running.baseUrl}${SHELL}`);
    await page.waitForFunction(() => window.ready === true);
    for (const stream of streams) {
      await page.evaluate((s) => window.subscribe(s), stream);
    }
    return page;
  }

  it('three tabs: one SSE connection carries the union, and each tab gets only its own streams', async () => {
    const tag = `t${Date.now()}`;
    const [a, b, c] = [`${tag}a`, `${tag}b`, `${tag}c`];
    const first = await openTab(`v2:${a}`, 'broadcast');
    await until(
      'the first tab is connected',
      () => status(first),
      (s) => s === 'connected',
    );
    const second = await openTab(`v2:${b}`, 'broadcast');
    const third = await openTab(`v2:${c}`);
    const tabs = [first, second, third];
    await until(
      'every tab is connected',
      () => Promise.all(tabs.map(status)),
      (all) => all.every((s) => s === 'connected'),
    );
    expect(await Promise.all(tabs.map(isLeader))).toEqual([true, false, false]);
    // The leader's connection has every tab's streams (the followers joined while it was connected).
    await until(
      'the leader carries the union',
      () => Promise.resolve(requests.at(-1) ?? []),
      (streams) => [`v2:${a}`, 'broadcast', `v2:${b}`, `v2:${c}`].every((s) => streams.includes(s)),
    );
    expect(await openMultiplex(running)).toBe(1);

    for (const user of [a, b, c]) {
      await publishV2(running.baseUrl, user, `for ${user}`);
    }
    expect((await fetch(`${running.baseUrl}/events`, { method: 'POST', body: 'to all' })).status).toBe(201);
    await until(
      'the broadcast reached the second tab',
      () => received(second, 'broadcast'),
      (r) => r.includes('to all'),
    );
    await until(
      'v2 reached the third tab',
      () => received(third, `v2:${c}`),
      (r) => r.length === 1,
    );

    const everything = (page: Page) => page.evaluate(() => window.received);
    expect(await everything(first)).toEqual({
      [`v2:${a}`]: [`for ${a}`],
      broadcast: expect.arrayContaining(['to all']) as unknown,
    });
    expect(await everything(second)).toEqual({ [`v2:${b}`]: [`for ${b}`], broadcast: ['to all'] });
    expect(await everything(third)).toEqual({ [`v2:${c}`]: [`for ${c}`] });
    // The first tab started the broadcast stream: it alone had the greeting that opens it.
    expect((await received(first, 'broadcast')).filter((d) => d === 'to all')).toHaveLength(1);
    expect(await openMultiplex(running)).toBe(1);

    // A closed tab's streams leave the union: the connection is reopened without them.
    await third.close();
    await until(
      'the leader dropped the closed tab’s stream',
      () => Promise.resolve(requests.at(-1) ?? []),
      (streams) => !streams.includes(`v2:${c}`) && streams.includes(`v2:${b}`),
    );
    await until(
      'one connection again',
      () => openMultiplex(running),
      (n) => n === 1,
    );
    await publishV2(running.baseUrl, b, 'still here');
    await until(
      'the second tab still gets its stream',
      () => received(second, `v2:${b}`),
      (r) => r.length === 2,
    );
    expect(await received(second, `v2:${b}`)).toEqual([`for ${b}`, 'still here']);
  });

  it('closing the leader while messages flow: the other tabs see every message once, in order', async () => {
    const user = `flow${Date.now()}`;
    const stream = `v2:${user}`;
    const tabs = [await openTab(stream), await openTab(stream), await openTab(stream)];
    await until(
      'every tab is connected',
      () => Promise.all(tabs.map(status)),
      (all) => all.every((s) => s === 'connected'),
    );
    const leader = tabs.find((_, i) => i === 0)!;
    expect(await isLeader(leader)).toBe(true);

    const total = 150;
    const sent: string[] = [];
    let closed: Promise<void> | undefined;
    for (let n = 1; n <= total; n++) {
      const text = `m${n}`;
      await publishV2(running.baseUrl, user, text);
      sent.push(text);
      if (n === 50) {
        closed = leader.close(); // mid-flow, not awaited: publishing goes on at the same rate
      }
      await sleep(20);
    }
    await closed;
    const others = tabs.slice(1);
    for (const page of others) {
      await until(
        `${total} messages in a remaining tab`,
        () => received(page, stream),
        (r) => r.length >= total,
      );
    }
    await sleep(300); // a repeat would come right after
    for (const page of others) {
      expect(await received(page, stream)).toEqual(sent);
    }
    expect((await Promise.all(others.map(isLeader))).filter(Boolean)).toHaveLength(1);
    await until(
      'one connection after the takeover',
      () => openMultiplex(running),
      (n) => n === 1,
    );
  });
});
