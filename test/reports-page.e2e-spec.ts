import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Locator, Page } from 'playwright-core';
import { createApp } from '../src/app.factory';
import { SignJWT } from 'jose';
import { RunningApp, startApp } from './support/app';
import { launchChromium, RunningBrowser } from './support/browser';
import { sharedDatabaseUrl } from './support/postgres';

const ROOT = join(__dirname, '..');
const SCRIPT = join(ROOT, 'update_report_status.sh');
const SCREENSHOT = join(ROOT, 'test-artifacts', 'reports-page.png');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

jest.setTimeout(90_000);

// The few browser globals that the functions run inside the page use (tsconfig has no DOM lib).
declare const window: { notReloaded?: boolean };
declare const localStorage: { getItem(key: string): string | null; removeItem(key: string): void };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const setMarker = (page: Page) => page.evaluate(() => void (window.notReloaded = true));
const markerSurvived = (page: Page) => page.evaluate(() => window.notReloaded === true);

/**
 * Where the apps of a test keep reports: the run's PostgreSQL database, or else PGlite in a folder of
 * the test's own (an empty DATABASE_URL counts as unset). A second app with the same store, as after
 * a restart, finds the same reports.
 */
const store = (dataDir: string) => ({ DATABASE_URL: sharedDatabaseUrl() ?? '', DATA_DIR: dataDir });

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs ./update_report_status.sh as a person would, against the service at baseUrl. */
function runScript(args: string[], baseUrl: string, token?: string): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, SSE_GATEWAY_URL: baseUrl, ...(token && { SSE_GATEWAY_TOKEN: token }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function createReport(baseUrl: string, userId: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v4/new/report?user_id=${userId}`, { method: 'POST' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { reportId: string }).reportId;
}

async function putStatus(baseUrl: string, userId: string, id: string, status: string): Promise<void> {
  const response = await fetch(`${baseUrl}/v4/report?user_id=${userId}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, status }),
  });
  expect({ status: response.status, body: await response.text() }).toMatchObject({ status: 200 });
}

/** Opens the page the service serves at `/`, failing clearly when it serves none. */
async function openPage(page: Page, baseUrl: string): Promise<void> {
  const response = await page.goto(`${baseUrl}/`);
  const status = response?.status();
  if (status !== 200) {
    throw new Error(
      `GET ${baseUrl}/ answered ${status}: the service does not serve public/index.html at / (yet)`,
    );
  }
}

const statusMark = (page: Page, reportId: string) =>
  page.locator(`#report-rows tr[data-report-id="${reportId}"] .status`);

/** Waits until the report's row shows `status`, by name and by its status class. */
async function waitForStatus(page: Page, reportId: string, status: string, timeout = 10_000): Promise<void> {
  await page
    .locator(`#report-rows tr[data-report-id="${reportId}"] .status.status--${status}`)
    .waitFor({ timeout });
  expect(await statusMark(page, reportId).innerText()).toBe(status);
}

const backgroundOf = (mark: Locator) => mark.evaluate((element) => getComputedStyle(element).backgroundColor);

const connectionState = (page: Page) => page.locator('#connection').getAttribute('data-state');

async function waitForConnection(page: Page, states: string[], timeout = 10_000): Promise<void> {
  const selector = states.map((state) => `#connection[data-state="${state}"]`).join(', ');
  await page.locator(selector).waitFor({ timeout });
}

describe('the reports page in Chromium', () => {
  let dataDir: string;
  let running: RunningApp;
  let browser: RunningBrowser;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reports-page-'));
    running = await startApp(store(dataDir));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('shows a status change made by update_report_status.sh live, without a reload', async () => {
    const page = await browser.newPage();
    await openPage(page, running.baseUrl);

    await page.getByRole('button', { name: 'New user' }).click();
    await waitForConnection(page, ['connected']);
    expect(await page.locator('#connection').innerText()).toMatch(/connected/i);
    const userId = await page.locator('#current-user').innerText();
    expect(userId).toMatch(UUID);
    expect(await page.evaluate(() => localStorage.getItem('sse-gateway:user-id'))).toBe(userId);

    await page.getByRole('button', { name: 'Create report' }).click();
    const row = page.locator('#report-rows tr');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    const reportId = (await row.first().getAttribute('data-report-id')) ?? '';
    expect(reportId).toMatch(UUID);
    await waitForStatus(page, reportId, 'pending');
    const pendingColour = await backgroundOf(statusMark(page, reportId));
    await setMarker(page); // on this very document: a reload would lose it

    const run = await runScript([userId, reportId, 'queued'], running.baseUrl);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`{"id":"${reportId}","status":"queued"}`);
    expect(run.stdout).toMatch(/^HTTP 200$/m);

    await waitForStatus(page, reportId, 'queued');
    expect(await backgroundOf(statusMark(page, reportId))).not.toBe(pendingColour);
    // The buttons follow the state machine: queued -> processing | canceled.
    expect(await row.first().locator('button.action').allInnerTexts()).toEqual(['Process', 'Cancel']);
    expect(await markerSurvived(page)).toBe(true);

    // The page's own buttons change the status too.
    await row
      .first()
      .getByRole('button', { name: /^Process/ })
      .click();
    await waitForStatus(page, reportId, 'processing');

    // Reports created and changed elsewhere (the API) join the table live, one colour per status.
    const others: string[] = [];
    for (let n = 0; n < 4; n++) {
      others.push(await createReport(running.baseUrl, userId)); // one by one: the table is oldest first
    }
    const moves: Record<string, string[]> = {
      completed: ['queued', 'processing', 'completed'],
      failed: ['queued', 'processing', 'failed'],
      canceled: ['canceled'],
      pending: [],
    };
    const wanted = Object.keys(moves);
    for (const [index, id] of others.entries()) {
      for (const status of moves[wanted[index]]) {
        await putStatus(running.baseUrl, userId, id, status);
      }
    }
    for (const [index, id] of others.entries()) {
      await waitForStatus(page, id, wanted[index]);
    }
    expect(await row.count()).toBe(5);
    const lastId = await createReport(running.baseUrl, userId);
    await putStatus(running.baseUrl, userId, lastId, 'queued');
    await waitForStatus(page, lastId, 'queued');
    const marks = page.locator('#report-rows .status');
    expect(await marks.allInnerTexts()).toEqual([
      'processing',
      'completed',
      'failed',
      'canceled',
      'pending',
      'queued',
    ]);
    const colours = await Promise.all((await marks.all()).map(backgroundOf));
    expect(new Set(colours).size).toBe(6);
    // Each row offers exactly the moves the service's status machine allows from its status.
    const machine = (await (await fetch(`${running.baseUrl}/v4/transitions`)).json()) as {
      next: Record<string, string[]>;
    };
    for (const tr of await row.all()) {
      const status = (await tr.getAttribute('data-status')) ?? '';
      const buttons = await tr.locator('button.action').all();
      const offered = await Promise.all(buttons.map((button) => button.getAttribute('data-status')));
      expect({ status, offered }).toEqual({ status, offered: machine.next[status] });
    }
    expect(await markerSurvived(page)).toBe(true);

    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });

    // A second tab remembers the user and shows the statuses as they are now.
    const second = await browser.newPage();
    await openPage(second, running.baseUrl);
    expect(await second.locator('#current-user').innerText()).toBe(userId);
    await waitForStatus(second, reportId, 'processing');
    await second.close();
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('gets the reports and the broadcasts over one connection, and shows broadcasts in their panel', async () => {
    const userId = randomUUID();
    const page = await browser.newPage();
    const streams: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (request.headers().accept === 'text/event-stream' || /\/(sse|events)$/.test(url.pathname)) {
        streams.push(`${url.pathname} ${url.searchParams.getAll('stream').join(' ')}`);
      }
    });
    await page.addInitScript(() => localStorage.removeItem('sse-gateway:user-id'));
    await openPage(page, running.baseUrl);
    await page.locator('#user-id').fill(userId);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForConnection(page, ['connected']);
    expect(await page.locator('#no-broadcasts').isVisible()).toBe(true);
    expect(await page.locator('#broadcast-list li').count()).toBe(0); // the greeting is not a broadcast

    const message = '<b>maintenance</b> at 18:00 🛠';
    const sent = await fetch(`${running.baseUrl}/events`, { method: 'POST', body: message });
    expect(sent.status).toBe(201);
    await page.locator('#broadcast-list li').first().waitFor();
    expect(await page.locator('#broadcast-list li .broadcast-text').innerText()).toBe(message);
    expect(await page.locator('#broadcast-list b').count()).toBe(0); // text, never markup
    expect(await page.locator('#no-broadcasts').isVisible()).toBe(false);

    const reportId = await createReport(running.baseUrl, userId);
    await waitForStatus(page, reportId, 'pending');
    await putStatus(running.baseUrl, userId, reportId, 'queued');
    await waitForStatus(page, reportId, 'queued');

    // One stream request carried both; no request to the single routes.
    expect(streams).toEqual([`/sse reports:${userId} broadcast`]);
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('shows live changes to a user signed in with an upper-case UUID (what uuidgen prints)', async () => {
    const userId = randomUUID();
    const typed = userId.toUpperCase();
    const page = await browser.newPage();
    await page.addInitScript(() => localStorage.removeItem('sse-gateway:user-id'));
    await openPage(page, running.baseUrl);
    await page.locator('#user-id').fill(typed);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForConnection(page, ['connected']);
    const reportId = await createReport(running.baseUrl, userId);
    await waitForStatus(page, reportId, 'pending');
    const run = await runScript([typed, reportId, 'queued'], running.baseUrl);
    expect(run).toMatchObject({ code: 0 });
    await waitForStatus(page, reportId, 'queued');
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('shows the connection lost while the service is down, and recovers by itself when it is back', async () => {
    const userId = randomUUID();
    const reportId = await createReport(running.baseUrl, userId);
    const page = await browser.newPage();
    await page.addInitScript(() => localStorage.removeItem('sse-gateway:user-id'));
    await openPage(page, running.baseUrl);

    await page.locator('#user-id').fill('not-a-uuid');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#user-id-error').waitFor();
    expect(await page.locator('#user-id-error').innerText()).toMatch(/must be a UUID/);
    await page.locator('#user-id').fill(userId);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForConnection(page, ['connected']);
    await waitForStatus(page, reportId, 'pending');
    await setMarker(page);

    const { port } = running;
    await running.close();
    await waitForConnection(page, ['reconnecting', 'disconnected']);
    expect(await page.locator('#connection').innerText()).toMatch(/reconnecting|disconnected/i);

    // The same service again, on the same port and the same data folder (a restart).
    const app = await createApp({ LOG_LEVEL: 'silent', SSE_RETRY_MS: '100', ...store(dataDir) });
    await app.listen(port, '127.0.0.1');
    running = { app, port, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };

    await waitForConnection(page, ['connected'], 20_000);
    expect(await connectionState(page)).toBe('connected');
    const run = await runScript([userId, reportId, 'queued'], running.baseUrl);
    expect(run).toMatchObject({ code: 0 });
    await waitForStatus(page, reportId, 'queued');
    expect(await markerSurvived(page)).toBe(true);
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });
});

describe('update_report_status.sh', () => {
  let dataDir: string;
  let running: RunningApp;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'report-script-'));
    running = await startApp(store(dataDir));
  });

  afterAll(async () => {
    await running?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each([[[]], [['only-a-user']], [['user', 'report', 'queued', 'extra']]])(
    'prints its usage and exits 2 on wrong arguments: %j',
    async (args) => {
      const run = await runScript(args, running.baseUrl);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^usage: update_report_status\.sh <userID> <reportID> <new-status>/);
      expect(run.stdout).toBe('');
    },
  );

  it("lists the service's statuses and legal changes in its usage", async () => {
    const run = await runScript(['--help'], running.baseUrl);
    expect(run.code).toBe(0);
    const machine: unknown = await (await fetch(`${running.baseUrl}/v4/transitions`)).json();
    expect(run.stdout).toContain(`${JSON.stringify(machine)}\n`);
    expect(run.stdout).toContain('"pending":["queued","canceled"]');
  });

  it('exits 1 on an illegal change and prints the 409 answer, which names the current status', async () => {
    const userId = randomUUID();
    const reportId = await createReport(running.baseUrl, userId);
    const run = await runScript([userId, reportId, 'completed'], running.baseUrl);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`sending: PUT ${running.baseUrl}/v4/report?user_id=${userId}`);
    expect(run.stdout).toContain(`sending: {"id":"${reportId}","status":"completed"}`);
    expect(run.stdout).toMatch(/^HTTP 409$/m);
    expect(run.stdout).toMatch(/^\{.*"message":"[^"]*\bpending\b[^"]*".*\}$/m);
  });

  it('sends a malformed id as it is, and shows the 400 answer', async () => {
    const run = await runScript([randomUUID(), 'not "a" uuid\\', 'queued'], running.baseUrl);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('sending: {"id":"not \\"a\\" uuid\\\\","status":"queued"}');
    expect(run.stdout).toMatch(/^HTTP 400$/m);
  });
});

describe('the reports page with AUTH_MODE=jwt', () => {
  const secret = 'a page test secret of at least thirty-two characters';
  let running: RunningApp;
  let browser: RunningBrowser;

  beforeAll(async () => {
    running = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: secret });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('takes a token and then works as without one; the script sends SSE_GATEWAY_TOKEN', async () => {
    const userId = randomUUID();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
    const page = await browser.newPage();
    const response = await page.goto(`${running.baseUrl}/?auth=jwt`);
    expect(response?.status()).toBe(200);
    await page.locator('#access-token').fill(token);
    await page.locator('#user-id').fill(userId);
    await page.locator('#user-id').press('Enter');
    await waitForConnection(page, ['connected']);
    await page.getByRole('button', { name: 'Create report' }).click();
    const row = page.locator('#report-rows tr').first();
    await row.waitFor();
    const reportId = (await row.getAttribute('data-report-id')) ?? '';
    await waitForStatus(page, reportId, 'pending');

    const refused = await runScript([userId, reportId, 'queued'], running.baseUrl);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^HTTP 401$/m);
    const run = await runScript([userId, reportId, 'queued'], running.baseUrl, token);
    expect(run.stdout).toMatch(/^HTTP 200$/m);
    expect(run.stdout).not.toContain(token);
    await waitForStatus(page, reportId, 'queued');
  });
});
