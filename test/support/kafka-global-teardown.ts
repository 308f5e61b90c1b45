import { SHARED_BROKER_GLOBAL, SharedBrokerGlobal } from './kafka';

/** jest globalTeardown of the e2e project: stops the broker kafka-global-setup.ts started. */
export default async function stopSharedKafka(): Promise<void> {
  const shared = globalThis as SharedBrokerGlobal;
  const broker = shared[SHARED_BROKER_GLOBAL];
  if (!broker) {
    return; // globalSetup failed before the broker was up, and said why
  }
  const started = Date.now();
  await broker.stop();
  delete shared[SHARED_BROKER_GLOBAL];
  process.stderr.write(
    `[kafka] shared test broker stopped in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}
