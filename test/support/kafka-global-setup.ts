import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_VERSION, startBroker } from '../../scripts/kafka-broker';
import { BROADCAST_TOPIC } from '../../src/broadcaster/broadcaster.constants';
import { USER_MESSAGES_TOPIC, V3_MESSAGES_TOPIC } from '../../src/events/events.constants';
import {
  REPORT_COMMANDS_TOPIC,
  REPORT_DEAD_LETTER_TOPIC,
  REPORT_UPDATES_TOPIC,
} from '../../src/reports/reports.constants';
import { TEMPERATURE_TOPIC } from '../../src/temperature/temperature.constants';
import { SHARED_BROKER_GLOBAL, SharedBrokerGlobal } from './kafka';

/**
 * The service's own topics, made before any test runs with one partition each (the service's
 * default). Otherwise the first app to start makes them with its own KAFKA_TOPIC_PARTITIONS, and
 * a spec that sets it would decide, by its timing, how ordered the others' records are.
 */
const SERVICE_TOPICS = [
  USER_MESSAGES_TOPIC,
  V3_MESSAGES_TOPIC,
  BROADCAST_TOPIC,
  TEMPERATURE_TOPIC,
  REPORT_UPDATES_TOPIC,
  REPORT_COMMANDS_TOPIC,
  REPORT_DEAD_LETTER_TOPIC,
];

async function createServiceTopics(brokers: string): Promise<void> {
  const admin = new Kafka({ clientId: 'e2e-setup', brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: SERVICE_TOPICS.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * jest globalSetup of the e2e project: one real Kafka broker for the whole run, handed to the test
 * workers as TEST_KAFKA_BROKERS (jest starts them after this, with this process's environment).
 */
export default async function startSharedKafka(): Promise<void> {
  const started = Date.now();
  const print = (line: string): void => void process.stderr.write(`[kafka] ${line}\n`);
  const broker = await startBroker({
    heapMb: 384,
    // The jar download (first run only) is worth watching; the per-start chatter is not.
    log: (line) => {
      if (!/^(Formatting|Kafka \S+ started)/.test(line)) {
        print(line);
      }
    },
  });
  (globalThis as SharedBrokerGlobal)[SHARED_BROKER_GLOBAL] = broker;
  process.env.TEST_KAFKA_BROKERS = broker.brokers;
  await createServiceTopics(broker.brokers);
  print(
    `shared test broker (Kafka ${KAFKA_VERSION}) ready on ${broker.brokers} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
