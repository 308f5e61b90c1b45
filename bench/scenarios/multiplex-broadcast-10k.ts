/**
 * multiplex-broadcast-10k: broadcasts to N connections that each carry several streams on GET /sse
 * (`stream=broadcast&stream=v2:u<i>`: the broadcast and a user stream of their own, so no two
 * connections share a composite id), beside the same broadcasts to N single-stream connections on
 * GET /events, each on a fresh gateway process under the same conditions. One JSON line per mode.
 *
 * The broadcast load is as broadcast-10k's: POSTs /events (8 in flight, at most 32 broadcasts
 * published but not yet delivered everywhere) for a warm-up and then the measured window.
 * `events_per_s` counts every (broadcast, connection) delivery in the window; latency is publish ->
 * receive. Checked per connection: `lost` (answered 201, never arrived) and `mismatched` (an event
 * that is not the next of the order every connection sees: one topic, one order; a duplicate, a gap
 * or a reordering shows up here). Streams are read over plain TCP with lib/sse-stream.ts, in the
 * orchestrator's process (its CPU share is `loadgen_cpu_pct`). Gateway only: the baseline has no GET /sse.
 */
import * as http from 'node:http';
import * as net from 'node:net';

import { LatencyHistogram } from '../lib/latency-histogram';
import { errorText, log } from '../lib/log';
import { readProcCpuMs, readProcMem } from '../lib/proc';
import { startServer, stopServer } from '../lib/servers';
import { SseStream, type SseSink } from '../lib/sse-stream';
import { round } from '../lib/stats';
import { nowNs, sleep, waitFor } from '../lib/time';
import type { BenchSettings } from '../settings';
import type { Result, Scenario } from './scenario';

const MULTIPLEX_SCENARIO = 'multiplex-broadcast-10k';

type Mode = 'single' | 'multiplexed';
const IN_FLIGHT = 8;
const WINDOW = 32;

/** Runs both modes, single-stream first, each on a fresh gateway; one result per mode. */
const multiplexBroadcast: Scenario = {
  name: MULTIPLEX_SCENARIO,
  targets: ['gateway'],
  run: async (_target, settings, emit) => {
    for (const mode of ['single', 'multiplexed'] as const) {
      try {
        emit(await runMode(mode, settings));
      } catch (error) {
        emit({ scenario: MULTIPLEX_SCENARIO, target: `gateway/${mode}`, mode, error: errorText(error) });
      }
    }
  },
};
export default multiplexBroadcast;

function pathOf(mode: Mode, index: number): string {
  return mode === 'single' ? '/events' : `/sse?stream=broadcast&stream=v2%3Au${index}`;
}

interface Connection {
  socket: net.Socket;
  stream: SseStream;
  status: number;
  /** How far along the common order of broadcasts this connection is. */
  position: number;
  received: number;
}

async function runMode(mode: Mode, options: BenchSettings): Promise<Result> {
  // the in-memory bus and the embedded store
  const server = await startServer('gateway', options, {
    logName: `gateway-${MULTIPLEX_SCENARIO}-${mode}`,
    env: { DATABASE_URL: '', KAFKA_BROKERS: '' },
  });
  const connections: Connection[] = [];
  try {
    const histogram = new LatencyHistogram();
    let measuring = false;
    let delivered = 0;
    let mismatched = 0;
    /** Broadcasts in the order the first connection to get each saw them. */
    const order: number[] = [];
    /** seq -> connections still to receive it. */
    const pending = new Map<number, number>();
    const sink: SseSink = {
      onHead: (stream, status) => {
        connectionOf.get(stream)!.status = status;
      },
      onEvent: (stream, data, _hasId, now) => {
        const connection = connectionOf.get(stream)!;
        connection.received++;
        if (!data.startsWith('b:')) {
          return; // `connected`
        }
        const [, seqText, sentText] = data.split(':');
        const seq = Number(seqText);
        if (connection.position === order.length) {
          order.push(seq);
        } else if (order[connection.position] !== seq) {
          mismatched++;
        }
        connection.position++;
        const left = (pending.get(seq) ?? 1) - 1;
        if (left > 0) {
          pending.set(seq, left);
        } else {
          pending.delete(seq);
        }
        if (measuring) {
          delivered++;
          histogram.record(now - Number(sentText));
        }
      },
      onEnd: () => undefined,
    };
    const connectionOf = new Map<SseStream, Connection>();

    // Open the streams, `connectConcurrency` at a time.
    log(`${MULTIPLEX_SCENARIO} (${mode}): connecting ${options.connections}…`);
    const openStarted = performance.now();
    let next = 0;
    const openOne = async (): Promise<void> => {
      while (next < options.connections) {
        const index = next++;
        const connection = await connect(server.port, pathOf(mode, index), sink);
        connectionOf.set(connection.stream, connection);
        connections.push(connection);
        await waitFor(() => connection.received > 0 || connection.status >= 300, 30_000, 'the first event');
        if (connection.status !== 200) {
          throw new Error(`GET ${pathOf(mode, index)} answered ${connection.status}`);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.connectConcurrency, options.connections) }, openOne),
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    log(`  ${connections.length} open in ${openSeconds.toFixed(2)} s`);
    await sleep(2000);
    const memOpen = readProcMem(server.child.pid!);

    // Publish: warm-up, then the measured window.
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    let seq = 0;
    let answered = 0;
    const clientCpuBefore = process.cpuUsage();
    const serverCpuBefore = readProcCpuMs(server.child.pid!);
    const publishUntil = async (deadline: number) => {
      const worker = async () => {
        while (performance.now() < deadline) {
          if (pending.size >= WINDOW) {
            await sleep(1);
            continue;
          }
          const current = ++seq;
          pending.set(current, connections.length);
          const status = await postBroadcast(agent, server.port, `b:${current}:${nowNs()}`);
          if (status === 201) {
            answered++;
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    };
    await publishUntil(performance.now() + options.warmupSeconds * 1000);
    await waitFor(() => pending.size === 0, 10_000, 'the warm-up broadcasts').catch(() => undefined);
    const firstMeasured = seq + 1;
    measuring = true;
    const windowStarted = performance.now();
    await publishUntil(windowStarted + options.seconds * 1000);
    const windowSeconds = (performance.now() - windowStarted) / 1000;
    await waitFor(() => pending.size === 0, 10_000, 'the last broadcasts').catch(() => undefined);
    measuring = false;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const serverCpuAfter = readProcCpuMs(server.child.pid!);
    agent.destroy();

    let lost = 0;
    for (const [sent, left] of pending) {
      if (sent >= firstMeasured) {
        lost += left;
      }
    }
    const latency = histogram.summary();
    // Field names as loadgen.ts's, so that run.ts's summary shows them.
    const result = {
      scenario: MULTIPLEX_SCENARIO,
      target: `gateway/${mode}`,
      mode,
      streams_per_connection: mode === 'single' ? 1 : 2,
      connections: options.connections,
      connections_open: connections.length,
      connect_ms: { total: Math.round(openSeconds * 1000) },
      seconds: round(windowSeconds, 2),
      broadcasts: seq - firstMeasured + 1,
      broadcasts_answered: answered,
      events_per_s: Math.round(delivered / windowSeconds),
      latency_ms: latency,
      lost,
      mismatched,
      server_cpu_pct:
        serverCpuBefore === null || serverCpuAfter === null
          ? null
          : round(((serverCpuAfter - serverCpuBefore) / (windowSeconds * 1000)) * 100, 1),
      loadgen_cpu_pct: round(((clientCpu.user + clientCpu.system) / 1000 / (windowSeconds * 1000)) * 100, 1),
      server_rss_kb_per_conn: memOpen ? round(memOpen.rssKb / connections.length, 1) : null,
    };
    log(
      `  ${mode}: ${result.events_per_s} events/s, p50 ${latency.p50} ms, p99 ${latency.p99} ms, ` +
        `lost ${lost}, mismatched ${mismatched}`,
    );
    return result;
  } finally {
    for (const connection of connections) {
      connection.socket.destroy();
    }
    await stopServer(server.child);
  }
}

function connect(port: number, requestPath: string, sink: SseSink): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const connection: Connection = {
      socket,
      stream: new SseStream(sink),
      status: 0,
      position: 0,
      received: 0,
    };
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${requestPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      resolve(connection);
    });
    socket.on('data', (chunk: Buffer) => connection.stream.feedHttp(chunk, chunk.length, nowNs()));
  });
}

function postBroadcast(agent: http.Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/events',
        method: 'POST',
        agent,
        headers: { 'content-type': 'text/plain' },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.once('error', () => resolve(0));
    request.end(body);
  });
}
