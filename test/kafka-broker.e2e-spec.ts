import { randomUUID } from 'node:crypto';
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
