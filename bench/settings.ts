/**
 * Every setting of `npm run bench`, once: its flag, its BENCH_* variable (the flag in upper case with
 * underscores), default, range and help. `npm run bench -- --help` prints this table.
 */
import { helpText, parseSettings, setting, type Settings, type SettingsTable } from './lib/settings';
import { TARGETS } from './scenarios/scenario';
import { SCENARIOS } from './scenarios';

const { int, number, numbers, text, list, words, on } = setting;
const NAMES = SCENARIOS.map((s) => s.name);

export const BENCH_SETTINGS = {
  targets: list('targets', TARGETS, TARGETS.join(','), 'the gateway (dist/main.js), the node:http one'),
  scenarios: {
    ...list('scenarios', NAMES, NAMES.join(','), 'what to run, in order (scenarios/<name>.ts)'),
    alias: 'only',
  },
  connections: int('connections', 10_000, [1, 18_000], 'streams (latency-250, slow-readers: ≤250)'),
  seconds: number('seconds', 10, [1, 120], 'measured publishing window per scenario'),
  warmupSeconds: number('warmup-seconds', 1, [0, 30], 'publishing before the measured window (not measured)'),
  connectConcurrency: int(
    'connect-concurrency',
    256,
    [1, 5000],
    'connects in flight (open-10k: 500 unless set)',
  ),
  payloadBytes: int('payload-bytes', 0, [0, 60_000], 'extra bytes per message (not slow-readers: 4096)'),
  publishConcurrency: int('publish-concurrency', 0, [0, 256], "POSTs in flight; 0 = the scenario's (8, 16)"),
  sseClient: text('sse-client', 'net', 'net: a lean TCP reader; http: node:http (2x CPU/event)', [
    'net',
    'http',
  ]),
  logDir: text('log-dir', 'dist-bench/logs', "each server's output: <target>-<scenario>.log"),
  serverNodeArgs: words(
    'server-node-args',
    'node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"',
  ),
  stalled: int('stalled', 25, [0, 1000], 'slow-readers: readers that never read (0: a control run)'),
  idleSeconds: int('idle-seconds', 30, [0, 300], '10k scenarios: idling before the idle kB/conn reading'),
  kafkaSeconds: number('kafka-seconds', 60, [1, 600], "kafka-latency's window (not BENCH_SECONDS)"),
  kafkaRate: number('kafka-rate', 1000, [1, 100_000], 'kafka-latency: records produced per second'),
  kafkaUsers: int('kafka-users', 1000, [1, 10_000], 'kafka-latency, kafka-ingest: user streams'),
  kafkaBaseline: on('kafka-baseline', 'kafka-latency: 0 = no plain kafkajs consumer beside the streams'),
  kafkaIngestStart: number(
    'kafka-ingest-start',
    2000,
    [1, 1_000_000],
    'kafka-ingest: the first rate (records/s)',
  ),
  kafkaIngestMax: number(
    'kafka-ingest-max',
    128_000,
    [1, 10_000_000],
    'kafka-ingest: doubling stops above it',
  ),
  kafkaIngestRefine: int('kafka-ingest-refine', 3, [0, 20], 'kafka-ingest: bisections after the doubling'),
  kafkaIngestStepSeconds: number(
    'kafka-ingest-step-seconds',
    4,
    [1, 600],
    'kafka-ingest: measured, per step',
  ),
  kafkaIngestWarmupSeconds: number(
    'kafka-ingest-warmup-seconds',
    1,
    [0, 60],
    'kafka-ingest: unjudged, per step',
  ),
  kafkaIngestRates: numbers(
    'kafka-ingest-rates',
    [1, 10_000_000],
    'kafka-ingest: exactly these steps, no search (6000,6000: to profile one rate)',
  ),
  gatewayMain: text('gateway-main', 'dist/main.js', "the gateway's entry point (a patched build, for A/B)"),
  reportsSeconds: number('reports-seconds', 20, [1, 600], "reports-transitions' measured window"),
  reportsRate: number('reports-rate', 2000, [1, 100_000], 'reports-transitions: PUTs per second'),
  reportsUsers: int('reports-users', 200, [1, 10_000], 'reports-transitions: users (a stream, a report)'),
  reportsInFlight: int('reports-in-flight', 64, [1, 1024], 'reports-transitions: PUTs in flight at most'),
  reportsWarmupSeconds: number('reports-warmup-seconds', 5, [0, 60], 'reports-transitions: load before it'),
  reportsStores: list(
    'reports-stores',
    ['postgres', 'pglite'],
    'postgres,pglite',
    'reports-transitions: a line each',
  ),
  reportsPgUrl: text(
    'reports-pg-url',
    'postgres://postgres@127.0.0.1:5432/test',
    'a fresh db per run (none: PGlite)',
  ),
  publishPipeline: int(
    'publish-pipeline',
    0,
    [0, 1024],
    "pipelined POSTs per connection; 0 = the scenario's",
  ),
  publishConnections: int('publish-connections', 0, [0, 64], 'connections for pipelined POSTs; 0 = 2'),
  messages: int('messages', 0, [0, 10_000_000], "messages measured; 0 = the scenario's (20000, 200000)"),
  // the open-files limit is 20,000 per process: the load generator holds every stream plus a few more
  maxStreams: int('max-streams', 19_000, [1, 19_500], 'streams-19k: streams opened'),
  buildFirst: {
    flag: 'build-first',
    kind: 'flag',
    default: '',
    help: '`npm run build` first (what `npm run bench` does; not with --help)',
  },
} satisfies SettingsTable;

export type BenchSettings = Settings<typeof BENCH_SETTINGS>;

export const parseBenchSettings = (argv: readonly string[], env = process.env): BenchSettings =>
  parseSettings(BENCH_SETTINGS, argv, env);

export const benchHelp = (): string =>
  helpText(
    BENCH_SETTINGS,
    'npm run bench [-- --only a,b --connections=N …]: each scenario against each target, one JSON line per\n' +
      `result on stdout, progress and a summary on stderr. Scenarios: ${NAMES.join(', ')}.`,
  );
