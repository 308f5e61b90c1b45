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
 * It shows the floor the gateway's own publish path stands on: whatever the gateway does, it cannot
 * answer a request for less than `nest-validated` costs.
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/framework-floor.js [--requests=40000] [--rounds=2]
 */
import 'reflect-metadata';
import { Body, Controller, Module, Post, Query, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IsString, Length, Matches } from 'class-validator';
import express from 'express';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { PipelinedPublisher } from './pipelined-publisher';

const STACKS = ['node-http', 'express', 'nest', 'nest-validated'] as const;
type Stack = (typeof STACKS)[number];

const ANSWER = { delivered: 0 };

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
        if (req.method !== 'POST' || url.pathname !== '/v2/message' || !url.searchParams.get('username')) {
          res.writeHead(404).end();
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          Buffer.concat(chunks).toString('utf8');
          const text = JSON.stringify(ANSWER);
          res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
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
        app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
      }
      await app.listen(0, '127.0.0.1');
      return app.getHttpServer() as http.Server;
    }
  }
}

function listen(server: http.Server): Promise<http.Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** User + system CPU of a process so far, in µs (from /proc; clock ticks are 10 ms here). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.split('=')[1]) : fallback;
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

async function measure(stack: Stack, requests: number): Promise<{ perSecond: number; cpuPerRequest: number }> {
  const child: ChildProcess = spawn(process.execPath, [__filename, `--serve=${stack}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${stack} server exited (${code}) before listening`)));
  });
  try {
    await load(port, Math.min(5_000, requests)); // warm-up: the JIT, the connections
    const cpuBefore = cpuMicros(child.pid!);
    const started = process.hrtime.bigint();
    await load(port, requests);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = cpuMicros(child.pid!) - cpuBefore;
    return { perSecond: requests / seconds, cpuPerRequest: cpu / requests };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const serveArg = process.argv.find((a) => a.startsWith('--serve='));
  if (serveArg) {
    const server = await serve(serveArg.split('=')[1] as Stack);
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
    return;
  }
  const requests = flag('requests', 40_000);
  const rounds = flag('rounds', 2);
  const results = new Map<Stack, { perSecond: number[]; cpu: number[] }>();
  for (let round = 1; round <= rounds; round++) {
    for (const stack of STACKS) {
      process.stderr.write(`[floor] round ${round}/${rounds}: ${stack}, ${requests} pipelined POSTs…\n`);
      const { perSecond, cpuPerRequest } = await measure(stack, requests);
      process.stderr.write(
        `[floor]   ${Math.round(perSecond)} requests/s, ${cpuPerRequest.toFixed(1)} µs server CPU per request\n`,
      );
      const entry = results.get(stack) ?? { perSecond: [], cpu: [] };
      entry.perSecond.push(perSecond);
      entry.cpu.push(cpuPerRequest);
      results.set(stack, entry);
    }
  }
  const base = results.get('node-http')!;
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  process.stderr.write('[floor] summary (ranges over the rounds; ratio of means to node-http)\n');
  for (const [stack, { perSecond, cpu }] of results) {
    const line = {
      stack,
      requestsPerSecond: [Math.round(Math.min(...perSecond)), Math.round(Math.max(...perSecond))],
      cpuMicrosPerRequest: [+Math.min(...cpu).toFixed(1), +Math.max(...cpu).toFixed(1)],
      throughputRatio: +(mean(perSecond) / mean(base.perSecond)).toFixed(2),
      cpuRatio: +(mean(cpu) / mean(base.cpu)).toFixed(2),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[floor] ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
