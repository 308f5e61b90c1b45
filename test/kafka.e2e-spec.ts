import { EventSource } from 'eventsource';
import { mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningBroker, startBroker } from '../scripts/kafka-broker';
import { eventually, metric, post, ready, RunningApp, startApp, waitUntil } from './support/app';
import { sharedBrokers } from './support/kafka';
import { kcatProduce } from './support/kcat';
import { SseReader } from './support/sse-reader';

jest.setTimeout(120_000);

const readiness = async (app: RunningApp): Promise<number> =>
  (await fetch(`${app.baseUrl}/health/ready`)).status;

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

describe('Kafka as the bus, two instances on one broker', () => {
  let brokers: string;
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    brokers = sharedBrokers();
    [a, b] = await Promise.all([
      startApp({ KAFKA_BROKERS: brokers }),
      startApp({ KAFKA_BROKERS: brokers, MAX_SSE_CONNECTION_TIME: '1s' }),
    ]);
    await Promise.all([ready(a), ready(b)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('says in readiness that it runs on Kafka', async () => {
    const body = (await (await fetch(`${a.baseUrl}/health/ready`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: 'ok',
      info: { bus: { kind: 'kafka', reachable: true, consumer: 'joined', brokers } },
    });
  });

  it('delivers a record written by kcat, byte-exact, to the v3 streams of every instance', async () => {
    const onA = await SseReader.open(`${a.baseUrl}/v3/sse?username=demo`);
    const onB = await SseReader.open(`${b.baseUrl}/v3/sse?username=demo`);
    await kcatProduce(brokers, 'v3_messages', ['demo:🦋 howdy from kafka!']);
    for (const reader of [onA, onB]) {
      const [event] = await reader.waitForEvents(1, 15_000);
      expect(event.data).toBe('🦋 howdy from kafka!');
      expect(reader.raw).toContain(`\ndata: 🦋 howdy from kafka!\n\n`);
      reader.close();
    }
  });

  it('hands v3 records from kcat and from a POST to the @EventPattern handler of every instance', async () => {
    const handled = 'topic="v3_messages",outcome="handled"';
    const counts = () => Promise.all([a, b].map((app) => metric(app, 'bus_handler_records_total', handled)));
    const before = await counts();
    const user = unique('handler');
    await kcatProduce(brokers, 'v3_messages', [`${user}:one`, `${user}:two`]);
    expect((await post(`${a.baseUrl}/v3/message?username=${user}`, 'three')).status).toBe(201);
    // At least: other specs may write to v3_messages on the shared broker meanwhile. Exactly once
    // per instance is checked where the topic is the test's own (kafka-commands.e2e-spec.ts).
    await eventually(
      async () => (await counts()).every((count, n) => count >= before[n] + 3),
      'both instances handled the three records',
      15_000,
    );
  });

  it('delivers a message posted to A to a subscriber on B exactly once, in order', async () => {
    const user = unique('across');
    const onA = await SseReader.open(`${a.baseUrl}/v3/sse?username=${user}`);
    const onB = await SseReader.open(`${b.baseUrl}/v3/sse?username=${user}`);
    const sent = Array.from({ length: 20 }, (_, n) => `message ${n} 🤠`);
    for (const message of sent) {
      expect((await post(`${a.baseUrl}/v3/message?username=${user}`, message)).status).toBe(201);
    }
    await Promise.all([onA.waitForEvents(20, 15_000), onB.waitForEvents(20, 15_000)]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up
    for (const reader of [onA, onB]) {
      expect(reader.events.map((event) => event.data)).toEqual(sent);
      expect(new Set(reader.events.map((event) => event.id)).size).toBe(20);
      reader.close();
    }
  });

  it('streams from B a temperature observation posted to A', async () => {
    const entity = unique('sensor');
    expect((await post(`${a.baseUrl}/api/temperature/${entity}/registration`, '')).status).toBe(201);
    const observed = await fetch(`${a.baseUrl}/api/temperature/${entity}/observations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ temperature: 21.5 }),
    });
    expect(observed.status).toBe(201);
    const reader = await SseReader.open(`${b.baseUrl}/api/temperature/events/${entity}`);
    const events = await reader.waitForEvents(2, 15_000);
    reader.close();
    expect(events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      expect.objectContaining({ type: 'Registered', entityId: entity }),
      expect.objectContaining({ type: 'TemperatureRead', entityId: entity, temperature: 21.5 }),
    ]);
  });

  it('resumes across the forced reconnects of MAX_SSE_CONNECTION_TIME: all observations, in order, once', async () => {
    const entity = unique('seq');
    expect((await post(`${a.baseUrl}/api/temperature/${entity}/registration`, '')).status).toBe(201);
    const temperatures: number[] = [];
    let opened = 0;
    const source = new EventSource(`${b.baseUrl}/api/temperature/events/${entity}`);
    source.onopen = () => opened++;
    source.onmessage = (event: { data: string }) => {
      const parsed = JSON.parse(event.data) as { type: string; temperature?: number };
      if (parsed.type === 'TemperatureRead') {
        temperatures.push(parsed.temperature!);
      }
    };
    const count = 40;
    try {
      for (let n = 0; n < count; n++) {
        const answer = await fetch(`${a.baseUrl}/api/temperature/${entity}/observations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ temperature: n }),
        });
        expect(answer.status).toBe(201);
        await new Promise((resolve) => setTimeout(resolve, 75));
      }
      await waitUntil(() => temperatures.length >= count, `${count} observations arrived`, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      source.close();
    }
    expect(temperatures).toEqual(Array.from({ length: count }, (_, n) => n));
    expect(opened).toBeGreaterThanOrEqual(3); // the 1 s limit forced at least two reconnects
  });

  it('logs and skips malformed records, and goes on consuming', async () => {
    const user = unique('malformed');
    const entity = unique('bad');
    const skippedBefore = await metric(b, 'kafka_records_skipped_total', 'topic="v3_messages"');
    const v3 = await SseReader.open(`${b.baseUrl}/v3/sse?username=${user}`);
    await kcatProduce(brokers, 'v3_messages', [
      'no colon in this record',
      ':an empty user',
      Buffer.concat([Buffer.from(`${user}:`), Buffer.from([0xc3, 0x28, 0xff])]), // invalid UTF-8
      `${user}:valid after three bad ones`,
    ]);
    await post(`${a.baseUrl}/api/temperature/${entity}/registration`, '');
    const temperature = await SseReader.open(`${b.baseUrl}/api/temperature/events/${entity}`);
    await kcatProduce(
      brokers,
      'temperature',
      ['{not json', '{"type":"TemperatureRead","temperature":"hot"}'],
      {
        key: entity,
      },
    );
    await kcatProduce(brokers, 'temperature', ['{"type":"TemperatureRead","temperature":-3}'], {
      key: entity,
    });

    expect((await v3.waitForEvents(1, 15_000)).map((event) => event.data)).toEqual([
      'valid after three bad ones',
    ]);
    const temperatureEvents = await temperature.waitForEvents(2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    v3.close();
    temperature.close();
    expect(v3.events).toHaveLength(1);
    expect(temperatureEvents.map((event) => (JSON.parse(event.data) as { type: string }).type)).toEqual([
      'Registered',
      'TemperatureRead',
    ]);
    expect(await metric(b, 'kafka_records_skipped_total', 'topic="v3_messages"')).toBe(skippedBefore + 3);
    expect(await metric(b, 'kafka_records_skipped_total', 'topic="temperature"')).toBeGreaterThanOrEqual(2);
  });
});

describe('Kafka broker stopped and restarted while the service runs', () => {
  let dataDir: string;
  let broker: RunningBroker | undefined;
  let app: RunningApp | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kafka-restart-'));
    broker = await startBroker({ dataDir, heapMb: 256 });
    app = await startApp({ KAFKA_BROKERS: broker.brokers, KAFKA_PUBLISH_TIMEOUT_MS: '3000' });
    await ready(app);
  });
  afterAll(async () => {
    await app?.close();
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 while Kafka is away, says so in readiness, then recovers with no record lost', async () => {
    const running = app!;
    const first = broker!;
    const user = unique('restart');
    const reader = await SseReader.open(`${running.baseUrl}/v3/sse?username=${user}`);
    expect((await post(`${running.baseUrl}/v3/message?username=${user}`, 'before')).status).toBe(201);
    const early = Array.from({ length: 10 }, (_, n) => `${user}:early ${n}`);
    await kcatProduce(first.brokers, 'v3_messages', early);
    await first.stop();

    const started = Date.now();
    const refused = await post(`${running.baseUrl}/v3/message?username=${user}`, 'while away');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(refused.text)).toMatchObject({ message: expect.stringMatching(/Kafka/) });
    expect(Date.now() - started).toBeLessThan(3_000 + 1_000);
    await eventually(async () => (await readiness(running)) === 503, 'readiness says Kafka is away', 15_000);
    const notReady = (await (await fetch(`${running.baseUrl}/health/ready`)).json()) as Record<
      string,
      unknown
    >;
    expect(notReady).toMatchObject({ details: { bus: { status: 'down', kind: 'kafka' } } });

    broker = await startBroker({
      dataDir,
      port: first.port,
      controllerPort: first.controllerPort,
      heapMb: 256,
    });
    await ready(running, 60_000);
    expect((await post(`${running.baseUrl}/v3/message?username=${user}`, 'after')).status).toBe(201);
    const late = Array.from({ length: 10 }, (_, n) => `${user}:late ${n}`);
    await kcatProduce(broker.brokers, 'v3_messages', late);

    const expected = ['before', ...early, 'after', ...late].map((value) => value.replace(`${user}:`, ''));
    await reader.waitForEvents(expected.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    reader.close();
    expect(reader.events.map((event) => event.data)).toEqual(expected);
  });
});

describe('Kafka away when the service starts', () => {
  let broker: RunningBroker | undefined;
  let app: RunningApp | undefined;

  afterAll(async () => {
    await app?.close();
    await broker?.stop();
  });

  const freePort = () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });

  it('starts, serves what needs no Kafka, says Kafka is away, and connects by itself once it comes', async () => {
    const [port, controllerPort] = [await freePort(), await freePort()];
    app = await startApp({ KAFKA_BROKERS: `127.0.0.1:${port}` });
    const running = app;
    expect((await fetch(`${running.baseUrl}/health`)).status).toBe(200);
    expect(await readiness(running)).toBe(503);
    const heartbeat = await SseReader.open(`${running.baseUrl}/v1/sse?username=early`);
    expect(heartbeat.status).toBe(200);
    heartbeat.close();

    const started = Date.now();
    const refused = await post(`${running.baseUrl}/v3/message?username=early`, 'too soon');
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text)).toMatchObject({
      message: expect.stringMatching(/Kafka is not reachable/),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    // A stream opened now waits for Kafka, then goes on live.
    const reader = await SseReader.open(`${running.baseUrl}/v3/sse?username=early`);
    expect(reader.status).toBe(200);

    broker = await startBroker({ port, controllerPort, heapMb: 256 });
    await ready(running, 60_000);
    expect((await post(`${running.baseUrl}/v3/message?username=early`, 'now it works')).status).toBe(201);
    expect((await reader.waitForEvents(1, 15_000)).map((event) => event.data)).toEqual(['now it works']);
    reader.close();
  });
});
