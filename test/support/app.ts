import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.factory';
import { sharedDatabaseUrl } from './postgres';

export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The Kafka client id of this spec file's apps (each file loads this module anew): it names their
 * command consumer groups, so that the apps of a file share them, as instances of one deployment do,
 * and never take the commands meant for another file's apps running at the same time.
 */
export const TEST_KAFKA_CLIENT_ID = `sse-gateway-e2e-${randomBytes(4).toString('hex')}`;

/**
 * The real application, listening on a free loopback port. Its reports go to the run's PostgreSQL
 * database unless `env` says otherwise (`DATABASE_URL: ''` and a DATA_DIR for PGlite).
 */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const app = await createApp({
    LOG_LEVEL: 'silent',
    SSE_RETRY_MS: '100',
    DATABASE_URL: sharedDatabaseUrl(),
    KAFKA_CLIENT_ID: TEST_KAFKA_CLIENT_ID,
    ...env,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  return { app, port, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** POSTs a text body (as `curl -d` would send it unless a content type is given). */
export async function post(
  url: string,
  body: string,
  contentType = 'application/x-www-form-urlencoded',
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The value of one Prometheus series of the app's /metrics (0 when it has none yet). */
export async function metric(app: RunningApp, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Polls an async condition (waitUntil takes a synchronous one); a rejection counts as not yet. */
export async function eventually(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the app's readiness check passes (its bus is connected); a timeout says why not. */
export async function ready(app: RunningApp, timeoutMs?: number): Promise<void> {
  let last = 'no answer';
  try {
    await eventually(
      async () => {
        const response = await fetch(`${app.baseUrl}/health/ready`);
        last = `${response.status} ${await response.text()}`;
        return response.status === 200;
      },
      `${app.baseUrl} is ready`,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last /health/ready: ${last}`);
  }
}
