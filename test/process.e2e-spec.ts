import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { post, waitUntil } from './support/app';
import { sharedDatabaseUrl } from './support/postgres';
import { SseReader } from './support/sse-reader';

const MAIN = join(__dirname, '..', 'dist', 'main.js');

interface Service {
  child: ChildProcess;
  output: string;
  baseUrl: string;
  exit: Promise<number | null>;
}

/** Runs the built service (`node dist/main.js`) as its own process on a free port. */
async function startService(env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      SSE_RETRY_MS: '250',
      DATABASE_URL: sharedDatabaseUrl(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = {
    child,
    output: '',
    baseUrl: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (service.output += chunk.toString()));
  await waitUntil(
    () => /listening on (http:\/\/[\d.]+:\d+)/.test(service.output) || child.exitCode !== null,
    'the service listens',
    15_000,
  );
  service.baseUrl = /listening on (http:\/\/[\d.]+:\d+)/.exec(service.output)?.[1] ?? '';
  return service;
}

jest.setTimeout(30_000);

describe('the service as a process', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) {
      throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
    }
  });

  it('on SIGTERM ends open streams with a retry hint, refuses nothing half-way, and exits 0', async () => {
    const service = await startService();
    const reader = await SseReader.open(`${service.baseUrl}/v2/sse?username=leaving`);
    await post(`${service.baseUrl}/v2/message?username=leaving`, 'before shutdown');
    await reader.waitForEvents(1);
    service.child.kill('SIGTERM');
    await reader.waitForEnd();
    expect(await service.exit).toBe(0);
    // The stream's last frames: a comment that says why, and the retry hint.
    expect(reader.raw).toMatch(/: server shutting down, reconnect\n\nretry: 250\n\n$/);
    expect(reader.events.map((event) => event.data)).toEqual(['before shutdown']);
  });

  it('writes JSON logs that carry the request id, one line per request and per stream', async () => {
    const service = await startService({ LOG_LEVEL: 'info' });
    await fetch(`${service.baseUrl}/health`, { headers: { 'x-request-id': 'log-check-42' } });
    const stream = await SseReader.open(`${service.baseUrl}/v2/sse?username=logged`, {
      'x-request-id': 'stream-7',
    });
    expect(stream.headers?.['x-request-id']).toBe('stream-7');
    await post(`${service.baseUrl}/v2/message?username=logged`, 'one');
    await stream.waitForEvents(1);
    stream.close();
    await waitUntil(() => service.output.includes('"msg":"stream closed"'), 'the stream close was logged');
    service.child.kill('SIGTERM');
    expect(await service.exit).toBe(0);
    const lines = service.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: { id?: string; url?: string }; msg?: string });
    const completed = lines.find((line) => line.req?.id === 'log-check-42');
    expect(completed).toMatchObject({
      req: { method: 'GET', url: '/health' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number) as number,
      msg: 'request completed',
    });
    const closed = lines.find((line) => line.req?.id === 'stream-7');
    expect(closed).toMatchObject({
      msg: 'stream closed',
      stream: 'v2',
      user: 'logged',
      eventsSent: 1,
      reason: 'client disconnected',
    });
  });

  it('logs a request the client gave up on as aborted', async () => {
    const service = await startService({ LOG_LEVEL: 'info' });
    try {
      // A body announced but never sent: the request is still being read when the client leaves.
      const socket = connect(Number(new URL(service.baseUrl).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        'POST /v2/message?username=gone HTTP/1.1\r\nHost: x\r\nX-Request-Id: left-early\r\n' +
          'Content-Type: text/plain\r\nContent-Length: 100\r\n\r\nhalf',
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      await waitUntil(() => service.output.includes('left-early'), 'the aborted request was logged');
      const line = service.output.split('\n').find((entry) => entry.includes('left-early'))!;
      expect(JSON.parse(line)).toMatchObject({ req: { id: 'left-early' }, msg: 'request aborted' });
    } finally {
      service.child.kill('SIGTERM');
    }
    expect(await service.exit).toBe(0);
  });

  it.each([
    ['PORT', 'eighty'],
    ['SSE_MAX_CONNECTIONS', '0'],
    ['KAFKA_BROKERS', 'carrier-pigeon'],
    ['LOG_LEVEL', 'loud'],
    ['AUTH_MODE', 'maybe'],
  ])('refuses to start when %s=%s, naming the variable', async (name, value) => {
    const { code, output } = await startAndFail({ [name]: value });
    expect(code).toBe(1);
    expect(output).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('refuses to start in production without AUTH_MODE, naming it', async () => {
    const { code, output } = await startAndFail({ NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(output).toContain('AUTH_MODE=null: must be set when NODE_ENV=production');
  });

  async function startAndFail(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, output };
  }
});
