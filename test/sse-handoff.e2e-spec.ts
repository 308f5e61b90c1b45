import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { waitUntil } from './support/app';
import { Inspector } from './support/inspector';
import { sharedDatabaseUrl } from './support/postgres';

/**
 * The SSE hand-off (src/sse/framework-internals.ts) under an upgrade of Nest, Express or Node: with a
 * few thousand idle streams open on the built service, Nest's writer and the request's execution
 * context must be gone (the stream is carried by SseConnection alone), and the heap each idle stream
 * keeps must stay under a bound. Both break quietly when a framework changes what it keeps.
 */
const MAIN = join(__dirname, '..', 'dist', 'main.js');
const STREAMS = 2500;
/**
 * Measured on Node 24.22 / Nest 12.5: 8.0 KB per idle /events stream (11.4 KB before the stream dropped
 * its sent headers, res.locals and parsed query, and its closures became one object's methods). With the
 * sent headers kept, 8.9 KB (counted apart below); with no hand-off at all (Nest's writer kept), over 20 KB.
 */
const MAX_HEAP_BYTES_PER_STREAM = 9 * 1024;
/** Prototypes, as the service's own module system resolves them (Nest's are ES modules). */
const NEST_SSE_WRITER = "process.mainModule.require('@nestjs/core/router/sse-stream.js').SseStream.prototype";
const NEST_EXECUTION_CONTEXT =
  "process.mainModule.require('@nestjs/core/helpers/execution-context-host.js').ExecutionContextHost.prototype";
const SSE_CONNECTION = "process.mainModule.require('./sse/sse-connection.js').SseConnection.prototype";
const NODE_RESPONSE = "process.mainModule.require('node:http').ServerResponse.prototype";
/** A response whose head is out and whose headers Node still stores (for getHeader()). */
const KEEPS_SENT_HEADERS = '(response) => response.headersSent && response.getHeaderNames().length > 0';

jest.setTimeout(90_000);

let child: ChildProcess;
let output = '';
let port = 0;
let inspector: Inspector;
const sockets: Socket[] = [];

/** Opens `count` streams on raw sockets and resolves once every one has its `retry:` hint. */
async function openStreams(count: number): Promise<Socket[]> {
  const opened: Socket[] = [];
  let ready = 0;
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (!head.includes('\nretry:')) {
        head += chunk;
        if (head.includes('\nretry:')) {
          ready++;
        }
      }
    });
    socket.on('error', () => undefined); // the count below says what went wrong
    socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    opened.push(socket);
    if (i % 250 === 249) {
      await new Promise((resolve) => setImmediate(resolve)); // lets the server accept as they come
    }
  }
  await waitUntil(() => ready === count, `${count} streams are open (${ready} so far)`, 60_000);
  return opened;
}

beforeAll(async () => {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  }
  child = spawn(process.execPath, ['--inspect=127.0.0.1:0', MAIN], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: sharedDatabaseUrl() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitUntil(
    () => /listening on http:\/\/[\d.]+:\d+/.test(output) || child.exitCode !== null,
    'the service listens',
    30_000,
  );
  port = Number(/listening on http:\/\/[\d.]+:(\d+)/.exec(output)?.[1]);
  inspector = await Inspector.connect(output);
  // Lazy compilation, pools and caches settle on a first round of streams, not counted.
  for (const socket of await openStreams(300)) {
    socket.destroy();
  }
});

afterAll(async () => {
  for (const socket of sockets) {
    socket.destroy();
  }
  inspector?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

describe('idle SSE streams after the hand-off', () => {
  it(`keep neither Nest's writer nor its execution context, and under ${MAX_HEAP_BYTES_PER_STREAM} bytes of heap each`, async () => {
    let before = await inspector.heapUsedAfterGc();
    // The warm-up streams' close has been handled once none is left.
    for (let i = 0; i < 50 && (await inspector.countObjects(SSE_CONNECTION)) !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      before = await inspector.heapUsedAfterGc();
    }
    expect(await inspector.countObjects(SSE_CONNECTION)).toBe(0);

    sockets.push(...(await openStreams(STREAMS)));
    const after = await inspector.heapUsedAfterGc();

    const perStream = (after - before) / STREAMS;
    const node = await inspector.evaluate<string>('process.version');
    process.stderr.write(
      `[sse-handoff] service on Node ${node}: ${STREAMS} idle streams, ${(perStream / 1024).toFixed(1)} KB of heap each\n`,
    );
    // All read before any is asserted, so that a failure shows every figure. The query sees the streams
    // themselves (one SseConnection each), and none of what Nest made to serve their requests.
    expect({
      connections: await inspector.countObjects(SSE_CONNECTION),
      nestWriters: await inspector.countObjects(NEST_SSE_WRITER),
      executionContexts: await inspector.countObjects(NEST_EXECUTION_CONTEXT),
      abortControllers: await inspector.countObjects('AbortController.prototype'),
      responsesKeepingSentHeaders: await inspector.countObjects(NODE_RESPONSE, KEEPS_SENT_HEADERS),
      heapBytesPerStream: Math.round(perStream),
      heapUnderBound: perStream < MAX_HEAP_BYTES_PER_STREAM,
    }).toEqual({
      connections: STREAMS,
      nestWriters: 0,
      executionContexts: 0,
      abortControllers: 0,
      responsesKeepingSentHeaders: 0,
      heapBytesPerStream: expect.any(Number) as number,
      heapUnderBound: true,
    });
  });
});
