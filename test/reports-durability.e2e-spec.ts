import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from './support/app';
import { sharedDatabaseUrl } from './support/postgres';
import { SseReader } from './support/sse-reader';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

jest.setTimeout(90_000);

interface Service {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/** `node dist/main.js` on a free port, with the given store. */
async function startService(store: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', SSE_RETRY_MS: '100', ...store },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = /listening on (http:\/\/[\d.]+:\d+)/;
  await waitUntil(() => listening.test(output) || child.exitCode !== null, 'the service listens', 30_000);
  if (child.exitCode !== null) {
    throw new Error(`the service exited with ${child.exitCode}:\n${output}`);
  }
  return { child, baseUrl: listening.exec(output)![1], output: () => output };
}

const stores: [string, () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }>][] = [
  [
    'PostgreSQL',
    () => Promise.resolve({ env: { DATABASE_URL: sharedDatabaseUrl()! }, cleanup: () => Promise.resolve() }),
  ],
  [
    'PGlite',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'reports-pglite-'));
      return { env: { DATA_DIR: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(stores)('a status change survives SIGKILL right after its answer (%s)', (_name, makeStore) => {
  const running: Service[] = [];
  let cleanup: (() => Promise<void>) | undefined;

  afterAll(async () => {
    for (const service of running) {
      if (service.child.exitCode === null) {
        service.child.kill('SIGKILL');
      }
    }
    await cleanup?.();
  });

  it('is there after a restart, and its event reaches a resumed stream exactly once', async () => {
    const store = await makeStore();
    cleanup = store.cleanup;
    const user = randomUUID();
    const first = await startService(store.env);
    running.push(first);
    const created = await fetch(`${first.baseUrl}/v4/new/report?user_id=${user}`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { reportId } = (await created.json()) as { reportId: string };
    const before = await SseReader.open(`${first.baseUrl}/v4/sse?user_id=${user}`, { 'last-event-id': '0' });
    const [pending] = await before.waitForEvents(1);
    before.close();

    const changed = await fetch(`${first.baseUrl}/v4/report?user_id=${user}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: reportId, status: 'queued' }),
    });
    first.child.kill('SIGKILL'); // right after the answer: no shutdown, no relay, no flush
    expect(changed.status).toBe(200);
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startService(store.env);
    running.push(second);
    const listed = (await (await fetch(`${second.baseUrl}/v4/reports?user_id=${user}`)).json()) as {
      reportStatus: string;
    }[];
    expect(listed.map((report) => report.reportStatus)).toEqual(['queued']);
    const resumed = await SseReader.open(`${second.baseUrl}/v4/sse?user_id=${user}`, {
      'last-event-id': pending.id!,
    });
    await resumed.waitForEvents(1, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the relay's sweep publishes it too
    resumed.close();
    expect(resumed.events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { id: reportId, status: 'queued' },
    ]);
    second.child.kill('SIGTERM');
    expect(await new Promise((resolve) => second.child.once('exit', resolve))).toBe(0);
  });
});
