import { jest } from '@jest/globals';
import { post, RunningApp, startApp, waitUntil } from '../support/app.js';
import { launchChromium, RunningBrowser } from '../support/browser.js';
import { TcpProxy } from '../support/tcp-proxy.js';

jest.setTimeout(60_000);

describe('@sse-gateway/client in Chromium, imported from /client/index.js', () => {
  let running: RunningApp;
  let browser: RunningBrowser;
  /** Between the pages that reconnect and the gateway, to cut their connection as a network would. */
  let proxy: TcpProxy;

  beforeAll(async () => {
    // A 30 s retry hint: after a lost connection the next try is 15-30 s away (the backoff's
    // jitter), so a reconnect within seconds can only be the page's doing.
    running = await startApp({ EVENTS_KEEPALIVE_MS: '1000', SSE_RETRY_MS: '30000' });
    proxy = new TcpProxy(running.port);
    await proxy.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    await running?.close();
  });

  it('a page imports it without a bundler and gets typed events over a streamed fetch', async () => {
    const user = `browser-${Date.now().toString(36)}`;
    const page = await browser.newPage();
    const sseRequests: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/sse?')) {
        sseRequests.push(`${request.resourceType()} ${request.url()}`);
      }
    });
    await page.goto(`${running.baseUrl}/health`); // any page of the gateway's origin
    await page.evaluate(`(async () => {
      const { createClient } = await import('/client/index.js');
      window.seen = [];
      window.client = createClient({ shareAcrossTabs: false, keepAliveMs: 1000 });
      window.client.subscribe(${JSON.stringify(`v2:${user}`)}, {
        onEvent: (e) => window.seen.push(e.data + '@' + (e.position !== '')),
      });
    })()`);
    const seen = () => page.evaluate<string[]>('window.seen');
    await waitUntil(() => sseRequests.length === 1, 'the page connected');
    await page.waitForFunction(`Object.keys(window.client.positions()).length === 1`);
    expect(
      (await post(`${running.baseUrl}/v2/message?username=${user}`, 'to the page', 'text/plain')).status,
    ).toBe(201);
    await page.waitForFunction('window.seen.length === 1');
    expect(await seen()).toEqual(['to the page@true']);
    expect(sseRequests[0]).toMatch(/^fetch /); // not EventSource: a header can carry the token
    await page.evaluate('window.client.close()');
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });

  /** A page of the proxy's origin subscribed to `v2:<user>`, with what it got and its onStatus calls. */
  async function reconnectingPage(user: string) {
    const page = await browser.newPage();
    const sseRequests: number[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/sse?')) {
        sseRequests.push(Date.now());
      }
    });
    await page.goto(`http://127.0.0.1:${proxy.port}/health`);
    await page.evaluate(`(async () => {
      const { createClient } = await import('/client/index.js');
      window.seen = [];
      window.statuses = [];
      window.client = createClient({
        shareAcrossTabs: false,
        keepAliveMs: 1000,
        onStatus: (status) => window.statuses.push(status),
      });
      window.client.subscribe(${JSON.stringify(`v2:${user}`)}, { onEvent: (e) => window.seen.push(e.data) });
    })()`);
    await page.waitForFunction(`window.statuses.at(-1) === 'connected'`);
    const publish = async (text: string) =>
      expect((await post(`${running.baseUrl}/v2/message?username=${user}`, text, 'text/plain')).status).toBe(
        201,
      );
    await publish('before');
    await page.waitForFunction(`window.seen.length === 1`);
    const statuses = () => page.evaluate<string[]>('window.statuses');
    return { page, sseRequests, publish, statuses, seen: () => page.evaluate<string[]>('window.seen') };
  }

  /**
   * Cuts the page's connection, publishes while the client waits out its backoff, then has `bringBack`
   * fire the page's event: the stream must be back within seconds with what was missed, once, in order.
   */
  async function reconnectsOn(
    tab: Awaited<ReturnType<typeof reconnectingPage>>,
    bringBack: () => Promise<void>,
  ): Promise<void> {
    const { page, sseRequests, publish } = tab;
    proxy.dropAll();
    await page.waitForFunction(`window.statuses.at(-1) === 'reconnecting'`);
    await publish('while away 1');
    await publish('while away 2');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sseRequests).toHaveLength(1); // the backoff holds: no try of its own yet
    const back = Date.now();
    await bringBack();
    await page.waitForFunction(
      `window.seen.length >= 3 && window.statuses.at(-1) === 'connected'`,
      undefined,
      {
        timeout: 5000,
      },
    );
    const took = Date.now() - back;
    expect(sseRequests).toHaveLength(2);
    expect(took).toBeLessThan(5000); // well inside the backoff's 15 s at least
    await publish('after');
    await page.waitForFunction(`window.seen.length >= 4`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a repeat would come right after
    expect(await tab.seen()).toEqual(['before', 'while away 1', 'while away 2', 'after']);
    expect(await tab.statuses()).toEqual(['connected', 'reconnecting', 'connected']);
    await page.evaluate('window.client.close()');
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  }

  it('reconnects at once when a hidden page becomes visible and its connection died meanwhile', async () => {
    const tab = await reconnectingPage(`visible-${Date.now().toString(36)}`);
    // Headless pages are always visible: the page is told it is hidden, then shown again.
    const setVisibility = (state: 'hidden' | 'visible'): Promise<void> =>
      tab.page.evaluate<void>(`(() => {
        window.visibility = ${JSON.stringify(state)};
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => window.visibility });
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => window.visibility === 'hidden' });
        document.dispatchEvent(new Event('visibilitychange'));
      })()`);
    await setVisibility('hidden');
    await reconnectsOn(tab, () => setVisibility('visible'));
  });

  it('reconnects at once on `online` after the network was lost', async () => {
    const tab = await reconnectingPage(`online-${Date.now().toString(36)}`);
    await browser.context.setOffline(true);
    try {
      expect(await tab.page.evaluate('navigator.onLine')).toBe(false);
      await reconnectsOn(tab, () => browser.context.setOffline(false)); // fires `online`
    } finally {
      await browser.context.setOffline(false);
    }
  });
});
