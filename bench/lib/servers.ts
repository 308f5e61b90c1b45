/**
 * Starting and stopping what a scenario measures: a server process on a free port (ready once its health
 * path answers 200), a load generator process (its last JSON line is the result), a fresh PostgreSQL
 * database, the Kafka broker script. Every child is remembered, so an interrupted run stops exactly those.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { Client } from 'pg';

import type * as KafkaBrokerScript from '../../scripts/kafka-broker';
import { errorText, log } from './log';
import { sleep } from './time';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The compiled bench (dist-bench/bench). */
export const BENCH_DIST = path.resolve(__dirname, '..');

type Result = Record<string, unknown>;

export interface ServerSettings {
  logDir: string;
  serverNodeArgs: string[];
  gatewayMain: string;
}

export interface StartedServer {
  child: ChildProcess;
  port: number;
  logFile: string;
}

export interface ServerExtras {
  /** undefined removes a variable of this process's environment. */
  env?: Record<string, string | undefined>;
  /** Log file name without .log. */
  logName: string;
  /** Polled until it answers 200 (Kafka: /health/ready, which waits for the broker). */
  healthPath?: string;
  readyTimeoutMs?: number;
  /** The server's script (compiled, in dist-bench/bench) instead of the target's own. */
  script?: string;
}

/** Children we started, so an interrupted run can stop exactly those (by PID). */
const running = new Set<ChildProcess>();

export function killStarted(): void {
  for (const child of running) {
    child.kill('SIGKILL');
  }
}

/** However this process ends (a signal, an uncaught error, a reader of its output that left), its children end too. */
export function stopStartedOnExit(): void {
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the processes this run started`);
    killStarted();
    process.exit(130);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  process.on('exit', killStarted);
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

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
  });
}

export function logPath(settings: ServerSettings, name: string): string {
  const dir = path.resolve(ROOT, settings.logDir);
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.log`);
}

/** The node flags in package.json's `start` script (`node <flags> dist/main.js`): the gateway's memory settings. */
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

/** Starts `target` (the gateway or the node:http baseline) on a free port, in a temp DATA_DIR of its own. */
export async function startServer(
  target: string,
  settings: ServerSettings,
  extras: ServerExtras,
): Promise<StartedServer> {
  const { healthPath = '/health', readyTimeoutMs = 30_000 } = extras;
  const port = await freePort();
  const script =
    extras.script ??
    (target === 'gateway'
      ? path.resolve(ROOT, settings.gatewayMain)
      : path.join(BENCH_DIST, 'baseline-server.js'));
  if (!fs.existsSync(script)) {
    throw new Error(`${path.relative(ROOT, script)} does not exist (build first: npm run bench builds both)`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
  const logFile = logPath(settings, extras.logName);
  const fd = fs.openSync(logFile, 'w');
  log(`starting ${target} on port ${port}…`);
  // The gateway runs with the node flags of `npm start`; the baselines with plain node.
  const nodeArgs =
    target === 'gateway' ? [...gatewayStartFlags(), ...settings.serverNodeArgs] : settings.serverNodeArgs;
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

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopServer(
  child: ChildProcess,
): Promise<{ exit: number | string | null; stop_ms: number }> {
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

/** Stops a server of a scenario run, and says how it ended, as fields of the scenario's result line. */
export async function stopAndReport(target: string, server: StartedServer): Promise<Result> {
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

/**
 * Runs the load generator (loadgen.js) as a process of its own, so its CPU is apart from the server's and
 * the orchestrator's, with the scenario's arguments; resolves to its last JSON line.
 */
export function runLoadgen(args: object, limitMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const script = path.join(BENCH_DIST, 'loadgen.js');
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

export interface BenchDatabase {
  url: string;
  drop: () => Promise<void>;
}

/**
 * A fresh PostgreSQL database on `serverUrl`'s server for one gateway run, and a function that drops it;
 * null when the server cannot be reached (the gateway then runs on embedded PGlite).
 */
export async function benchDatabase(serverUrl: string, purpose: string): Promise<BenchDatabase | null> {
  const admin = async (statement: string): Promise<void> => {
    const client = new Client(serverUrl);
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
    log(`no PostgreSQL at ${new URL(serverUrl).host} (${String(err)})`);
    return null;
  }
  const url = new URL(serverUrl);
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

/** scripts/kafka-broker.js is plain CommonJS beside the sources, not compiled into dist-bench. */
function kafkaBrokerScript(): typeof KafkaBrokerScript {
  return createRequire(__filename)(path.join(ROOT, 'scripts', 'kafka-broker.js')) as typeof KafkaBrokerScript;
}

/**
 * A fresh single-node Kafka broker for one scenario (scripts/kafka-broker.js: jars fetched once, a fresh temp
 * data dir, so its topics hold only this run's records), its output in <logDir>/kafka-broker-<scenario>.log.
 * If this process is interrupted instead, kafka-broker.js's own exit hook kills the broker (by its pid).
 */
export class KafkaBroker {
  readonly logFile: string;
  private readonly out: fs.WriteStream;
  private running: KafkaBrokerScript.RunningBroker | null = null;

  constructor(settings: ServerSettings, scenario: string) {
    this.logFile = logPath(settings, `kafka-broker-${scenario}`);
    this.out = fs.createWriteStream(this.logFile);
  }

  /** The log file as a result line's broker_log. */
  get log(): string {
    return path.relative(ROOT, this.logFile);
  }

  async start(): Promise<KafkaBrokerScript.RunningBroker> {
    const { ensureKafkaJars, startBroker } = kafkaBrokerScript();
    await ensureKafkaJars({ log: (line) => log(line) });
    log('starting a single-node Kafka broker…');
    const started = performance.now();
    const broker = await startBroker({
      log: (line) => log(line),
      onOutput: (line) => this.out.write(line + '\n'),
      onExit: (code, signal) =>
        log(`the Kafka broker exited on its own (${code ?? signal}); see ${this.logFile}`),
    });
    this.running = broker;
    log(
      `Kafka broker up on ${broker.brokers} (pid ${broker.pid}, ${Math.round(performance.now() - started)} ms)`,
    );
    return broker;
  }

  /** Stops the broker if it started (resolves to the ms it took, else null) and closes its log. */
  async stop(): Promise<number | null> {
    let ms: number | null = null;
    if (this.running) {
      const t = performance.now();
      await this.running.stop();
      ms = Math.round(performance.now() - t);
      log(`Kafka broker stopped (${ms} ms)`);
    }
    this.out.end();
    return ms;
  }
}

/** runLoadgen for a paced load: connect (≤120 s) + set-up (≤30 s) + warm-up + window + grace, with margin. */
export function runPacedLoad(args: {
  warmupSeconds: number;
  seconds: number;
  graceSeconds: number;
}): Promise<Result> {
  return runLoadgen(args, (240 + args.warmupSeconds + args.seconds + args.graceSeconds) * 1000);
}

/** stopAndReport's fields, or none when the server never started. */
export async function stopIfStarted(target: string, server: StartedServer | null): Promise<Result> {
  return server ? stopAndReport(target, server) : {};
}

/** The result line of a run that failed before it measured anything. */
export function failed(err: unknown): Result {
  return { error: errorText(err) };
}
