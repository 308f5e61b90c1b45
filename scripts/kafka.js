#!/usr/bin/env node
'use strict';
/**
 * `npm run kafka`: a single-node Kafka broker (KRaft) in the foreground, for running the gateway
 * against real Kafka without Docker:
 *
 *   npm run kafka                          # 127.0.0.1:9092, data kept in ./data/kafka
 *   KAFKA_BROKERS=127.0.0.1:9092 npm start # in another terminal
 *
 * Options:
 *   --port <n>        client port (default 9092); the controller listens on the next port up
 *   --data-dir <dir>  where topics and records are kept between runs (default ./data/kafka)
 *   --fetch-only      only download the jars into the cache, then exit (CI warms the cache)
 *
 * Kafka 4.4.0 unless KAFKA_VERSION says otherwise (`KAFKA_VERSION=3.9.1 npm run kafka`; 4.x or 3.9.x).
 * Needs Java 17 and Maven; the jars are fetched once into ~/.cache/sse-gateway (or $KAFKA_JARS_DIR).
 * Ctrl-C (or SIGTERM, SIGHUP) shuts the broker down cleanly and exits 0.
 */
const path = require('node:path');
const { parseArgs } = require('node:util');

let kafkaBroker;
try {
  kafkaBroker = require('./kafka-broker');
} catch (error) {
  if (!/^KAFKA_VERSION=/.test(error.message)) {
    throw error;
  }
  console.error(`[kafka] ${error.message}`); // a bad setting: the message says it all
  process.exit(2);
}
const { KAFKA_VERSION, ensureKafkaJars, startBroker } = kafkaBroker;

const USAGE = 'Usage: npm run kafka -- [--port 9092] [--data-dir ./data/kafka] [--fetch-only]';

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '9092' },
        'data-dir': { type: 'string', default: path.join(__dirname, '..', 'data', 'kafka') },
        'fetch-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65534) {
    console.error(`--port must be a port number from 1 to 65534, not "${values.port}"\n${USAGE}`);
    process.exit(2);
  }
  return { port, dataDir: path.resolve(values['data-dir']), fetchOnly: values['fetch-only'] };
}

const log = (line) => console.log(`[kafka] ${line}`);

async function main() {
  const { port, dataDir, fetchOnly } = parseOptions();

  // Ctrl-C reaches the whole process group, java included, so the broker starts its own clean
  // shutdown; kill <pid> reaches only us. Either way: stop the broker, wait for it, exit 0.
  let phase = 'fetching'; // then 'starting', 'running', 'stopping'
  let stopRequested = false;
  let broker = null;
  const stopAndExit = (why) => {
    phase = 'stopping';
    log(why);
    broker.stop().then(
      () => {
        log('stopped.');
        process.exit(0);
      },
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  const onSignal = (why) => {
    switch (phase) {
      case 'running':
        stopAndExit(`${why}: stopping the broker...`);
        return;
      case 'starting':
        if (!stopRequested) {
          stopRequested = true;
          log(`${why}: stopping as soon as the broker has started...`);
          return;
        }
        process.exit(130);
        return;
      default:
        // While the jars download, or a second Ctrl-C while stopping: leave now. Exiting (rather
        // than dying of the signal) runs kafka-broker.js's exit hooks, which kill whatever it
        // started and remove a half-finished download.
        process.exit(130);
    }
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP')); // the terminal was closed
  // `kill <pid of npm>` kills npm and the shell it runs us in, but the signal stops there; we notice
  // by being handed to a new parent, and stop as if we had been signalled ourselves.
  const parent = process.ppid;
  const orphanCheck = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(orphanCheck);
      onSignal('parent exited');
    }
  }, 500).unref();

  if (fetchOnly) {
    const started = Date.now();
    const dir = await ensureKafkaJars({ log });
    log(`Kafka ${KAFKA_VERSION} jars are in ${dir} (${Date.now() - started} ms)`);
    return;
  }
  await ensureKafkaJars({ log });
  const relative = path.relative(process.cwd(), dataDir);
  const displayDir = relative && !relative.startsWith('..') ? relative : dataDir;
  log(`Starting Kafka ${KAFKA_VERSION} on 127.0.0.1:${port}, data in ${displayDir}`);
  phase = 'starting';
  try {
    broker = await startBroker({
      port,
      controllerPort: port + 1,
      dataDir,
      log,
      onOutput: (line) => console.log(line),
      onExit: (code, signal) => {
        if (phase === 'stopping') {
          return; // Ctrl-C reached java before our own stop(); stopAndExit is waiting for it
        }
        log(`the broker exited on its own (${signal ?? `code ${code}`}); see its output above.`);
        process.exit(1);
      },
    });
  } catch (error) {
    if (stopRequested) {
      // Ctrl-C also reached java, which shut down before it was ready: that is the stop we wanted.
      log('stopped before it was ready.');
      process.exit(0);
    }
    throw error;
  }
  phase = 'running';
  if (stopRequested) {
    stopAndExit('started; now stopping it, as asked...');
    return;
  }
  console.log(
    `\nKafka ${KAFKA_VERSION} ready on ${broker.brokers} (KRaft, single node, data in ${displayDir}). ` +
      'Ctrl-C stops it.\n' +
      `Run the gateway against it with: KAFKA_BROKERS=${broker.brokers} npm start\n`,
  );
}

main().catch((error) => {
  // A broker that failed to start has had its output printed already; say only what happened.
  console.error(`[kafka] ${error.summary ? `${error.summary}; its output is above.` : error.message}`);
  process.exit(1);
});
