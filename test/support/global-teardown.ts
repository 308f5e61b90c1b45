import stopSharedKafka from './kafka-global-teardown';
import { dropTestDatabase } from './postgres';

/** jest globalTeardown of the e2e project: undoes global-setup.ts. */
export default async function globalTeardown(): Promise<void> {
  await stopSharedKafka();
  if (process.env.TEST_DATABASE_URL) {
    await dropTestDatabase(process.env.TEST_DATABASE_URL);
  }
}
