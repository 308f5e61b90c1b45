/**
 * The load generator process: runs ONE scenario's load against a server that is already listening, prints
 * exactly one JSON result line on stdout and progress on stderr, then exits. run.ts starts it as its own
 * process, so its CPU use is separate from the orchestrator's and can be reported (loadgen_cpu_pct).
 *
 *   node dist-bench/bench/loadgen.js '{"scenario":"broadcast-10k","port":3000,"serverPid":1234}'
 *   node dist-bench/bench/loadgen.js broadcast-10k 3000 1234        (the rest from the BENCH_* settings)
 *
 * Arguments missing from the JSON come from the settings (environment only here) as run.ts would pass them.
 */
import type { KafkaLoadArgs } from './load/kafka-load';
import type { ReportsLoadArgs } from './load/reports-load';
import type { SseLoadArgs } from './load/sse-load';
import { scenarioNamed } from './scenarios';
import { parseBenchSettings } from './settings';

function defaultArgs(
  scenario: string,
): SseLoadArgs & Omit<KafkaLoadArgs, 'scenario'> & Omit<ReportsLoadArgs, 'scenario'> {
  const s = parseBenchSettings([]);
  const env = process.env;
  const kafka = scenario === 'kafka-latency';
  const reports = scenario === 'reports-transitions';
  return {
    scenario,
    target: env.BENCH_TARGET ?? (kafka || reports ? 'gateway' : 'unknown'),
    host: '127.0.0.1',
    port: 3000,
    serverPid: 0,
    connections: s.connections,
    seconds: kafka ? s.kafkaSeconds : reports ? s.reportsSeconds : s.seconds,
    warmupSeconds: reports ? s.reportsWarmupSeconds : s.warmupSeconds,
    tailSeconds: 10,
    graceSeconds: 5,
    connectConcurrency: s.connectConcurrency,
    payloadBytes: s.payloadBytes,
    publishConcurrency: s.publishConcurrency,
    sseClient: s.sseClient === 'http' ? 'http' : 'net',
    stalled: s.stalled,
    brokers: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    brokerPid: 0,
    topic: 'v3_messages',
    users: kafka ? s.kafkaUsers : s.reportsUsers,
    rate: kafka ? s.kafkaRate : s.reportsRate,
    baselineConsumer: s.kafkaBaseline,
    store: env.DATABASE_URL ? 'postgres' : 'pglite',
    databaseUrl: env.DATABASE_URL ?? '',
    inFlight: s.reportsInFlight,
  };
}

function parseArgs(argv: string[]): { scenario: string } {
  if (argv[0]?.startsWith('{')) {
    const given = JSON.parse(argv[0]) as { scenario?: string };
    return { ...defaultArgs(given.scenario ?? 'broadcast-10k'), ...given };
  }
  return {
    ...defaultArgs(argv[0] ?? 'broadcast-10k'),
    port: Number(argv[1] ?? 3000),
    serverPid: Number(argv[2] ?? 0),
  } as { scenario: string };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const scenario = scenarioNamed(args.scenario);
  if (!scenario.load) {
    throw new Error(
      `${scenario.name} runs its load in the orchestrator (npm run bench -- --only ${scenario.name})`,
    );
  }
  const result = await scenario.load(args);
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit('error' in result ? 1 : 0));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[bench] loadgen failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
