import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(__dirname, '..', 'dist', 'main.js');
/** Peak RSS of the service on the embedded store, through a start and the first report it stores. */
const PEAK_RSS_LIMIT_MB = 250;
/**
 * A sanity bound on the time to the first /health answer, loose because the machines running the tests
 * are shared; the figures measured on a quiet machine are in docs/benchmarks.md.
 */
const HEALTH_WITHIN_MS = 10_000;

jest.setTimeout(90_000);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The process's peak resident set so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (kb === null) {
    throw new Error(`no VmHWM in /proc/${pid}/status`);
  }
  return Number(kb[1]) / 1024;
}

interface Started {
  child: ChildProcess;
  baseUrl: string;
  healthAfterMs: number;
  output: () => string;
}

/** `node dist/main.js` on the embedded store in `dataDir`; resolves once /health answers 200. */
async function start(dataDir: string): Promise<Started> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN], {
    // No DATABASE_URL: the embedded default, whatever the environment running the tests has.
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the service exited with ${child.exitCode}:\n${output}`);
    }
    const answer = await fetch(`${baseUrl}/health`).catch(() => undefined);
    if (answer?.status === 200) {
      return { child, baseUrl, healthAfterMs: performance.now() - started, output: () => output };
    }
    if (performance.now() - started > 60_000) {
      throw new Error(`no /health answer within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function stop(service: Started): Promise<void> {
  const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
  service.child.kill('SIGTERM');
  expect(await exited).toBe(0);
}

describe('the embedded store on a fresh DATA_DIR', () => {
  let dataDir: string;
  const running: Started[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'embedded-start-'));
  });

  afterAll(async () => {
    for (const service of running) {
      if (service.child.exitCode === null) {
        service.child.kill('SIGKILL');
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it(`stays under ${PEAK_RSS_LIMIT_MB} MB RSS through the first start and report, which a restart finds`, async () => {
    const user = randomUUID();
    const first = await start(dataDir);
    running.push(first);
    const created = await fetch(`${first.baseUrl}/v4/new/report?user_id=${user}`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { reportId } = (await created.json()) as { reportId: string };
    const ready = await fetch(`${first.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    const firstPeak = peakRssMb(first.child.pid!);
    expect(firstPeak).toBeLessThan(PEAK_RSS_LIMIT_MB);
    expect(first.healthAfterMs).toBeLessThan(HEALTH_WITHIN_MS);
    await stop(first);

    const later = await start(dataDir);
    running.push(later);
    const listed = await fetch(`${later.baseUrl}/v4/reports?user_id=${user}`);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { reportId: string }[]).map((report) => report.reportId)).toEqual([
      reportId,
    ]);
    const laterPeak = peakRssMb(later.child.pid!);
    expect(laterPeak).toBeLessThan(PEAK_RSS_LIMIT_MB);
    expect(later.healthAfterMs).toBeLessThan(HEALTH_WITHIN_MS);
    await stop(later);
    console.log(
      `embedded store: first start ${Math.round(firstPeak)} MB peak RSS, /health after ` +
        `${Math.round(first.healthAfterMs)} ms; later start ${Math.round(laterPeak)} MB, ` +
        `${Math.round(later.healthAfterMs)} ms`,
    );
  });
});
