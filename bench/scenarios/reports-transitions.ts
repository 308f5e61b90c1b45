/**
 * reports-transitions (gateway only): the gateway on PostgreSQL (a fresh database on BENCH_REPORTS_PG_URL's
 * server, dropped afterwards, even if the run fails), then on PGlite (its own temp DATA_DIR), one JSON line
 * each (`store`): 200 users with one /v4/sse stream and one report each, PUTs around pending -> queued ->
 * processing -> failed at 2,000/s for 20 s: PUT -> SSE latency through the transactional outbox, loss,
 * duplicates, order (load/reports-load.ts).
 */
import { loadTarget } from '../lib/load-args';
import { log } from '../lib/log';
import {
  benchDatabase,
  failed,
  runPacedLoad,
  startServer,
  stopIfStarted,
  type BenchDatabase,
  type StartedServer,
} from '../lib/servers';
import { fmt, latencyLine } from '../lib/summary';
import { runReportsLoad, type ReportsLoadArgs, type ReportsStore } from '../load/reports-load';
import type { BenchSettings } from '../settings';
import type { Result, Scenario } from './scenario';

const scenario = 'reports-transitions';

async function runOn(settings: BenchSettings, store: ReportsStore): Promise<Result> {
  const target = 'gateway';
  let server: StartedServer | null = null;
  let database: BenchDatabase | null = null;
  let result: Result = {};
  const stops: Result = {};
  try {
    let databaseUrl = '';
    if (store === 'postgres') {
      database = await benchDatabase(settings.reportsPgUrl, 'reports');
      if (database === null) {
        throw new Error(`PostgreSQL at ${new URL(settings.reportsPgUrl).host} is not reachable`);
      }
      databaseUrl = database.url;
    }
    server = await startServer(target, settings, {
      env: { DATABASE_URL: store === 'postgres' ? databaseUrl : undefined },
      healthPath: '/health/ready',
      logName: `${target}-${scenario}-${store}`,
    });
    const args: ReportsLoadArgs = {
      ...loadTarget(scenario, target, server),
      store,
      databaseUrl,
      users: settings.reportsUsers,
      rate: settings.reportsRate,
      seconds: settings.reportsSeconds,
      warmupSeconds: settings.reportsWarmupSeconds,
      graceSeconds: 5,
      connectConcurrency: settings.connectConcurrency,
      inFlight: settings.reportsInFlight,
    };
    log(`scenario ${scenario} on ${store}: ${args.users} users, ${args.rate} PUT/s…`);
    result = await runPacedLoad(args);
  } catch (err) {
    result = failed(err);
  } finally {
    Object.assign(stops, await stopIfStarted(target, server));
    await database?.drop();
  }
  return { scenario, target, store, ...result, ...stops };
}

/** Per store, the rate reached and PUT -> SSE latency, against the target (2,000/s, p99 under 20 ms). */
function notes(results: Result[]): void {
  for (const r of results) {
    process.stderr.write(
      `  reports-transitions on ${String(r.store)}: ${fmt(r.transitions_per_s, 1)} transitions/s ` +
        `(target ${fmt(r.rate)}/s${r.rate_achieved === true ? '' : ', NOT reached'}); PUT ${latencyLine(r.put_latency_ms)}\n` +
        `    PUT -> SSE ${latencyLine(r.latency_ms)}; lost ${fmt(r.lost)}, duplicates ${fmt(r.duplicates)}, ` +
        `reordered ${fmt(r.reordered)}, non-2xx ${JSON.stringify(r.non_2xx)}; server CPU ${fmt(r.server_cpu_pct)}%` +
        (r.store === 'postgres' ? `, PostgreSQL backends ${fmt(r.pg_backends_cpu_pct)}%` : '') +
        `, RSS peak ${fmt(r.server_rss_mb_peak, 1)} MB\n` +
        (r.store === 'postgres'
          ? `    longest-running statement seen waiting for the disk (WAL flush), sampled every 20 ms: ${fmt(r.pg_wal_flush_wait_longest_ms)} ms\n`
          : ''),
    );
  }
}

const reportsTransitions: Scenario = {
  name: scenario,
  targets: ['gateway'],
  skipped: 'it has no reports',
  // one line per store
  run: async (_target, settings, emit) => {
    for (const store of settings.reportsStores as ReportsStore[]) {
      emit(await runOn(settings, store));
    }
  },
  notes,
  load: (args) => runReportsLoad(args as ReportsLoadArgs),
};
export default reportsTransitions;
