/**
 * kafka-ingest's load, in the orchestrator's process (the targets' searches share one machine, their
 * steps in turn): the highest rate of records one server turns into SSE events with produce -> event p99
 * under 100 ms, found by steps of records at a fixed offered rate.
 *
 * Per target: `users` streams GET /v3/sse?username=u<i> over plain TCP (lib/stream-pool.ts), then the
 * independent producer of lib/kafka-records.ts, batching as a Kafka producer does (linger.ms 5,
 * max.in.flight 5): a send per millisecond, as kafka-latency paces 1,000 records/s, queues in the broker,
 * which handles one request of a connection at a time: its acks alone took up to a second here
 * (1,000-2,000/s, a busy machine). Each step is a warm-up (checked, not in the latency) and a measured
 * window.
 *
 * A step is sustained when: the producer achieved at least 95% of the offered rate over the window, every
 * acknowledged record reached its user's stream (after a drain of at most DRAIN_MS), none twice, none
 * after a later record of the same user, none on another user's stream, none altered, and the window's
 * produce -> event p99 is under 100 ms. A step that fails on its p99 alone is run once more (a single
 * stall of the broker's JVM on a shared machine moves a 4 s p99). After a warm-up step (the start rate
 * for 3 s, not judged: a fresh broker and server are cold), the search doubles the rate from the start
 * rate until a step fails, then bisects between the highest sustained and the lowest failed rate
 * `refine` times; the result is the highest sustained step.
 */
import { growU8 } from '../lib/grow';
import { benchKafka, connectedProducer, ProducedRecords, RecordData } from '../lib/kafka-records';
import { LatencyHistogram } from '../lib/latency-histogram';
import { log, Tally } from '../lib/log';
import { readMachineBusyMs, readProcCpuMs, readProcMem } from '../lib/proc';
import { cpuShares, latencySummary, mb, round } from '../lib/stats';
import { PooledStream, userStreams } from '../lib/stream-pool';
import { sleep } from '../lib/time';
import type { Result } from '../scenarios/scenario';
import type { BenchSettings } from '../settings';

const P99_LIMIT_MS = 100;
const ACHIEVED_SHARE = 0.95;
const MAX_SENDS_IN_FLIGHT = 5;
const LINGER_MS = 5;
const WARMUP_STEP_SECONDS = 3;
const DRAIN_MS = 5_000;

export type IngestSettings = Pick<
  BenchSettings,
  | 'kafkaUsers'
  | 'connectConcurrency'
  | 'kafkaIngestStart'
  | 'kafkaIngestMax'
  | 'kafkaIngestRefine'
  | 'kafkaIngestStepSeconds'
  | 'kafkaIngestWarmupSeconds'
  | 'kafkaIngestRates'
>;

/** One target's search: its server, the broker, the topic its server reads. */
export interface IngestTarget {
  target: string;
  topic: string;
  brokers: string;
  brokerPid: number;
  port: number;
  serverPid: number;
}

class UserStream extends PooledStream {
  /** Highest sequence number received (-1: none): a lower one after it is reordered. */
  highest = -1;
}

/** What one step counts. */
interface Step {
  first: number;
  windowFirst: number;
  end: number;
  hist: LatencyHistogram;
  ackHist: LatencyHistogram;
  delivered: number;
  duplicates: number;
  reordered: number;
  misdelivered: number;
  corrupted: number;
}

/**
 * Lets the targets' searches take their steps in turn, one step at a time, first come first served: while
 * both search, their steps alternate, so that both meet the same machine (its other load moves by the minute).
 */
export class Turns {
  private readonly waiting: (() => void)[] = [];
  private busy = false;

  async take<T>(step: () => Promise<T>): Promise<T> {
    if (this.busy) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy = true;
    try {
      return await step();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        next();
      } else {
        this.busy = false;
      }
    }
  }
}

/** Connects the target's streams and producer, then searches; resolves to the target's figures. */
export async function searchIngestRate(
  on: IngestTarget,
  settings: IngestSettings,
  turns: Turns,
): Promise<Result> {
  const N = settings.kafkaUsers;
  const records = new ProducedRecords(on.topic, N);
  const { sentAt, acked } = records;
  const received = growU8();
  const steps: Step[] = [];
  let unknownEvents = 0;
  /** The step a record belongs to: nearly always the last one. */
  const stepOf = (seq: number): Step => {
    for (let i = steps.length - 1; i > 0; i--) {
      if (seq >= steps[i].first) {
        return steps[i];
      }
    }
    return steps[0];
  };

  const record = new RecordData();
  const onEvent = (s: UserStream, data: string, now: number): void => {
    if (steps.length === 0 || !record.read(data) || record.seq >= records.sent) {
      unknownEvents++;
      return;
    }
    const { seq, ns } = record;
    const step = stepOf(seq);
    if (ns !== sentAt.a[seq]) {
      step.corrupted++;
      return;
    }
    if (seq % N !== s.index) {
      step.misdelivered++;
      return;
    }
    if (received.a[seq] === 1) {
      step.duplicates++;
      return;
    }
    received.a[seq] = 1;
    step.delivered++;
    if (seq < s.highest) {
      step.reordered++;
    } else {
      s.highest = seq;
    }
    if (seq >= step.windowFirst) {
      step.hist.record(now - ns);
    }
  };

  // ------------------------------------------------------------------ streams and producer
  const pool = userStreams(
    { host: '127.0.0.1', port: on.port, users: N, connectConcurrency: settings.connectConcurrency },
    {
      create: (sink, index) => new UserStream(sink, index),
      path: (s) => `/v3/sse?username=u${s.index}`,
      onEvent: (s, data, _hasId, now) => onEvent(s, data, now),
      errors: new Tally(),
    },
  );
  log(`kafka-ingest ${on.target}: connecting ${N} streams to /v3/sse?username=uK…`);
  const connectMs = await pool.open(120_000);
  log(pool.openedLine(connectMs, false));
  const openCount = pool.streams.filter((s) => s.ready && !s.closed).length;
  if (openCount < N) {
    pool.close();
    throw new Error(`only ${openCount}/${N} streams opened`);
  }
  const producer = await connectedProducer(benchKafka('sse-bench-kafka-ingest', on.brokers));
  // Let the server settle (heap, JIT) after the connects.
  await sleep(2000);
  const memIdle = readProcMem(on.serverPid);

  // ------------------------------------------------------------------ one step
  const runStep = (rate: number, seconds = settings.kafkaIngestStepSeconds): Promise<Result> =>
    turns.take(() => runStepNow(rate, seconds));
  const runStepNow = async (rate: number, seconds: number): Promise<Result> => {
    const warmupRecords = Math.round(rate * settings.kafkaIngestWarmupSeconds);
    const first = records.sent;
    const step: Step = {
      first,
      windowFirst: first + warmupRecords,
      end: first + warmupRecords + Math.round(rate * seconds),
      hist: new LatencyHistogram(),
      ackHist: new LatencyHistogram(),
      delivered: 0,
      duplicates: 0,
      reordered: 0,
      misdelivered: 0,
      corrupted: 0,
    };
    steps.push(step);
    received.ensure(step.end);
    let cpu = { loadgen: process.cpuUsage(), server: 0, broker: 0, machine: 0 as number | null };
    const pacing = records.pace(producer, {
      end: step.end,
      windowFirst: step.windowFirst,
      rate,
      maxInFlight: MAX_SENDS_IN_FLIGHT,
      lingerMs: LINGER_MS,
      ackHist: step.ackHist,
      onWindowStart: () => {
        cpu = {
          loadgen: process.cpuUsage(),
          server: readProcCpuMs(on.serverPid) ?? 0,
          broker: readProcCpuMs(on.brokerPid) ?? 0,
          machine: readMachineBusyMs(),
        };
      },
    });
    await pacing.allSent;
    const loadgenCpu = process.cpuUsage(cpu.loadgen);
    const serverCpuMs = (readProcCpuMs(on.serverPid) ?? 0) - cpu.server;
    const brokerCpuMs = (readProcCpuMs(on.brokerPid) ?? 0) - cpu.broker;
    const machineEnd = readMachineBusyMs();
    const windowMs = Math.max(1, pacing.lastSendMs - pacing.windowStartMs);
    const sentEndMs = performance.now();

    // Drain: every acknowledged record of the step on its stream, or DRAIN_MS.
    let scan = first;
    const allIn = (): boolean => {
      if (pacing.inFlight > 0) {
        return false;
      }
      while (scan < step.end && (acked.a[scan] !== 1 || received.a[scan] === 1)) {
        scan++;
      }
      return scan >= step.end;
    };
    while (!allIn() && performance.now() - sentEndMs < DRAIN_MS) {
      await sleep(20);
    }
    const drainMs = performance.now() - sentEndMs;
    let lost = 0;
    for (let seq = first; seq < step.end; seq++) {
      if (acked.a[seq] === 1 && received.a[seq] !== 1) {
        lost++;
      }
    }
    const pctOf = (ms: number): number => round((ms / windowMs) * 100, 1);
    const producePerS = round(((step.end - step.windowFirst - 1) / windowMs) * 1000, 1);
    const p99 = step.hist.percentileMs(0.99);
    const why: string[] = [];
    if (producePerS < ACHIEVED_SHARE * rate) {
      why.push(`producer reached ${Math.round(producePerS)}/s`);
    }
    if (p99 === null || p99 >= P99_LIMIT_MS) {
      why.push(`p99 ${p99 === null ? '-' : p99.toFixed(1)} ms`);
    }
    for (const [label, n] of [
      ['produce failed', pacing.failed],
      ['lost', lost],
      ['duplicated', step.duplicates],
      ['reordered', step.reordered],
      ['misdelivered', step.misdelivered],
      ['corrupted', step.corrupted],
      ['disconnects', pool.disconnects],
    ] as const) {
      if (n > 0) {
        why.push(`${n} ${label}`);
      }
    }
    const stepResult = {
      rate,
      sustained: why.length === 0,
      // only the p99 missed: a step the search runs once more, as one stall of a shared machine does that
      latency_only: why.length === 1 && why[0].startsWith('p99'),
      why_not: why,
      records: step.end - first,
      produce_per_s: producePerS,
      produce_failed: pacing.failed,
      produce_ticks_skipped: pacing.ticksSkipped,
      produce_largest_send: pacing.largestSend,
      produce_ack_ms: step.ackHist.summary(),
      delivered: step.delivered,
      lost,
      duplicates: step.duplicates,
      reordered: step.reordered,
      misdelivered: step.misdelivered,
      corrupted: step.corrupted,
      latency_ms: latencySummary(step.hist),
      drain_s: round(drainMs / 1000, 2),
      // CPU while producing the measured window, 100 = one core (the machine's cores are shared)
      server_cpu_pct: pctOf(serverCpuMs),
      // the figure least moved by a busy machine: the server's CPU time per record of the window
      server_cpu_us_per_record: round((serverCpuMs * 1000) / (step.end - step.windowFirst), 1),
      broker_cpu_pct: pctOf(brokerCpuMs),
      ...cpuShares(
        windowMs,
        (loadgenCpu.user + loadgenCpu.system) / 1000,
        [cpu.machine, machineEnd],
        serverCpuMs + brokerCpuMs,
      ),
    };
    log(
      `  ${on.target} ${rate}/s: ${stepResult.sustained ? 'sustained' : `NOT sustained (${why.join(', ')})`}; ` +
        `produced ${producePerS}/s, p50 ${step.hist.pct(0.5) ?? '-'} / p99 ${step.hist.pct(0.99) ?? '-'} ms ` +
        `(Kafka ack p99 ${step.ackHist.pct(0.99) ?? '-'} ms), ` +
        `server CPU ${stepResult.server_cpu_pct}%, broker ${stepResult.broker_cpu_pct}%, ` +
        `load generator ${stepResult.loadgen_cpu_pct}%, other ${stepResult.other_cpu_pct ?? '-'}%`,
    );
    await sleep(500);
    return stepResult;
  };

  // ------------------------------------------------------------------ the search
  const stepResults: Result[] = [];
  const searchStart = performance.now();
  let best: Result | null = null;
  let lowestFailed = Infinity;
  const tryRate = async (rate: number): Promise<boolean> => {
    let r = await runStep(rate);
    stepResults.push(r);
    if (r.sustained !== true && r.latency_only === true) {
      log(`  ${on.target} ${rate}/s: once more, it failed on latency alone`);
      r = await runStep(rate);
      stepResults.push(r);
    }
    if (r.sustained === true) {
      if (best === null || rate > (best.rate as number)) {
        best = r;
      }
      return true;
    }
    lowestFailed = Math.min(lowestFailed, rate);
    return false;
  };
  const start = settings.kafkaIngestStart;
  // A cold broker and server (JIT, the broker's page cache) first: not part of the search.
  log(`  ${on.target}: warm-up, ${start}/s for ${WARMUP_STEP_SECONDS} s`);
  const warmup = await runStep(start, WARMUP_STEP_SECONDS);
  if (settings.kafkaIngestRates.length > 0) {
    for (const rate of settings.kafkaIngestRates) {
      await tryRate(rate);
    }
  } else {
    let rate = start;
    while (rate <= settings.kafkaIngestMax && (await tryRate(rate))) {
      rate *= 2;
    }
    for (let i = 0; i < settings.kafkaIngestRefine && Number.isFinite(lowestFailed); i++) {
      const low = best === null ? 0 : ((best as Result).rate as number);
      const mid = Math.round((low + lowestFailed) / 2 / 250) * 250;
      if (mid <= low || mid >= lowestFailed) {
        break;
      }
      await tryRate(mid);
    }
  }
  const searchMs = performance.now() - searchStart;
  const memAfter = readProcMem(on.serverPid);
  pool.close();
  await Promise.race([producer.disconnect().catch(() => undefined), sleep(2000)]);
  const top = best as Result | null;
  const total = (field: string): number => stepResults.reduce((n, r) => n + (r[field] as number), 0);
  return {
    users: N,
    connections_open: openCount,
    connect_ms: { total: Math.round(connectMs) },
    criteria: `produced >= ${ACHIEVED_SHARE * 100}% of the offered rate, p99 < ${P99_LIMIT_MS} ms, 0 lost/dup/reordered/misdelivered/corrupted`,
    step_seconds: settings.kafkaIngestStepSeconds,
    step_warmup_seconds: settings.kafkaIngestWarmupSeconds,
    sustained_per_s: top?.rate ?? 0,
    lowest_failed_per_s: Number.isFinite(lowestFailed) ? lowestFailed : null,
    // the summary table's columns: the highest sustained step
    events_per_s: top?.rate ?? 0,
    latency_ms: top?.latency_ms ?? null,
    lost: total('lost'),
    duplicates: total('duplicates'),
    reordered: total('reordered'),
    server_cpu_pct: top?.server_cpu_pct ?? null,
    loadgen_cpu_pct: top?.loadgen_cpu_pct ?? null,
    unknown_events: unknownEvents,
    warmup_step: warmup,
    steps: stepResults,
    server_rss_mb_idle: mb(memIdle?.rssKb),
    server_rss_mb_peak: mb(memAfter?.hwmKb),
    search_s: round(searchMs / 1000, 1),
  };
}
