/**
 * What the framework alone costs per request: one `POST /v2/message?username=<name>` route with a
 * text body, answered 201 with a small JSON body and nothing else (no bus, no stream, no auth, no
 * log, no metrics), on four stacks, each loaded in turn with the same pipelined publisher as the
 * `direct-pipelined` scenario (2 keep-alive connections, 32 requests in flight on each):
 *
 *   node-http       node:http, the URL parsed with `new URL`, the body read by hand
 *   express         Express 5, `express.text()`, `req.query.username`
 *   nest            NestJS on Express: a controller with `@Post`, `@Query('username')`, `@Body()`
 *   nest-validated  the same with a global ValidationPipe and a class-validator DTO for the query
 *
 * and the same four open `GET /v2/sse?username=<name>` streams (a text/event-stream head and one event,
 * then nothing; Nest's own `@Sse()` on the Nest stacks): `--streams` of them, 500 connects in flight, as
 * the `open-10k` scenario does.
 *
 * It shows the floor the gateway's per-request paths stand on: whatever the gateway does, it cannot
 * answer a request or open a stream for less than `nest-validated` costs.
 *
 *   npm run bench:floor [-- --requests=40000 --streams=10000 --rounds=2]   (--help lists the settings)
 */
import 'reflect-metadata';
import { Body, Controller, MessageEvent, Module, Post, Query, Sse, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IsString, Length, Matches } from 'class-validator';
import express from 'express';
import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { concat, NEVER, Observable, of } from 'rxjs';
import { PipelinedPublisher } from './lib/pipelined-publisher';
import { nodeVersionWarning, readProcCpuMs } from './lib/proc';
import { helpText, parseSettings } from './lib/settings';

const STACKS = ['node-http', 'express', 'nest', 'nest-validated'] as const;
type Stack = (typeof STACKS)[number];

const FLOOR_SETTINGS = {
  requests: {
    flag: 'requests',
    kind: 'int',
    default: '40000',
    min: 1,
    max: 10_000_000,
    help: 'pipelined POSTs measured per stack and round',
  },
  streams: {
    flag: 'streams',
    kind: 'int',
    default: '10000',
    min: 1,
    max: 19_000,
    help: 'streams opened per stack and round',
  },
  rounds: {
    flag: 'rounds',
    kind: 'int',
    default: '2',
    min: 1,
    max: 100,
    help: 'rounds over the four stacks',
  },
  serve: {
    flag: 'serve',
    kind: 'string',
    default: '',
    choices: ['', ...STACKS],
    help: 'internal: serve this stack and print its port (the process each stack runs in)',
  },
} as const;

const ANSWER = { delivered: 0 };
const OPENED = 'open';

/** A stream's first event, then nothing more until the client leaves. */
const openStream = (): Observable<MessageEvent> => concat(of({ data: OPENED }), NEVER);

class UsernameQuery {
  @IsString()
  @Length(1, 64)
  @Matches(/^[A-Za-z0-9_.-]+$/)
  username!: string;
}

@Controller('v2')
class PlainController {
  @Post('message')
  publish(@Query('username') username: string, @Body() body: string): typeof ANSWER {
    if (!username || typeof body !== 'string') {
      throw new Error('unexpected request');
    }
    return ANSWER;
  }

  @Sse('sse')
  stream(@Query('username') username: string): Observable<MessageEvent> {
    if (!username) {
      throw new Error('unexpected request');
    }
    return openStream();
  }
}

@Controller('v2')
class ValidatedController {
  @Post('message')
  publish(@Query() query: UsernameQuery, @Body() body: string): typeof ANSWER {
    if (!query.username || typeof body !== 'string') {
      throw new Error('unexpected request');
    }
    return ANSWER;
  }

  @Sse('sse')
  stream(@Query() query: UsernameQuery): Observable<MessageEvent> {
    if (!query.username) {
      throw new Error('unexpected request');
    }
    return openStream();
  }
}

@Module({ controllers: [PlainController] })
class PlainModule {}

@Module({ controllers: [ValidatedController] })
class ValidatedModule {}

async function serve(stack: Stack): Promise<http.Server> {
  switch (stack) {
    case 'node-http': {
      const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (req.method === 'GET' && url.pathname === '/v2/sse' && url.searchParams.get('username')) {
          res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
          res.write(`data: ${OPENED}\n\n`);
          return;
        }
        if (req.method !== 'POST' || url.pathname !== '/v2/message' || !url.searchParams.get('username')) {
          res.writeHead(404).end();
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          Buffer.concat(chunks).toString('utf8');
          const text = JSON.stringify(ANSWER);
          res.writeHead(201, {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(text),
          });
          res.end(text);
        });
      });
      return listen(server);
    }
    case 'express': {
      const app = express();
      app.disable('x-powered-by');
      app.set('etag', false);
      app.post('/v2/message', express.text(), (req, res) => {
        if (!req.query.username || typeof req.body !== 'string') {
          throw new Error('unexpected request');
        }
        res.status(201).json(ANSWER);
      });
      app.get('/v2/sse', (req, res) => {
        if (!req.query.username) {
          throw new Error('unexpected request');
        }
        res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.write(`data: ${OPENED}\n\n`);
      });
      return listen(http.createServer(app));
    }
    case 'nest':
    case 'nest-validated': {
      const app = await NestFactory.create(
        stack === 'nest' ? PlainModule : ValidatedModule,
        new ExpressAdapter(),
        { logger: false, bodyParser: false },
      );
      app.use(express.text());
      const expressApp = app.getHttpAdapter().getInstance() as express.Express;
      expressApp.disable('x-powered-by');
      expressApp.set('etag', false);
      if (stack === 'nest-validated') {
        app.useGlobalPipes(
          new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
        );
      }
      await app.listen(0, '127.0.0.1');
      return app.getHttpServer() as http.Server;
    }
  }
}

function listen(server: http.Server): Promise<http.Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** User + system CPU of a process so far, in µs (from /proc: 10 ms steps). */
function cpuMicros(pid: number): number {
  return (readProcCpuMs(pid) ?? Number.NaN) * 1_000;
}

/** Sends `count` POSTs, `depth` in flight on each of 2 connections; resolves when all are answered. */
function load(port: number, count: number, depth = 32): Promise<void> {
  return new Promise((resolve, reject) => {
    const publisher = new PipelinedPublisher('127.0.0.1', port, 2, depth);
    let sent = 0;
    let answered = 0;
    const pump = (): void => {
      for (let free = publisher.capacity; free > 0 && sent < count; free--) {
        const n = sent++;
        publisher.post(`/v2/message?username=u${n % 10_000}`, 'text/plain', `hello ${n}`, (ok, reason) => {
          if (!ok) {
            publisher.destroy();
            reject(new Error(`request ${n} failed: ${reason}`));
            return;
          }
          answered += 1;
          if (answered === count) {
            publisher.destroy();
            resolve();
          } else {
            setImmediate(pump);
          }
        });
      }
    };
    pump();
  });
}

/**
 * Opens `count` streams, `inFlight` connects at a time; resolves with the sockets once each has its
 * `200` head (the caller closes them). Raw sockets, so the client costs little next to the server.
 */
function openStreams(port: number, count: number, inFlight = 500): Promise<net.Socket[]> {
  return new Promise((resolve, reject) => {
    const sockets: net.Socket[] = [];
    let started = 0;
    let open = 0;
    const next = (): void => {
      const n = started++;
      const socket = net.connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n')) {
          return;
        }
        socket.off('data', onData);
        socket.resume(); // read on, and drop, whatever follows
        if (!head.startsWith('HTTP/1.1 200')) {
          reject(new Error(`stream ${n}: ${head.split('\r\n')[0]}`));
          return;
        }
        open += 1;
        if (open === count) {
          resolve(sockets);
        } else if (started < count) {
          next();
        }
      };
      socket.on('data', onData);
      socket.once('error', (error) => reject(new Error(`stream ${n}: ${error.message}`)));
      socket.write(
        `GET /v2/sse?username=u${n} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      );
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) {
      next();
    }
  });
}

interface Figures {
  /** Requests answered (publish) or streams opened (open) per second. */
  perSecond: number;
  /** Server CPU per request or per stream, in µs. */
  cpuPer: number;
}

type Load = 'publish' | 'open';

async function measure(stack: Stack, requests: number, streams: number): Promise<Record<Load, Figures>> {
  const child: ChildProcess = spawn(process.execPath, [__filename, `--serve=${stack}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${stack} server exited (${code}) before listening`)));
  });
  const timed = async (work: () => Promise<unknown>, count: number): Promise<Figures> => {
    const cpuBefore = cpuMicros(child.pid!);
    const started = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { perSecond: count / seconds, cpuPer: (cpuMicros(child.pid!) - cpuBefore) / count };
  };
  try {
    // Warm-up for both paths: the JIT, the connections.
    await load(port, Math.min(5_000, requests));
    for (const socket of await openStreams(port, Math.min(1_000, streams))) {
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const publish = await timed(() => load(port, requests), requests);
    let sockets: net.Socket[] = [];
    const open = await timed(async () => {
      sockets = await openStreams(port, streams);
    }, streams);
    for (const socket of sockets) {
      socket.destroy();
    }
    return { publish, open };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const settings = parseSettings(FLOOR_SETTINGS, process.argv.slice(2));
  if (settings.help) {
    process.stdout.write(
      helpText(FLOOR_SETTINGS, 'npm run bench:floor [-- --requests=N --streams=N --rounds=N]'),
    );
    return;
  }
  if (settings.serve !== '') {
    const server = await serve(settings.serve as Stack);
    process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
    return;
  }
  const nodeWarning = nodeVersionWarning();
  if (nodeWarning) {
    process.stderr.write(`[floor] ${nodeWarning}\n`);
  }
  const { requests, streams, rounds } = settings;
  const results = new Map<Stack, Record<Load, Figures[]>>();
  for (let round = 1; round <= rounds; round++) {
    for (const stack of STACKS) {
      process.stderr.write(
        `[floor] round ${round}/${rounds}: ${stack}, ${requests} pipelined POSTs, then ${streams} streams…\n`,
      );
      const { publish, open } = await measure(stack, requests, streams);
      process.stderr.write(
        `[floor]   ${Math.round(publish.perSecond)} requests/s, ${publish.cpuPer.toFixed(1)} µs server CPU per request; ` +
          `${streams} streams open in ${(streams / open.perSecond).toFixed(2)} s, ${open.cpuPer.toFixed(1)} µs server CPU per stream\n`,
      );
      const entry = results.get(stack) ?? { publish: [], open: [] };
      entry.publish.push(publish);
      entry.open.push(open);
      results.set(stack, entry);
    }
  }
  const base = results.get('node-http')!;
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const range = (values: number[], digits: number): number[] => [
    +Math.min(...values).toFixed(digits),
    +Math.max(...values).toFixed(digits),
  ];
  process.stderr.write('[floor] summary (ranges over the rounds; ratios of the means to node-http)\n');
  for (const [stack, figures] of results) {
    const line: Record<string, unknown> = { stack };
    for (const kind of ['publish', 'open'] as const) {
      const perSecond = figures[kind].map((f) => f.perSecond);
      const cpu = figures[kind].map((f) => f.cpuPer);
      const basePerSecond = base[kind].map((f) => f.perSecond);
      const baseCpu = base[kind].map((f) => f.cpuPer);
      line[kind] = {
        perSecond: range(perSecond, 0),
        cpuMicros: range(cpu, 1),
        throughputRatio: +(mean(perSecond) / mean(basePerSecond)).toFixed(2),
        cpuRatio: +(mean(cpu) / mean(baseCpu)).toFixed(2),
      };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[floor] ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
