import startSharedKafka from './kafka-global-setup';
import { createTestDatabase } from './postgres';

/**
 * jest globalSetup of the e2e project: one Kafka broker and one PostgreSQL database for the whole
 * run, handed to the test workers in the environment (TEST_KAFKA_BROKERS, TEST_DATABASE_URL).
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  process.env.TEST_DATABASE_URL = await createTestDatabase('sse_gateway_e2e');
  process.stderr.write(
    `[postgres] test database ${new URL(process.env.TEST_DATABASE_URL).pathname.slice(1)} ready in ${Date.now() - started} ms\n`,
  );
  await startSharedKafka();
}
