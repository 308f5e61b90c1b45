/**
 * reports-transitions' load: status transitions of reports through PUT /v4/report, and the latency from
 * each PUT to its `report_status_update` event on the owner's /v4/sse stream, which the gateway publishes
 * after commit through its transactional outbox. Runs in the load generator's process (loadgen.ts)
 * against a gateway that already answers /health/ready on a fresh store (PostgreSQL or PGlite), and
 * resolves to the one JSON result line.
 *
 * Set-up: `users` random user UUIDs, each with one GET /v4/sse?user_id=<uuid> over plain TCP
 * (lib/stream-pool.ts), then one report per user (POST /v4/new/report); a
 * user is ready once its stream has carried the report's creation event (`pending`), which also proves
 * the stream is subscribed.
 *
 * Driving: PUTs walk every report around pending -> queued -> processing -> failed -> pending, through a
 * keep-alive http.Agent with at most `inFlight` PUTs at once, and at most one per report, so a report's
 * status sequence is known. Reports wait their turn in a FIFO: one goes back to its end when its PUT
 * is answered, so every report moves about every users / rate seconds. Pacing: a 1 ms timer sends what
 * is due (rate x elapsed), catching up on a backlog while the in-flight bound and the idle reports
 * allow; sending stops when the time is up (warm-up + seconds), so a server that cannot keep up shows a
 * lower achieved rate, and send_lag_ms says how far behind schedule sends went. Transitions sent in
 * the warm-up are checked like every other, but are not in the latency figures.
 *
 * Latency: from just before the PUT is written (process.hrtime) to the SSE event arriving in this same
 * process, on one monotonic clock. An event is matched to its transition by report id and status: it
 * takes the oldest transition of that report still waiting for an event with that status (one report's
 * statuses repeat only every 4 transitions, and rarely more than one of its transitions waits). Checks:
 * `lost` (answered 2xx, no event within the grace period), `duplicates` (the status of the transition
 * matched last, with none waiting for it), `reordered` (arrived after the event of a later transition of
 * the same report), `misdelivered` (another report's id on this user's stream), `unexpected` (a status
 * no transition of that report waits for). A PUT that fails (non-2xx or a socket error) leaves the
 * report's status unknown: that report is not driven any further.
 *
 * PostgreSQL: with `databaseUrl` (the bench database), CPU of its backends (the gateway's pool) and of
 * the server's background processes (WAL writer, checkpointer, ...), and pg_stat_activity sampled every
 * 20 ms: what the gateway's backends were doing (on CPU, waiting on WAL flush, on a lock, idle).
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { Client } from 'pg';

import { noDelayAgent, request } from '../lib/http';
import { LatencyHistogram } from '../lib/latency-histogram';
import { logStep as log, Tally } from '../lib/log';
import { readMachineBusyMs, readProcCpuMs, readProcMem, serverMemory } from '../lib/proc';
import { deliveryChecks, latencySummary, loadgenFigures, perSecondSummary, round } from '../lib/stats';
import type { PacedLoadArgs } from '../lib/load-args';
import { PooledStream, userStreams } from '../lib/stream-pool';
import { nowNs, signal, sleep } from '../lib/time';

export type ReportsStore = 'postgres' | 'pglite';

/** users: one stream and one report each; rate: target PUTs per second over all reports. */
export interface ReportsLoadArgs extends PacedLoadArgs {
  store: ReportsStore;
  /** postgres: the bench database (for its backends' CPU and wait events); '' otherwise. */
  databaseUrl: string;
  /** PUTs in flight at most (also the agent's sockets). */
  inFlight: number;
}

type CycleStatus = 'pending' | 'queued' | 'processing' | 'failed';
const NEXT: Record<CycleStatus, CycleStatus> = {
  pending: 'queued',
  queued: 'processing',
  processing: 'failed',
  failed: 'pending',
};
const CREATE_IN_FLIGHT = 16;
const PG_SAMPLE_MS = 20;

/** One PUT: what it asked for, when it was written, how it was answered. */
interface Transition {
  status: CycleStatus;
  sentNs: number;
  inWindow: boolean;
  /** 0 = in flight, 1 = answered 2xx, 2 = failed. */
  answer: 0 | 1 | 2;
  /** The event of a later transition of the same report came first. */
  overtaken: boolean;
}

/** One user: its stream (parser state), its report, and the transitions waiting for their event. */
class UserReport extends PooledStream {
  readonly userId = randomUUID();
  reportId = '';
  /** Report id of the creation event, if it came before the POST's answer. */
  createdEventId: string | null = null;
  createEventSeen = false;
  /** Status after the last answered PUT. */
  status: CycleStatus = 'pending';
  waiting: Transition[] = [];
  lastMatched: CycleStatus | null = null;
}

/** PIDs of the PostgreSQL processes that matter here: the bench database's backends, the background ones. */
async function pgPids(pg: Client): Promise<{ backends: number[]; background: number[] }> {
  const { rows } = await pg.query<{ pid: number; own: boolean }>(
    `SELECT pid, datname IS NOT DISTINCT FROM current_database() AS own FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND (datname = current_database() OR backend_type <> 'client backend')`,
  );
  return {
    backends: rows.filter((r) => r.own).map((r) => r.pid),
    background: rows.filter((r) => !r.own).map((r) => r.pid),
  };
}

/**
 * Transactions committed in the bench database so far (every statement of the gateway is its own). Backends
 * report these at most once a second, so over a window this is good to about a second's worth.
 */
async function pgCommits(pg: Client): Promise<number> {
  const { rows } = await pg.query<{ n: string }>(
    'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0]?.n ?? 0);
}

function sumCpuMs(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const ms = readProcCpuMs(pid);
    if (ms !== null) {
      out.set(pid, ms);
    }
  }
  return out;
}

/** CPU used between two readings, by the processes present in both. */
function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) {
    const start = before.get(pid);
    if (start !== undefined) {
      total += ms - start;
    }
  }
  return total;
}

export async function runReportsLoad(args: ReportsLoadArgs): Promise<Record<string, unknown>> {
  const N = args.users;
  const startedAt = performance.now();
  const errors = new Tally();
  const memBefore = readProcMem(args.serverPid);

  // ------------------------------------------------------------------ receive side
  const hist = new LatencyHistogram();
  const putHist = new LatencyHistogram();
  const secondsInWindow = Math.max(1, Math.ceil(args.seconds));
  const latencyPerSecond: number[][] = Array.from({ length: secondsInWindow }, () => []);
  const okPerSecond = new Array<number>(secondsInWindow).fill(0);
  let windowStartNs = Infinity;
  let delivered = 0;
  let duplicates = 0;
  let reordered = 0;
  let misdelivered = 0;
  let unexpected = 0;
  let failedAnnounced = 0;
  let eventBeforeAnswer = 0;
  let missingId = 0;
  const allCreateEvents = signal();
  let createEventsSeen = 0;
  let createEventsExpected = Infinity;

  const onCreateEvent = (u: UserReport, reportId: string, status: string): void => {
    if (status !== 'pending') {
      unexpected++;
      return;
    }
    if (u.reportId === '') {
      u.createdEventId = reportId;
    } else if (reportId !== u.reportId) {
      misdelivered++;
      return;
    }
    u.createEventSeen = true;
    createEventsSeen++;
    if (createEventsSeen >= createEventsExpected) {
      allCreateEvents.fire();
    }
  };

  const onEvent = (u: UserReport, data: string, hasId: boolean, now: number): void => {
    if (!hasId) {
      missingId++;
    }
    let event: { id?: unknown; status?: unknown };
    try {
      event = JSON.parse(data) as { id?: unknown; status?: unknown };
    } catch {
      unexpected++;
      return;
    }
    const reportId = String(event.id);
    const status = String(event.status);
    if (!u.createEventSeen) {
      onCreateEvent(u, reportId, status);
      return;
    }
    if (reportId !== u.reportId) {
      misdelivered++;
      return;
    }
    const i = u.waiting.findIndex((t) => t.status === status);
    if (i === -1) {
      if (status === u.lastMatched) {
        duplicates++;
      } else {
        unexpected++;
      }
      return;
    }
    const t = u.waiting[i];
    for (let j = 0; j < i; j++) {
      u.waiting[j].overtaken = true;
    }
    u.waiting.splice(i, 1);
    u.lastMatched = t.status;
    if (t.overtaken) {
      reordered++;
    }
    if (t.answer === 2) {
      failedAnnounced++; // the PUT failed, yet the change was made and announced
      return;
    }
    if (t.answer === 0) {
      eventBeforeAnswer++;
    }
    delivered++;
    if (t.inWindow) {
      const latency = now - t.sentNs;
      hist.record(latency);
      const second = Math.min(secondsInWindow - 1, Math.floor((t.sentNs - windowStartNs) / 1e9));
      latencyPerSecond[second].push(latency / 1e6);
    }
  };

  // ------------------------------------------------------------------ connect phase
  const pool = userStreams(args, {
    create: (sink, index) => new UserReport(sink, index),
    path: (u) => `/v4/sse?user_id=${u.userId}`,
    onEvent,
    errors,
  });
  const users = pool.streams;
  log(`connecting ${N} streams to /v4/sse?user_id=<uuid> (${args.connectConcurrency} in flight)…`);
  const connectMs = await pool.open(120_000);
  const readyCount = pool.readyCount;
  log(pool.openedLine(connectMs, false));

  // ------------------------------------------------------------------ one report per user
  const agent = noDelayAgent(args.inFlight);
  const open = users.filter((u) => u.ready && !u.closed);
  let created = 0;
  const createStart = performance.now();
  let next = 0;
  const createOne = async (): Promise<void> => {
    while (next < open.length) {
      const u = open[next++];
      try {
        const answer = await request(agent, args, 'POST', `/v4/new/report?user_id=${u.userId}`, null);
        if (answer.status !== 201) {
          errors.add(`create_status_${answer.status}`);
          continue;
        }
        u.reportId = (JSON.parse(answer.body) as { reportId: string }).reportId;
        if (u.createdEventId !== null && u.createdEventId !== u.reportId) {
          misdelivered++;
        }
        created++;
      } catch (err) {
        errors.add(`create_${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CREATE_IN_FLIGHT }, () => createOne()));
  createEventsExpected = created;
  if (createEventsSeen >= created) {
    allCreateEvents.fire();
  }
  await Promise.race([allCreateEvents.done, sleep(10_000)]);
  const driven = open.filter((u) => u.reportId !== '' && u.createEventSeen && !u.closed);
  log(
    `${created} reports created in ${((performance.now() - createStart) / 1000).toFixed(2)} s; ` +
      `${createEventsSeen} creation events arrived; driving ${driven.length} reports`,
  );

  if (driven.length === 0) {
    const error = `no report to drive (streams open ${readyCount}/${N}, created ${created}): ${JSON.stringify(errors.counts)}`;
    return { error };
  }

  // PostgreSQL: the gateway's backends and the server's own processes, for CPU and wait events.
  const pg = args.store === 'postgres' && args.databaseUrl !== '' ? new Client(args.databaseUrl) : null;
  if (pg) {
    pg.on('error', (err) => errors.add(`pg_${err.message}`));
    await pg.connect();
  }

  // Let the server settle (heap, JIT) before the idle reading, as loadgen.ts does.
  await sleep(2000);
  const memIdle = readProcMem(args.serverPid);

  // ------------------------------------------------------------------ driving phase
  const idle: UserReport[] = [...driven];
  let idleHead = 0; // idle[idleHead..] wait their turn (compacted now and then)
  const takeIdle = (): UserReport | undefined => {
    if (idleHead >= idle.length) {
      return undefined;
    }
    const u = idle[idleHead++];
    if (idleHead > 4096 && idleHead * 2 > idle.length) {
      idle.splice(0, idleHead);
      idleHead = 0;
    }
    return u;
  };
  const totalMs = (args.warmupSeconds + args.seconds) * 1000;
  const planned = Math.floor((args.rate * totalMs) / 1000);
  const lagHist = new LatencyHistogram();
  let sent = 0;
  let sentInWindow = 0;
  let inFlight = 0;
  const non2xx = new Tally(); // failed PUTs by status
  let ok = 0;
  let okInWindow = 0;
  let failed = 0;
  let blockedInFlight = 0;
  let blockedNoIdle = 0;
  let publishStartMs = 0;
  let windowStartMs = 0;
  let windowEndMs = 0;
  // wall-clock start of the window, to line per-second figures up with the server's own logs
  let windowStartedAt = '';
  let stopSending = false;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let serverCpuStart = 0;
  let machineStart: number | null = null;
  let cpuStart = process.cpuUsage();
  interface PgCpu {
    backends: Map<number, number>;
    background: Map<number, number>;
  }
  // set by startWindow, which runs from a timer: `as` keeps the compiler from narrowing it to null
  let pgStart = null as PgCpu | null;
  let pgCommitsStart = 0;
  let pgPidsWindow: { backends: number[]; background: number[] } = { backends: [], background: [] };

  const startWindow = async (): Promise<void> => {
    if (pg) {
      pgPidsWindow = await pgPids(pg);
      pgCommitsStart = await pgCommits(pg);
    }
    windowStartMs = performance.now();
    windowStartNs = nowNs();
    windowStartedAt = new Date().toISOString();
    cpuStart = process.cpuUsage();
    serverCpuStart = readProcCpuMs(args.serverPid) ?? 0;
    machineStart = readMachineBusyMs();
    if (pg) {
      pgStart = {
        backends: sumCpuMs(pgPidsWindow.backends),
        background: sumCpuMs(pgPidsWindow.background),
      };
    }
    loopDelay.enable();
  };

  const putPath = (u: UserReport): string => `/v4/report?user_id=${u.userId}`;
  const send = (u: UserReport, scheduledMs: number, now: number): void => {
    const to = NEXT[u.status];
    const inWindow = windowStartNs !== Infinity;
    const t: Transition = { status: to, sentNs: 0, inWindow, answer: 0, overtaken: false };
    u.waiting.push(t);
    inFlight++;
    sent++;
    if (inWindow) {
      sentInWindow++;
      lagHist.record((now - scheduledMs) * 1e6);
    }
    request(agent, args, 'PUT', putPath(u), `{"id":"${u.reportId}","status":"${to}"}`, () => {
      t.sentNs = nowNs();
    }).then(
      (answer) => {
        inFlight--;
        const tookNs = nowNs() - t.sentNs;
        if (answer.status >= 200 && answer.status < 300) {
          t.answer = 1;
          u.status = to;
          ok++;
          if (inWindow) {
            okInWindow++;
            putHist.record(tookNs);
            okPerSecond[Math.min(secondsInWindow - 1, Math.floor((t.sentNs - windowStartNs) / 1e9))]++;
          }
          idle.push(u);
        } else {
          t.answer = 2;
          failed++;
          non2xx.add(String(answer.status));
          if (failed <= 5) {
            log(`PUT answered ${answer.status}: ${answer.body.slice(0, 200)}`);
          }
        }
        pump();
      },
      (err: unknown) => {
        inFlight--;
        t.answer = 2;
        failed++;
        errors.add(`put_${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        pump();
      },
    );
  };

  let windowStarting = false;
  const pump = (): void => {
    if (stopSending) {
      return;
    }
    const now = performance.now();
    const elapsed = now - publishStartMs;
    if (elapsed >= totalMs) {
      stopSending = true;
      windowEndMs = now;
      return;
    }
    if (!windowStarting && elapsed >= args.warmupSeconds * 1000) {
      windowStarting = true;
      void startWindow();
    }
    const due = Math.min(planned, Math.floor((elapsed / 1000) * args.rate) + 1);
    while (sent < due) {
      if (inFlight >= args.inFlight) {
        blockedInFlight++;
        return;
      }
      const u = takeIdle();
      if (u === undefined) {
        blockedNoIdle++;
        return;
      }
      send(u, publishStartMs + (sent / args.rate) * 1000, now);
    }
  };

  // pg_stat_activity of the gateway's backends, every PG_SAMPLE_MS while the window runs.
  const waitSamples: Record<string, number> = {};
  let pgSampleRounds = 0;
  let pgSampling = false;
  // A commit waits for the disk to flush the WAL (IO:WALSync; others queue behind it on LWLock:WALWrite).
  // How long the statement of such a backend has run so far is a lower bound of that disk stall, which
  // holds every commit, and so every PUT, for its length. The longest seen in the window is reported.
  let walWaitLongestMs = 0;
  const WAL_FLUSH_WAITS = new Set(['IO:WALSync', 'LWLock:WALWrite']);
  const samplePg = (): void => {
    if (!pg || pgSampling || windowStartNs === Infinity || stopSending) {
      return;
    }
    pgSampling = true;
    pg.query<{ what: string; n: number; running_ms: number | null }>(
      `SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU')
                   ELSE coalesce(state, '?') END AS what, count(*)::int AS n,
              max(extract(epoch FROM clock_timestamp() - query_start) * 1000)::float8 AS running_ms
         FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        GROUP BY 1`,
    ).then(
      ({ rows }) => {
        pgSampling = false;
        pgSampleRounds++;
        for (const r of rows) {
          waitSamples[r.what] = (waitSamples[r.what] ?? 0) + r.n;
          if (WAL_FLUSH_WAITS.has(r.what) && r.running_ms !== null) {
            walWaitLongestMs = Math.max(walWaitLongestMs, r.running_ms);
          }
        }
      },
      (err: unknown) => {
        pgSampling = false;
        errors.add(`pg_sample_${err instanceof Error ? err.message : 'error'}`);
      },
    );
  };

  log(
    `driving ${driven.length} reports at ${args.rate} PUT/s (≤ ${args.inFlight} in flight) for ` +
      `${args.warmupSeconds} s warm-up + ${args.seconds} s measured on ${args.store}…`,
  );
  let lastOk = 0;
  const progress = setInterval(() => {
    const p99 = hist.percentileMs(0.99);
    log(
      `t=${((performance.now() - publishStartMs) / 1000).toFixed(0)}s sent ${sent}, ` +
        `${Math.round((ok - lastOk) / 5)} ok/s, ${inFlight} in flight, PUT -> SSE p99 so far ` +
        `${p99 === null ? '-' : p99.toFixed(2)} ms, failed ${failed}`,
    );
    lastOk = ok;
  }, 5000);
  publishStartMs = performance.now();
  const ticker = setInterval(pump, 1);
  const sampler = pg ? setInterval(samplePg, PG_SAMPLE_MS) : null;
  pump();
  while (!stopSending) {
    await sleep(50);
    pump();
  }
  clearInterval(ticker);
  if (sampler) {
    clearInterval(sampler);
  }
  const cpuWindow = process.cpuUsage(cpuStart);
  loopDelay.disable();
  const serverCpuEnd = readProcCpuMs(args.serverPid) ?? 0;
  const machineEnd = readMachineBusyMs();
  const pgEnd = pg
    ? { backends: sumCpuMs(pgPidsWindow.backends), background: sumCpuMs(pgPidsWindow.background) }
    : null;
  const windowWallMs = Math.max(1, windowEndMs - windowStartMs);
  const pgCommitsInWindow = pg ? (await pgCommits(pg)) - pgCommitsStart : 0;

  // ------------------------------------------------------------------ grace: the last events
  const allIn = (): boolean =>
    inFlight === 0 && driven.every((u) => u.closed || u.waiting.every((t) => t.answer !== 1));
  const graceStart = performance.now();
  while (!allIn() && performance.now() - graceStart < args.graceSeconds * 1000) {
    await sleep(25);
  }
  const graceMs = performance.now() - graceStart;
  clearInterval(progress);
  const memAfter = readProcMem(args.serverPid);

  // ------------------------------------------------------------------ accounting
  let lost = 0;
  let lostInWindow = 0;
  let putsInFlightAtEnd = 0;
  for (const u of driven) {
    for (const t of u.waiting) {
      if (t.answer === 1) {
        lost++;
        if (t.inWindow) {
          lostInWindow++;
        }
      } else if (t.answer === 0) {
        putsInFlightAtEnd++;
      }
    }
  }
  pool.close();
  agent.destroy();
  await pg?.end().catch(() => undefined);

  const pctOf = (ms: number): number => round((ms / windowWallMs) * 100, 1);
  const loadgenCpuMs = (cpuWindow.user + cpuWindow.system) / 1000;
  const serverCpuMs = serverCpuEnd - serverCpuStart;
  const pgBackendsMs = pgStart && pgEnd ? cpuDelta(pgStart.backends, pgEnd.backends) : 0;
  const pgBackgroundMs = pgStart && pgEnd ? cpuDelta(pgStart.background, pgEnd.background) : 0;
  const transitionsPerS = round((okInWindow / windowWallMs) * 1000, 1);
  const latency = latencySummary(hist);
  const waitTotal = Object.values(waitSamples).reduce((a, b) => a + b, 0);
  const result = {
    scenario: args.scenario,
    target: args.target,
    store: args.store,
    ...pool.userFigures(connectMs),
    reports_created: created,
    create_events: createEventsSeen,
    reports_driven: driven.length,
    rate: args.rate,
    in_flight_max: args.inFlight,
    seconds: args.seconds,
    warmup_s: args.warmupSeconds,
    put_mode: 'keep-alive http.Agent, one PUT per report at a time, reports in FIFO order',
    sent,
    sent_in_window: sentInWindow,
    planned_in_window: Math.floor(args.rate * args.seconds),
    transitions_ok: ok,
    transitions_ok_in_window: okInWindow,
    transitions_per_s: transitionsPerS,
    rate_achieved: transitionsPerS >= args.rate * 0.98,
    // the target: at least 2,000 transitions/s with PUT -> SSE p99 under 20 ms
    issue_target_met: transitionsPerS >= 2000 && latency.p99 !== null && latency.p99 < 20,
    // 2xx answers by the second of the measured window in which the PUT was sent
    transitions_by_s: okPerSecond,
    send_lag_ms: { p50: lagHist.pct(0.5), p99: lagHist.pct(0.99), max: round(lagHist.maxNs / 1e6, 1) },
    blocked_ticks_in_flight: blockedInFlight,
    blocked_ticks_no_idle_report: blockedNoIdle,
    put_latency_ms: latencySummary(putHist),
    latency_ms: latency,
    // by the second of the measured window in which the PUT was sent
    latency_ms_per_s: perSecondSummary(latencyPerSecond),
    event_before_answer: eventBeforeAnswer,
    ...deliveryChecks([ok, delivered], [lost, lostInWindow], duplicates, reordered, misdelivered),
    unexpected,
    non_2xx: non2xx.counts,
    put_failed: failed,
    failed_put_announced: failedAnnounced,
    puts_in_flight_at_end: putsInFlightAtEnd,
    disconnects: pool.disconnects,
    missing_id: missingId,
    errors: errors.counts,
    ...serverMemory(memBefore, memIdle, memAfter),
    // CPU while driving the measured window, 100 = one core (this machine's cores are shared by all)
    server_cpu_pct: args.serverPid > 0 ? pctOf(serverCpuMs) : null,
    pg_backends: pg ? pgPidsWindow.backends.length : null,
    pg_backends_cpu_pct: pg ? pctOf(pgBackendsMs) : null,
    pg_background_cpu_pct: pg ? pctOf(pgBackgroundMs) : null,
    // share of sampled backend states: active on CPU, active waiting (type:event), idle, ...
    pg_backend_states_pct: pg
      ? Object.fromEntries(
          Object.entries(waitSamples)
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => [k, round((n / Math.max(1, waitTotal)) * 100, 1)]),
        )
      : null,
    pg_active_backends_mean: pg
      ? round(
          Object.entries(waitSamples)
            .filter(([k]) => !k.startsWith('idle'))
            .reduce((a, [, n]) => a + n, 0) / Math.max(1, pgSampleRounds),
          2,
        )
      : null,
    pg_sample_rounds: pg ? pgSampleRounds : null,
    // the longest-running statement seen waiting for the WAL flush (a lower bound of the disk's stalls)
    pg_wal_flush_wait_longest_ms: pg ? round(walWaitLongestMs, 0) : null,
    // statements the gateway ran per 2xx transition (its PUT's, the relay's reads and marks)
    pg_commits_per_s: pg ? round((pgCommitsInWindow / windowWallMs) * 1000, 0) : null,
    pg_commits_per_transition: pg ? round(pgCommitsInWindow / Math.max(1, okInWindow), 2) : null,
    // CPU per 2xx transition (ms), less sensitive than the rate to what else runs on the machine
    server_cpu_ms_per_transition: round(serverCpuMs / Math.max(1, okInWindow), 3),
    pg_cpu_ms_per_transition: pg ? round(pgBackendsMs / Math.max(1, okInWindow), 3) : null,
    ...loadgenFigures(
      windowWallMs,
      loadgenCpuMs,
      [machineStart, machineEnd],
      serverCpuMs + pgBackendsMs,
      loopDelay,
    ),
    window_s: round(windowWallMs / 1000, 2),
    window_started_at: windowStartedAt,
    grace_s: round(graceMs / 1000, 2),
    duration_s: round((performance.now() - startedAt) / 1000, 2),
  };
  return result;
}
