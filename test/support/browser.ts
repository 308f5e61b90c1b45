import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium; .ci/run does): playwright-core downloads no browser here. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium keeps calling Google's hosts, which this
 * machine's closed network refuses; QUIC and the first-run UI are noise for a test too.
 */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox', // as root, Chromium refuses to start sandboxed
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface RunningBrowser {
  context: BrowserContext;
  /** Uncaught exceptions and console errors of every page, to assert on. */
  pageErrors: string[];
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

/** Headless Chromium with a fresh, empty profile in a temp folder. */
export async function launchChromium(): Promise<RunningBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`,
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'sse-gateway-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright takes the profile folder as a parameter, and passes it as --user-data-dir itself.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1100, height: 720 },
      timeout: 30_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  const pageErrors: string[] = [];
  const watch = (page: Page): void => {
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    page.on('console', (message) => {
      // A refused EventSource or fetch is logged by the browser itself while the service is down: expected.
      if (message.type() === 'error' && !/net::ERR_|Failed to load resource/.test(message.text())) {
        pageErrors.push(`${page.url()}: console: ${message.text()}`);
      }
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);

  return {
    context,
    pageErrors,
    newPage: () => context.newPage(),
    close: async () => {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
