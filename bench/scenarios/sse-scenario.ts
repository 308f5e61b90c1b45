/**
 * The scenarios on /events and /v2/sse share one load (load/sse-load.ts) and one way to run: a fresh
 * server per target (the gateway on a fresh PostgreSQL database when there is one), the load generator in
 * its own process with the scenario's plan, the server stopped. A scenario module states only its plan
 * and what it reports.
 */
import { benchDatabase, runLoadgen, startServer, stopAndReport } from '../lib/servers';
import { loadTarget } from '../lib/load-args';
import { log } from '../lib/log';
import { runSseLoad, type ScenarioPlan, type SseLoadArgs } from '../load/sse-load';
import type { BenchSettings } from '../settings';
import { TARGETS, type RatioFigure, type Result, type Scenario, type Target } from './scenario';

/** The gateway's keep-alive comment interval on /events, set explicitly so CPU per round is known. */
export const BROADCAST_PING_MS = 10_000;

export interface SseScenarioSpec {
  name: string;
  /** The load's plan, from the load generator's arguments. */
  plan: (args: SseLoadArgs) => ScenarioPlan;
  /** Streams to open (default BENCH_CONNECTIONS; the plan may take fewer). */
  connections?: (settings: BenchSettings) => number;
  /** Connects in flight (default BENCH_CONNECT_CONCURRENCY). */
  connectConcurrency?: (settings: BenchSettings) => number;
  /** The streams are /events ones that get the gateway's keep-alive comments (for CPU per round while idle). */
  keepAlive?: boolean;
  /** Gateway only: why the baseline is skipped. */
  gatewayOnly?: string;
  ratios?: RatioFigure[];
  notes?: (results: Result[], all: Result[]) => void;
}

export function sseScenario(spec: SseScenarioSpec): Scenario {
  return {
    name: spec.name,
    targets: spec.gatewayOnly ? ['gateway'] : TARGETS,
    skipped: spec.gatewayOnly,
    ratios: spec.ratios,
    notes: spec.notes,
    run: async (target, settings, emit) => emit(await runOn(spec, target, settings)),
    load: (args) => runSseLoad(args as SseLoadArgs, spec.plan(args as SseLoadArgs)),
  };
}

async function runOn(spec: SseScenarioSpec, target: Target, settings: BenchSettings): Promise<Result> {
  // The gateway on PostgreSQL when it is there: embedded PGlite's own memory settles for tens of seconds
  // after start-up, which would blur the per-connection RSS figures.
  const database = target === 'gateway' ? await benchDatabase(settings.reportsPgUrl, 'sse') : null;
  if (target === 'gateway' && database === null) {
    log('the gateway runs on embedded PGlite: RSS per connection includes its settling');
  }
  try {
    return await runServerAndLoad(spec, target, settings, database?.url);
  } finally {
    await database?.drop();
  }
}

async function runServerAndLoad(
  spec: SseScenarioSpec,
  target: Target,
  settings: BenchSettings,
  databaseUrl: string | undefined,
): Promise<Result> {
  const scenario = spec.name;
  let server;
  try {
    server = await startServer(target, settings, {
      env: { DATABASE_URL: databaseUrl, BROADCAST_PING_MS: String(BROADCAST_PING_MS) },
      logName: `${target}-${scenario}`,
    });
  } catch (err) {
    return { scenario, target, error: err instanceof Error ? err.message : String(err) };
  }
  const args: SseLoadArgs = {
    ...loadTarget(scenario, target, server),
    connections: spec.connections?.(settings) ?? settings.connections,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    tailSeconds: 10,
    connectConcurrency: spec.connectConcurrency?.(settings) ?? settings.connectConcurrency,
    publishPipeline: settings.publishPipeline,
    publishConnections: settings.publishConnections,
    messages: settings.messages,
    // /events streams get a keep-alive comment every BROADCAST_PING_MS; the baseline sends none
    keepAliveMs: target === 'gateway' && spec.keepAlive ? BROADCAST_PING_MS : 0,
    payloadBytes: settings.payloadBytes,
    publishConcurrency: settings.publishConcurrency,
    sseClient: settings.sseClient as SseLoadArgs['sseClient'],
    stalled: settings.stalled,
    idleSeconds: settings.idleSeconds,
  };
  const plan = spec.plan(args);
  log(
    `scenario ${scenario}: connecting ${plan.connections}` +
      (plan.slowReaders ? ` (+ ${plan.stalled} stalled)` : '') +
      '…',
  );
  let result: Result = {};
  try {
    // connect (≤180 s) + settle + publish + drain (≤10 s) + tail (≤10 s), with margin
    result = await runLoadgen(
      args,
      (240 + settings.idleSeconds + args.warmupSeconds + args.seconds + args.tailSeconds) * 1000,
    );
  } finally {
    result = { scenario, target, ...result, ...(await stopAndReport(target, server)) };
  }
  return result;
}
