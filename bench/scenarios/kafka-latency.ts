/**
 * kafka-latency (gateway only: the node:http baseline has no Kafka bus): a fresh single-node Kafka broker
 * (scripts/kafka-broker.js; fresh temp data dir, so the topic holds only this run's records), the gateway
 * with KAFKA_BROKERS (the load starts once /health/ready is 200), 1,000 /v3/sse user streams and an
 * independent kafkajs producer writing 1,000 records/s to v3_messages for 60 s: produce -> SSE latency,
 * loss, duplicates, order (load/kafka-load.ts). The line carries a Kafka-only baseline instead of the
 * node:http one: produce -> a plain kafkajs consumer. The gateway and the broker stop in that order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type * as KafkaBrokerScript from '../../scripts/kafka-broker';
import { loadTarget } from '../lib/load-args';
import { log } from '../lib/log';
import {
  failed,
  kafkaBrokerScript,
  logPath,
  ROOT,
  runPacedLoad,
  startServer,
  stopIfStarted,
  type StartedServer,
} from '../lib/servers';
import { fmt, latencyLine } from '../lib/summary';
import { runKafkaLoad, type KafkaLoadArgs } from '../load/kafka-load';
import type { BenchSettings } from '../settings';
import type { Result, Scenario } from './scenario';

const scenario = 'kafka-latency';

async function run(settings: BenchSettings): Promise<Result> {
  const target = 'gateway';
  const { ensureKafkaJars, startBroker } = kafkaBrokerScript();
  const brokerLog = logPath(settings, `kafka-broker-${scenario}`);
  const brokerOut = fs.createWriteStream(brokerLog);
  // If this process is interrupted instead, kafka-broker.js's own exit hook kills the broker (by its pid).
  let broker: KafkaBrokerScript.RunningBroker | null = null;
  let server: StartedServer | null = null;
  let result: Result = {};
  const stops: Result = {};
  try {
    await ensureKafkaJars({ log: (line) => log(line) });
    log('starting a single-node Kafka broker…');
    const started = performance.now();
    broker = await startBroker({
      log: (line) => log(line),
      onOutput: (line) => brokerOut.write(line + '\n'),
      onExit: (code, signal) =>
        log(`the Kafka broker exited on its own (${code ?? signal}); see ${brokerLog}`),
    });
    log(
      `Kafka broker up on ${broker.brokers} (pid ${broker.pid}, ${Math.round(performance.now() - started)} ms)`,
    );
    server = await startServer(target, settings, {
      env: { KAFKA_BROKERS: broker.brokers, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      logName: `${target}-${scenario}`,
      healthPath: '/health/ready',
      readyTimeoutMs: 60_000,
    });
    const args: KafkaLoadArgs = {
      ...loadTarget(scenario, target, server),
      brokers: broker.brokers,
      brokerPid: broker.pid,
      topic: 'v3_messages',
      users: settings.kafkaUsers,
      rate: settings.kafkaRate,
      seconds: settings.kafkaSeconds,
      warmupSeconds: settings.warmupSeconds,
      graceSeconds: 5,
      connectConcurrency: settings.connectConcurrency,
      baselineConsumer: settings.kafkaBaseline,
    };
    log(`scenario ${scenario}: connecting ${args.users} /v3/sse streams…`);
    result = await runPacedLoad(args);
  } catch (err) {
    result = failed(err);
  } finally {
    Object.assign(stops, await stopIfStarted(target, server));
    if (broker) {
      const t = performance.now();
      await broker.stop();
      stops.broker_stop_ms = Math.round(performance.now() - t);
      log(`Kafka broker stopped (${String(stops.broker_stop_ms)} ms)`);
    }
    brokerOut.end();
    stops.broker_log = path.relative(ROOT, brokerLog);
  }
  return { scenario, target, ...result, ...stops };
}

/** Produce -> SSE latency and loss, beside the Kafka-only baseline. */
function notes(results: Result[]): void {
  for (const r of results) {
    const base = r.kafka_baseline as Record<string, unknown> | null | undefined;
    process.stderr.write(
      `  kafka-latency: ${fmt(r.sent_in_window)} records in ${fmt(r.produce_s, 1)} s ` +
        `(${fmt(r.produce_per_s, 1)}/s) over ${fmt(r.connections_open)} users; produce -> SSE ${latencyLine(r.latency_ms)}; ` +
        `lost ${fmt(r.lost)}, duplicates ${fmt(r.duplicates)}, reordered ${fmt(r.reordered)}\n` +
        `    Kafka ack ${latencyLine(r.produce_ack_ms)}` +
        (base
          ? `; produce -> plain kafkajs consumer ${latencyLine(base.latency_ms)}, lost ${fmt(base.lost)}`
          : '') +
        '\n' +
        (base
          ? `    per record, SSE minus plain consumer: ${latencyLine(base.gateway_minus_baseline_ms)}\n`
          : ''),
    );
  }
}

const kafkaLatency: Scenario = {
  name: scenario,
  targets: ['gateway'],
  skipped:
    "it has no Kafka bus (the gateway's line carries a Kafka-only baseline instead, kafka_baseline: " +
    'produce -> a plain kafkajs consumer)',
  run: async (_target, settings, emit) => emit(await run(settings)),
  notes,
  load: (args) => runKafkaLoad(args as KafkaLoadArgs),
};
export default kafkaLatency;
