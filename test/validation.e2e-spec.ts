import { request } from 'node:http';
import { RunningApp, startApp } from './support/app';
import { SseReader } from './support/sse-reader';

interface Case {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  /** Text the error message must contain (a field name or the reason). */
  says: string;
}

/** Sends exactly these bytes, without a client library tidying anything up. */
function send(baseUrl: string, test: Pick<Case, 'method' | 'path' | 'headers' | 'body'>) {
  return new Promise<{ status: number; text: string; contentType?: string }>((resolve, reject) => {
    const req = request(`${baseUrl}${test.path}`, { method: test.method, headers: test.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, text, contentType: res.headers['content-type'] }),
      );
    });
    req.on('error', reject);
    req.end(test.body);
  });
}

describe('bad input', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(() => running.close());

  const json = { 'content-type': 'application/json' };
  const text = { 'content-type': 'text/plain' };
  const cases: Case[] = [
    { name: 'stream without username', method: 'GET', path: '/v2/sse', status: 400, says: 'username' },
    {
      name: 'stream with empty username',
      method: 'GET',
      path: '/v2/sse?username=',
      status: 400,
      says: 'username should not be empty',
    },
    {
      name: 'stream with two usernames',
      method: 'GET',
      path: '/v2/sse?username=a&username=b',
      status: 400,
      says: 'username must be a single string',
    },
    {
      name: 'stream with a control character in the username',
      method: 'GET',
      path: '/v2/sse?username=a%0Ab',
      status: 400,
      says: 'control characters',
    },
    {
      name: 'stream with a too long username',
      method: 'GET',
      path: `/v2/sse?username=${'u'.repeat(129)}`,
      status: 400,
      says: 'username must be shorter',
    },
    {
      name: 'stream with an unknown parameter',
      method: 'GET',
      path: '/v2/sse?username=a&admin=1',
      status: 400,
      says: 'property admin should not exist',
    },
    {
      name: 'heartbeat with an unknown parameter',
      method: 'GET',
      path: '/v1/sse?username=a&x=1',
      status: 400,
      says: 'property x should not exist',
    },
    {
      name: 'broadcast stream with an unknown parameter',
      method: 'GET',
      path: '/events?x=1',
      status: 400,
      says: 'property x should not exist',
    },
    {
      name: 'publish without username',
      method: 'POST',
      path: '/v2/message',
      headers: text,
      body: 'hi',
      status: 400,
      says: 'username',
    },
    {
      name: 'publish with an empty body',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: text,
      body: '',
      status: 400,
      says: 'message should not be empty',
    },
    {
      name: 'publish with no body at all',
      method: 'POST',
      path: '/v2/message?username=a',
      status: 400,
      says: 'message',
    },
    {
      name: 'publish JSON without message',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: '{}',
      status: 400,
      says: 'message must be a string',
    },
    {
      name: 'publish JSON with a number',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: '{"message":5}',
      status: 400,
      says: 'message must be a string',
    },
    {
      name: 'publish JSON with an extra field',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: '{"message":"x","to":"b"}',
      status: 400,
      says: 'property to should not exist',
    },
    {
      name: 'publish malformed JSON',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: '{"message":',
      status: 400,
      says: 'JSON',
    },
    {
      name: 'publish a JSON array',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: '["x"]',
      status: 400,
      says: 'message',
    },
    {
      name: 'publish JSON null',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: json,
      body: 'null',
      status: 400,
      says: 'JSON',
    },
    {
      name: 'publish a body over the limit',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: text,
      body: 'x'.repeat(3000),
      status: 413,
      says: 'too large',
    },
    {
      name: 'publish an unsupported media type',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: { 'content-type': 'application/octet-stream' },
      body: 'x',
      status: 415,
      says: 'text/plain',
    },
    {
      name: 'publish an unsupported media type, chunked',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      body: 'x',
      status: 415,
      says: 'text/plain',
    },
    {
      name: 'publish with an unknown charset',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: { 'content-type': 'text/plain; charset=klingon' },
      body: 'x',
      status: 415,
      says: 'charset',
    },
    {
      name: 'publish with an unknown content encoding',
      method: 'POST',
      path: '/v2/message?username=a',
      headers: { ...text, 'content-encoding': 'br0ken' },
      body: 'x',
      status: 415,
      says: 'encoding',
    },
    {
      name: 'broadcast with an empty body',
      method: 'POST',
      path: '/events',
      headers: text,
      body: '',
      status: 400,
      says: 'message should not be empty',
    },
    {
      name: 'broadcast by GET with a broken escape',
      method: 'GET',
      path: '/events/%E0%A4%A',
      status: 400,
      says: 'decode',
    },
    { name: 'unknown route', method: 'GET', path: '/v9/sse', status: 404, says: 'Cannot GET' },
  ];

  it.each(cases)('$name: $status naming the problem', async (test) => {
    const answer = await send(running.baseUrl, test);
    expect(answer.status).toBe(test.status);
    expect(answer.contentType).toContain('application/json');
    const body = JSON.parse(answer.text) as {
      statusCode: number;
      message: string | string[];
      requestId?: string;
    };
    expect(body.statusCode).toBe(test.status);
    expect(JSON.stringify(body.message).toLowerCase()).toContain(test.says.toLowerCase());
    expect(body.requestId).toEqual(expect.any(String));
  });

  it('never answers 5xx and keeps serving, whatever bytes a client sends', async () => {
    const paths = ['/v2/message?username=a', '/events', '/v2/sse?username=a', '/events/x', '/v1/sse'];
    const types = [
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'text/plain; charset=latin1',
    ];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 150; n++) {
      const body = Buffer.from(
        Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)),
      );
      const path = paths[n % paths.length];
      const method = path.includes('sse') || path.startsWith('/events/') ? 'GET' : 'POST';
      const answer = await send(running.baseUrl, {
        method,
        path:
          method === 'GET'
            ? `${path}${path.includes('?') ? '&' : '?'}q=${encodeURIComponent(body.toString('latin1'))}`
            : path,
        headers: method === 'POST' ? { 'content-type': types[n % types.length] } : undefined,
        body: method === 'POST' ? body : undefined,
      });
      expect(answer.status).toBeLessThan(500);
    }
    const health = await fetch(`${running.baseUrl}/health`);
    expect(health.status).toBe(200);
  });
});

describe('a publish body that is not valid UTF-8', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ KAFKA_SSE_TOPICS: 'clicks' });
  });
  afterAll(() => running.close());

  /** Each text publishing route, and the stream that would carry what it stores. */
  const routes = [
    { publish: '/v2/message?username=bytes', stream: '/v2/sse?username=bytes' },
    { publish: '/v3/message?username=bytes', stream: '/v3/sse?username=bytes' },
    { publish: '/events', stream: '/events' },
    { publish: '/kafka/clicks', stream: '/kafka/clicks/sse' },
  ];
  const bodies = [
    Buffer.from([0xff, 0xfe]),
    Buffer.concat([Buffer.from('cut mid-character: '), Buffer.from('🦋').subarray(0, 3)]),
    Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate, never UTF-8
  ];
  const types = ['text/plain', 'text/plain; charset=UTF-8', 'application/x-www-form-urlencoded'];

  it.each(routes)(
    '$publish: 400 naming the problem, and nothing stored altered',
    async ({ publish, stream }) => {
      const reader = await SseReader.open(`${running.baseUrl}${stream}`);
      await reader.waitForPosition();
      for (const body of bodies) {
        for (const type of types) {
          const answer = await send(running.baseUrl, {
            method: 'POST',
            path: publish,
            headers: { 'content-type': type },
            body,
          });
          expect(answer.status).toBe(400);
          expect((JSON.parse(answer.text) as { message: string }).message).toContain('not valid UTF-8');
        }
      }
      if (publish.startsWith('/kafka')) {
        const answer = await send(running.baseUrl, {
          method: 'POST',
          path: publish,
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat([Buffer.from('{"page":"'), Buffer.from([0xff]), Buffer.from('"}')]),
        });
        expect(answer.status).toBe(400);
      }
      // Another charset is decoded from what it names: these bytes are text in latin1, kept as sent.
      const latin1 = await send(running.baseUrl, {
        method: 'POST',
        path: publish,
        headers: { 'content-type': 'text/plain; charset=latin1' },
        body: Buffer.from([0xff, 0xfe]),
      });
      expect(latin1.status).toBe(201);
      // The broadcast stream greets each new reader with a `connected` event of its own.
      const greeting = publish === '/events' ? 1 : 0;
      const events = await reader.waitForEvents(greeting + 1);
      await new Promise((resolve) => setTimeout(resolve, 200)); // room for a stray event
      reader.close();
      expect(events.slice(greeting).map((event) => event.data)).toEqual(['ÿþ']);
    },
  );
});
