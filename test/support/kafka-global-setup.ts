import { KAFKA_VERSION, startBroker } from '../../scripts/kafka-broker';
import { SHARED_BROKER_GLOBAL, SharedBrokerGlobal } from './kafka';

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
  print(
    `shared test broker (Kafka ${KAFKA_VERSION}) ready on ${broker.brokers} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
