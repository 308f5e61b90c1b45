/**
 * The records of the Kafka loads (kafka-latency, kafka-ingest) and their independent producer.
 *
 * Record <seq> goes round-robin to user u<seq % users>: key `u<i>`, value `u<i>:k:<seq>:<ns>`, so the SSE
 * event's data must be exactly `k:<seq>:<ns>`. <ns> is this process's monotonic clock (lib/time.ts) just
 * before producer.send(): the reader of the streams is this same process, so latency = receive time - <ns>
 * on one clock. The producer is kafkajs (acks -1, DefaultPartitioner), not the server's: every record due
 * at a tick goes in one send(), at most `maxInFlight` sends in flight (past that a tick sends nothing and
 * the records wait for the next, larger send: a producer that falls behind shows as a lower achieved rate),
 * and at most one send per `lingerMs`, as a Kafka producer's linger.ms batches.
 */
import { performance } from 'node:perf_hooks';

import { Kafka, logLevel, Partitioners, type logCreator, type Producer } from 'kafkajs';

import { growF64, growU8 } from './grow';
import type { LatencyHistogram } from './latency-histogram';
import { logStep } from './log';
import { nowNs, signal } from './time';

/** kafkajs logs to stdout by default, where the result line goes: warnings and errors to stderr instead. */
const stderrLogCreator: logCreator =
  () =>
  ({ namespace, level, log: entry }) => {
    const { message, ...rest } = entry;
    const extra = Object.keys(rest).filter((k) => k !== 'timestamp' && k !== 'logger');
    const detail =
      extra.length > 0 ? ` ${JSON.stringify(Object.fromEntries(extra.map((k) => [k, rest[k]])))}` : '';
    logStep(`kafkajs ${logLevel[level]} ${namespace}: ${message}${detail}`);
  };

/** A kafkajs client of the bench (warnings and errors on stderr). */
export function benchKafka(clientId: string, brokers: string): Kafka {
  return new Kafka({ clientId, brokers: [brokers], logLevel: logLevel.WARN, logCreator: stderrLogCreator });
}

/** The independent producer, connected; it never creates topics (the server under test does). */
export async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return producer;
}

/** Reads an event's data as `k:<seq>:<ns>` without allocating. */
export class RecordData {
  seq = 0;
  /** -1 when the data is not exactly `k:<seq>:<digits>` (a corrupted record). */
  ns = -1;

  /** false: not `k:<digits>…` at all, so not a record of this run. */
  read(data: string): boolean {
    if (data.charCodeAt(0) !== 107 /* k */ || data.charCodeAt(1) !== 58 /* : */) {
      return false;
    }
    const len = data.length;
    let i = 2;
    let seq = 0;
    let ch = 0;
    while (i < len && (ch = data.charCodeAt(i)) >= 48 && ch <= 57) {
      seq = seq * 10 + (ch - 48);
      i++;
    }
    if (i === 2) {
      return false;
    }
    let ns = -1;
    if (data.charCodeAt(i) === 58) {
      ns = 0;
      while (++i < len && (ch = data.charCodeAt(i)) >= 48 && ch <= 57) {
        ns = ns * 10 + (ch - 48);
      }
    }
    this.seq = seq;
    this.ns = i === len ? ns : -1;
    return true;
  }
}

export interface PaceOptions {
  /** Records [sent, end) are produced; the first `windowFirst` - sent of them are the warm-up. */
  end: number;
  windowFirst: number;
  /** Records per second. */
  rate: number;
  maxInFlight: number;
  lingerMs: number;
  /** Acknowledgement latency of the window's records. */
  ackHist: LatencyHistogram;
  /** Called with performance.now() as the first record of the window is sent. */
  onWindowStart?: (now: number) => void;
  onFailed?: (err: unknown) => void;
}

/** One paced run of sends, its figures live while it runs. */
export interface Pacing {
  startMs: number;
  /** performance.now() of the send that held the window's first record, and of the last send. */
  windowStartMs: number;
  lastSendMs: number;
  inFlight: number;
  acked: number;
  failed: number;
  ticksSkipped: number;
  largestSend: number;
  /** Resolves once every record is sent (not yet acknowledged). */
  allSent: Promise<void>;
}

/** What was sent and acknowledged, by record sequence number, over every paced run of one producer. */
export class ProducedRecords {
  sent = 0;
  /** The <ns> each record was produced with. */
  readonly sentAt = growF64();
  /** 1: Kafka acknowledged it; 2: its send failed. */
  readonly acked = growU8();

  constructor(
    private readonly topic: string,
    private readonly users: number,
  ) {}

  /** Produces records [sent, end) at o.rate with `producer`, from now on a 1 ms timer. */
  pace(producer: Producer, o: PaceOptions): Pacing {
    const first = this.sent;
    this.sentAt.ensure(o.end);
    this.acked.ensure(o.end);
    const done = signal();
    const run: Pacing = {
      startMs: performance.now(),
      windowStartMs: 0,
      lastSendMs: 0,
      inFlight: 0,
      acked: 0,
      failed: 0,
      ticksSkipped: 0,
      largestSend: 0,
      allSent: done.done,
    };
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(o.end, first + Math.floor(((now - run.startMs) / 1000) * o.rate) + 1);
      if (due <= this.sent || (now - run.lastSendMs < o.lingerMs && due < o.end)) {
        return;
      }
      if (run.inFlight >= o.maxInFlight) {
        run.ticksSkipped++;
        return;
      }
      const from = this.sent;
      const sendNs = nowNs();
      const messages: { key: string; value: string }[] = [];
      for (let seq = from; seq < due; seq++) {
        const user = `u${seq % this.users}`;
        this.sentAt.a[seq] = sendNs;
        messages.push({ key: user, value: `${user}:k:${seq}:${sendNs}` });
      }
      this.sent = due;
      if (from <= o.windowFirst && due > o.windowFirst) {
        run.windowStartMs = now;
        o.onWindowStart?.(now);
      }
      run.lastSendMs = now;
      if (due >= o.end) {
        clearInterval(ticker);
        done.fire();
      }
      run.largestSend = Math.max(run.largestSend, due - from);
      run.inFlight++;
      producer.send({ topic: this.topic, acks: -1, messages }).then(
        () => {
          run.inFlight--;
          const ackNs = nowNs() - sendNs;
          for (let seq = from; seq < due; seq++) {
            this.acked.a[seq] = 1;
            run.acked++;
            if (seq >= o.windowFirst) {
              o.ackHist.record(ackNs);
            }
          }
        },
        (err: unknown) => {
          run.inFlight--;
          o.onFailed?.(err);
          for (let seq = from; seq < due; seq++) {
            this.acked.a[seq] = 2;
            run.failed++;
          }
        },
      );
    };
    const ticker = setInterval(tick, 1);
    tick();
    return run;
  }
}
