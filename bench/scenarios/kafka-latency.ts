/**
 * kafka-latency (gateway only: the node:http baseline has no Kafka bus): a fresh single-node Kafka broker
 * (scripts/kafka-broker.js; fresh temp data dir, so the topic holds only this run's records), the gateway
 * with KAFKA_BROKERS (the load starts once /health/ready is 200), 1,000 /v3/sse user streams and an
 * independent kafkajs producer writing 1,000 records/s to v3_messages for 60 s: produce -> SSE latency,
 * loss, duplicates, order (load/kafka-load.ts). The line carries a Kafka-only baseline instead of the
 * node:http one: produce -> a plain kafkajs consumer. The gateway and the broker stop in that order.
 */
import { loadTarget } from '../lib/load-args';
import { log } from '../lib/log';
import {
  failed,
  KafkaBroker,
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
  const broker = new KafkaBroker(settings, scenario);
  let server: StartedServer | null = null;
  let result: Result = {};
  const stops: Result = {};
  try {
    const { brokers, pid: brokerPid } = await broker.start();
    server = await startServer(target, settings, {
      env: { KAFKA_BROKERS: brokers, KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      logName: `${target}-${scenario}`,
      healthPath: '/health/ready',
      readyTimeoutMs: 60_000,
    });
    const args: KafkaLoadArgs = {
      ...loadTarget(scenario, target, server),
      brokers,
      brokerPid,
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
    const brokerStopMs = await broker.stop();
    if (brokerStopMs !== null) {
      stops.broker_stop_ms = brokerStopMs;
    }
    stops.broker_log = broker.log;
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
