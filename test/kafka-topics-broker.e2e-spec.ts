import { mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../scripts/kafka-broker';
import { post, ready, RunningApp, startApp } from './support/app';
import { sharedBrokers, TestBroker } from './support/kafka';
import { kcatConsume, kcatProduce } from './support/kcat';
import { SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

/** GET /kafka/<topic>/sse and POST /kafka/<topic> on a real broker, with records from kcat. */

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const idOf = (text: string): string => (JSON.parse(text) as { id: string }).id;

describe('a Kafka topic as a stream, two instances on one broker', () => {
  const topic = unique('clicks');
  let brokers: string;
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    brokers = sharedBrokers();
    // Three partitions: positions name an offset in each, and any instance resumes from them.
    const env = { KAFKA_BROKERS: brokers, KAFKA_SSE_TOPICS: topic, KAFKA_TOPIC_PARTITIONS: '3' };
    [a, b] = await Promise.all([startApp(env), startApp(env)]);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('streams records produced by kcat on every instance, keyed by the record key, framed exactly', async () => {
    const all = await SseReader.open(`${a.baseUrl}/kafka/${topic}/sse`);
    const keyed = await SseReader.open(`${b.baseUrl}/kafka/${topic}/sse?key=k1`);
    await Promise.all([all.waitForPosition(), keyed.waitForPosition()]);
    const multiLine = 'line 1\nline 2\r\nid: 7\n\nevent: forged\rdata: x';
    await kcatProduce(brokers, topic, ['{"n":1,"text":"🦋"}'], { key: 'k1' });
    await kcatProduce(brokers, topic, [multiLine], { key: 'k2' });
    await kcatProduce(brokers, topic, ['{"n":3}'], { key: 'k1' });

    await all.waitForEvents(3, 15_000);
    await keyed.waitForEvents(2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for a stray or a forged event
    all.close();
    keyed.close();
    expect(keyed.events.map((event) => event.data)).toEqual(['{"n":1,"text":"🦋"}', '{"n":3}']);
    // Records of different keys may sit on different partitions: their order between them is not fixed.
    expect(all.events.map((event) => event.data).sort()).toEqual(
      ['{"n":1,"text":"🦋"}', '{"n":3}', 'line 1\nline 2\nid: 7\n\nevent: forged\ndata: x'].sort(),
    );
    expect(all.events.every((event) => event.type === undefined)).toBe(true);
    expect(all.raw).toContain(
      '\ndata: line 1\ndata: line 2\ndata: id: 7\ndata: \ndata: event: forged\ndata: data: x\n\n',
    );
    // A record's id is its position on the topic: the same on every instance.
    const byData = new Map(all.events.map((event) => [event.data, event.id]));
    expect(keyed.events.map((event) => event.id)).toEqual([
      byData.get('{"n":1,"text":"🦋"}'),
      byData.get('{"n":3}'),
    ]);
    expect(new Set(all.events.map((event) => event.id)).size).toBe(3);
  });

  it('answers a POST once Kafka has the record: kcat reads it, and a stream on the other instance gets it', async () => {
    const reader = await SseReader.open(`${b.baseUrl}/kafka/${topic}/sse?key=posted`);
    await reader.waitForPosition();
    const text = await post(`${a.baseUrl}/kafka/${topic}?key=posted`, 'two\nlines', 'text/plain');
    expect(text.status).toBe(201);
    const json = await fetch(`${a.baseUrl}/kafka/${topic}?key=posted`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ page: '/pricing', tags: ['a', 'b'] }),
    });
    expect(json.status).toBe(201);
    const jsonId = idOf(await json.text());

    const events = await reader.waitForEvents(2, 15_000);
    reader.close();
    expect(events).toEqual([
      { id: idOf(text.text), type: undefined, data: 'two\nlines' },
      { id: jsonId, type: undefined, data: '{"page":"/pricing","tags":["a","b"]}' },
    ]);
    const onBroker = (await kcatConsume(brokers, topic)).filter(
      (record) => record.key?.toString() === 'posted',
    );
    expect(onBroker.map((record) => record.value?.toString())).toEqual([
      'two\nlines',
      '{"page":"/pricing","tags":["a","b"]}',
    ]);
  });

  it('resumes on the other instance after the Last-Event-ID a client got from this one', async () => {
    const key = unique('resume');
    const first = await SseReader.open(`${a.baseUrl}/kafka/${topic}/sse?key=${key}`);
    await first.waitForPosition();
    await kcatProduce(brokers, topic, ['r1', 'r2', 'r3'], { key });
    await first.waitForEvents(3, 15_000);
    first.close();
    const lastSeen = first.events[0].id!;
    // Missed while away: one from kcat, one posted to B.
    await kcatProduce(brokers, topic, ['r4'], { key });
    expect((await post(`${b.baseUrl}/kafka/${topic}?key=${key}`, 'r5')).status).toBe(201);

    const resumed = await SseReader.open(`${b.baseUrl}/kafka/${topic}/sse?key=${key}`, {
      'last-event-id': lastSeen,
    });
    await resumed.waitForEvents(4, 15_000);
    await kcatProduce(brokers, topic, ['r6'], { key });
    await resumed.waitForEvents(5, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    resumed.close();
    expect(resumed.events.map((event) => event.data)).toEqual(['r2', 'r3', 'r4', 'r5', 'r6']);
    expect(resumed.events.slice(0, 2).map((event) => event.id)).toEqual(
      first.events.slice(1).map((event) => event.id),
    );
  });

  it('answers 404 for a topic not listed, on a running broker too', async () => {
    expect((await fetch(`${a.baseUrl}/kafka/v3_messages/sse`)).status).toBe(404);
    expect((await post(`${a.baseUrl}/kafka/v3_messages`, 'demo:hi')).status).toBe(404);
  });
});

describe('POST /kafka/<topic> when Kafka cannot take the record', () => {
  let dataDir: string;
  let broker: TestBroker | undefined;
  let app: RunningApp | undefined;
  let away: RunningApp | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kafka-topics-503-'));
  });
  afterAll(async () => {
    await Promise.all([app?.close(), away?.close()]);
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After once the broker is gone, within the publish timeout, and 201 once it is back', async () => {
    broker = await startBroker({ dataDir, heapMb: 256 });
    app = await startApp({
      KAFKA_BROKERS: broker.brokers,
      KAFKA_SSE_TOPICS: 'sensors',
      KAFKA_PUBLISH_TIMEOUT_MS: '3000',
    });
    await ready(app, 60_000);
    expect((await post(`${app.baseUrl}/kafka/sensors`, 'while up')).status).toBe(201);
    const gone = broker;
    await gone.stop();
    broker = undefined;

    const started = Date.now();
    const refused = await post(`${app.baseUrl}/kafka/sensors`, 'while down');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(refused.text)).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(/Kafka/),
    });
    expect(Date.now() - started).toBeLessThan(3_000 + 1_000);

    // Back on the same ports and data: the service reconnects by itself and takes records again.
    broker = await startBroker({
      dataDir,
      port: gone.port,
      controllerPort: gone.controllerPort,
      heapMb: 256,
    });
    await ready(app, 60_000);
    expect((await post(`${app.baseUrl}/kafka/sensors`, 'back up')).status).toBe(201);
  });

  it('answers 503 at once while Kafka was never reached, and still opens the stream', async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => resolve(free));
      });
    });
    away = await startApp({ KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_SSE_TOPICS: 'sensors' });
    const started = Date.now();
    const refused = await post(`${away.baseUrl}/kafka/sensors?key=s-1`, 'too soon');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({
      message: expect.stringMatching(/Kafka is not reachable/),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    const reader = await SseReader.open(`${away.baseUrl}/kafka/sensors/sse`);
    expect(reader.status).toBe(200);
    reader.close();
  });
});
