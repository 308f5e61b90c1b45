import { post, RunningApp, startApp } from './support/app';
import { SseReader } from './support/sse-reader';

interface MultiplexedOperation {
  parameters: { name: string; in: string; required?: boolean; description?: string; schema?: unknown }[];
  responses: Record<string, { content: Record<string, { schema: { example: string } }> }>;
}

describe('interfaces people expect', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp();
  });
  afterAll(() => running.close());

  it('serves Swagger UI at /docs and an OpenAPI document covering every route at /docs-json', async () => {
    const ui = await fetch(`${running.baseUrl}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');

    const document = (await (await fetch(`${running.baseUrl}/docs-json`)).json()) as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /v1/sse',
        'GET /v2/sse',
        'POST /v2/message',
        'GET /v3/sse',
        'POST /v3/message',
        'GET /api/temperature/events/{id}',
        'POST /api/temperature/{id}/registration',
        'POST /api/temperature/{id}/observations',
        'POST /v4/new/report',
        'GET /v4/reports',
        'PUT /v4/report',
        'GET /v4/transitions',
        'GET /v4/sse',
        'GET /events',
        'POST /events',
        'GET /events/{msg}',
        'GET /health',
        'GET /health/ready',
        'GET /metrics',
        'GET /sse',
        'GET /kafka/{topic}/sse',
        'POST /kafka/{topic}',
        'POST /publish',
      ].sort(),
    );
    expect(Object.keys(document.paths['/v2/sse'].get.responses['200'].content ?? {})).toContain(
      'text/event-stream',
    );
  });

  it('documents GET /sse with its stream parameter and an example of a multiplexed stream', async () => {
    const document = (await (await fetch(`${running.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, { get: MultiplexedOperation }>;
    };
    const operation = document.paths['/sse'].get;
    const stream = operation.parameters.find((parameter) => parameter.name === 'stream');
    expect(stream).toMatchObject({ in: 'query', required: true, schema: { type: 'array' } });
    expect(stream?.description).toContain('reports:<user uuid>');
    const example = operation.responses['200'].content['text/event-stream'].schema.example;
    expect(example).toMatch(/^event: broadcast$/m);
    expect(example).toMatch(/^event: reports:[0-9a-f-]{36}\.report_status_update$/m);
    expect(example).toMatch(/^id: \w+,[^,\n]+,\d+$/m);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400']));
  });

  it('documents the Kafka topic routes with examples, their statuses and the scope they need', async () => {
    type Operation = {
      summary: string;
      parameters: { name: string; in: string }[];
      requestBody?: { content: Record<string, { examples?: Record<string, unknown> }> };
      responses: Record<
        string,
        { description: string; content?: Record<string, { schema: { example?: string } }> }
      >;
    };
    const { paths } = (await (await fetch(`${running.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const stream = paths['/kafka/{topic}/sse'].get;
    expect(stream.parameters.map((parameter) => `${parameter.in} ${parameter.name}`)).toEqual(
      expect.arrayContaining(['path topic', 'query key', 'query lastEventId']),
    );
    expect(stream.responses['200'].content?.['text/event-stream'].schema.example).toContain(
      'data: first line\ndata: second line',
    );
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(stream.responses['403'].description).toContain('kafka:{topic}');

    const publish = paths['/kafka/{topic}'].post;
    expect(Object.keys(publish.requestBody?.content ?? {})).toEqual(
      expect.arrayContaining(['text/plain', 'application/json', 'application/x-www-form-urlencoded']),
    );
    expect(publish.requestBody?.content['application/json'].examples).toBeDefined();
    expect(Object.keys(publish.responses)).toEqual(
      expect.arrayContaining(['201', '401', '403', '404', '413', '415', '503']),
    );
  });

  it('reports liveness and readiness', async () => {
    const live = await fetch(`${running.baseUrl}/health`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${running.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      info: { bus: { status: 'up', kind: 'memory' } },
    });
  });

  it('exposes Prometheus metrics: open streams, events sent, slow readers, rejections, publish latency', async () => {
    const reader = await SseReader.open(`${running.baseUrl}/v2/sse?username=metered`);
    await post(`${running.baseUrl}/v2/message?username=metered`, 'counted');
    await reader.waitForEvents(1);
    const metrics = await (await fetch(`${running.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sse_open_connections\{stream="v2"\} 1\n/);
    expect(metrics).toMatch(/sse_events_sent_total\{stream="v2"\} 1\n/);
    expect(metrics).toContain('# TYPE sse_slow_reader_disconnects_total counter');
    expect(metrics).toContain('# TYPE sse_connections_rejected_total counter');
    expect(metrics).toContain('process_resident_memory_bytes');
    expect(metrics).toMatch(/bus_publish_duration_seconds_count\{topic="v2_messages",outcome="ok"\} 1\n/);
    reader.close();
  });

  it('gives every response a request id, echoing a safe one the caller sent', async () => {
    const fresh = await fetch(`${running.baseUrl}/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await fetch(`${running.baseUrl}/health`, { headers: { 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const unsafe = await fetch(`${running.baseUrl}/health`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
