import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { KAFKA_VERSION } from '../scripts/kafka-broker';
import { sharedBrokers, startTestBroker, TestBroker } from './support/kafka';
import { kcatConsume, kcatProduce } from './support/kcat';

/** The real broker the e2e tests run against (scripts/kafka-broker.js), seen through kcat. */
describe('Kafka test broker', () => {
  const freshTopic = (): string => `broker-e2e-${randomUUID()}`;

  it('carries a record from producer to consumer byte for byte', async () => {
    const topic = freshTopic();
    const value = Buffer.from('demo:🦋 howdy from kafka!');

    await kcatProduce(sharedBrokers(), topic, value);
    const records = await kcatConsume(sharedBrokers(), topic, { count: 1 });

    expect(records.map((record) => record.value)).toEqual([value]);
  });

  it('keeps any bytes intact, newlines and invalid UTF-8 included, with keys and in order', async () => {
    const topic = freshTopic();
    const values = [Buffer.from([0x61, 0x0a, 0x00, 0xff, 0xfe, 0x0d, 0x0a]), Buffer.from('second')];

    await kcatProduce(sharedBrokers(), topic, values, { key: 'alice' });
    const records = await kcatConsume(sharedBrokers(), topic, { count: 2 });

    expect(records.map((record) => [record.key?.toString(), record.value])).toEqual([
      ['alice', values[0]],
      ['alice', values[1]],
    ]);
  });

  it('is Kafka 4 unless KAFKA_VERSION names another line: it drops a client limited to the protocol of Kafka 0.9', async () => {
    // Kafka 4.0 removed the oldest request versions (Produce v0-v2 among them); 3.9 still serves them.
    const line = (process.env.KAFKA_VERSION || '4').split('.')[0];
    const oldClient = { 'api.version.request': 'false', 'broker.version.fallback': '0.9.0' };

    const produced = kcatProduce(sharedBrokers(), freshTopic(), ['from an old client'], {
      config: oldClient,
    });

    if (line === '4') {
      await expect(produced).rejects.toThrow(/Broker transport failure|Disconnected/);
    } else {
      await expect(produced).resolves.toBeUndefined();
    }
  });

  it('npm run kafka refuses a KAFKA_VERSION outside the lines it knows, naming the variable', () => {
    const script = join(__dirname, '..', 'scripts', 'kafka.js');
    const run = (version: string) =>
      spawnSync(process.execPath, [script, '--fetch-only'], {
        env: { ...process.env, KAFKA_VERSION: version },
        encoding: 'utf8',
        timeout: 60_000,
      });

    const refused = run('3.8.1');
    const accepted = run(KAFKA_VERSION); // the version this run's broker uses: its jars are cached

    expect([refused.status, refused.stderr.trim()]).toEqual([
      2,
      '[kafka] KAFKA_VERSION=3.8.1: must be a Kafka release of the 4.x or 3.9 line, such as 4.4.0 or 3.9.1',
    ]);
    expect([accepted.status, accepted.stdout]).toEqual([
      0,
      expect.stringContaining(`Kafka ${KAFKA_VERSION} jars are in`),
    ]);
  });

  describe('a broker of its own', () => {
    let sut: TestBroker;

    beforeAll(async () => {
      sut = await startTestBroker();
    }, 90_000);

    afterAll(async () => {
      await sut?.stop();
    });

    it('keeps its records across restart()', async () => {
      const topic = freshTopic();
      await kcatProduce(sut.brokers, topic, ['before restart']);
      const pidBefore = sut.pid;

      await sut.restart();

      expect(sut.pid).not.toBe(pidBefore);
      const records = await kcatConsume(sut.brokers, topic, { count: 1, timeoutMs: 20_000 });
      expect(records.map((record) => record.value?.toString())).toEqual(['before restart']);
    }, 90_000);
  });
});
