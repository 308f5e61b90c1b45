import { createApp } from '../src/app.factory';
import { SseConnectionRegistry } from '../src/sse/sse-connection.registry';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { sharedDatabaseUrl } from './support/postgres';
import { startService } from './support/service';
import { openStalledReader, SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

/** GET /kafka/<topic>/sse and POST /kafka/<topic> on the in-memory bus: no Kafka on a laptop. */
describe('Kafka topics as streams, on the in-memory bus', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({
      KAFKA_SSE_TOPICS: 'clicks, sensors.raw',
      KAFKA_SSE_KEEPALIVE_MS: '50',
      SSE_MAX_BUFFER_BYTES: '4096',
      BODY_LIMIT_BYTES: '8192',
    });
  });
  afterAll(() => app?.close());

  const json = (url: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('streams what is posted, with the position answered as the event id', async () => {
    const reader = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse`);
    expect(reader.status).toBe(200);
    expect(reader.headers?.['content-type']).toMatch(/^text\/event-stream/);
    await reader.waitForPosition();
    const text = await post(`${app.baseUrl}/kafka/clicks`, 'plain text 🤠', 'text/plain');
    expect(text.status).toBe(201);
    const answer = await json(`${app.baseUrl}/kafka/clicks?key=page-1`, { page: '/pricing', ms: 182 });
    expect(answer.status).toBe(201);
    const [first, second] = await reader.waitForEvents(2);
    reader.close();
    expect(first).toEqual({
      id: (JSON.parse(text.text) as { id: string }).id,
      type: undefined,
      data: 'plain text 🤠',
    });
    expect(second).toEqual({
      id: ((await answer.json()) as { id: string }).id,
      type: undefined,
      data: '{"page":"/pricing","ms":182}',
    });
    expect(reader.retry).toBe(100);
  });

  it('frames a multi-line value as several data: lines, and nothing in a value makes a frame', async () => {
    const reader = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse`);
    await reader.waitForPosition();
    const forged = 'line one\n\nid: 999999\nevent: admin\ndata: forged\r\nretry: 1\rlast';
    const { status, text } = await post(`${app.baseUrl}/kafka/clicks`, forged, 'text/plain');
    expect(status).toBe(201);
    const { id } = JSON.parse(text) as { id: string };
    const [event] = await reader.waitForEvents(1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // room for a forged second event
    reader.close();
    expect(reader.events).toEqual([
      { id, type: undefined, data: 'line one\n\nid: 999999\nevent: admin\ndata: forged\nretry: 1\nlast' },
    ]);
    expect(event.id).toBe(id);
    expect(reader.raw).toContain(
      `id: ${id}\ndata: line one\ndata: \ndata: id: 999999\ndata: event: admin\ndata: data: forged\ndata: retry: 1\ndata: last\n\n`,
    );
    expect(reader.retry).toBe(100);
  });

  it('gives ?key= streams only the records of that key, and resumes after Last-Event-ID', async () => {
    const keyed = await SseReader.open(`${app.baseUrl}/kafka/sensors.raw/sse?key=s-1`);
    await keyed.waitForPosition();
    const ids: string[] = [];
    for (const [key, value] of [
      ['s-1', 'one'],
      ['s-2', 'other sensor'],
      ['s-1', 'two'],
    ]) {
      const answer = await post(`${app.baseUrl}/kafka/sensors.raw?key=${key}`, value);
      expect(answer.status).toBe(201);
      ids.push((JSON.parse(answer.text) as { id: string }).id);
    }
    await post(`${app.baseUrl}/kafka/sensors.raw`, 'no key');
    await keyed.waitForEvents(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    keyed.close();
    expect(keyed.events.map((event) => [event.id, event.data])).toEqual([
      [ids[0], 'one'],
      [ids[2], 'two'],
    ]);

    const resumed = await SseReader.open(`${app.baseUrl}/kafka/sensors.raw/sse`, { 'last-event-id': ids[0] });
    await resumed.waitForEvents(3);
    resumed.close();
    expect(resumed.events.map((event) => event.data)).toEqual(['other sensor', 'two', 'no key']);
  });

  it('sends keep-alive comments at KAFKA_SSE_KEEPALIVE_MS', async () => {
    const reader = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    reader.close();
    expect(reader.comments.filter((comment) => comment === 'keep-alive').length).toBeGreaterThanOrEqual(2);
  });

  it('answers 404 naming the topic for one KAFKA_SSE_TOPICS does not list, on both routes', async () => {
    for (const topic of ['v3_messages', 'reports', 'click', 'nope.x']) {
      const stream = await fetch(`${app.baseUrl}/kafka/${topic}/sse`);
      expect(stream.status).toBe(404);
      expect(stream.headers.get('content-type')).toMatch(/json/);
      expect(((await stream.json()) as { message: string }).message).toBe(
        `Kafka topic "${topic}" is not served here: it is not listed in KAFKA_SSE_TOPICS`,
      );
      const publish = await post(`${app.baseUrl}/kafka/${topic}`, 'hello');
      expect(publish.status).toBe(404);
      expect(publish.text).toContain(`Kafka topic \\"${topic}\\" is not served here`);
    }
  });

  it.each([
    ['a repeated key', '?key=a&key=b', 'key must be one string: give ?key= at most once'],
    ['an empty key', '?key=', 'key must be 1-256 characters'],
    ['a key with a control character', '?key=a%07b', 'key must not contain control characters'],
    ['a key too long', `?key=${'k'.repeat(257)}`, 'key must be 1-256 characters'],
    ['an unknown parameter', '?partition=2', 'property partition should not exist'],
  ])('refuses %s with 400 on both routes', async (_, query, message) => {
    const stream = await fetch(`${app.baseUrl}/kafka/clicks/sse${query}`);
    expect(stream.status).toBe(400);
    expect(((await stream.json()) as { message: unknown }).message).toEqual([message]);
    const publish = await post(`${app.baseUrl}/kafka/clicks${query}`, 'hello');
    expect(publish.status).toBe(400);
    expect((JSON.parse(publish.text) as { message: unknown }).message).toEqual([message]);
  });

  it('validates the body: empty 400, other media types 415, over BODY_LIMIT_BYTES or a stream 413', async () => {
    const empty = await post(`${app.baseUrl}/kafka/clicks`, '', 'text/plain');
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('The body is empty');
    const binary = await post(`${app.baseUrl}/kafka/clicks`, 'bytes', 'application/octet-stream');
    expect(binary.status).toBe(415);
    expect(binary.text).toContain('Content-Type application/octet-stream is not accepted');
    const tooBig = await post(`${app.baseUrl}/kafka/clicks`, 'x'.repeat(9000), 'text/plain');
    expect(tooBig.status).toBe(413);
    // Under BODY_LIMIT_BYTES, but 2,000 line breaks make 2,000 data: lines, over SSE_MAX_BUFFER_BYTES.
    const tooManyLines = await post(`${app.baseUrl}/kafka/clicks`, '\n'.repeat(2000), 'text/plain');
    expect(tooManyLines.status).toBe(413);
    expect(tooManyLines.text).toContain('SSE_MAX_BUFFER_BYTES');
    const deep = await fetch(`${app.baseUrl}/kafka/clicks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '['.repeat(40) + ']'.repeat(40),
    });
    expect(deep.status).toBe(400);
  });
});

describe('the limits of every stream, on Kafka topic streams', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({
      KAFKA_SSE_TOPICS: 'clicks',
      SSE_MAX_CONNECTIONS: '2',
      SSE_MAX_BUFFER_BYTES: '65536',
      BODY_LIMIT_BYTES: '65536',
    });
  });
  afterAll(() => app?.close());

  it('drops a reader that stops reading, answers 503 past the cap, and ends the rest on shutdown with a retry hint', async () => {
    const registry = app.app.get(SseConnectionRegistry);
    const stalled = await openStalledReader(app.port, '/kafka/clicks/sse', { Accept: 'text/event-stream' });
    const healthy = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse`);
    await waitUntil(() => registry.size === 2, 'both streams are open');

    const refused = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse`);
    expect(refused.status).toBe(503);
    expect(refused.headers?.['retry-after']).toBe('5');

    const payload = 'x'.repeat(32 * 1024);
    let sent = 0;
    // Loopback socket buffers hold a few MB; keep publishing until the stalled reader is dropped.
    while (registry.size === 2 && sent < 2000) {
      expect((await post(`${app.baseUrl}/kafka/clicks`, `${sent}:${payload}`, 'text/plain')).status).toBe(
        201,
      );
      sent++;
    }
    expect(registry.size).toBe(1);
    await healthy.waitForEvents(sent, 15_000);
    expect(healthy.events.map((event) => Number(event.data.split(':')[0]))).toEqual(
      Array.from({ length: sent }, (_, n) => n),
    );
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_slow_reader_disconnects_total\{stream="kafka"\} 1/);
    stalled.destroy();

    await app.close();
    await healthy.waitForEnd();
    expect(healthy.raw).toMatch(/\nretry: \d+\n\n$/);
  });
});

describe('Kafka topics when KAFKA_SSE_TOPICS is unset', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app?.close());

  it('exposes no topic: 404 on both routes, even for the service’s own topics', async () => {
    for (const topic of ['v3_messages', 'broadcast', 'anything']) {
      expect((await fetch(`${app.baseUrl}/kafka/${topic}/sse`)).status).toBe(404);
      expect((await post(`${app.baseUrl}/kafka/${topic}`, 'hi')).status).toBe(404);
    }
  });
});

describe('KAFKA_SSE_TOPICS listing one of the service’s own topics', () => {
  it.each([
    'v3_messages',
    'v4_messages',
    'v4_messages.dead-letter',
    'report_updates',
    'temperature',
    'broadcast',
    'v2_messages',
  ])('stops start-up naming %s and the variable', async (topic) => {
    const app = await createApp({
      LOG_LEVEL: 'silent',
      DATABASE_URL: sharedDatabaseUrl(),
      KAFKA_SSE_TOPICS: `clicks,${topic}`,
    });
    try {
      await expect(app.init()).rejects.toThrow(
        `Invalid configuration:\n  KAFKA_SSE_TOPICS: lists ${topic}, a topic of this service that carries its users' data; it cannot be streamed to clients, remove it from KAFKA_SSE_TOPICS`,
      );
    } finally {
      await app.close();
    }
  });

  it('makes the process exit 1 with that message, and no stack trace', async () => {
    const service = await startService({ KAFKA_SSE_TOPICS: 'v3_messages' });
    expect(await service.exit).toBe(1);
    expect(service.output).toContain('KAFKA_SSE_TOPICS: lists v3_messages, a topic of this service');
    expect(service.output).not.toMatch(/\n\s+at /);
  });
});
