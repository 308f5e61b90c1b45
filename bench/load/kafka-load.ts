/**
 * kafka-latency's load: end-to-end latency from a Kafka produce to the SSE event, against a gateway that
 * already runs with KAFKA_BROKERS and answers /health/ready. Runs in the load generator's process
 * (loadgen.ts) and resolves to the one JSON result line.
 *
 * Streams: one GET /v3/sse?username=u<i> per user (i < users), over plain TCP (lib/stream-pool.ts). A 200 response head means the stream is subscribed (the gateway subscribes before
 * it sends the head, and only answers once its consumer has caught up).
 *
 * Producing: the records and the independent producer of lib/kafka-records.ts (the data of record <seq>
 * must be exactly `k:<seq>:<ns>`, latency is receive time - <ns> on this process's one clock). Pacing: a
 * 1 ms timer sends every record that is due by then (rate × elapsed) in one producer.send() call, so
 * records leave in groups of about rate/1000 (one per call at 1,000/s), all stamped with that call's time.
 * At most 64 sends are in flight; past that a tick sends nothing and the records wait for the next one
 * (visible as a lower achieved rate). The first warmupSeconds × rate records are the warm-up: checked for
 * loss like every record, not in the latency figures.
 *
 * Checks per user stream: `lost` (acknowledged by Kafka, never arrived, after a grace period),
 * `duplicates`, `reordered` (arrived after a later record of the same user; a user's records are a
 * second apart at the default rate, so no two are ever in flight together), `misdelivered` (another
 * user's record), `corrupted` (data not byte for byte the `k:<seq>:<ns>` that was produced).
 *
 * Kafka baseline (on unless BENCH_KAFKA_BASELINE=0): a plain kafkajs consumer in this process, in a
 * consumer group of its own with kafkajs defaults (as the gateway's consumer), reading the same topic:
 * produce -> consumer latency, i.e. what Kafka and kafkajs alone cost before the gateway adds its part;
 * and per record, SSE arrival minus this consumer's arrival (gateway_minus_baseline_ms), which cancels the
 * producer's and the broker's share out: on a 2-core machine shared with a JVM, the broker's delays move
 * both figures together, run to run.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { growF64, growU8, SeenBits } from '../lib/grow';
import { benchKafka, connectedProducer, ProducedRecords, RecordData } from '../lib/kafka-records';
import { LatencyHistogram } from '../lib/latency-histogram';
import { logStep as log, Tally } from '../lib/log';
import { readMetric } from '../lib/metrics';
import { readMachineBusyMs, readProcCpuMs, readProcMem, serverMemory } from '../lib/proc';
import {
  deliveryChecks,
  latencySummary,
  loadgenFigures,
  mb,
  percentileOf,
  perSecondSummary,
  round,
} from '../lib/stats';
import type { PacedLoadArgs } from '../lib/load-args';
import { PooledStream, userStreams } from '../lib/stream-pool';
import { nowNs, signal, sleep } from '../lib/time';

/** users: subscribed users; rate: records per second over all of them; warm-up records are checked for loss. */
export interface KafkaLoadArgs extends PacedLoadArgs {
  /** `127.0.0.1:<port>` of the broker the gateway uses. */
  brokers: string;
  /** The broker's JVM, for its CPU and RSS (0 = unknown). */
  brokerPid: number;
  topic: string;
  /** Also measure produce -> plain kafkajs consumer in this process. */
  baselineConsumer: boolean;
}

const MAX_SENDS_IN_FLIGHT = 64;

/** One user's stream: what it received (the user's j-th record: j) and the highest so far. */
class UserStream extends PooledStream {
  readonly seen = new SeenBits();
  /** Highest per-user index received so far (-1: none). */
  highest = -1;
}

export async function runKafkaLoad(args: KafkaLoadArgs): Promise<Record<string, unknown>> {
  const N = args.users;
  const startedAt = performance.now();
  const errors = new Tally();
  const memBefore = readProcMem(args.serverPid);

  const warmupRecords = Math.round(args.rate * args.warmupSeconds);
  const totalRecords = warmupRecords + Math.round(args.rate * args.seconds);

  // ------------------------------------------------------------------ receive side
  const hist = new LatencyHistogram();
  const secondsInWindow = Math.max(1, Math.ceil(args.seconds));
  const latencyPerSecond: number[][] = Array.from({ length: secondsInWindow }, () => []);
  const records = new ProducedRecords(args.topic, N);
  const { sentAt, acked } = records;
  const received = growU8(); // per seq: its stream got it (first copy)
  // per seq: when its stream and the baseline consumer got it (nowNs; 0 = not yet), for the difference
  const sseAt = growF64();
  const baselineAt = growF64();
  received.ensure(totalRecords);
  sseAt.ensure(totalRecords);
  baselineAt.ensure(totalRecords);
  let delivered = 0;
  let duplicates = 0;
  let reordered = 0;
  let misdelivered = 0;
  let corrupted = 0;
  let unknownEvents = 0;
  let missingId = 0;

  const record = new RecordData();
  const onEvent = (s: UserStream, data: string, hasId: boolean, now: number): void => {
    if (!hasId) {
      missingId++;
    }
    if (!record.read(data) || record.seq >= records.sent) {
      unknownEvents++; // not a record of this run (or garbled beyond recognition)
      return;
    }
    const { seq, ns } = record;
    if (ns !== sentAt.a[seq]) {
      corrupted++;
      return;
    }
    if (seq % N !== s.index) {
      misdelivered++;
      return;
    }
    delivered++;
    if (seq >= warmupRecords) {
      const latency = now - ns;
      hist.record(latency);
      const second = Math.min(secondsInWindow - 1, Math.floor((seq - warmupRecords) / args.rate));
      latencyPerSecond[second].push(latency / 1e6);
    }
    const j = (seq - s.index) / N;
    if (!s.seen.mark(j)) {
      duplicates++;
      return;
    }
    if (j < s.highest) {
      reordered++;
    } else {
      s.highest = j;
    }
    received.a[seq] = 1;
    sseAt.a[seq] = now;
  };

  // ------------------------------------------------------------------ connect phase
  // A 200 head means the stream is subscribed (the gateway subscribes before it sends the head).
  const pool = userStreams(args, {
    create: (sink, index) => new UserStream(sink, index),
    path: (s) => `/v3/sse?username=u${s.index}`,
    onEvent,
    errors,
  });
  const streams = pool.streams;
  log(`connecting ${N} streams to /v3/sse?username=uK (${args.connectConcurrency} in flight)…`);
  const connectMs = await pool.open(120_000);
  log(pool.openedLine(connectMs, false));
  const userOpen = new Uint8Array(N);

  // ------------------------------------------------------------------ Kafka clients
  const kafka = benchKafka('sse-bench-loadgen', args.brokers);
  const producer = await connectedProducer(kafka);

  const baselineHist = new LatencyHistogram();
  const baselineSeen = growU8();
  baselineSeen.ensure(totalRecords);
  let baselineReceived = 0;
  let baselineDuplicates = 0;
  const baseline = args.baselineConsumer
    ? kafka.consumer({
        groupId: `sse-bench-baseline-${process.pid}-${Date.now()}`,
        allowAutoTopicCreation: false,
      })
    : null;
  if (baseline) {
    const joined = signal();
    baseline.on(baseline.events.GROUP_JOIN, () => joined.fire());
    await baseline.connect();
    // The broker is fresh: from the beginning is exactly this run's records, none missed by a late join.
    await baseline.subscribe({ topic: args.topic, fromBeginning: true });
    await baseline.run({
      eachBatchAutoResolve: true,
      eachBatch: ({ batch }) => {
        const now = nowNs();
        for (const message of batch.messages) {
          const value = message.value?.toString('latin1') ?? '';
          const parts = value.slice(value.indexOf(':') + 3).split(':'); // u<i>:k:<seq>:<ns>
          const seq = Number(parts[0]);
          if (!Number.isInteger(seq) || seq < 0 || seq >= records.sent) {
            continue;
          }
          if (baselineSeen.a[seq] === 1) {
            baselineDuplicates++;
            continue;
          }
          baselineSeen.a[seq] = 1;
          baselineAt.a[seq] = now;
          baselineReceived++;
          if (seq >= warmupRecords) {
            baselineHist.record(now - Number(parts[1]));
          }
        }
        return Promise.resolve();
      },
    });
    await Promise.race([joined.done, sleep(30_000)]);
    log('baseline kafkajs consumer joined its own group');
  }

  // Let the server settle (heap, JIT) before the idle reading, as loadgen.ts does.
  await sleep(2000);
  const memIdle = readProcMem(args.serverPid);
  let openAtPublish = 0;
  for (const s of streams) {
    if (s.ready && !s.closed) {
      userOpen[s.index] = 1;
      openAtPublish++;
    }
  }

  // ------------------------------------------------------------------ produce phase
  const ackHist = new LatencyHistogram();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const serverCpu = { start: 0, end: 0 };
  const brokerCpu = { start: 0, end: 0 };
  let machineStart: number | null = null;
  let cpuStart = process.cpuUsage();
  const startWindow = (): void => {
    cpuStart = process.cpuUsage();
    serverCpu.start = readProcCpuMs(args.serverPid) ?? 0;
    brokerCpu.start = readProcCpuMs(args.brokerPid) ?? 0;
    machineStart = readMachineBusyMs();
    loopDelay.enable();
  };

  log(
    `producing ${args.rate} records/s over ${openAtPublish} users to ${args.topic} for ` +
      `${args.warmupSeconds} s warm-up + ${args.seconds} s measured` +
      (baseline ? ' (plus a plain kafkajs consumer as the Kafka baseline)' : '') +
      '…',
  );
  const pacing = records.pace(producer, {
    end: totalRecords,
    windowFirst: warmupRecords,
    rate: args.rate,
    maxInFlight: MAX_SENDS_IN_FLIGHT,
    lingerMs: 0,
    ackHist,
    onWindowStart: startWindow,
    onFailed: (err) => errors.add(`produce_${err instanceof Error ? err.name : 'error'}`),
  });
  let lastDelivered = 0;
  const progress = setInterval(() => {
    const p99 = hist.percentileMs(0.99);
    log(
      `t=${((performance.now() - pacing.startMs) / 1000).toFixed(0)}s produced ${records.sent} (acked ${pacing.acked}),` +
        ` ${Math.round((delivered - lastDelivered) / 5)} events/s, latency p99 so far ` +
        `${p99 === null ? '-' : p99.toFixed(2)} ms` +
        (baseline ? `, Kafka baseline p99 ${baselineHist.percentileMs(0.99)?.toFixed(2) ?? '-'} ms` : ''),
    );
    lastDelivered = delivered;
  }, 5000);
  await pacing.allSent;
  const cpuWindow = process.cpuUsage(cpuStart);
  loopDelay.disable();
  serverCpu.end = readProcCpuMs(args.serverPid) ?? 0;
  brokerCpu.end = readProcCpuMs(args.brokerPid) ?? 0;
  const machineEnd = readMachineBusyMs();
  const publishEndMs = performance.now();
  // from the first measured send to the last send: windowRecords - 1 intervals of 1/rate s
  const windowWallMs = Math.max(1, pacing.lastSendMs - pacing.windowStartMs);
  const { sent } = records;

  // ------------------------------------------------------------------ grace: the last deliveries
  let scan = 0;
  let baselineScan = 0;
  const allIn = (): boolean => {
    if (pacing.inFlight > 0) {
      return false;
    }
    while (scan < sent && (acked.a[scan] !== 1 || received.a[scan] === 1 || userOpen[scan % N] === 0)) {
      scan++;
    }
    if (baseline) {
      while (baselineScan < sent && (acked.a[baselineScan] !== 1 || baselineSeen.a[baselineScan] === 1)) {
        baselineScan++;
      }
    }
    return scan >= sent && (!baseline || baselineScan >= sent);
  };
  const graceDeadline = performance.now() + args.graceSeconds * 1000;
  while (!allIn() && performance.now() < graceDeadline && pool.disconnects < openAtPublish) {
    await sleep(25);
  }
  const graceMs = performance.now() - publishEndMs;
  clearInterval(progress);
  const memAfter = readProcMem(args.serverPid);
  const brokerMem = readProcMem(args.brokerPid);
  const skipped = await readMetric(
    args.host,
    args.port,
    `kafka_records_skipped_total{topic="${args.topic}"}`,
  );

  // ------------------------------------------------------------------ accounting
  let expected = 0;
  let lost = 0;
  let lostInWindow = 0;
  let baselineLost = 0;
  for (let seq = 0; seq < sent; seq++) {
    if (acked.a[seq] !== 1) {
      continue;
    }
    if (baseline && baselineSeen.a[seq] !== 1) {
      baselineLost++;
    }
    if (userOpen[seq % N] === 0) {
      continue;
    }
    expected++;
    if (received.a[seq] !== 1) {
      lost++;
      if (seq >= warmupRecords) {
        lostInWindow++;
      }
    }
  }
  pool.close();
  // A consumer's disconnect waits for its pending fetch (up to maxWaitTimeInMs, 5 s): not worth waiting
  // for, the broker is stopped right after this run anyway.
  const disconnectStart = performance.now();
  await Promise.race([
    Promise.all([producer.disconnect(), baseline?.disconnect()]).catch(() => undefined),
    sleep(2000),
  ]);
  const kafkaDisconnectMs = performance.now() - disconnectStart;

  const overBaseline: number[] = [];
  for (let seq = warmupRecords; seq < sent; seq++) {
    if (sseAt.a[seq] > 0 && baselineAt.a[seq] > 0) {
      overBaseline.push((sseAt.a[seq] - baselineAt.a[seq]) / 1e6);
    }
  }
  const over = Float64Array.from(overBaseline).sort();
  const overAt = (p: number): number | null => {
    const v = percentileOf(over, p);
    return v === null ? null : round(v, 2);
  };
  const pctOf = (ms: number): number => round((ms / windowWallMs) * 100, 1);
  const loadgenCpuMs = (cpuWindow.user + cpuWindow.system) / 1000;
  const serverCpuMs = serverCpu.end - serverCpu.start;
  const brokerCpuMs = brokerCpu.end - brokerCpu.start;
  const windowRecords = sent - warmupRecords;
  const result = {
    scenario: args.scenario,
    target: args.target,
    ...pool.userFigures(connectMs),
    rate: args.rate,
    seconds: args.seconds,
    warmup_s: args.warmupSeconds,
    produce_mode: `kafkajs producer, acks -1, every record due at each 1 ms tick in one send() call`,
    sent,
    sent_in_window: windowRecords,
    produce_acked: pacing.acked,
    produce_failed: pacing.failed,
    produce_per_s: round(((windowRecords - 1) / windowWallMs) * 1000, 1),
    produce_largest_send: pacing.largestSend,
    produce_ticks_skipped: pacing.ticksSkipped,
    produce_ack_ms: latencySummary(ackHist),
    ...deliveryChecks([expected, delivered], [lost, lostInWindow], duplicates, reordered, misdelivered),
    corrupted,
    latency_ms: latencySummary(hist),
    // by the second of the measured window in which the record was produced
    latency_ms_per_s: perSecondSummary(latencyPerSecond),
    kafka_baseline: baseline
      ? {
          what: 'produce -> plain kafkajs consumer (own group, kafkajs defaults) in the load generator',
          received: baselineReceived,
          lost: baselineLost,
          duplicates: baselineDuplicates,
          latency_ms: latencySummary(baselineHist),
          // Per record: SSE receive time minus this consumer's receive time of the same record. The
          // producer's and the broker's delays cancel out, so this is what the gateway adds (its consumer,
          // fan-out, SSE write, this process reading the stream) over a plain kafkajs consumer, even on a
          // busy machine. Negative: the SSE event came first.
          gateway_minus_baseline_ms: {
            records: over.length,
            p1: overAt(0.01),
            p50: overAt(0.5),
            p90: overAt(0.9),
            p99: overAt(0.99),
            max: over.length === 0 ? null : round(over[over.length - 1], 2),
          },
        }
      : null,
    server_records_skipped: skipped,
    disconnects: pool.disconnects,
    missing_id: missingId,
    unknown_events: unknownEvents,
    errors: errors.counts,
    ...serverMemory(memBefore, memIdle, memAfter),
    broker_rss_mb_after: mb(brokerMem?.rssKb),
    // CPU while producing the measured window, 100 = one core (this machine's cores are shared by all)
    server_cpu_pct: args.serverPid > 0 ? pctOf(serverCpuMs) : null,
    broker_cpu_pct: args.brokerPid > 0 ? pctOf(brokerCpuMs) : null,
    ...loadgenFigures(
      windowWallMs,
      loadgenCpuMs,
      [machineStart, machineEnd],
      serverCpuMs + brokerCpuMs,
      loopDelay,
    ),
    produce_s: round(windowWallMs / 1000, 2),
    grace_s: round(graceMs / 1000, 2),
    kafka_disconnect_ms: Math.round(kafkaDisconnectMs),
    duration_s: round((performance.now() - startedAt) / 1000, 2),
  };
  return result;
}
