/**
 * kafka-ingest: the highest rate of v3_messages records one instance turns into SSE events with
 * produce -> event p99 under 100 ms, on the gateway and on the plain ceiling (baseline-kafka-consumer.ts:
 * node:http plus a kafkajs consumer that writes each record to its user's stream), both on one fresh
 * single-node broker, the ceiling reading a topic of its own (v3_messages_ceiling), their steps taken in
 * turn so that both meet the same machine: on a shared machine the other load moves by the minute, and one
 * target after the other measured that instead. The search, its steps and their checks are in
 * load/kafka-ingest-load.ts. One JSON result per target; the notes divide the gateway's rate by the
 * ceiling's.
 *
 * Settings: BENCH_KAFKA_INGEST_START, _MAX, _REFINE, _STEP_SECONDS, _WARMUP_SECONDS, _RATES (a list such as
 * `12000,12000`: exactly these steps, no search, e.g. to profile one rate with BENCH_SERVER_NODE_ARGS); users:
 * BENCH_KAFKA_USERS, as kafka-latency. The gateway runs on a fresh PostgreSQL database of
 * BENCH_REPORTS_PG_URL's server when it answers (as the other scenarios), else on PGlite.
 */
import * as path from 'node:path';

import { log } from '../lib/log';
import {
  BENCH_DIST,
  benchDatabase,
  failed,
  KafkaBroker,
  startServer,
  stopAndReport,
  type StartedServer,
} from '../lib/servers';
import { resultOf } from '../lib/summary';
import { round } from '../lib/stats';
import { searchIngestRate, Turns } from '../load/kafka-ingest-load';
import type { BenchSettings } from '../settings';
import type { Result, Scenario, Target } from './scenario';

const scenario = 'kafka-ingest';
const CEILING = 'baseline-node-http';

/** The gateway reads v3_messages; the ceiling, on the same broker, a topic of its own. */
const topicOf = (target: string): string => (target === 'gateway' ? 'v3_messages' : 'v3_messages_ceiling');

/**
 * One fresh broker, each target's server on it, then the targets' searches, their steps in turn; resolves
 * to one result line per target.
 */
async function runTogether(targets: Target[], settings: BenchSettings): Promise<Result[]> {
  const began = performance.now();
  const broker = new KafkaBroker(settings, scenario);
  const servers = new Map<Target, StartedServer>();
  const results = new Map<Target, Result>();
  const stops = new Map<Target, Result>();
  const database = targets.includes('gateway')
    ? await benchDatabase(settings.reportsPgUrl, 'kafka_ingest')
    : null;
  if (targets.includes('gateway') && database === null) {
    log('the gateway runs on PGlite');
  }
  try {
    const { brokers, pid: brokerPid } = await broker.start();
    for (const target of targets) {
      try {
        const gateway = target === 'gateway';
        servers.set(
          target,
          await startServer(target, settings, {
            script: gateway ? undefined : path.join(BENCH_DIST, 'baseline-kafka-consumer.js'),
            env: {
              KAFKA_BROKERS: brokers,
              KAFKAJS_NO_PARTITIONER_WARNING: '1',
              ...(gateway
                ? database
                  ? { DATABASE_URL: database.url }
                  : {}
                : { KAFKA_TOPIC: topicOf(target) }),
            },
            logName: `${target}-${scenario}`,
            healthPath: '/health/ready',
            readyTimeoutMs: 60_000,
          }),
        );
      } catch (err) {
        results.set(target, failed(err));
      }
    }
    const turns = new Turns();
    await Promise.all(
      [...servers].map(async ([target, server]) => {
        const on = { target, topic: topicOf(target), brokers, brokerPid, port: server.port };
        try {
          results.set(
            target,
            await searchIngestRate({ ...on, serverPid: server.child.pid ?? 0 }, settings, turns),
          );
        } catch (err) {
          results.set(target, failed(err));
        }
      }),
    );
  } catch (err) {
    for (const target of targets) {
      if (!results.has(target)) {
        results.set(target, failed(err));
      }
    }
  } finally {
    for (const [target, server] of servers) {
      stops.set(target, await stopAndReport(target, server));
    }
    await broker.stop();
    await database?.drop();
  }
  return targets.map((target) => ({
    scenario,
    target,
    topic: topicOf(target),
    ...results.get(target),
    ...stops.get(target),
    broker_log: broker.log,
    duration_s: round((performance.now() - began) / 1000, 1),
  }));
}

/** Server CPU per record at each rate (the mean of a rate's steps when it ran twice). */
function cpuPerRecord(r: Result | undefined): Map<number, number> {
  const byRate = new Map<number, number[]>();
  for (const step of (r?.steps ?? []) as Result[]) {
    const values = byRate.get(step.rate as number) ?? [];
    values.push(step.server_cpu_us_per_record as number);
    byRate.set(step.rate as number, values);
  }
  return new Map([...byRate].map(([rate, v]) => [rate, round(v.reduce((a, b) => a + b, 0) / v.length, 1)]));
}

/** Each target's highest sustained rate, CPU per record at the rates both ran, the gateway's rate over the ceiling's. */
function notes(results: Result[], all: Result[]): void {
  const lines: string[] = [];
  const show = (v: unknown): string => (typeof v === 'number' ? String(v) : '-');
  for (const r of results) {
    const lat = (r.latency_ms ?? {}) as Result;
    lines.push(
      `  kafka-ingest ${String(r.target)}: sustained ${show(r.sustained_per_s)} records/s to ${show(r.users)} users ` +
        `(p50 ${show(lat.p50)} / p99 ${show(lat.p99)} ms, server CPU ${show(r.server_cpu_pct)}%); ` +
        `lowest failed step ${show(r.lowest_failed_per_s)}/s`,
    );
  }
  const gateway = resultOf(all, scenario, 'gateway');
  const ceiling = resultOf(all, scenario, CEILING);
  // CPU per record falls as the rate grows (bigger fetches), so it is compared at the rates both ran.
  const gatewayCpu = cpuPerRecord(gateway);
  const ceilingCpu = cpuPerRecord(ceiling);
  const common = [...gatewayCpu.keys()].filter((rate) => ceilingCpu.has(rate)).sort((a, b) => a - b);
  if (common.length > 0) {
    lines.push(
      '  kafka-ingest server CPU per record, gateway / ceiling: ' +
        common
          .map((rate) => {
            const g = gatewayCpu.get(rate) ?? 0;
            const c = ceilingCpu.get(rate) ?? 0;
            return `${rate}/s ${c > 0 ? (g / c).toFixed(2) : '-'}x (${g} vs ${c} µs)`;
          })
          .join(', '),
    );
  }
  const g = gateway?.sustained_per_s;
  const c = ceiling?.sustained_per_s;
  if (typeof g === 'number' && typeof c === 'number' && c > 0) {
    lines.push(
      `  kafka-ingest gateway / plain node:http + kafkajs ceiling: ${(g / c).toFixed(2)}x ` +
        `(${g} vs ${c} records/s, wanted at least 0.7x)`,
    );
  }
  process.stderr.write(lines.map((line) => line + '\n').join(''));
}

const kafkaIngest: Scenario = {
  name: scenario,
  targets: ['gateway', CEILING],
  // Every target in one go, their steps alternating on one broker: on the run's first target.
  run: async (target, settings, emit) => {
    const targets = (settings.targets as Target[]).filter((t) => kafkaIngest.targets.includes(t));
    if (target === targets[0]) {
      for (const result of await runTogether(targets, settings)) {
        emit(result);
      }
    }
  },
  notes,
};
export default kafkaIngest;
