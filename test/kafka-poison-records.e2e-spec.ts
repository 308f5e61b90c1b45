import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { eventually, metric, post, ready, RunningApp, startApp } from './support/app';
import { startTestBroker, TestBroker } from './support/kafka';
import { kcatProduce, kcatProduceInput } from './support/kcat';
import { SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

/**
 * Records any producer can write that the consumers once choked on: a header without a value
 * (kafkajs gives it as null), a tombstone, no key, a key that is not UTF-8, a timestamp that is no
 * time. Each is data: the records after it still arrive, on every instance and every consumer path
 * (fan-out streams, the @EventPattern handlers, the v4 command consumer). A broker of its own, so
 * these records never reach other specs' consumers of the service's topics.
 */

const CLICKS = 'clicks';

/** kcat options for the record shapes kcatProduce cannot make (see kcatProduceInput). */
const WHOLE_INPUT = ['-D', '\\0']; // one record of the whole input (no NUL in it)
const NO_VALUE_HEADER = [...WHOLE_INPUT, '-H', 'novalue', '-H', 'kept=yes'];
const TOMBSTONE_WITH_KEY = ['-K', ':', '-Z']; // `key:` with nothing after it: a null value

describe('records of any shape on a topic do not stop its consumers', () => {
  let broker: TestBroker;
  let a: RunningApp;
  let b: RunningApp;
  let kafka: Kafka;

  /** Writes records with timestamps Kafka takes but that are no time: -1 ("none"), far before 1970. */
  const produceOddTimestamps = async (topic: string, values: string[], key?: string) => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      const timestamps = ['-1', '-9000000000000000'];
      await producer.send({
        topic,
        messages: values.map((value, n) => ({ key, value, timestamp: timestamps[n % timestamps.length] })),
      });
    } finally {
      await producer.disconnect();
    }
  };

  /** The records that were once poison, in the order written, then a valid one from kcat. */
  const writePoison = async (topic: string, value: (label: string) => string, keyed: string) => {
    await kcatProduceInput(broker.brokers, topic, value('no-value header'), NO_VALUE_HEADER);
    await kcatProduceInput(broker.brokers, topic, `${keyed}:\n`, TOMBSTONE_WITH_KEY);
    await kcatProduceInput(broker.brokers, topic, value('no key'), WHOLE_INPUT);
    await kcatProduceInput(
      broker.brokers,
      topic,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`:${value('binary key')}\n`)]),
      ['-K', ':'],
    );
    await produceOddTimestamps(topic, [value('time -1'), value('time far back')], keyed);
    await kcatProduce(broker.brokers, topic, [value('after')], { key: keyed });
  };

  beforeAll(async () => {
    broker = await startTestBroker();
    kafka = new Kafka({ brokers: [broker.brokers], clientId: 'poison-producer', logLevel: logLevel.NOTHING });
    const env = { KAFKA_BROKERS: broker.brokers, KAFKA_SSE_TOPICS: CLICKS };
    [a, b] = await Promise.all([startApp(env), startApp(env)]);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await broker?.stop();
  });

  it(`streams ${CLICKS} (a KAFKA_SSE_TOPICS topic) on through them, on every instance and route`, async () => {
    const single = await SseReader.open(`${a.baseUrl}/kafka/${CLICKS}/sse`);
    const multiplexed = await SseReader.open(`${b.baseUrl}/sse?stream=kafka:${CLICKS}`);
    await Promise.all([single.waitForPosition(), multiplexed.waitForPosition()]);

    await writePoison(CLICKS, (label) => label, 'page-1');
    expect((await post(`${a.baseUrl}/kafka/${CLICKS}`, 'posted after', 'text/plain')).status).toBe(201);

    // The binary-key record is skipped (its key cannot be given as text unaltered); every other arrives.
    const expected = ['no-value header', '', 'no key', 'time -1', 'time far back', 'after', 'posted after'];
    for (const reader of [single, multiplexed]) {
      await reader.waitForEvents(expected.length, 20_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a stray event
    single.close();
    multiplexed.close();
    expect(single.events.map((event) => event.data)).toEqual(expected);
    expect(multiplexed.events.map((event) => event.data)).toEqual(expected);
    expect(multiplexed.events.every((event) => event.type === `kafka:${CLICKS}`)).toBe(true);
    for (const app of [a, b]) {
      expect(await metric(app, 'kafka_records_skipped_total', `topic="${CLICKS}"`)).toBe(1);
    }
    expect((await fetch(`${a.baseUrl}/health/ready`)).status).toBe(200);
  });

  it('streams v3_messages on through them to every instance, and its @EventPattern handler goes on', async () => {
    const user = `poison${Date.now().toString(36)}`;
    const handled = (app: RunningApp) =>
      metric(app, 'bus_handler_records_total', 'topic="v3_messages",outcome="handled"');
    const [handledA, handledB] = await Promise.all([handled(a), handled(b)]);
    const onA = await SseReader.open(`${a.baseUrl}/v3/sse?username=${user}`);
    const onB = await SseReader.open(`${b.baseUrl}/v3/sse?username=${user}`);
    await Promise.all([onA.waitForPosition(), onB.waitForPosition()]);

    await writePoison('v3_messages', (label) => `${user}:${label}`, user);
    expect((await post(`${b.baseUrl}/v3/message?username=${user}`, 'posted after')).status).toBe(201);

    // The tombstone has no `user:` (skipped as malformed), nor has the binary-key record its key.
    const expected = ['no-value header', 'no key', 'time -1', 'time far back', 'after', 'posted after'];
    await Promise.all([
      onA.waitForEvents(expected.length, 20_000),
      onB.waitForEvents(expected.length, 20_000),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    onA.close();
    onB.close();
    expect(onA.events.map((event) => event.data)).toEqual(expected);
    expect(onB.events.map((event) => event.data)).toEqual(expected);
    await eventually(
      async () =>
        (await handled(a)) >= handledA + expected.length && (await handled(b)) >= handledB + expected.length,
      'both instances handed every v3 message to the handler',
      10_000,
    );
  });

  it('applies the v4_messages commands after them', async () => {
    const user = randomUUID();
    const create = async () =>
      (
        (await (await fetch(`${a.baseUrl}/v4/new/report?user_id=${user}`, { method: 'POST' })).json()) as {
          reportId: string;
        }
      ).reportId;
    const report = await create();
    const command = (status: string) => JSON.stringify({ id: report, status });
    // The poison records carry commands too: each is applied (or, a tombstone, dead-lettered) in turn.
    await kcatProduceInput(broker.brokers, 'v4_messages', command('queued'), NO_VALUE_HEADER);
    await kcatProduceInput(broker.brokers, 'v4_messages', `${report}:\n`, TOMBSTONE_WITH_KEY);
    await kcatProduceInput(
      broker.brokers,
      'v4_messages',
      Buffer.concat([Buffer.from([0xff]), Buffer.from(`:${command('canceled')}\n`)]),
      ['-K', ':'],
    );
    await produceOddTimestamps('v4_messages', [command('processing')]);
    await kcatProduce(broker.brokers, 'v4_messages', [command('completed')]);

    const statuses = async () =>
      (
        (await (await fetch(`${b.baseUrl}/v4/reports?user_id=${user}`)).json()) as { reportStatus: string }[]
      ).map((one) => one.reportStatus);
    let last: string[] = [];
    await eventually(
      async () => (last = await statuses())[0] === 'completed',
      'the report completed',
      30_000,
    );
    // Canceled was never applied: its key is not UTF-8, so the command was skipped, not altered.
    expect(last).toEqual(['completed']);
  });
});
