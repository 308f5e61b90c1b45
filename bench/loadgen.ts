/**
 * SSE load generator: runs ONE scenario against a server that is already listening, prints exactly one
 * JSON result line on stdout and progress on stderr, then exits. Started by run.ts as its own process,
 * so its CPU use is separate from the orchestrator's and can be reported (loadgen_cpu_pct).
 *
 * Usage:
 *   node dist-bench/bench/loadgen.js '{"scenario":"broadcast-10k","port":3000,"serverPid":1234}'
 *   node dist-bench/bench/loadgen.js broadcast-10k 3000 1234        (other settings from BENCH_* env)
 *
 * Streams: opened with at most `connectConcurrency` attempts in flight. By default each is an HTTP/1.1
 * GET on a plain TCP socket whose response (head, chunked framing, SSE) is decoded by sse-stream.ts,
 * reading into one shared buffer: about 5 µs of CPU per socket read, so one core keeps up with
 * ~150,000 events/s even when every event arrives in its own read. BENCH_SSE_CLIENT=http uses the
 * node:http client (keep-alive Agent) instead, which costs about twice as much per event.
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
 * slow-readers: latency-250 (250 healthy /events streams, 200 msg/s) with every message padded to 4096
 * bytes (BENCH_PAYLOAD_BYTES is ignored) plus 25 stalled readers (BENCH_STALLED; 0 = same load without
 * them, a control run), opened once the healthy ones are
 * connected: raw TCP sockets that send the GET /events request and never read (paused from the start),
 * so their kernel buffers and then the server's per-connection buffer fill. A stalled socket the server
 * closes is noticed on this side by 'end'/'close'/'error' or, since a paused socket sees no FIN, by a
 * probe: every 250 ms each stalled socket writes "\r\n" (an empty line, which an HTTP/1.1 server ignores
 * between requests), which the peer's kernel answers with a RST once the server has closed its end; the
 * following write then fails. Reported: healthy latency overall, per half and per second of the window;
 * how many stalled sockets the server dropped and when; the gateway's own counter
 * (sse_slow_reader_disconnects_total from /metrics; null for a server without /metrics); server RSS each
 * second. Everything the stalled sockets make the server buffer is bounded by warm-up + seconds.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { LatencyHistogram } from './latency-histogram';
import { PipelinedPublisher } from './pipelined-publisher';
import { readMachineBusyMs, readProcCpuMs, readProcMem, round } from './proc';
import { SCENARIOS, type ScenarioName } from './scenarios';
import { SseStream, type SseSink } from './sse-stream';

export interface LoadgenArgs {
  scenario: ScenarioName;
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

type Mode = 'broadcast' | 'direct';

interface ScenarioPlan {
  mode: Mode;
  connections: number;
  /** Concurrent POSTs at most. */
  inFlight: number;
  /** Published messages not yet delivered to all their streams, at most (flow control). */
  window: number;
  /** Messages per second, or 0 for "as fast as the server absorbs". */
  rate: number;
  /** Stalled readers (connect, send the request, never read) opened after the healthy streams. */
  stalled: number;
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

function planFor(args: LoadgenArgs): ScenarioPlan {
  let plan = defaultPlan(args);
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

const PLAN_DEFAULTS = { publish: true, pipeline: 0, pipelineConnections: 2, messages: 0, batch: 0 } as const;

function defaultPlan(args: LoadgenArgs): ScenarioPlan {
  switch (args.scenario) {
    case 'broadcast-10k':
      return {
        mode: 'broadcast',
        connections: args.connections,
        inFlight: 8,
        window: 32,
        rate: 0,
        stalled: 0,
        messageBytes: 0,
        ...PLAN_DEFAULTS,
      };
    case 'direct-pipelined':
      // one POST per message, pipelined: 2 keep-alive connections, up to 32 requests in flight on each
      return {
        ...defaultPlan({ ...args, scenario: 'direct-10k' }),
        window: 1e9,
        pipeline: 32,
        messages: 20_000,
      };
    case 'direct-batched':
      // the same publisher and users, 100 messages (to 100 users) per POST /publish
      return { ...defaultPlan({ ...args, scenario: 'direct-pipelined' }), messages: 200_000, batch: 100 };
    case 'open-10k':
      // streams only: how long opening them takes, and the server's CPU for it
      return { ...defaultPlan({ ...args, scenario: 'direct-10k' }), publish: false };
    case 'streams-19k':
      return { ...defaultPlan({ ...args, scenario: 'broadcast-10k' }), connections: args.connections };
    case 'direct-10k':
      return {
        mode: 'direct',
        connections: args.connections,
        inFlight: 16,
        window: 1024,
        rate: 0,
        stalled: 0,
        messageBytes: 0,
        ...PLAN_DEFAULTS,
      };
    case 'latency-250':
      return {
        mode: 'broadcast',
        connections: Math.min(250, args.connections),
        inFlight: 16,
        window: 1e9,
        rate: 200,
        stalled: 0,
        messageBytes: 0,
        ...PLAN_DEFAULTS,
      };
    case 'slow-readers':
      // latency-250, with 4 KB messages and readers that never read.
      return {
        ...defaultPlan({ ...args, scenario: 'latency-250' }),
        stalled: Math.max(0, Math.floor(args.stalled ?? 25)),
        messageBytes: 4096,
      };
  }
}

const T0 = process.hrtime.bigint();
/** Nanoseconds since this process started (monotonic). */
function nowNs(): number {
  return Number(process.hrtime.bigint() - T0);
}

function log(msg: string): void {
  process.stderr.write(`[bench]   ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Growable typed arrays indexed by message sequence number.

class GrowU32 {
  a = new Uint32Array(1024);
  ensure(i: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) {
        n *= 2;
      }
      const b = new Uint32Array(n);
      b.set(this.a);
      this.a = b;
    }
  }
}

class GrowU8 {
  a = new Uint8Array(1024);
  ensure(i: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) {
        n *= 2;
      }
      const b = new Uint8Array(n);
      b.set(this.a);
      this.a = b;
    }
  }
}

class GrowF64 {
  a = new Float64Array(1024);
  ensure(i: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) {
        n *= 2;
      }
      const b = new Float64Array(n);
      b.set(this.a);
      this.a = b;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// One SSE stream: parser state (SseStream) plus this benchmark's bookkeeping.

class Conn extends SseStream {
  ready = false;
  failed = false;
  closed = false;
  startedAt = 0;
  socket: net.Socket | null = null;
  req: http.ClientRequest | null = null;
  readyTimer: NodeJS.Timeout | null = null;
  /** Bitmap of received message indexes (broadcast: seq; direct: seq / N). */
  seen = new Uint8Array(16);
  /** Every message below this seq was answered (201) before some message this stream already got was sent. */
  causalFloor = 0;

  constructor(
    sink: SseSink,
    readonly index: number,
  ) {
    super(sink);
  }

  destroy(): void {
    this.socket?.destroy();
    this.req?.destroy();
  }

  markSeen(i: number): boolean {
    const byte = i >> 3;
    if (byte >= this.seen.length) {
      let n = this.seen.length;
      while (n <= byte) {
        n *= 2;
      }
      const b = new Uint8Array(n);
      b.set(this.seen);
      this.seen = b;
    }
    const bit = 1 << (i & 7);
    if ((this.seen[byte] & bit) !== 0) {
      return false;
    }
    this.seen[byte] |= bit;
    return true;
  }

  hasSeen(i: number): boolean {
    const byte = i >> 3;
    return byte < this.seen.length && (this.seen[byte] & (1 << (i & 7))) !== 0;
  }
}

// ---------------------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): LoadgenArgs {
  const env = process.env;
  const defaults: LoadgenArgs = {
    scenario: 'broadcast-10k',
    target: env.BENCH_TARGET ?? 'unknown',
    host: '127.0.0.1',
    port: 3000,
    serverPid: 0,
    connections: Number(env.BENCH_CONNECTIONS ?? 10_000),
    seconds: Number(env.BENCH_SECONDS ?? 10),
    warmupSeconds: Number(env.BENCH_WARMUP_SECONDS ?? 1),
    tailSeconds: 10,
    connectConcurrency: Number(env.BENCH_CONNECT_CONCURRENCY ?? 256),
    payloadBytes: Number(env.BENCH_PAYLOAD_BYTES ?? 0),
    publishConcurrency: Number(env.BENCH_PUBLISH_CONCURRENCY ?? 0),
    sseClient: env.BENCH_SSE_CLIENT === 'http' ? 'http' : 'net',
    stalled: Number(env.BENCH_STALLED ?? 25),
  };
  let args: LoadgenArgs;
  if (argv[0]?.startsWith('{')) {
    args = { ...defaults, ...(JSON.parse(argv[0]) as Partial<LoadgenArgs>) };
  } else {
    args = {
      ...defaults,
      scenario: (argv[0] ?? defaults.scenario) as ScenarioName,
      port: Number(argv[1] ?? defaults.port),
      serverPid: Number(argv[2] ?? 0),
    };
  }
  if (!SCENARIOS.includes(args.scenario)) {
    throw new Error(`unknown scenario ${String(args.scenario)}; known: ${SCENARIOS.join(', ')}`);
  }
  return args;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** GET a path on the server under test: status and body, or null on a network error or timeout (2 s). */
function fetchText(
  host: string,
  port: number,
  path: string,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        if (body.length < 1_000_000) {
          body += s;
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * One sample of a Prometheus text exposition, e.g. `sse_open_connections{stream="broadcast"}`: its value,
 * 0 if the server answered /metrics but has no such sample yet, null if it has no /metrics (baseline).
 */
async function readMetric(host: string, port: number, sample: string): Promise<number | null> {
  const res = await fetchText(host, port, '/metrics');
  if (res === null || res.status !== 200) {
    return null;
  }
  for (const line of res.body.split('\n')) {
    if (line.startsWith(sample + ' ')) {
      const v = Number(line.slice(sample.length + 1).trim());
      return Number.isFinite(v) ? v : null;
    }
  }
  return 0;
}

function percentileOf(sorted: number[], p: number): number | null {
  if (sorted.length === 0) {
    return null;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = planFor(args);
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
  const slow = args.scenario === 'slow-readers';
  const startedAt = performance.now();
  const errors: Record<string, number> = {};
  const addError = (key: string): void => {
    errors[key] = (errors[key] ?? 0) + 1;
  };

  const memBefore = readProcMem(args.serverPid);

  // ------------------------------------------------------------------ receive side: state and parser
  const conns: Conn[] = [];
  const hist = new LatencyHistogram();
  const deliveredPerSeq = new GrowU32(); // unique deliveries per message
  let delivered = 0; // every (event, connection) delivery of a bench message, duplicates included
  let deliveredInWindow = 0;
  let duplicates = 0;
  let reordered = 0;
  let misdelivered = 0;
  let unknownEvents = 0;
  let missingId = 0;
  let connectedEvents = 0;
  let disconnects = 0;
  let windowStartNs = Infinity;
  let windowEndNs = Infinity;
  let readyCount = 0;
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
  const seqState = new GrowU8(); // 0 = not sent, 1 = outstanding, 2 = completed or released
  let outstanding = 0;
  const causalFloorOf = new GrowU32(); // per seq: all messages below it were answered before it was sent
  let answeredPrefix = 0; // all messages below this seq have had their POST answered (or failed)
  const answered = new GrowU8();
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
          markReady(c);
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
    if (!c.markSeen(index)) {
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
  const sseAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const connectTimes: number[] = [];
  let attempted = 0;
  let inProgress = 0;
  let settled = 0;
  let connectDone: () => void = () => undefined;
  const connectFinished = new Promise<void>((resolve) => {
    connectDone = resolve;
  });

  const settle = (): void => {
    inProgress--;
    settled++;
    if (settled === N) {
      connectDone();
    } else {
      startMore();
    }
  };

  function markReady(c: Conn): void {
    if (c.ready || c.failed) {
      return;
    }
    c.ready = true;
    readyCount++;
    if (c.readyTimer) {
      clearTimeout(c.readyTimer);
      c.readyTimer = null;
    }
    connectTimes.push(performance.now() - c.startedAt);
    settle();
  }

  const markFailed = (c: Conn, reason: string): void => {
    if (c.ready || c.failed) {
      return;
    }
    c.failed = true;
    addError(`connect_${reason}`);
    if (c.readyTimer) {
      clearTimeout(c.readyTimer);
      c.readyTimer = null;
    }
    c.destroy();
    settle();
  };

  const onConnClosed = (c: Conn): void => {
    if (c.closed) {
      return;
    }
    c.closed = true;
    if (c.ready && !shuttingDown) {
      disconnects++;
    } else if (!c.ready) {
      markFailed(c, 'closed_before_ready');
    }
  };

  let shuttingDown = false;

  const sink: SseSink = {
    onHead: (conn, status) => {
      const c = conn as Conn;
      if (status !== 200) {
        markFailed(c, `status_${status}`);
      } else if (direct) {
        markReady(c); // no `connected` event on /v2/sse: a 200 head means the stream is registered
      }
    },
    onEvent: (conn, data, hasId, now) => dispatch(conn as Conn, data, hasId, now),
    onEnd: (conn) => onConnClosed(conn as Conn),
  };

  const requestHead = (path: string): string =>
    `GET ${path} HTTP/1.1\r\nHost: ${args.host}:${args.port}\r\nAccept: text/event-stream\r\n` +
    `Cache-Control: no-cache\r\nConnection: keep-alive\r\n\r\n`;

  // One read buffer for every stream socket: each read is parsed synchronously and whatever must outlive
  // it (a partial line, the event's data) is copied, so the buffer can be reused by the next read.
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  // On loopback, streams come from 127.0.0.1-8 in turn: one source address has 28,000 ephemeral ports, and
  // once most are taken (open streams plus the TIME_WAIT of earlier runs), each connect() searches for a
  // free one: 19,000 streams then took twice as long to open, for the load generator, not the server.
  const loopback = args.host === '127.0.0.1';
  const openOneNet = (c: Conn, path: string): void => {
    const socket = net.connect({
      host: args.host,
      port: args.port,
      ...(loopback ? { localAddress: `127.0.0.${1 + (c.index % 8)}` } : {}),
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (nread: number): boolean => {
          c.feedHttp(readBuffer, nread, nowNs());
          return true;
        },
      },
    });
    c.socket = socket;
    socket.on('connect', () => socket.write(requestHead(path)));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!c.ready) {
        markFailed(c, err.code ?? 'error');
      }
    });
    socket.on('close', () => onConnClosed(c));
  };

  const openOneHttp = (c: Conn, path: string): void => {
    const req = http.request({
      host: args.host,
      port: args.port,
      path,
      method: 'GET',
      agent: sseAgent,
      headers: { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' },
    });
    c.req = req;
    req.on('response', (res) => {
      sink.onHead(c, res.statusCode ?? 0);
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      res.on('data', (chunk: Buffer) => c.feedBody(chunk, 0, chunk.length, nowNs()));
      res.on('end', () => onConnClosed(c));
      res.on('close', () => onConnClosed(c));
      res.on('error', () => onConnClosed(c));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!c.ready) {
        markFailed(c, err.code ?? 'error');
      } else {
        onConnClosed(c);
      }
    });
    req.end();
  };

  const openOne = (i: number): void => {
    const path = direct ? `/v2/sse?username=u${i}` : '/events';
    const c = new Conn(sink, i);
    conns.push(c);
    c.startedAt = performance.now();
    c.readyTimer = setTimeout(() => markFailed(c, 'timeout'), 30_000);
    if (args.sseClient === 'http') {
      openOneHttp(c, path);
    } else {
      openOneNet(c, path);
    }
  };

  function startMore(): void {
    while (attempted < N && inProgress < args.connectConcurrency) {
      attempted++;
      inProgress++;
      openOne(attempted - 1);
    }
  }

  log(
    `connecting ${N} streams to ${direct ? '/v2/sse?username=uK' : '/events'} ` +
      `(${args.connectConcurrency} in flight, ${args.sseClient} client)…`,
  );
  const connectStart = performance.now();
  const serverCpuConnectStart = readProcCpuMs(args.serverPid);
  const connectProgress = setInterval(() => {
    log(`… ${readyCount}/${N} open, ${settled - readyCount} failed`);
  }, 2000);
  startMore();
  if (N === 0) {
    connectDone();
  }
  await Promise.race([connectFinished, sleep(180_000)]);
  clearInterval(connectProgress);
  const connectMs = performance.now() - connectStart;
  const serverCpuConnectEnd = readProcCpuMs(args.serverPid);
  const connectServerCpuMs =
    serverCpuConnectStart !== null && serverCpuConnectEnd !== null
      ? serverCpuConnectEnd - serverCpuConnectStart
      : null;
  connectTimes.sort((a, b) => a - b);
  log(
    `${readyCount}/${N} open in ${(connectMs / 1000).toFixed(2)} s` +
      ` (per connection p50 ${percentileOf(connectTimes, 0.5)?.toFixed(1)} ms,` +
      ` p99 ${percentileOf(connectTimes, 0.99)?.toFixed(1)} ms)` +
      (settled - readyCount > 0 ? `, ${settled - readyCount} failed: ${JSON.stringify(errors)}` : ''),
  );

  // ------------------------------------------------------------------ stalled readers (slow-readers)
  interface StalledReader {
    socket: net.Socket;
    connected: boolean;
    /** Why connecting failed, if it did. */
    failed: string | null;
    /** When this side noticed that the server had closed the connection (nowNs), and by what. */
    closedAtNs: number | null;
    closedHow: string | null;
  }
  const stalled: StalledReader[] = [];
  let stalledShuttingDown = false;
  let stalledProbe: NodeJS.Timeout | null = null;
  const stalledRequest = 'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n';
  const noticeStalledClosed = (s: StalledReader, how: string): void => {
    if (stalledShuttingDown || s.closedAtNs !== null || s.failed !== null) {
      return;
    }
    if (!s.connected) {
      s.failed = how;
      return;
    }
    s.closedAtNs = nowNs();
    s.closedHow = how;
  };
  // A paused socket reads nothing, so it never sees the server's FIN (which waits behind the unread
  // bytes anyway). Writing an empty line does: a server that still has the connection ignores it (an
  // HTTP/1.1 server skips blank lines before a request line), a kernel whose socket was closed answers
  // with a RST, and the next write fails (ECONNRESET/EPIPE -> 'error', then 'close').
  const probeStalled = (): void => {
    for (const s of stalled) {
      if (!s.connected || s.closedAtNs !== null) {
        continue;
      }
      if (s.socket.destroyed || s.socket.readyState !== 'open') {
        noticeStalledClosed(s, `state_${s.socket.readyState}`);
      } else {
        s.socket.write('\r\n');
      }
    }
  };
  if (slow && plan.stalled > 0) {
    log(`opening ${plan.stalled} stalled readers (GET /events, then never read)…`);
    let waiting = plan.stalled;
    let allSettled: () => void = () => undefined;
    const stalledSettled = new Promise<void>((resolve) => {
      allSettled = resolve;
    });
    for (let i = 0; i < plan.stalled; i++) {
      const socket = net.connect({ host: args.host, port: args.port, noDelay: true });
      socket.pause(); // never resumed: this socket's receive buffer fills and stays full
      const s: StalledReader = { socket, connected: false, failed: null, closedAtNs: null, closedHow: null };
      stalled.push(s);
      let counted = false;
      const settleStalled = (): void => {
        if (!counted) {
          counted = true;
          if (--waiting === 0) {
            allSettled();
          }
        }
      };
      socket.on('connect', () => {
        s.connected = true;
        socket.write(stalledRequest);
        settleStalled();
      });
      socket.on('end', () => noticeStalledClosed(s, 'end'));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        noticeStalledClosed(s, err.code ?? 'error');
        settleStalled();
      });
      socket.on('close', () => {
        noticeStalledClosed(s, 'close');
        settleStalled();
      });
    }
    await Promise.race([stalledSettled, sleep(10_000)]);
    stalledProbe = setInterval(probeStalled, 250);
    const failed = stalled.filter((s) => !s.connected).length;
    log(
      `${plan.stalled - failed}/${plan.stalled} stalled readers connected` +
        (failed > 0 ? `, ${failed} failed` : ''),
    );
  }

  // Give the server time to finish registering streams and settle its heap before the idle reading.
  await sleep(2000);
  const memIdle = readProcMem(args.serverPid);
  let memSettled: ReturnType<typeof readProcMem> = null;
  const idleSeconds =
    plan.connections >= 1000 && plan.publish && plan.messages === 0 ? Math.max(0, args.idleSeconds ?? 0) : 0;
  const serverCpuIdleStart = readProcCpuMs(args.serverPid);
  let idleServerCpuMs: number | null = null;
  if (idleSeconds > 0) {
    for (let second = 1; second <= idleSeconds; second++) {
      await sleep(1000);
      if (second % 10 === 0 || second === idleSeconds) {
        const now = readProcMem(args.serverPid);
        log(
          `idle ${second}/${idleSeconds} s: server RSS ${now === null ? '?' : round(now.rssKb / 1024, 1)} MB`,
        );
      }
    }
    memSettled = readProcMem(args.serverPid);
    const serverCpuIdleEnd = readProcCpuMs(args.serverPid);
    idleServerCpuMs =
      serverCpuIdleStart !== null && serverCpuIdleEnd !== null ? serverCpuIdleEnd - serverCpuIdleStart : null;
  }
  const stalledOpenAtPublish = stalled.filter((s) => s.connected && s.closedAtNs === null).length;
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
  // The agent hands its options to net.createConnection, which takes noDelay (not listed on AgentOptions).
  const pubAgentOptions: http.AgentOptions & net.SocketConstructorOpts = {
    keepAlive: true,
    maxSockets: plan.inFlight,
    noDelay: true,
  };
  const pubAgent = new http.Agent(pubAgentOptions);
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
  const acked = new GrowU8();
  const sentAt = new GrowF64();
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

  let countReached: () => void = () => undefined;
  const countDone = new Promise<void>((resolve) => {
    countReached = resolve;
  });
  const finishCount = (): void => countReached();

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
      finishCount();
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
          ? `, stalled readers dropped by the server: ${stalled.filter((s) => s.closedAtNs !== null).length}` +
            `/${stalledOpenAtPublish}`
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
    await Promise.race([countDone, sleep(120_000)]);
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
  while (!allDelivered() && performance.now() < tailDeadline && disconnects < openAtPublish) {
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
    // Keep probing a little longer, so a stalled socket closed just now is noticed too.
    await sleep(750);
    if (stalledProbe) {
      clearInterval(stalledProbe);
    }
    probeStalled();
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
        if (acked.a[seq] === 1 && !c.hasSeen(j)) {
          lost++;
        }
      }
    } else {
      for (let seq = 0; seq < sent; seq++) {
        if (acked.a[seq] === 1 && !c.hasSeen(seq)) {
          lost++;
        }
      }
    }
  }
  const streamsConnectedAtStart = openAtPublish + stalledOpenAtPublish;

  shuttingDown = true;
  for (const c of conns) {
    c.destroy();
  }
  stalledShuttingDown = true;
  for (const s of stalled) {
    s.socket.destroy();
  }
  sseAgent.destroy();
  pubAgent.destroy();
  pipelined?.destroy();

  const mb = (kb: number | undefined): number | null => (kb === undefined ? null : round(kb / 1024, 1));
  const slowExtras: Record<string, unknown> = {};
  if (slow) {
    const dropped = stalled.filter((s) => s.closedAtNs !== null);
    const droppedAt = dropped.map((s) => ((s.closedAtNs ?? 0) - windowStartNs) / 1e9).sort((a, b) => a - b);
    const how: Record<string, number> = {};
    for (const s of dropped) {
      how[s.closedHow ?? '?'] = (how[s.closedHow ?? '?'] ?? 0) + 1;
    }
    const connectFailures: Record<string, number> = {};
    for (const s of stalled) {
      if (s.failed !== null) {
        connectFailures[s.failed] = (connectFailures[s.failed] ?? 0) + 1;
      }
    }
    const perSecond = latencyPerSecond.map((values) => Float64Array.from(values).sort());
    const at = (sorted: Float64Array, p: number): number | null =>
      sorted.length === 0
        ? null
        : round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))], 2);
    Object.assign(slowExtras, {
      stalled: plan.stalled,
      stalled_connected: stalled.filter((s) => s.connected).length,
      ...(Object.keys(connectFailures).length > 0 ? { stalled_connect_failed: connectFailures } : {}),
      stalled_open_at_publish: stalledOpenAtPublish,
      stalled_disconnected_by_server: dropped.length,
      stalled_still_open_at_end: stalled.filter((s) => s.connected && s.closedAtNs === null).length,
      // how this side noticed: ECONNRESET/EPIPE = a probe write failed, end/close = the socket said so
      stalled_disconnect_noticed_by: how,
      // seconds into the measured window (negative: during warm-up) when this side noticed; a probe
      // runs every 250 ms, so this is up to ~0.5 s after the server closed the connection
      stalled_disconnected_at_s:
        droppedAt.length === 0
          ? null
          : {
              first: round(droppedAt[0], 2),
              p50: round(droppedAt[Math.ceil(droppedAt.length / 2) - 1], 2),
              last: round(droppedAt[droppedAt.length - 1], 2),
            },
      server_slow_reader_disconnects: serverSlowReaderDisconnects,
      server_open_streams_at_start: serverStreamsAtStart,
      server_open_streams_at_end: serverStreamsAtEnd,
      latency_ms_first_half: histFirstHalf.summary(),
      latency_ms_second_half: histSecondHalf.summary(),
      // healthy readers, by the second of the measured window in which the message was sent
      latency_ms_per_s: {
        p50: perSecond.map((v) => at(v, 0.5)),
        p99: perSecond.map((v) => at(v, 0.99)),
        max: perSecond.map((v) => (v.length === 0 ? null : round(v[v.length - 1], 2))),
      },
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
    connections_open: readyCount,
    connect_failed: N - readyCount,
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
    disconnects,
    missing_id: missingId,
    unknown_events: unknownEvents,
    connected_events: connectedEvents,
    errors,
    ...(aborted !== null ? { aborted } : {}),
    server_rss_mb_before: mb(memBefore?.rssKb),
    server_rss_mb_idle: mb(memIdle?.rssKb),
    server_rss_mb_after: mb(memAfter?.rssKb),
    server_rss_mb_peak: mb(memAfter?.hwmKb),
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
    loadgen_loop_delay_ms: {
      p99: round(Math.max(0, loopDelay.percentile(99) / 1e6 - 1), 1),
      max: round(Math.max(0, loopDelay.max / 1e6 - 1), 1),
    },
    warmup_s: args.warmupSeconds,
    publish_s: round(wallS, 2),
    tail_s: round(tailMs / 1000, 2),
    duration_s: round((performance.now() - startedAt) / 1000, 2),
  };
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[bench] loadgen failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
