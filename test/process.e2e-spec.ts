import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { post, waitUntil } from './support/app';
import { MAIN, startService } from './support/service';
import { SseReader } from './support/sse-reader';

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

  it('exits 0 on SIGTERM at once, though clients stalled half-way through their requests', async () => {
    const service = await startService({ SHUTDOWN_TIMEOUT_MS: '8000' });
    const port = Number(new URL(service.baseUrl).port);
    const stalled: Socket[] = [];
    const open = async (bytes: string) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(bytes);
      stalled.push(socket);
      return socket;
    };
    try {
      await open('GET /health HTTP/1.1\r\nHost: x\r\nX-Half: '); // half its headers
      await open(
        'POST /v2/message?username=slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n' +
          'Content-Length: 100\r\n\r\nhalf', // half its body
      );
      const idle = await open('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'); // answered, kept alive
      await new Promise((resolve) => idle.once('data', resolve));
      const reader = await SseReader.open(`${service.baseUrl}/v2/sse?username=staying`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const signalled = Date.now();
      service.child.kill('SIGTERM');
      expect(await service.exit).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(3_000);
      expect(service.output).not.toContain('Shutdown took longer');
      await reader.waitForEnd();
      expect(reader.raw).toContain(': server shutting down, reconnect');
    } finally {
      stalled.forEach((socket) => socket.destroy());
    }
  });

  it('closes a request whose headers or body do not arrive in time (408), and never an open stream', async () => {
    const service = await startService({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
    const port = Number(new URL(service.baseUrl).port);
    const sockets: Socket[] = [];
    const stall = async (bytes: string) => {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      const started = Date.now();
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('error', () => undefined);
      const closed = new Promise<number>((resolve) =>
        socket.once('close', () => resolve(Date.now() - started)),
      );
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(bytes);
      return { closed, answer: () => answer };
    };
    try {
      const stream = await SseReader.open(`${service.baseUrl}/v2/sse?username=lasting`);
      const halfHeaders = await stall('GET /health HTTP/1.1\r\nHost: x\r\nX-Half: ');
      const halfBody = await stall(
        'POST /v2/message?username=lasting HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n' +
          'Content-Length: 100\r\n\r\nhalf',
      );
      const headersClosedAfter = await halfHeaders.closed;
      expect(headersClosedAfter).toBeGreaterThanOrEqual(900);
      expect(headersClosedAfter).toBeLessThan(3_500);
      expect(halfHeaders.answer()).toMatch(/^HTTP\/1\.1 408/);
      const bodyClosedAfter = await halfBody.closed;
      expect(bodyClosedAfter).toBeGreaterThanOrEqual(1_900);
      expect(bodyClosedAfter).toBeLessThan(4_500);
      expect(halfBody.answer()).toMatch(/^HTTP\/1\.1 408/);
      // The stream has been open longer than both timeouts and still delivers.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(stream.ended).toBe(false);
      await post(`${service.baseUrl}/v2/message?username=lasting`, 'still here');
      expect((await stream.waitForEvents(1)).map((event) => event.data)).toEqual(['still here']);
      stream.close();
    } finally {
      sockets.forEach((socket) => socket.destroy());
      service.child.kill('SIGTERM');
    }
    expect(await service.exit).toBe(0);
  });

  it('logs refused publishes during a Kafka outage once per interval, with the count of the others', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there: Kafka is down
    const service = await startService({ LOG_LEVEL: 'info', KAFKA_BROKERS: `127.0.0.1:${port}` });
    try {
      const statuses: number[] = [];
      for (let n = 0; n < 60; n++) {
        statuses.push((await post(`${service.baseUrl}/v3/message?username=u`, `m${n}`)).status);
      }
      expect(new Set(statuses)).toEqual(new Set([503]));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lines = service.output.split('\n').filter((line) => line.includes('Answered 503'));
      expect(lines).toHaveLength(1);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect(await service.exit).toBe(0);
  });

  it.each([
    ['EVENTS_KEEPALIVE_MS', '2147483648', 'from 10 to 3600000'],
    ['HEARTBEAT_INTERVAL_MS', '0', 'from 10 to 3600000'],
    ['SHUTDOWN_TIMEOUT_MS', '99999999999', 'from 0 to 600000'],
  ])('refuses to start when %s=%s, naming the variable and its range', async (name, value, range) => {
    const { code, output } = await startAndFail({ [name]: value });
    expect(code).toBe(1);
    expect(output).toContain(
      `${name}=${JSON.stringify(value)}: ${name} must be an integer number of milliseconds ${range}`,
    );
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

  it.each([
    ['v3.messages', 'v3_messages, a topic of this service'],
    ['report.updates', 'report_updates, a topic of this service'],
    ['clicks_eu,clicks.eu', 'clicks_eu, also listed'],
  ])(
    'refuses to start when KAFKA_SSE_TOPICS=%s collides in Kafka, naming the other topic',
    async (topics, other) => {
      const { code, output } = await startAndFail({ KAFKA_SSE_TOPICS: topics });
      expect(code).toBe(1);
      expect(output).toContain(`which Kafka cannot hold beside ${other} (. and _ collide in topic names)`);
    },
  );

  it('refuses to start in production without AUTH_MODE, naming it', async () => {
    const { code, output } = await startAndFail({ NODE_ENV: 'production' });
    expect(code).toBe(1);
    expect(output).toContain('AUTH_MODE=null: must be set when NODE_ENV=production');
  });

  it('exits 1 at once when it refuses to start and its stdout and stderr were closed by their reader', async () => {
    // As `node dist/main.js 2>&1 | head -c 200`: the reader takes the first bytes and goes.
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, KAFKA_SSE_TOPICS: 'v4_messages.dead-letter' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stop = setTimeout(() => child.kill('SIGKILL'), 20_000); // the old hang must not outlive the test
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      child.stdout.destroy();
      child.stderr.destroy();
      const closed = Date.now();
      expect(await exited).toBe(1);
      // Start-up goes on a little after the first log line before it refuses; then it exits at once.
      expect(Date.now() - closed).toBeLessThan(3_000);
    } finally {
      clearTimeout(stop);
    }
  });

  async function startAndFail(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: 'pipe' });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // A service that starts after all must not outlive the test.
    const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(stop);
    return { code, output };
  }
});
