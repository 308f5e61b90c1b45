import { jest } from '@jest/globals';
import { post, RunningApp, startApp, waitUntil } from '../support/app.js';
import { launchChromium, RunningBrowser } from '../support/browser.js';

jest.setTimeout(60_000);

describe('@sse-gateway/client in Chromium, imported from /client/index.js', () => {
  let running: RunningApp;
  let browser: RunningBrowser;

  beforeAll(async () => {
    running = await startApp({ EVENTS_KEEPALIVE_MS: '1000' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
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
});
