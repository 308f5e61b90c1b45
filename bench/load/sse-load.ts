/**
 * The SSE load of the /events and /v2/sse scenarios (broadcast-10k, direct-10k, direct-pipelined,
 * direct-batched, open-10k, streams-19k, latency-250, slow-readers): each passes its ScenarioPlan. Runs in
 * the load generator's process (loadgen.ts) against a server that is already listening, and resolves to
 * the one JSON result line.
 *
 * Streams: opened by lib/stream-pool.ts with at most `connectConcurrency` attempts in flight; one core
 * keeps up with ~150,000 events/s even when every event arrives in its own read.
 *
 * Publishing: POSTs through a keep-alive http.Agent, at most `inFlight` at once, and at most `window`
 * messages published but not yet delivered to all their streams (a message stops counting after 2 s),
 * so a server that answers 201 before fanning out cannot be flooded into an unbounded queue.
 * Messages look like `b:<seq>:<ns>` (broadcast) or `d:<seq>:<ns>` (direct), optionally padded with
 * `:xxxx`. <ns> is process.hrtime.bigint() minus this process's start (monotonic, exact in a double);
 * latency = receive hrtime - <ns>, for messages sent after the warm-up. Direct messages go round-robin:
 * message <seq> goes to user u<seq % N>, so every stream can tell whether an event is its own.
 * direct-batched sends 100 consecutive messages in one POST /publish (items `v2:u<seq % N>`); each is still
 * tracked, answered and checked as its own message.
 *
 * Checks per stream: `lost` (answered 201 but never arrived), `duplicates`, `misdelivered` (direct: another
 * user's message), `reordered` (arrived after a message whose POST was sent only after this one's POST
 * had been answered; concurrent POSTs may legitimately be applied in either order).
 *
 * slow-readers: latency-250 with 4096-byte messages plus stalled readers (stalled-readers.ts). Reported:
 * healthy latency overall, per half and per second of the window; how many stalled sockets the server
 * dropped and when; the gateway's own counter (sse_slow_reader_disconnects_total from /metrics; null for
 * a server without /metrics); server RSS each second.
 */
import * as http from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { growF64, growU32, growU8, SeenBits } from '../lib/grow';
import { LatencyHistogram } from '../lib/latency-histogram';
import { logStep as log, Tally } from '../lib/log';
import { noDelayAgent } from '../lib/http';
import { readMetric } from '../lib/metrics';
import { PipelinedPublisher } from '../lib/pipelined-publisher';
import { readMachineBusyMs, readProcCpuMs, readProcMem, serverMemory, type ProcMem } from '../lib/proc';
import { loopDelaySummary, mb, percentileOf, perSecondSummary, round } from '../lib/stats';
import { PooledStream, StreamPool } from '../lib/stream-pool';
import { nowNs, signal, sleep } from '../lib/time';
import { StalledReaders } from './stalled-readers';

export interface SseLoadArgs {
  scenario: string;
  target: string;
  host: string;
  port: number;
  serverPid: number;
  /** SSE connections for the 10k scenarios (latency-250 and slow-readers use min(250, connections)). */
  connections: number;
  /** Length of the measurement window (publishing). */
  seconds: number;
  /** Publishing before the measurement window starts (JIT warm-up of both sides); not measured. */
  warmupSeconds: number;
  /** How long to wait after publishing stops for the last deliveries. */
  tailSeconds: number;
  /** Connection attempts in flight at once while opening streams. */
  connectConcurrency: number;
  /** Extra bytes appended to every published message (not used by slow-readers: 4096-byte messages). */
  payloadBytes: number;
  /** Concurrent POSTs; 0 = the scenario's default. */
  publishConcurrency: number;
  /**
   * How the SSE streams are read: `net` = HTTP/1.1 over a plain TCP socket, response head and chunked
   * framing decoded by sse-stream.ts (cheap: one JS callback per socket read); `http` = node:http
   * client with a keep-alive Agent (about twice the CPU per event, so it saturates near 100k events/s).
   * The publishing side always uses node:http.
   */
  sseClient: 'net' | 'http';
  /** slow-readers: how many stalled readers (25; 0 gives the same load without them, as a control). */
  stalled?: number;
  /**
   * 10k scenarios: after the reading 2 s after the streams opened, how long to keep them idle before a
   * second reading (0 = none). The first includes garbage of the connection storm that V8 has not yet
   * given back; the second is what the idle streams cost once it has.
   */
  idleSeconds?: number;
  /**
   * Publish over this many keep-alive TCP connections with up to `publishPipeline` pipelined POSTs each
   * (HTTP/1.1 pipelining, see pipelined-publisher.ts) instead of node:http's agent; 0 = the agent.
   * direct-pipelined defaults to 32 over 2 connections.
   */
  publishPipeline?: number;
  publishConnections?: number;
  /** Publish exactly this many messages after the warm-up instead of for `seconds` (direct-pipelined: 20,000). */
  messages?: number;
  /** The server's keep-alive interval on these streams, for CPU per keep-alive round while idle (0 = unknown). */
  keepAliveMs?: number;
}

export interface ScenarioPlan {
  mode: 'broadcast' | 'direct';
  connections: number;
  /** Concurrent POSTs at most. */
  inFlight: number;
  /** Published messages not yet delivered to all their streams, at most (flow control). */
  window: number;
  /** Messages per second, or 0 for "as fast as the server absorbs". */
  rate: number;
  /** Stalled readers (connect, send the request, never read) opened after the healthy streams. */
  stalled: number;
  /** slow-readers' extra figures: latency by half and by second, server RSS each second. */
  slowReaders: boolean;
  /** Pad every message to exactly this many bytes (0 = use payloadBytes). */
  messageBytes: number;
  /** false: only open the streams (open-10k), no publishing. */
  publish: boolean;
  /** Pipelined POSTs per connection over `pipelineConnections` raw connections; 0 = node:http agent. */
  pipeline: number;
  pipelineConnections: number;
  /** Messages to publish after the warm-up (0 = publish for `seconds`). */
  messages: number;
  /** Direct messages per `POST /publish` (0 = one `POST /v2/message` per message); inFlight counts POSTs. */
  batch: number;
}

/** What a plan does unless its scenario says otherwise. */
export const PLAN_DEFAULTS = {
  stalled: 0,
  slowReaders: false,
  messageBytes: 0,
  publish: true,
  pipeline: 0,
  pipelineConnections: 2,
  messages: 0,
  batch: 0,
} as const;

/** The scenario's plan with the settings that override it (publishing pipeline, messages, concurrency). */
function withOverrides(args: SseLoadArgs, scenarioPlan: ScenarioPlan): ScenarioPlan {
  let plan = scenarioPlan;
  if (args.publishPipeline !== undefined && args.publishPipeline > 0) {
    plan = { ...plan, pipeline: args.publishPipeline };
  }
  if (args.publishConnections !== undefined && args.publishConnections > 0) {
    plan = { ...plan, pipelineConnections: args.publishConnections };
  }
  if (args.messages !== undefined && args.messages > 0) {
    plan = { ...plan, messages: args.messages };
  }
  if (plan.pipeline > 0) {
    return { ...plan, inFlight: plan.pipeline * plan.pipelineConnections };
  }
  return args.publishConcurrency > 0 ? { ...plan, inFlight: args.publishConcurrency } : plan;
}

/** One SSE stream of this load: the pool's bookkeeping plus which messages it got, and in what order. */
class Conn extends PooledStream {
  /** Received message indexes (broadcast: seq; direct: seq / N). */
  readonly seen = new SeenBits();
  /** Every message below this seq was answered (201) before some message this stream already got was sent. */
  causalFloor = 0;
}

/**
 * The streams idle for `seconds` (0: not at all): the server's RSS after that, once V8 has given back the
 * garbage of the connection storm, and its CPU meanwhile (keep-alive comments only).
 */
async function idle(
  serverPid: number,
  seconds: number,
): Promise<{ memSettled: ProcMem | null; idleServerCpuMs: number | null }> {
  if (seconds === 0) {
    return { memSettled: null, idleServerCpuMs: null };
  }
  const cpuStart = readProcCpuMs(serverPid);
  for (let second = 1; second <= seconds; second++) {
    await sleep(1000);
    if (second % 10 === 0 || second === seconds) {
      const now = readProcMem(serverPid);
      log(`idle ${second}/${seconds} s: server RSS ${now === null ? '?' : round(now.rssKb / 1024, 1)} MB`);
    }
  }
  const memSettled = readProcMem(serverPid);
  const cpuEnd = readProcCpuMs(serverPid);
  return { memSettled, idleServerCpuMs: cpuStart !== null && cpuEnd !== null ? cpuEnd - cpuStart : null };
}

export async function runSseLoad(
  args: SseLoadArgs,
  scenarioPlan: ScenarioPlan,
): Promise<Record<string, unknown>> {
  const plan = withOverrides(args, scenarioPlan);
  const N = plan.connections;
  const direct = plan.mode === 'direct';
  const kindChar = direct ? 'd' : 'b';
  const pad = args.payloadBytes > 0 ? ':' + 'x'.repeat(Math.max(0, args.payloadBytes - 1)) : '';
  const fill = 'x'.repeat(plan.messageBytes);
  /** The POST body: `b:<seq>:<ns>` plus padding (to exactly plan.messageBytes when that is set). */
  const bodyFor = (seq: number, sendNs: number): string => {
    const head = `${kindChar}:${seq}:${sendNs}`;
    if (plan.messageBytes > 0) {
      return head + ':' + fill.slice(0, Math.max(0, plan.messageBytes - head.length - 1));
    }
    return head + pad;
  };
  const slow = plan.slowReaders;
  const startedAt = performance.now();
  const errors = new Tally();
  const addError = (key: string): void => errors.add(key);

  const memBefore = readProcMem(args.serverPid);

  // ------------------------------------------------------------------ receive side: state and parser
  const hist = new LatencyHistogram();
  const deliveredPerSeq = growU32(); // unique deliveries per message
  let delivered = 0; // every (event, connection) delivery of a bench message, duplicates included
  let deliveredInWindow = 0;
  let duplicates = 0;
  let reordered = 0;
  let misdelivered = 0;
  let unknownEvents = 0;
  let missingId = 0;
  let connectedEvents = 0;
  let windowStartNs = Infinity;
  let windowEndNs = Infinity;
  let openAtPublish = 0;
  const userOpen = new Uint8Array(direct ? N : 0);
  // slow-readers: healthy latency by half and by second of the measured window (by send time)
  const histFirstHalf = new LatencyHistogram();
  const histSecondHalf = new LatencyHistogram();
  const secondsInWindow = Math.max(1, Math.ceil(args.seconds));
  const latencyPerSecond: number[][] = slow ? Array.from({ length: secondsInWindow }, () => []) : [];

  /** Deliveries a message must reach: all open streams (broadcast), or that user's open stream (direct). */
  const expectedFor = (seq: number): number => (direct ? userOpen[seq % N] : openAtPublish);

  // flow control state (publish side), declared here because deliveries complete messages
  const seqState = growU8(); // 0 = not sent, 1 = outstanding, 2 = completed or released
  let outstanding = 0;
  const causalFloorOf = growU32(); // per seq: all messages below it were answered before it was sent
  let answeredPrefix = 0; // all messages below this seq have had their POST answered (or failed)
  const answered = growU8();
  let sent = 0; // messages published so far (= next sequence number)
  let pumpPublish: () => void = () => undefined;
  let lastCompleteNs = 0; // count mode: when the last measured message reached all its streams

  const dispatch = (c: Conn, data: string, hasId: boolean, now: number): void => {
    if (!hasId) {
      missingId++;
    }
    const k = data.charCodeAt(0);
    if ((k !== 98 && k !== 100) || data.charCodeAt(1) !== 58) {
      if (data === 'connected') {
        connectedEvents++;
        if (!c.ready && !direct) {
          pool.markReady(c);
        }
      } else {
        unknownEvents++;
      }
      return;
    }
    // b:<seq>:<ns>[:pad]
    let i = 2;
    let seq = 0;
    const len = data.length;
    let ch = 0;
    while (i < len && (ch = data.charCodeAt(i)) !== 58) {
      seq = seq * 10 + (ch - 48);
      i++;
    }
    const seqDigits = i - 2;
    i++;
    let ns = 0;
    while (i < len && (ch = data.charCodeAt(i)) !== 58) {
      ns = ns * 10 + (ch - 48);
      i++;
    }
    if (seqDigits === 0 || seq < 0 || seq >= sent || !Number.isInteger(seq)) {
      unknownEvents++; // not a message of this run (or garbled)
      return;
    }
    let index = seq;
    if (direct) {
      if (seq % N !== c.index) {
        misdelivered++;
        return;
      }
      index = (seq - c.index) / N;
    }
    delivered++;
    if (now >= windowStartNs && now <= windowEndNs) {
      deliveredInWindow++;
    }
    if (ns >= windowStartNs) {
      hist.record(now - ns); // latency of messages sent during warm-up is not measured
      if (slow) {
        const intoWindow = ns - windowStartNs;
        (intoWindow < args.seconds * 0.5e9 ? histFirstHalf : histSecondHalf).record(now - ns);
        latencyPerSecond[Math.min(secondsInWindow - 1, Math.floor(intoWindow / 1e9))].push((now - ns) / 1e6);
      }
    }
    if (!c.seen.mark(index)) {
      duplicates++;
      return;
    }
    // Concurrent POSTs may be applied by the server in either order, so "reordered" only counts real
    // violations: this message arrived after one that was published after this one's POST was answered.
    if (seq < c.causalFloor) {
      reordered++;
    }
    const floor = causalFloorOf.a[seq];
    if (floor > c.causalFloor) {
      c.causalFloor = floor;
    }
    deliveredPerSeq.ensure(seq);
    const n = ++deliveredPerSeq.a[seq];
    if (n >= expectedFor(seq) && seq >= measuredFrom && seq < measuredTo && now > lastCompleteNs) {
      lastCompleteNs = now;
    }
    if (n >= expectedFor(seq) && seqState.a[seq] === 1) {
      seqState.a[seq] = 2;
      outstanding--;
      pumpPublish();
    }
  };

  // ------------------------------------------------------------------ connect phase
  const pool = new StreamPool<Conn>({
    host: args.host,
    port: args.port,
    count: N,
    concurrency: args.connectConcurrency,
    client: args.sseClient,
    spreadLoopback: true,
    create: (sink, index) => new Conn(sink, index),
    path: (c) => (direct ? `/v2/sse?username=u${c.index}` : '/events'),
    // no `connected` event on /v2/sse: a 200 head means the stream is registered
    readyOnHead: direct,
    onEvent: dispatch,
    errors,
  });
  const conns = pool.streams;
  log(
    `connecting ${N} streams to ${direct ? '/v2/sse?username=uK' : '/events'} ` +
      `(${args.connectConcurrency} in flight, ${args.sseClient} client)…`,
  );
  const serverCpuConnectStart = readProcCpuMs(args.serverPid);
  const connectMs = await pool.open(180_000, 2000);
  const serverCpuConnectEnd = readProcCpuMs(args.serverPid);
  const connectServerCpuMs =
    serverCpuConnectStart !== null && serverCpuConnectEnd !== null
      ? serverCpuConnectEnd - serverCpuConnectStart
      : null;
  const connectTimes = pool.connectTimes;
  log(pool.openedLine(connectMs, true));

  // ------------------------------------------------------------------ stalled readers (slow-readers)
  const stalled = new StalledReaders();
  if (slow && plan.stalled > 0) {
    await stalled.open(args.host, args.port, plan.stalled);
  }

  // Give the server time to finish registering streams and settle its heap before the idle reading.
  await sleep(2000);
  const memIdle = readProcMem(args.serverPid);
  const idleSeconds =
    plan.connections >= 1000 && plan.publish && plan.messages === 0 ? Math.max(0, args.idleSeconds ?? 0) : 0;
  const { memSettled, idleServerCpuMs } = await idle(args.serverPid, idleSeconds);
  const stalledOpenAtPublish = stalled.openCount;
  // The gateway's own count of open broadcast streams (healthy + stalled); null without /metrics.
  const serverStreamsAtStart = slow
    ? await readMetric(args.host, args.port, 'sse_open_connections{stream="broadcast"}')
    : null;
  for (const c of conns) {
    if (c.ready && !c.closed) {
      openAtPublish++;
      if (direct) {
        userOpen[c.index] = 1;
      }
    }
  }

  // ------------------------------------------------------------------ publish phase
  // No per-request timeout timer (it costs CPU per POST): a POST still unanswered when the tail ends is
  // simply not counted as published_acked.
  const pubAgent = noDelayAgent(plan.inFlight);
  const pipelined =
    plan.pipeline > 0 && plan.publish
      ? new PipelinedPublisher(args.host, args.port, plan.pipelineConnections, plan.pipeline)
      : null;
  // count mode (plan.messages > 0): the measured messages are [measuredFrom, measuredTo)
  let measuredFrom = Infinity;
  let measuredTo = Infinity;
  let measuredFirstSendNs = 0;
  let lastAckNs = 0;
  let measuredFailed = 0;
  const postHist = new LatencyHistogram();
  const acked = growU8();
  const sentAt = growF64();
  let ackedCount = 0;
  let ackedInWindow = 0;
  let inFlight = 0;
  let publishing = false;
  let released = 0; // messages given up on by flow control (not delivered everywhere within 2 s)
  let failedInARow = 0;
  let aborted: string | null = null;

  /** Messages [first, first + count) in one POST: /publish when the plan batches, else the single route. */
  const publishBatch = (first: number, count: number): void => {
    const sendNs = nowNs();
    for (let seq = first; seq < first + count; seq++) {
      track(seq, sendNs);
    }
    const batched = plan.batch > 0;
    const body = batched
      ? JSON.stringify(
          Array.from({ length: count }, (_, i) => ({
            stream: `v2:u${(first + i) % N}`,
            data: bodyFor(first + i, sendNs),
          })),
        )
      : bodyFor(first, sendNs);
    const path = batched ? '/publish' : direct ? `/v2/message?username=u${first % N}` : '/events';
    const contentType = batched ? 'application/json' : 'text/plain';
    inFlight++;
    let finished = false;
    const finish = (ok: boolean, reason: string): void => {
      if (finished) {
        return;
      }
      finished = true;
      inFlight--;
      if (sendNs >= windowStartNs) {
        postHist.record(nowNs() - sendNs);
      }
      if (ok) {
        failedInARow = 0;
      } else {
        addError(`publish_${reason}`);
        if (++failedInARow >= 100 && aborted === null) {
          aborted = `publishing stopped after 100 failed POSTs in a row (last: ${reason})`;
          publishing = false;
          log(aborted);
        }
      }
      for (let seq = first; seq < first + count; seq++) {
        settleMessage(seq, sendNs, ok);
      }
      pumpPublish();
    };
    if (pipelined !== null) {
      pipelined.post(path, contentType, body, finish);
      return;
    }
    const req = http.request(
      {
        host: args.host,
        port: args.port,
        path,
        method: 'POST',
        agent: pubAgent,
        headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode === 201, `status_${res.statusCode ?? 0}`));
        res.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? 'error'));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? 'error'));
    req.end(body);
  };

  const track = (seq: number, sendNs: number): void => {
    seqState.ensure(seq);
    acked.ensure(seq);
    sentAt.ensure(seq);
    sentAt.a[seq] = sendNs;
    answered.ensure(seq);
    causalFloorOf.ensure(seq);
    causalFloorOf.a[seq] = answeredPrefix;
    if (expectedFor(seq) > 0) {
      seqState.a[seq] = 1;
      outstanding++;
    } else {
      seqState.a[seq] = 2;
    }
  };

  /** One message's POST was answered (ok: 201). */
  const settleMessage = (seq: number, sendNs: number, ok: boolean): void => {
    answered.a[seq] = 1;
    while (answeredPrefix < sent && answered.a[answeredPrefix] === 1) {
      answeredPrefix++;
    }
    if (seq >= measuredFrom && seq < measuredTo) {
      if (ok) {
        lastAckNs = nowNs();
      } else {
        measuredFailed++;
      }
    }
    if (ok) {
      acked.a[seq] = 1;
      ackedCount++;
      if (sendNs >= windowStartNs && sendNs <= windowEndNs) {
        ackedInWindow++;
      }
    } else if (seqState.a[seq] === 1) {
      seqState.a[seq] = 2;
      outstanding--;
      released++;
    }
  };

  const countReached = signal();

  let publishStartMs = 0;
  pumpPublish = (): void => {
    if (!publishing) {
      return;
    }
    let due = Infinity;
    if (plan.rate > 0) {
      due = Math.floor(((performance.now() - publishStartMs) / 1000) * plan.rate) + 1;
    }
    const limit = Math.min(due, measuredTo);
    if (sent >= measuredTo) {
      countReached.fire();
      return;
    }
    while (
      inFlight < plan.inFlight &&
      outstanding < plan.window &&
      sent < limit &&
      (pipelined === null || pipelined.capacity > 0)
    ) {
      const count = Math.max(1, Math.min(plan.batch, limit - sent));
      sent += count;
      publishBatch(sent - count, count);
    }
  };

  // Flow control release: a message not delivered to all its streams within 2 s stops counting against
  // the window (it is then counted as lost at the end, unless it still arrives during the tail).
  let sweepIndex = 0;
  const sweep = (): void => {
    const cutoff = nowNs() - 2e9;
    while (sweepIndex < sent) {
      const st = seqState.a[sweepIndex];
      if (st === 1) {
        if (sentAt.a[sweepIndex] > cutoff) {
          break;
        }
        seqState.a[sweepIndex] = 2;
        outstanding--;
        released++;
      }
      sweepIndex++;
    }
    pumpPublish();
  };

  if (plan.publish) {
    log(
      (plan.rate > 0
        ? `publishing ${plan.rate} msg/s to ${openAtPublish} streams`
        : `publishing as fast as the server absorbs (${plan.inFlight} POSTs in flight` +
          (pipelined !== null
            ? `: ${plan.pipeline} pipelined on each of ${plan.pipelineConnections} connections`
            : '') +
          (plan.batch > 0 ? `, ${plan.batch} messages each` : '') +
          `, ≤${plan.window} undelivered) to ${openAtPublish} streams`) +
        ` for ${args.warmupSeconds} s warm-up + ` +
        (plan.messages > 0 ? `${plan.messages} messages measured…` : `${args.seconds} s measured…`),
    );
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let cpuStart = process.cpuUsage();
  let serverCpuStart = readProcCpuMs(args.serverPid);
  let machineStart = readMachineBusyMs();
  let windowStartMs = performance.now() + args.warmupSeconds * 1000;
  publishStartMs = performance.now();
  windowStartNs = nowNs() + args.warmupSeconds * 1e9;
  windowEndNs = windowStartNs + args.seconds * 1e9;
  publishing = plan.publish;
  const sweeper = setInterval(sweep, 100);
  const ticker = plan.rate > 0 ? setInterval(pumpPublish, 1) : null;
  let lastDelivered = 0;
  let lastTick = performance.now();
  const rssPerSecond: (number | null)[] = [];
  const progress = setInterval(() => {
    const t = performance.now();
    if (slow) {
      const m = readProcMem(args.serverPid);
      rssPerSecond.push(m === null ? null : round(m.rssKb / 1024, 1));
    }
    const rate = ((delivered - lastDelivered) * 1000) / (t - lastTick);
    lastDelivered = delivered;
    lastTick = t;
    const p99 = hist.percentileMs(0.99);
    log(
      `t=${((t - publishStartMs) / 1000).toFixed(0)}s${t < windowStartMs ? ' (warm-up)' : ''}` +
        ` published ${sent}${Number.isFinite(measuredTo) ? `/${measuredTo}` : ''} (answered 201: ${ackedCount}),` +
        ` ${Math.round(rate).toLocaleString('en-US')} events/s,` +
        ` latency p99 so far ${p99 === null ? '-' : p99.toFixed(2)} ms` +
        (slow
          ? `, stalled readers dropped by the server: ${stalled.droppedCount}` + `/${stalledOpenAtPublish}`
          : ''),
    );
  }, 1000);
  pumpPublish();
  await sleep(plan.publish ? args.warmupSeconds * 1000 : 0);
  // measurement window starts
  windowStartMs = performance.now();
  cpuStart = process.cpuUsage();
  serverCpuStart = readProcCpuMs(args.serverPid);
  machineStart = readMachineBusyMs();
  loopDelay.enable();
  if (!plan.publish) {
    // open-10k: nothing to publish
  } else if (plan.messages > 0) {
    measuredFrom = sent;
    measuredTo = sent + plan.messages;
    measuredFirstSendNs = nowNs();
    windowStartNs = measuredFirstSendNs;
    windowEndNs = Infinity;
    pumpPublish();
    // bounded: a server that stops answering ends the run after 120 s
    await Promise.race([countReached.done, sleep(120_000)]);
  } else {
    await sleep(args.seconds * 1000);
  }
  publishing = false;
  if (ticker) {
    clearInterval(ticker);
  }
  const publishEndMs = performance.now();
  const cpuWindow = process.cpuUsage(cpuStart);
  loopDelay.disable();
  const serverCpuEnd = readProcCpuMs(args.serverPid);
  const machineEnd = readMachineBusyMs();
  const windowWallMs = publishEndMs - windowStartMs;

  // ------------------------------------------------------------------ tail: wait for the last deliveries
  let tailScan = 0;
  const allDelivered = (): boolean => {
    if (inFlight > 0) {
      return false;
    }
    while (
      tailScan < sent &&
      (acked.a[tailScan] === 0 || (deliveredPerSeq.a[tailScan] ?? 0) >= expectedFor(tailScan))
    ) {
      tailScan++;
    }
    return tailScan >= sent;
  };
  deliveredPerSeq.ensure(sent);
  const tailDeadline = performance.now() + args.tailSeconds * 1000;
  // (stop early if every stream is gone: nothing more can arrive)
  while (!allDelivered() && performance.now() < tailDeadline && pool.disconnects < openAtPublish) {
    await sleep(25);
    deliveredPerSeq.ensure(sent);
  }
  const tailMs = performance.now() - publishEndMs;
  const serverCpuAtTailEnd = readProcCpuMs(args.serverPid);
  clearInterval(progress);
  clearInterval(sweeper);
  const memAfter = readProcMem(args.serverPid);
  let serverSlowReaderDisconnects: number | null = null;
  let serverStreamsAtEnd: number | null = null;
  if (slow) {
    await stalled.lastProbe();
    serverSlowReaderDisconnects = await readMetric(
      args.host,
      args.port,
      'sse_slow_reader_disconnects_total{stream="broadcast"}',
    );
    serverStreamsAtEnd = await readMetric(args.host, args.port, 'sse_open_connections{stream="broadcast"}');
  }

  // ------------------------------------------------------------------ accounting
  let expected = 0;
  let lost = 0;
  for (let seq = 0; seq < sent; seq++) {
    if (acked.a[seq] === 1) {
      expected += expectedFor(seq);
    }
  }
  let deliveredUnacked = 0;
  for (let seq = 0; seq < sent; seq++) {
    if (acked.a[seq] === 0) {
      deliveredUnacked += deliveredPerSeq.a[seq] ?? 0;
    }
  }
  const openConns = conns.filter((c) => c.ready && (direct ? userOpen[c.index] === 1 : true));
  for (const c of openConns) {
    if (direct) {
      for (let seq = c.index, j = 0; seq < sent; seq += N, j++) {
        if (acked.a[seq] === 1 && !c.seen.has(j)) {
          lost++;
        }
      }
    } else {
      for (let seq = 0; seq < sent; seq++) {
        if (acked.a[seq] === 1 && !c.seen.has(seq)) {
          lost++;
        }
      }
    }
  }
  const streamsConnectedAtStart = openAtPublish + stalledOpenAtPublish;

  pool.close();
  stalled.close();
  pubAgent.destroy();
  pipelined?.destroy();

  const slowExtras: Record<string, unknown> = {};
  if (slow) {
    Object.assign(slowExtras, {
      stalled: plan.stalled,
      ...stalled.figures(windowStartNs, stalledOpenAtPublish),
      server_slow_reader_disconnects: serverSlowReaderDisconnects,
      server_open_streams_at_start: serverStreamsAtStart,
      server_open_streams_at_end: serverStreamsAtEnd,
      latency_ms_first_half: histFirstHalf.summary(),
      latency_ms_second_half: histSecondHalf.summary(),
      // healthy readers, by the second of the measured window in which the message was sent
      latency_ms_per_s: perSecondSummary(latencyPerSecond),
      // server RSS sampled once a second from the start of publishing (warm-up included)
      server_rss_mb_per_s: rssPerSecond,
    });
  }
  const wallS = windowWallMs / 1000;
  const loadgenCpuMs = (cpuWindow.user + cpuWindow.system) / 1000;
  const countExtras: Record<string, unknown> = {};
  if (plan.messages > 0 && plan.publish) {
    // from the first measured POST to the later of its last answer and its last delivery
    const doneNs = Math.max(lastAckNs, lastCompleteNs);
    const seconds = (doneNs - measuredFirstSendNs) / 1e9;
    Object.assign(countExtras, {
      messages_measured: Math.max(0, Math.min(sent, measuredTo) - measuredFrom),
      messages_failed: measuredFailed,
      messages_s: round(seconds, 3),
      messages_per_s: seconds > 0 ? round(plan.messages / seconds, 1) : null,
      server_cpu_us_per_message:
        serverCpuStart !== null && serverCpuAtTailEnd !== null
          ? round(((serverCpuAtTailEnd - serverCpuStart) * 1000) / plan.messages, 1)
          : null,
    });
  }
  const keepAliveMs = args.keepAliveMs ?? 0;
  const idleRounds = keepAliveMs > 0 ? (idleSeconds * 1000) / keepAliveMs : 0;
  const result = {
    scenario: args.scenario,
    target: args.target,
    connections: N,
    ...pool.openedCounts(),
    sse_client: args.sseClient,
    connect_ms: {
      total: Math.round(connectMs),
      p50: percentileOf(connectTimes, 0.5) === null ? null : round(percentileOf(connectTimes, 0.5) ?? 0, 1),
      p99: percentileOf(connectTimes, 0.99) === null ? null : round(percentileOf(connectTimes, 0.99) ?? 0, 1),
      max: connectTimes.length === 0 ? null : round(connectTimes[connectTimes.length - 1], 1),
    },
    connect_concurrency: args.connectConcurrency,
    // the server's CPU while the streams were opening
    connect_server_cpu_ms: connectServerCpuMs === null ? null : Math.round(connectServerCpuMs),
    publish_mode:
      (!plan.publish
        ? 'none'
        : plan.rate > 0
          ? `paced ${plan.rate}/s`
          : plan.pipeline > 0
            ? `max, ${plan.pipeline} pipelined x ${plan.pipelineConnections} connections`
            : `max, ${plan.inFlight} in flight`) +
      (plan.batch > 0 ? `, ${plan.batch} per POST /publish` : ''),
    ...countExtras,
    published: sent,
    published_acked: ackedCount,
    publish_per_s: round(ackedInWindow / wallS, 1),
    post_latency_ms: postHist.summary(),
    delivered,
    expected,
    events_per_s: Math.round(deliveredInWindow / wallS),
    events_per_s_incl_tail: Math.round(delivered / ((publishEndMs - publishStartMs + tailMs) / 1000)),
    latency_ms: hist.summary(),
    lost,
    duplicates,
    reordered,
    ...(direct ? { misdelivered } : {}),
    ...(slow ? { message_bytes: plan.messageBytes } : {}),
    ...slowExtras,
    delivered_unacked: deliveredUnacked,
    flow_control_released: released,
    disconnects: pool.disconnects,
    missing_id: missingId,
    unknown_events: unknownEvents,
    connected_events: connectedEvents,
    errors: errors.counts,
    ...(aborted !== null ? { aborted } : {}),
    ...serverMemory(memBefore, memIdle, memAfter),
    server_rss_kb_per_conn:
      memBefore && memIdle && streamsConnectedAtStart > 0
        ? round((memIdle.rssKb - memBefore.rssKb) / streamsConnectedAtStart, 2)
        : null,
    // the same after idleSeconds more of idling (null when not measured)
    server_idle_seconds: memSettled ? idleSeconds : null,
    server_rss_mb_settled: mb(memSettled?.rssKb),
    server_rss_kb_per_conn_settled:
      memBefore && memSettled && streamsConnectedAtStart > 0
        ? round((memSettled.rssKb - memBefore.rssKb) / streamsConnectedAtStart, 2)
        : null,
    // the server's CPU while the streams idled (keep-alive comments only)
    idle_server_cpu_ms: idleServerCpuMs === null ? null : Math.round(idleServerCpuMs),
    keepalive_ms: keepAliveMs > 0 ? keepAliveMs : null,
    idle_cpu_ms_per_keepalive_round:
      idleServerCpuMs !== null && idleRounds > 0 ? round(idleServerCpuMs / idleRounds, 1) : null,
    server_cpu_pct:
      plan.publish && serverCpuStart !== null && serverCpuEnd !== null
        ? round(((serverCpuEnd - serverCpuStart) / windowWallMs) * 100, 1)
        : null,
    // (no publishing window in open-10k: these three are null there)
    loadgen_cpu_pct: plan.publish ? round((loadgenCpuMs / windowWallMs) * 100, 1) : null,
    // CPU used on this machine by everything except the server and this load generator (100 = one core)
    other_cpu_pct:
      plan.publish &&
      machineStart !== null &&
      machineEnd !== null &&
      serverCpuStart !== null &&
      serverCpuEnd !== null
        ? round(
            (Math.max(0, machineEnd - machineStart - (serverCpuEnd - serverCpuStart) - loadgenCpuMs) /
              windowWallMs) *
              100,
            1,
          )
        : null,
    // event-loop delay of this process while measuring (a 1 ms timer's lateness; ~0 when idle)
    loadgen_loop_delay_ms: loopDelaySummary(loopDelay),
    warmup_s: args.warmupSeconds,
    publish_s: round(wallS, 2),
    tail_s: round(tailMs / 1000, 2),
    duration_s: round((performance.now() - startedAt) / 1000, 2),
  };
  return result;
}
