import { RunningBroker, startBroker } from '../../scripts/kafka-broker';

/** A broker of the test's own, for tests that stop or restart it; `brokers` is `127.0.0.1:<port>`. */
export type TestBroker = RunningBroker;

/**
 * Starts a single-node Kafka broker on free loopback ports with its data in a temp folder, which
 * stop() removes. Takes a few seconds: tests that only need *a* broker use sharedBrokers().
 */
export function startTestBroker(): Promise<TestBroker> {
  return startBroker({ heapMb: 256 });
}

/**
 * The broker started once for the whole e2e run by kafka-global-setup.ts (`host:port`, as
 * KAFKA_BROKERS takes it). Shared: give every test its own topic names.
 */
export function sharedBrokers(): string {
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!brokers) {
    throw new Error(
      'TEST_KAFKA_BROKERS is not set: the shared broker is started by test/support/kafka-global-setup.ts, ' +
        'the e2e project globalSetup in jest.config.js (run the e2e project, not the file alone with another config)',
    );
  }
  return brokers;
}

/** Where kafka-global-setup.ts leaves the shared broker for kafka-global-teardown.ts (same process). */
export const SHARED_BROKER_GLOBAL = '__sseGatewaySharedKafkaBroker';
export type SharedBrokerGlobal = { [SHARED_BROKER_GLOBAL]?: TestBroker };
