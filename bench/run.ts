/**
 * Benchmark orchestrator (`npm run bench`, after the server and the bench are built).
 *
 * For every scenario and every target it starts a fresh server process on a free port, waits until
 * GET /health answers 200, runs the load generator (dist-bench/bench/loadgen.js) as a separate process,
 * stops the server with SIGTERM (SIGKILL after 10 s) and prints exactly one JSON line on stdout.
 * Progress and a human-readable summary go to stderr, so `npm run bench > results.jsonl` keeps the data.
 *
 * Targets: `gateway` (node dist/main.js, with the node flags of package.json's `start`) and `baseline-node-http` (dist-bench/bench/baseline-server.js,
 * the plain node:http reference). The gateway runs on a fresh PostgreSQL database on BENCH_REPORTS_PG_URL's
 * server (dropped afterwards), or on embedded PGlite in a temp DATA_DIR when that server is not there.
 *
 * Scenarios: broadcast-10k, direct-10k, direct-pipelined (10,000 user streams, then 20,000 messages, one
 * POST /v2/message each, pipelined up to 32 deep on each of 2 keep-alive connections: messages/s from the first
 * POST to the last answer or delivery, whichever is later, and server CPU per message), direct-batched (the same
 * with 200,000 messages, 100 per POST /publish; gateway only: the summary divides its msg/s by direct-pipelined's
 * of both targets in the same run), open-10k (10,000 user
 * streams opened with 500 connects in flight: the time, and the server's CPU while they opened), streams-19k
 * (19,000 /events streams, as many as the 20,000 open files a process may have here allow: time to open them,
 * RSS per stream after they idled, server CPU per keep-alive round while idle, a broadcast to all of them),
 * latency-250 (250 streams, 200 msg/s) and slow-readers
 * (latency-250 with 4096-byte messages plus 25 stalled readers that never read: does the server drop
 * them, and do the healthy readers keep their latency? see loadgen.ts), and kafka-latency: a real
 * single-node Kafka broker (scripts/kafka-broker.js; jars fetched once with Maven), the gateway with
 * KAFKA_BROKERS (the load starts once /health/ready is 200), 1,000 /v3/sse user streams and an
 * independent kafkajs producer writing 1,000 records/s to v3_messages for 60 s: produce -> SSE latency,
 * loss, duplicates, order (see kafka-loadgen.ts). Gateway only: the node:http baseline has no Kafka bus
 * (the line carries a Kafka-only baseline instead: produce -> a plain kafkajs consumer). And
 * reports-transitions: the gateway on PostgreSQL (a fresh database on BENCH_REPORTS_PG_URL's server, dropped
 * afterwards), then on PGlite (its own temp DATA_DIR), one JSON line each (`store`): 200 users with one /v4/sse
 * stream and one report each, PUTs around pending -> queued -> processing -> failed at 2,000/s for 20 s:
 * PUT -> SSE latency through the transactional outbox, loss, duplicates, order (see reports-loadgen.ts).
 * Gateway only.
 *
 * Env: BENCH_CONNECTIONS (10000), BENCH_SECONDS (10), BENCH_TARGETS (gateway,baseline-node-http),
 *      BENCH_SCENARIOS (broadcast-10k,direct-10k,latency-250,slow-readers,kafka-latency,reports-transitions),
 *      BENCH_CONNECT_CONCURRENCY (256),
 *      BENCH_PAYLOAD_BYTES (0), BENCH_WARMUP_SECONDS (1: publishing before the measured window),
 *      BENCH_PUBLISH_CONCURRENCY (0 = per scenario: broadcast 8, direct 16, latency 16 POSTs in flight),
 *      BENCH_SSE_CLIENT (net: streams read over plain TCP with our own HTTP/1.1 + SSE decoder; http: node:http
 *      client, about twice the CPU per event), BENCH_LOG_DIR (dist-bench/logs: server output of each run),
 *      BENCH_SERVER_NODE_ARGS (extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 *      BENCH_STALLED (25: stalled readers in slow-readers; 0 = the same load without them, as a control),
 *      BENCH_IDLE_SECONDS (30: in the 10k scenarios, a second memory reading after the streams have idled
 *      this long; kB/conn is read 2 s after they opened, idle kB/conn after this; 0 = no second reading),
 *      BENCH_KAFKA_SECONDS (60), BENCH_KAFKA_RATE (1000 records/s), BENCH_KAFKA_USERS (1000): kafka-latency's
 *      own window, rate and streams (BENCH_SECONDS and BENCH_CONNECTIONS do not apply to it),
 *      BENCH_KAFKA_BASELINE (1; 0 = no plain kafkajs consumer beside the streams),
 *      BENCH_GATEWAY_MAIN (dist/main.js: the gateway entry point, e.g. a patched build for an A/B run),
 *      BENCH_REPORTS_SECONDS (20), BENCH_REPORTS_RATE (2000 PUT/s), BENCH_REPORTS_USERS (200),
 *      BENCH_REPORTS_IN_FLIGHT (64 PUTs), BENCH_REPORTS_STORES (postgres,pglite), BENCH_REPORTS_WARMUP_SECONDS (5:
 *      a cold gateway needs a few seconds of load before its latency settles),
 *      BENCH_REPORTS_PG_URL (postgres://postgres@127.0.0.1:5432/test: where the bench database is created).
 *      BENCH_PUBLISH_PIPELINE (0 = the scenario's own: direct-pipelined and direct-batched 32, the others use node:http's agent),
 *      BENCH_PUBLISH_CONNECTIONS (2: pipelining connections), BENCH_MESSAGES (direct-pipelined: 20000,
 *      direct-batched: 200000),
 *      BENCH_MAX_STREAMS (streams-19k: 19000). open-10k takes BENCH_CONNECT_CONCURRENCY too (its default: 500).
 * Flags: --connections=N --seconds=S --targets=a,b --scenarios=x,y (and --kafka-seconds=S etc.: the env
 * names without BENCH_, in lower case with dashes) override the env: `npm run bench -- --scenarios=kafka-latency`.
 * `--name value` works as `--name=value`, and `--only x,y` is `--scenarios=x,y`. After the table, the summary
 * prints each scenario's figures as a ratio to the node:http baseline's in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { createRequire } from 'node:module';

import { Client } from 'pg';

import type * as KafkaBrokerScript from '../scripts/kafka-broker';
import type { KafkaLoadgenArgs } from './kafka-loadgen';
import type { LoadgenArgs } from './loadgen';
import { SCENARIOS as SSE_SCENARIOS, type ScenarioName as SseScenarioName } from './scenarios';
import type { ReportsLoadgenArgs, ReportsStore } from './reports-loadgen';
import { MULTIPLEX_SCENARIO, runMultiplexBench } from './multiplex-bench';
import { nodeVersionWarning } from './proc';

const ROOT = path.resolve(__dirname, '..', '..');
type ScenarioName = SseScenarioName | 'kafka-latency' | 'reports-transitions' | typeof MULTIPLEX_SCENARIO;
const SCENARIO_NAMES: readonly ScenarioName[] = [
  ...SSE_SCENARIOS,
  'kafka-latency',
  'reports-transitions',
  MULTIPLEX_SCENARIO,
];
const TARGETS = ['gateway', 'baseline-node-http'] as const;
type Target = (typeof TARGETS)[number];

interface Options {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  targets: Target[];
  scenarios: ScenarioName[];
  connectConcurrency: number;
  payloadBytes: number;
  publishConcurrency: number;
  sseClient: 'net' | 'http';
  /** Extra node flags for the server process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  serverNodeArgs: string[];
  logDir: string;
  /** Stalled readers in slow-readers. */
  stalled: number;
  /** 10k scenarios: seconds of idling before the second memory reading. */
  idleSeconds: number;
  /** kafka-latency: measured window, records per second, user streams, Kafka-only baseline on/off. */
  kafkaSeconds: number;
  kafkaRate: number;
  kafkaUsers: number;
  kafkaBaseline: boolean;
  /** The gateway's entry point (dist/main.js unless BENCH_GATEWAY_MAIN names another build). */
  gatewayMain: string;
  /** reports-transitions: measured window, PUTs per second, users, PUTs in flight, stores, PG server. */
  reportsSeconds: number;
  reportsRate: number;
  reportsUsers: number;
  reportsInFlight: number;
  reportsWarmupSeconds: number;
  reportsStores: ReportsStore[];
  reportsPgUrl: string;
  /** Pipelined POSTs per connection and connections for publishing (0 = the scenario's default). */
  publishPipeline: number;
  publishConnections: number;
  /** direct-pipelined, direct-batched: messages measured (0 = their defaults, 20,000 and 200,000). */
  messages: number;
  /** open-10k: connects in flight (500 unless BENCH_CONNECT_CONCURRENCY or a flag says otherwise). */
  openConcurrency: number;
  /** streams-19k: streams opened. */
  maxStreams: number;
}

/** The gateway's keep-alive comment interval on /events, set explicitly so CPU per round is known. */
const BROADCAST_PING_MS = 10_000;

type Result = Record<string, unknown>;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function parseOptions(): Options {
  const flags = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    // --name=value or --name value
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i]);
    const value = m?.[2] ?? argv[i + 1];
    if (!m || value === undefined || (m[2] === undefined && value.startsWith('--'))) {
      throw new Error(
        `unknown argument ${argv[i]} (use --connections=N --seconds=S --targets=a,b --only x,y)`,
      );
    }
    if (m[2] === undefined) {
      i++;
    }
    // --only is --scenarios
    flags.set(m[1] === 'only' ? 'scenarios' : m[1], value);
  }
  const pick = (flag: string, env: string, def: string): string => flags.get(flag) ?? process.env[env] ?? def;
  const list = (s: string): string[] =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);

  const targets = list(pick('targets', 'BENCH_TARGETS', TARGETS.join(',')));
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      throw new Error(`unknown target ${t}; known: ${TARGETS.join(', ')}`);
    }
  }
  const scenarios = list(pick('scenarios', 'BENCH_SCENARIOS', SCENARIO_NAMES.join(',')));
  for (const s of scenarios) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) {
      throw new Error(`unknown scenario ${s}; known: ${SCENARIO_NAMES.join(', ')}`);
    }
  }
  const num = (flag: string, env: string, def: number, min: number, max: number): number => {
    const v = Number(pick(flag, env, String(def)));
    if (!Number.isFinite(v) || v < min || v > max) {
      throw new Error(`${env} must be a number in [${min}, ${max}]`);
    }
    return v;
  };
  return {
    connections: Math.floor(num('connections', 'BENCH_CONNECTIONS', 10_000, 1, 18_000)),
    seconds: num('seconds', 'BENCH_SECONDS', 10, 1, 120),
    warmupSeconds: num('warmup-seconds', 'BENCH_WARMUP_SECONDS', 1, 0, 30),
    targets: targets as Target[],
    scenarios: scenarios as ScenarioName[],
    connectConcurrency: Math.floor(num('connect-concurrency', 'BENCH_CONNECT_CONCURRENCY', 256, 1, 5000)),
    payloadBytes: Math.floor(num('payload-bytes', 'BENCH_PAYLOAD_BYTES', 0, 0, 60_000)),
    publishConcurrency: Math.floor(num('publish-concurrency', 'BENCH_PUBLISH_CONCURRENCY', 0, 0, 256)),
    sseClient: pick('sse-client', 'BENCH_SSE_CLIENT', 'net') === 'http' ? 'http' : 'net',
    serverNodeArgs: list(pick('server-node-args', 'BENCH_SERVER_NODE_ARGS', '').replace(/\s+/g, ',')),
    logDir: pick('log-dir', 'BENCH_LOG_DIR', path.join(ROOT, 'dist-bench', 'logs')),
    stalled: Math.floor(num('stalled', 'BENCH_STALLED', 25, 0, 1000)),
    idleSeconds: Math.floor(num('idle-seconds', 'BENCH_IDLE_SECONDS', 30, 0, 300)),
    kafkaSeconds: num('kafka-seconds', 'BENCH_KAFKA_SECONDS', 60, 1, 600),
    kafkaRate: num('kafka-rate', 'BENCH_KAFKA_RATE', 1000, 1, 100_000),
    kafkaUsers: Math.floor(num('kafka-users', 'BENCH_KAFKA_USERS', 1000, 1, 10_000)),
    kafkaBaseline: pick('kafka-baseline', 'BENCH_KAFKA_BASELINE', '1') !== '0',
    gatewayMain: path.resolve(ROOT, pick('gateway-main', 'BENCH_GATEWAY_MAIN', path.join('dist', 'main.js'))),
    reportsSeconds: num('reports-seconds', 'BENCH_REPORTS_SECONDS', 20, 1, 600),
    reportsRate: num('reports-rate', 'BENCH_REPORTS_RATE', 2000, 1, 100_000),
    reportsUsers: Math.floor(num('reports-users', 'BENCH_REPORTS_USERS', 200, 1, 10_000)),
    reportsInFlight: Math.floor(num('reports-in-flight', 'BENCH_REPORTS_IN_FLIGHT', 64, 1, 1024)),
    reportsWarmupSeconds: num('reports-warmup-seconds', 'BENCH_REPORTS_WARMUP_SECONDS', 5, 0, 60),
    reportsStores: list(pick('reports-stores', 'BENCH_REPORTS_STORES', 'postgres,pglite')).map((s) => {
      if (s !== 'postgres' && s !== 'pglite') {
        throw new Error(`unknown store ${s}; known: postgres, pglite`);
      }
      return s;
    }),
    reportsPgUrl: pick('reports-pg-url', 'BENCH_REPORTS_PG_URL', 'postgres://postgres@127.0.0.1:5432/test'),
    publishPipeline: Math.floor(num('publish-pipeline', 'BENCH_PUBLISH_PIPELINE', 0, 0, 1024)),
    publishConnections: Math.floor(num('publish-connections', 'BENCH_PUBLISH_CONNECTIONS', 0, 0, 64)),
    messages: Math.floor(num('messages', 'BENCH_MESSAGES', 0, 0, 10_000_000)),
    openConcurrency: Math.floor(num('connect-concurrency', 'BENCH_CONNECT_CONCURRENCY', 500, 1, 5000)),
    // the open-files limit is 20,000 per process: the load generator holds every stream plus a few more
    maxStreams: Math.floor(num('max-streams', 'BENCH_MAX_STREAMS', 19_000, 1, 19_500)),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function healthStatus(port: number, healthPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: healthPath, agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Children we started, so an interrupted run can stop exactly those (by PID). */
const running = new Set<ChildProcess>();

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
  });
}

interface StartedServer {
  child: ChildProcess;
  port: number;
  logFile: string;
}

interface ServerExtras {
  /** undefined removes a variable of this process's environment. */
  env?: Record<string, string | undefined>;
  /** Log file name without .log (default `<target>-<scenario>`). */
  logName?: string;
  /** Polled until it answers 200 (kafka-latency: /health/ready, which waits for Kafka). */
  healthPath?: string;
  readyTimeoutMs?: number;
}

/** The node flags in package.json's `start` script (`node <flags> dist/main.js`). */
function gatewayStartFlags(): string[] {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const flags = /^node((?:\s+--\S+)*)\s+dist\/main\.js$/.exec(scripts.start)?.[1];
  if (flags === undefined) {
    throw new Error(`package.json "start" is not \`node <flags> dist/main.js\`: ${scripts.start}`);
  }
  return flags.split(/\s+/).filter(Boolean);
}

async function startServer(
  target: Target,
  scenario: ScenarioName,
  opts: Options,
  extras: ServerExtras = {},
): Promise<StartedServer> {
  const { healthPath = '/health', readyTimeoutMs = 30_000 } = extras;
  const port = await freePort();
  const script =
    target === 'gateway' ? opts.gatewayMain : path.join(ROOT, 'dist-bench', 'bench', 'baseline-server.js');
  if (!fs.existsSync(script)) {
    throw new Error(`${path.relative(ROOT, script)} does not exist (build first: npm run bench builds both)`);
  }
  fs.mkdirSync(opts.logDir, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
  const logFile = path.join(opts.logDir, `${extras.logName ?? `${target}-${scenario}`}.log`);
  const fd = fs.openSync(logFile, 'w');
  log(`starting ${target} on port ${port}…`);
  // The gateway runs with the node flags of `npm start` (its memory settings); the baseline with plain node.
  const nodeArgs =
    target === 'gateway' ? [...gatewayStartFlags(), ...opts.serverNodeArgs] : opts.serverNodeArgs;
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      // The open service, as measured before access control existed; production insists on a choice.
      AUTH_MODE: 'off',
      // Each run its own embedded store, so runs never share (or lock) ./data.
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SSE_MAX_CONNECTIONS: '25000',
      SSE_MAX_CONNECTIONS_PER_USER: '10',
      ...extras.env,
    },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const started = performance.now();
  while (performance.now() - started < readyTimeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${target} exited (${child.exitCode ?? child.signalCode}) before answering ${healthPath}; see ${logFile}`,
      );
    }
    if ((await healthStatus(port, healthPath)) === 200) {
      log(
        `${target} is up (pid ${child.pid}, ${healthPath} 200 after ${Math.round(performance.now() - started)} ms)`,
      );
      return { child, port, logFile };
    }
    await sleep(100);
  }
  await stopServer(child);
  throw new Error(
    `${target} did not answer ${healthPath} with 200 within ${readyTimeoutMs / 1000} s; see ${logFile}`,
  );
}

async function stopServer(child: ChildProcess): Promise<{ exit: number | string | null; stop_ms: number }> {
  const t = performance.now();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const done = exited(child);
    await Promise.race([done, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) {
      log(`pid ${child.pid} did not exit 10 s after SIGTERM; sending SIGKILL`);
      child.kill('SIGKILL');
      await done;
    }
  }
  return { exit: child.exitCode ?? child.signalCode, stop_ms: Math.round(performance.now() - t) };
}

/** Runs a load generator script (loadgen.js, kafka-loadgen.js) and resolves to its JSON result line. */
function runLoadgen(scriptName: string, args: object, limitMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const script = path.join(__dirname, scriptName);
    const child = spawn(process.execPath, ['--max-old-space-size=4096', script, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    running.add(child);
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      out += s;
    });
    const killer = setTimeout(() => {
      log(`load generator still running after ${limitMs / 1000} s; killing pid ${child.pid}`);
      child.kill('SIGKILL');
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      running.delete(child);
      const line = out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('{'))
        .pop();
      if (line !== undefined) {
        try {
          resolve(JSON.parse(line) as Result);
          return;
        } catch {
          // fall through to the error result
        }
      }
      resolve({ error: `load generator exited (${code ?? signal}) without a result` });
    });
  });
}

/**
 * A fresh PostgreSQL database on BENCH_REPORTS_PG_URL's server for one gateway run, and a function that
 * drops it; null when the server cannot be reached (the gateway then runs on embedded PGlite).
 */
async function benchDatabase(
  opts: Options,
  purpose: string,
): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const admin = async (statement: string): Promise<void> => {
    const client = new Client(opts.reportsPgUrl);
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const database = `bench_${purpose}_${process.pid}_${Date.now().toString(36)}`;
  try {
    await admin(`CREATE DATABASE ${database}`);
  } catch (err) {
    log(`no PostgreSQL at ${new URL(opts.reportsPgUrl).host} (${String(err)})`);
    return null;
  }
  const url = new URL(opts.reportsPgUrl);
  url.pathname = `/${database}`;
  log(`created database ${database} (dropped after the run)`);
  return {
    url: url.toString(),
    drop: () =>
      admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).then(
        () => log(`dropped database ${database}`),
        (err: unknown) => log(`could not drop database ${database}: ${String(err)}`),
      ),
  };
}

async function runOne(target: Target, scenario: SseScenarioName, opts: Options): Promise<Result> {
  // The gateway on PostgreSQL when it is there: embedded PGlite's own memory settles for tens of seconds
  // after start-up, which would blur the per-connection RSS figures.
  const database = target === 'gateway' ? await benchDatabase(opts, 'sse') : null;
  if (target === 'gateway' && database === null) {
    log('the gateway runs on embedded PGlite: RSS per connection includes its settling');
  }
  try {
    return await runOneOn(target, scenario, opts, database?.url);
  } finally {
    await database?.drop();
  }
}

async function runOneOn(
  target: Target,
  scenario: SseScenarioName,
  opts: Options,
  databaseUrl: string | undefined,
): Promise<Result> {
  let server: StartedServer;
  try {
    server = await startServer(target, scenario, opts, {
      env: { DATABASE_URL: databaseUrl, BROADCAST_PING_MS: String(BROADCAST_PING_MS) },
    });
  } catch (err) {
    return { scenario, target, error: err instanceof Error ? err.message : String(err) };
  }
  const small = scenario === 'latency-250' || scenario === 'slow-readers';
  const connections = small
    ? Math.min(250, opts.connections)
    : scenario === 'streams-19k'
      ? opts.maxStreams
      : opts.connections;
  log(
    `scenario ${scenario}: connecting ${connections}` +
      (scenario === 'slow-readers' ? ` (+ ${opts.stalled} stalled)` : '') +
      '…',
  );
  let result: Result = {};
  try {
    const args: LoadgenArgs = {
      scenario,
      target,
      host: '127.0.0.1',
      port: server.port,
      serverPid: server.child.pid ?? 0,
      connections: scenario === 'streams-19k' ? opts.maxStreams : opts.connections,
      seconds: opts.seconds,
      warmupSeconds: opts.warmupSeconds,
      tailSeconds: 10,
      connectConcurrency: scenario === 'open-10k' ? opts.openConcurrency : opts.connectConcurrency,
      publishPipeline: opts.publishPipeline,
      publishConnections: opts.publishConnections,
      messages: opts.messages,
      // /events streams get a keep-alive comment every BROADCAST_PING_MS; the baseline sends none
      keepAliveMs:
        target === 'gateway' && (scenario === 'broadcast-10k' || scenario === 'streams-19k')
          ? BROADCAST_PING_MS
          : 0,
      payloadBytes: opts.payloadBytes,
      publishConcurrency: opts.publishConcurrency,
      sseClient: opts.sseClient,
      stalled: opts.stalled,
      idleSeconds: opts.idleSeconds,
    };
    // connect (≤180 s) + settle + publish + drain (≤10 s) + tail (≤10 s), with margin
    result = await runLoadgen(
      'loadgen.js',
      args,
      (240 + opts.idleSeconds + args.warmupSeconds + args.seconds + args.tailSeconds) * 1000,
    );
  } finally {
    result = { scenario, target, ...result, ...(await stopAndReport(target, server)) };
  }
  return result;
}

/** scripts/kafka-broker.js is plain CommonJS beside the sources, not compiled into dist-bench. */
function kafkaBrokerScript(): typeof KafkaBrokerScript {
  return createRequire(__filename)(path.join(ROOT, 'scripts', 'kafka-broker.js')) as typeof KafkaBrokerScript;
}

/**
 * kafka-latency: a fresh broker (fresh temp data dir, so the topic holds only this run's records), the
 * gateway on it, the Kafka load generator; then the gateway and the broker stop, in that order.
 */
async function runKafka(opts: Options): Promise<Result> {
  const scenario = 'kafka-latency';
  const target = 'gateway';
  const { ensureKafkaJars, startBroker } = kafkaBrokerScript();
  fs.mkdirSync(opts.logDir, { recursive: true });
  const brokerLog = path.join(opts.logDir, `kafka-broker-${scenario}.log`);
  const brokerOut = fs.createWriteStream(brokerLog);
  // If this process is interrupted instead, kafka-broker.js's own exit hook kills the broker (by its pid).
  let broker: KafkaBrokerScript.RunningBroker | null = null;
  let server: StartedServer | null = null;
  let result: Result = {};
  const stops: Result = {};
  try {
    await ensureKafkaJars({ log: (line) => log(line) });
    log('starting a single-node Kafka broker…');
    const started = performance.now();
    broker = await startBroker({
      log: (line) => log(line),
      onOutput: (line) => brokerOut.write(line + '\n'),
      onExit: (code, signal) =>
        log(`the Kafka broker exited on its own (${code ?? signal}); see ${brokerLog}`),
    });
    log(
      `Kafka broker up on ${broker.brokers} (pid ${broker.pid}, ${Math.round(performance.now() - started)} ms)`,
    );
    server = await startServer(target, scenario, opts, {
      env: { KAFKA_BROKERS: broker.brokers, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      healthPath: '/health/ready',
      readyTimeoutMs: 60_000,
    });
    const args: KafkaLoadgenArgs = {
      scenario,
      target,
      host: '127.0.0.1',
      port: server.port,
      serverPid: server.child.pid ?? 0,
      brokers: broker.brokers,
      brokerPid: broker.pid,
      topic: 'v3_messages',
      users: opts.kafkaUsers,
      rate: opts.kafkaRate,
      seconds: opts.kafkaSeconds,
      warmupSeconds: opts.warmupSeconds,
      graceSeconds: 5,
      connectConcurrency: opts.connectConcurrency,
      baselineConsumer: opts.kafkaBaseline,
    };
    log(`scenario ${scenario}: connecting ${args.users} /v3/sse streams…`);
    // connect (≤120 s) + Kafka clients (≤30 s) + settle + produce + grace + disconnect, with margin
    result = await runLoadgen(
      'kafka-loadgen.js',
      args,
      (240 + args.warmupSeconds + args.seconds + args.graceSeconds) * 1000,
    );
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (server) {
      Object.assign(stops, await stopAndReport(target, server));
    }
    if (broker) {
      const t = performance.now();
      await broker.stop();
      stops.broker_stop_ms = Math.round(performance.now() - t);
      log(`Kafka broker stopped (${String(stops.broker_stop_ms)} ms)`);
    }
    brokerOut.end();
    stops.broker_log = path.relative(ROOT, brokerLog);
  }
  return { scenario, target, ...result, ...stops };
}

/**
 * reports-transitions on one store: PostgreSQL in a database made for this run (dropped afterwards, even
 * if the run fails), or PGlite in startServer's own temp DATA_DIR; the gateway, the reports load generator.
 */
async function runReports(opts: Options, store: ReportsStore): Promise<Result> {
  const scenario = 'reports-transitions';
  const target = 'gateway';
  let server: StartedServer | null = null;
  let database: Awaited<ReturnType<typeof benchDatabase>> = null;
  let result: Result = {};
  const stops: Result = {};
  try {
    let databaseUrl = '';
    if (store === 'postgres') {
      database = await benchDatabase(opts, 'reports');
      if (database === null) {
        throw new Error(`PostgreSQL at ${new URL(opts.reportsPgUrl).host} is not reachable`);
      }
      databaseUrl = database.url;
    }
    server = await startServer(target, scenario, opts, {
      env: { DATABASE_URL: store === 'postgres' ? databaseUrl : undefined },
      healthPath: '/health/ready',
      logName: `${target}-${scenario}-${store}`,
    });
    const args: ReportsLoadgenArgs = {
      scenario,
      target,
      store,
      host: '127.0.0.1',
      port: server.port,
      serverPid: server.child.pid ?? 0,
      databaseUrl,
      users: opts.reportsUsers,
      rate: opts.reportsRate,
      seconds: opts.reportsSeconds,
      warmupSeconds: opts.reportsWarmupSeconds,
      graceSeconds: 5,
      connectConcurrency: opts.connectConcurrency,
      inFlight: opts.reportsInFlight,
    };
    log(`scenario ${scenario} on ${store}: ${args.users} users, ${args.rate} PUT/s…`);
    // connect (≤120 s) + reports (≤10 s) + settle + drive + grace, with margin
    result = await runLoadgen(
      'reports-loadgen.js',
      args,
      (240 + args.warmupSeconds + args.seconds + args.graceSeconds) * 1000,
    );
  } catch (err) {
    result = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    if (server) {
      Object.assign(stops, await stopAndReport(target, server));
    }
    await database?.drop();
  }
  return { scenario, target, store, ...result, ...stops };
}

/** Stops a server of a scenario run, and says how it ended, as fields of the scenario's result line. */
async function stopAndReport(target: string, server: StartedServer): Promise<Result> {
  const alive = server.child.exitCode === null && server.child.signalCode === null;
  const stop = await stopServer(server.child);
  log(`${target} stopped (exit ${String(stop.exit)} after ${stop.stop_ms} ms)`);
  return {
    server_alive_at_end: alive,
    server_exit: stop.exit,
    server_stop_ms: stop.stop_ms,
    server_log: path.relative(ROOT, server.logFile),
  };
}

function fmt(v: unknown, digits = 0): string {
  if (typeof v !== 'number') {
    return '-';
  }
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function summary(results: Result[]): void {
  const header = [
    'scenario',
    'target',
    'conns',
    'connect s',
    'events/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'lost',
    'dup',
    'reord',
    'kB/conn',
    'idle kB/conn',
    'srv cpu%',
    'gen cpu%',
    'stalled dropped',
  ];
  const rows = results.map((r) => {
    if (typeof r.error === 'string') {
      return [String(r.scenario), String(r.target), `error: ${r.error}`];
    }
    const lat = (r.latency_ms ?? {}) as Record<string, unknown>;
    const conn = (r.connect_ms ?? {}) as Record<string, unknown>;
    return [
      String(r.scenario),
      String(r.target) + (typeof r.store === 'string' ? `/${r.store}` : ''),
      `${fmt(r.connections_open)}/${fmt(r.connections ?? r.users)}`,
      typeof conn.total === 'number' ? fmt(conn.total / 1000, 2) : '-',
      fmt(r.events_per_s ?? r.produce_per_s ?? r.transitions_per_s),
      fmt(lat.p50, 2),
      fmt(lat.p99, 2),
      fmt(lat.max, 1),
      fmt(r.lost),
      fmt(r.duplicates),
      fmt(r.reordered),
      fmt(r.server_rss_kb_per_conn, 1),
      fmt(r.server_rss_kb_per_conn_settled, 1),
      fmt(r.server_cpu_pct),
      fmt(r.loadgen_cpu_pct),
      stalledCell(r),
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r.length > 3 ? r[i].length : 0))),
  );
  const line = (cells: string[]): string =>
    cells.length <= 3
      ? cells.join('  ')
      : cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  log('summary (events/s = deliveries per second while publishing; latency = publish -> receive)');
  process.stderr.write(`${line(header)}\n`);
  for (const r of rows) {
    process.stderr.write(`${line(r)}\n`);
  }
  requestNotes(results);
  ratios(results);
  kafkaNotes(results);
  reportsNotes(results);
  const notes = results.filter((r) => r.scenario === 'slow-readers' && typeof r.error !== 'string');
  if (notes.length > 0) {
    log(
      "stalled dropped = stalled readers the server closed, as seen by the client (server's own " +
        'sse_slow_reader_disconnects_total in parentheses, "-" = no /metrics)',
    );
  }
  for (const r of notes) {
    const half = (v: unknown): string => {
      const h = (v ?? {}) as Record<string, unknown>;
      return `p50 ${fmt(h.p50, 2)} / p99 ${fmt(h.p99, 2)} / max ${fmt(h.max, 1)} ms`;
    };
    const at = r.stalled_disconnected_at_s as Record<string, unknown> | null | undefined;
    const perS = ((r.latency_ms_per_s ?? {}) as Record<string, unknown>).p99;
    const rss = r.server_rss_mb_per_s;
    process.stderr.write(
      `  slow-readers ${String(r.target)}: ${fmt(r.stalled_disconnected_by_server)}/${fmt(r.stalled)} stalled ` +
        `readers dropped` +
        (at ? ` (noticed ${fmt(at.first, 1)}..${fmt(at.last, 1)} s into the window)` : '') +
        `, ${fmt(r.stalled_still_open_at_end)} still open at the end; server RSS peak ${fmt(r.server_rss_mb_peak, 1)} MB` +
        (Array.isArray(rss) ? ` (per s: ${rss.map((v) => fmt(v)).join(' ')})` : '') +
        `\n    healthy latency, first half: ${half(r.latency_ms_first_half)}; ` +
        `second half: ${half(r.latency_ms_second_half)}` +
        (Array.isArray(perS)
          ? `\n    healthy p99 per second (ms): ${perS.map((v) => fmt(v, 1)).join(' ')}`
          : '') +
        '\n',
    );
  }
}

/** The per-request scenarios and streams-19k: the figures that the table has no column for. */
function requestNotes(results: Result[]): void {
  for (const r of results) {
    if (typeof r.error === 'string') {
      continue;
    }
    const who = String(r.target);
    const conn = (r.connect_ms ?? {}) as Record<string, unknown>;
    const opened =
      `${fmt(r.connections_open)}/${fmt(r.connections)} streams open in ${fmt(Number(conn.total) / 1000, 2)} s ` +
      `(${fmt(r.connect_concurrency)} in flight), server CPU ${fmt(Number(r.connect_server_cpu_ms) / 1000, 2)} s`;
    if (r.scenario === 'direct-pipelined' || r.scenario === 'direct-batched') {
      const post = (r.post_latency_ms ?? {}) as Record<string, unknown>;
      process.stderr.write(
        `  ${r.scenario} ${who}: ${fmt(r.messages_measured)} messages (${String(r.publish_mode)}) in ` +
          `${fmt(r.messages_s, 2)} s = ${fmt(r.messages_per_s)} msg/s; POST p50 ${fmt(post.p50, 2)} / ` +
          `p99 ${fmt(post.p99, 2)} ms; server CPU ${fmt(r.server_cpu_us_per_message)} µs/message; ` +
          `lost ${fmt(r.lost)}, duplicated ${fmt(r.duplicates)}, reordered ${fmt(r.reordered)}, ` +
          `misdelivered ${fmt(r.misdelivered)}, ` +
          `failed ${fmt(r.messages_failed)}\n`,
      );
    } else if (r.scenario === 'open-10k') {
      process.stderr.write(`  open-10k ${who}: ${opened}\n`);
    } else if (r.scenario === 'streams-19k') {
      process.stderr.write(
        `  streams-19k ${who}: ${opened}; RSS per stream ${fmt(r.server_rss_kb_per_conn, 1)} kB 2 s after, ` +
          `${fmt(r.server_rss_kb_per_conn_settled, 1)} kB after ${fmt(r.server_idle_seconds)} s idle ` +
          `(server RSS ${fmt(r.server_rss_mb_settled, 1)} MB); idle CPU ${fmt(r.idle_server_cpu_ms)} ms` +
          (typeof r.idle_cpu_ms_per_keepalive_round === 'number'
            ? ` = ${fmt(r.idle_cpu_ms_per_keepalive_round, 1)} ms per keep-alive round (every ${fmt(r.keepalive_ms)} ms)`
            : '') +
          `; broadcast ${fmt(r.events_per_s)} deliveries/s, lost ${fmt(r.lost)}\n`,
      );
    }
  }
}

/** What each scenario is judged by, and whether more is better. */
const RATIO_FIGURES: Partial<
  Record<ScenarioName, { label: string; higherIsBetter: boolean; of: (r: Result) => unknown }[]>
> = {
  'broadcast-10k': [{ label: 'deliveries/s', higherIsBetter: true, of: (r) => r.events_per_s }],
  'streams-19k': [
    { label: 'deliveries/s', higherIsBetter: true, of: (r) => r.events_per_s },
    { label: 'open time', higherIsBetter: false, of: (r) => (r.connect_ms as Result | undefined)?.total },
    { label: 'idle RSS/stream', higherIsBetter: false, of: (r) => r.server_rss_kb_per_conn_settled },
  ],
  'direct-10k': [{ label: 'msg/s', higherIsBetter: true, of: (r) => r.publish_per_s }],
  'direct-pipelined': [
    { label: 'msg/s', higherIsBetter: true, of: (r) => r.messages_per_s },
    { label: 'server CPU/msg', higherIsBetter: false, of: (r) => r.server_cpu_us_per_message },
  ],
  'open-10k': [
    { label: 'open time', higherIsBetter: false, of: (r) => (r.connect_ms as Result | undefined)?.total },
    { label: 'server CPU', higherIsBetter: false, of: (r) => r.connect_server_cpu_ms },
  ],
  'latency-250': [
    { label: 'p99', higherIsBetter: false, of: (r) => (r.latency_ms as Result | undefined)?.p99 },
  ],
  'slow-readers': [
    { label: 'p99', higherIsBetter: false, of: (r) => (r.latency_ms as Result | undefined)?.p99 },
  ],
};

/** Gateway / baseline for each scenario that ran on both targets in this run. */
function ratios(results: Result[]): void {
  const lines: string[] = [];
  for (const [scenario, figures] of Object.entries(RATIO_FIGURES)) {
    const gateway = results.find((r) => r.scenario === scenario && r.target === 'gateway' && !('error' in r));
    const baseline = results.find(
      (r) => r.scenario === scenario && r.target === 'baseline-node-http' && !('error' in r),
    );
    if (!gateway || !baseline) {
      continue;
    }
    const parts = figures.map(({ label, higherIsBetter, of }) => {
      const g = of(gateway);
      const b = of(baseline);
      if (typeof g !== 'number' || typeof b !== 'number' || b === 0) {
        return `${label} -`;
      }
      return `${label} ${fmt(g / b, 2)}x (${fmt(g, 1)} vs ${fmt(b, 1)}, ${higherIsBetter ? 'higher' : 'lower'} is better)`;
    });
    lines.push(`  ${scenario}: ${parts.join('; ')}`);
  }
  if (lines.length > 0) {
    log('gateway / plain node:http baseline, this run:');
    process.stderr.write(lines.join('\n') + '\n');
  }
  batchedRatios(results);
}

/**
 * direct-batched runs on the gateway only (the baseline has no POST /publish), so its msg/s is divided by
 * the one-POST-per-message rates of this run's direct-pipelined: the baseline's and the gateway's own.
 */
function batchedRatios(results: Result[]): void {
  const ok = (scenario: ScenarioName, target: Target): Result | undefined =>
    results.find((r) => r.scenario === scenario && r.target === target && !('error' in r));
  const batched = ok('direct-batched', 'gateway');
  if (!batched) {
    return;
  }
  const rate = batched.messages_per_s;
  const ratio = (target: Target, wanted: number): string => {
    const single = ok('direct-pipelined', target)?.messages_per_s;
    if (typeof rate !== 'number' || typeof single !== 'number' || single === 0) {
      return `- (needs direct-pipelined on ${target} in the same run)`;
    }
    return `${fmt(rate / single, 2)}x (${fmt(rate, 1)} vs ${fmt(single, 1)} msg/s, wanted at least ${wanted}x)`;
  };
  log(
    'direct-batched (gateway, 100 messages per POST /publish) / direct-pipelined (one POST per message), this run:',
  );
  process.stderr.write(
    `  to the plain node:http baseline's direct-pipelined: ${ratio('baseline-node-http', 3)}\n` +
      `  to the gateway's own direct-pipelined: ${ratio('gateway', 10)}\n`,
  );
}

/** kafka-latency: produce -> SSE latency and loss, beside the Kafka-only baseline. */
function kafkaNotes(results: Result[]): void {
  for (const r of results) {
    if (r.scenario !== 'kafka-latency' || typeof r.error === 'string') {
      continue;
    }
    const lat = (v: unknown): string => {
      const h = (v ?? {}) as Record<string, unknown>;
      return `p50 ${fmt(h.p50, 2)} / p90 ${fmt(h.p90, 2)} / p99 ${fmt(h.p99, 2)} / max ${fmt(h.max, 1)} ms`;
    };
    const base = r.kafka_baseline as Record<string, unknown> | null | undefined;
    process.stderr.write(
      `  kafka-latency: ${fmt(r.sent_in_window)} records in ${fmt(r.produce_s, 1)} s ` +
        `(${fmt(r.produce_per_s, 1)}/s) over ${fmt(r.connections_open)} users; produce -> SSE ${lat(r.latency_ms)}; ` +
        `lost ${fmt(r.lost)}, duplicates ${fmt(r.duplicates)}, reordered ${fmt(r.reordered)}\n` +
        `    Kafka ack ${lat(r.produce_ack_ms)}` +
        (base ? `; produce -> plain kafkajs consumer ${lat(base.latency_ms)}, lost ${fmt(base.lost)}` : '') +
        '\n' +
        (base ? `    per record, SSE minus plain consumer: ${lat(base.gateway_minus_baseline_ms)}\n` : ''),
    );
  }
}

/** reports-transitions: per store, the rate reached and PUT -> SSE latency, against the target (2,000/s, p99 under 20 ms). */
function reportsNotes(results: Result[]): void {
  for (const r of results) {
    if (r.scenario !== 'reports-transitions' || typeof r.error === 'string') {
      continue;
    }
    const lat = (v: unknown): string => {
      const h = (v ?? {}) as Record<string, unknown>;
      return `p50 ${fmt(h.p50, 2)} / p90 ${fmt(h.p90, 2)} / p99 ${fmt(h.p99, 2)} / max ${fmt(h.max, 1)} ms`;
    };
    process.stderr.write(
      `  reports-transitions on ${String(r.store)}: ${fmt(r.transitions_per_s, 1)} transitions/s ` +
        `(target ${fmt(r.rate)}/s${r.rate_achieved === true ? '' : ', NOT reached'}); PUT ${lat(r.put_latency_ms)}\n` +
        `    PUT -> SSE ${lat(r.latency_ms)}; lost ${fmt(r.lost)}, duplicates ${fmt(r.duplicates)}, ` +
        `reordered ${fmt(r.reordered)}, non-2xx ${JSON.stringify(r.non_2xx)}; server CPU ${fmt(r.server_cpu_pct)}%` +
        (r.store === 'postgres' ? `, PostgreSQL backends ${fmt(r.pg_backends_cpu_pct)}%` : '') +
        `, RSS peak ${fmt(r.server_rss_mb_peak, 1)} MB\n` +
        (r.store === 'postgres'
          ? `    longest-running statement seen waiting for the disk (WAL flush), sampled every 20 ms: ${fmt(r.pg_wal_flush_wait_longest_ms)} ms\n`
          : ''),
    );
  }
}

/** `dropped/stalled (server counter)` for slow-readers, '-' for the other scenarios. */
function stalledCell(r: Result): string {
  if (typeof r.stalled !== 'number') {
    return '-';
  }
  const server =
    typeof r.server_slow_reader_disconnects === 'number' ? fmt(r.server_slow_reader_disconnects) : '-';
  return `${fmt(r.stalled_disconnected_by_server)}/${fmt(r.stalled)} (${server})`;
}

async function main(): Promise<void> {
  const opts = parseOptions();
  log(
    `targets ${opts.targets.join(', ')}; scenarios ${opts.scenarios.join(', ')}; ` +
      `${opts.connections} connections, ${opts.seconds} s publishing per scenario; node ${process.version}`,
  );
  const nodeWarning = nodeVersionWarning();
  if (nodeWarning) {
    log(nodeWarning);
  }
  const results: Result[] = [];
  for (const scenario of opts.scenarios) {
    for (const target of opts.targets) {
      if (scenario === MULTIPLEX_SCENARIO) {
        // Gateway only (the baseline has no GET /sse): one line with single streams, one multiplexed.
        for (const result of target === 'gateway'
          ? await runMultiplexBench({
              ...opts,
              log,
              startGateway: (mode) =>
                startServer(target, scenario, opts, {
                  logName: `gateway-${MULTIPLEX_SCENARIO}-${mode}`,
                  env: { DATABASE_URL: '', KAFKA_BROKERS: '' },
                }),
              stopGateway: stopServer,
            })
          : []) {
          results.push(result);
          process.stdout.write(JSON.stringify(result) + '\n');
        }
        continue;
      }
      if (scenario === 'reports-transitions' && target !== 'gateway') {
        log(`skipping reports-transitions on ${target}: it has no reports`);
        continue;
      }
      if (scenario === 'direct-batched' && target !== 'gateway') {
        log(
          `skipping direct-batched on ${target}: it has no POST /publish (the summary divides by its direct-pipelined)`,
        );
        continue;
      }
      if (scenario === 'kafka-latency' && target !== 'gateway') {
        log(
          `skipping kafka-latency on ${target}: it has no Kafka bus (the gateway's line carries a ` +
            'Kafka-only baseline instead, kafka_baseline: produce -> a plain kafkajs consumer)',
        );
        continue;
      }
      // reports-transitions: one line per store
      for (const store of scenario === 'reports-transitions' ? opts.reportsStores : [null]) {
        const result =
          store !== null
            ? await runReports(opts, store)
            : scenario === 'kafka-latency'
              ? await runKafka(opts)
              : await runOne(target, scenario as SseScenarioName, opts);
        results.push(result);
        process.stdout.write(JSON.stringify(result) + '\n');
        warnings(result, target);
      }
    }
  }
  summary(results);
  if (results.some((r) => typeof r.error === 'string')) {
    process.exitCode = 1;
  }
}

/** Says when the load generator or other processes may have skewed a result. */
function warnings(result: Result, target: Target): void {
  const cpu = result.loadgen_cpu_pct;
  if (typeof cpu === 'number' && cpu >= 90) {
    log(`warning: the load generator used ${cpu}% CPU: it may have been the bottleneck for ${target}`);
  }
  const other = result.other_cpu_pct;
  if (typeof other === 'number' && other >= 20) {
    log(`warning: other processes used ${other}% CPU (of one core) while measuring: expect noisy numbers`);
  }
}

function interrupt(signal: NodeJS.Signals): void {
  log(`${signal}: stopping the processes this run started`);
  for (const child of running) {
    child.kill('SIGKILL');
  }
  process.exit(130);
}
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);
// However else this process ends (an uncaught error; its output piped to a reader that left, as in
// `npm run bench | head`), the servers it started end with it instead of listening on.
process.on('exit', () => {
  for (const child of running) {
    child.kill('SIGKILL');
  }
});

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  for (const child of running) {
    child.kill('SIGKILL');
  }
  process.exit(1);
});
