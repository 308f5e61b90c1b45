import { SignJWT } from 'jose';
import { post, RunningApp, startApp, waitUntil } from './support/app';
import { SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

interface Answer {
  status: number;
  body: { ids?: string[]; message?: string };
  headers: Headers;
}

async function publish(
  app: RunningApp,
  items: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof items === 'string' ? items : JSON.stringify(items),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Answer['body']) : {},
    headers: response.headers,
  };
}

/** The event blocks of a stream's body with their ids taken out: the framing, byte for byte. */
const framesOf = (raw: string) =>
  raw
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => /^(id|data|event):/.test(line)))
    .filter((lines) => lines.some((line) => line.startsWith('data:')) && !lines.includes('data: connected'))
    .map((lines) => lines.map((line) => (line.startsWith('id:') ? 'id: <id>' : line)).join('\n'));

describe('POST /publish (in-memory bus)', () => {
  let app: RunningApp;
  const readers: SseReader[] = [];
  const open = async (path: string) => {
    const reader = await SseReader.open(`${app.baseUrl}${path}`);
    readers.push(reader);
    return reader;
  };

  beforeAll(async () => {
    app = await startApp({
      KAFKA_SSE_TOPICS: 'clicks',
      SSE_MAX_BUFFER_BYTES: '65536',
      BODY_LIMIT_BYTES: '262144',
    });
  });
  afterEach(() => readers.splice(0).forEach((reader) => reader.close()));
  afterAll(() => app.close());

  it('delivers each item to its stream, in array order, and answers one id per item', async () => {
    const alice = unique('alice');
    const bob = unique('bob');
    const aliceStream = await open(`/v2/sse?username=${alice}`);
    const bobStream = await open(`/v3/sse?username=${bob}`);
    const clicks = await open('/kafka/clicks/sse?key=k1');
    await waitUntil(
      () => aliceStream.status === 200 && bobStream.status === 200 && clicks.status === 200,
      'streams open',
    );
    const items = [
      ...Array.from({ length: 50 }, (_, index) => ({ stream: `v2:${alice}`, data: `a${index}` })),
      { stream: `v3:${bob}`, data: 'b0' },
      { stream: 'kafka:clicks:k1', data: { page: '/pricing', ms: 182 } },
      { stream: `v3:${bob}`, data: 42 },
      { stream: 'kafka:clicks:k2', data: 'not for k1' },
    ];
    const answer = await publish(app, items);
    expect(answer.status).toBe(201);
    expect(answer.body.ids).toHaveLength(items.length);
    const aliceEvents = await aliceStream.waitForEvents(50);
    expect(aliceEvents.map((event) => event.data)).toEqual(items.slice(0, 50).map((item) => item.data));
    expect(aliceEvents.map((event) => event.id)).toEqual(answer.body.ids!.slice(0, 50));
    expect((await bobStream.waitForEvents(2)).map((event) => event.data)).toEqual(['b0', '42']);
    // Non-string data goes as its JSON text.
    expect((await clicks.waitForEvents(1)).map((event) => event.data)).toEqual([
      '{"page":"/pricing","ms":182}',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(clicks.events).toHaveLength(1);
    expect(aliceStream.events).toHaveLength(50);
  });

  it.each([
    [
      'v2',
      (user: string) => `/v2/sse?username=${user}`,
      (user: string) => `/v2/message?username=${user}`,
      (user: string) => `v2:${user}`,
    ],
    [
      'v3',
      (user: string) => `/v3/sse?username=${user}`,
      (user: string) => `/v3/message?username=${user}`,
      (user: string) => `v3:${user}`,
    ],
    ['broadcast', () => '/events', () => '/events', () => 'broadcast'],
    ['kafka', () => '/kafka/clicks/sse', () => '/kafka/clicks', () => 'kafka:clicks'],
  ])(
    'frames a %s item exactly as its single route frames the same message',
    async (_kind, streamPath, postPath, name) => {
      const user = unique('frame');
      const reader = await open(streamPath(user));
      await waitUntil(() => reader.status === 200, 'stream open');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const message = 'first line\nsecond: 🦋\r\nthird\rfourth';
      const single = await post(`${app.baseUrl}${postPath(user)}`, message, 'text/plain');
      expect(single.status).toBe(201);
      const answer = await publish(app, [{ stream: name(user), data: message }]);
      expect(answer.status).toBe(201);
      await waitUntil(() => framesOf(reader.raw).length >= 2, 'both events arrived');
      const [fromSingle, fromPublish] = framesOf(reader.raw);
      expect(fromPublish).toEqual(fromSingle);
      expect(reader.events.at(-1)?.id).toBe(answer.body.ids![0]);
    },
  );

  describe('refuses a batch with a bad item, naming its index and field, and delivers none of it', () => {
    it.each([
      ['not an array', { stream: 'broadcast', data: 'x' }, 400, /JSON array/],
      ['an empty array', [], 400, /at least one item/],
      ['an item that is not an object', ['x'], 400, /^\[1\] must be an object/],
      ['a missing stream', [{ data: 'x' }], 400, /^\[1\]\.stream must be a string/],
      [
        'an unknown stream kind',
        [{ stream: 'v9:bob', data: 'x' }],
        400,
        /^\[1\]\.stream: stream "v9:bob" is unknown/,
      ],
      ['a malformed user', [{ stream: 'v3:a:b', data: 'x' }], 400, /^\[1\]\.stream: .*must not contain ":"/],
      [
        'a topic not listed',
        [{ stream: 'kafka:secret', data: 'x' }],
        400,
        /^\[1\]\.stream: .*not listed in KAFKA_SSE_TOPICS/,
      ],
      [
        'a reports stream',
        [{ stream: 'reports:6f1c1b6e-8a43-4a8e-9f6f-1e2a1f0b9c11', data: 'x' }],
        400,
        /^\[1\]\.stream .*domain stream.*own routes/,
      ],
      [
        'a temperature stream',
        [{ stream: 'temperature:t1', data: 'x' }],
        400,
        /^\[1\]\.stream .*domain stream/,
      ],
      ['missing data', [{ stream: 'broadcast' }], 400, /^\[1\]\.data is missing/],
      ['empty data', [{ stream: 'broadcast', data: '' }], 400, /^\[1\]\.data must not be empty/],
      ['an unknown field', [{ stream: 'broadcast', data: 'x', id: 3 }], 400, /^\[1\]\.id is not a field/],
      [
        'data too large for a stream',
        [{ stream: 'broadcast', data: 'x'.repeat(70_000) }],
        413,
        /^\[1\]\.data: .*SSE_MAX_BUFFER_BYTES/,
      ],
    ])('%s', async (_case, bad, status, message) => {
      const user = unique('none');
      const reader = await open(`/v2/sse?username=${user}`);
      const broadcast = await open('/events');
      await broadcast.waitForEvents(1);
      const items = Array.isArray(bad)
        ? [
            { stream: `v2:${user}`, data: 'first, valid' },
            ...(bad as unknown[]),
            { stream: `v2:${user}`, data: 'last' },
          ]
        : bad;
      // An empty array stays empty: its own case.
      const answer = await publish(app, Array.isArray(bad) && bad.length === 0 ? [] : items);
      expect(answer.status).toBe(status);
      expect(answer.body.message).toMatch(message);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(reader.events).toEqual([]);
      expect(broadcast.events.map((event) => event.data)).toEqual(['connected']);
    });
  });

  it('takes up to 1000 items; more is a 413, and so is a body over BODY_LIMIT_BYTES', async () => {
    const user = unique('limit');
    const reader = await open(`/v2/sse?username=${user}`);
    await waitUntil(() => reader.status === 200, 'stream open');
    const batch = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ stream: `v2:${user}`, data: `${index}` }));
    const tooMany = await publish(app, batch(1001));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.message).toMatch(/At most 1000 items per request, 1001 were sent/);
    const tooBig = await publish(app, [{ stream: `v2:${user}`, data: 'y'.repeat(300 * 1024) }]);
    expect(tooBig.status).toBe(413);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reader.events).toEqual([]);
    const full = await publish(app, batch(1000));
    expect(full.status).toBe(201);
    expect(new Set(full.body.ids).size).toBe(1000);
    const events = await reader.waitForEvents(1000);
    expect(events.map((event) => event.data)).toEqual(batch(1000).map((item) => item.data));
  });

  it('answers a text body with a 400 and an unknown media type with a 415', async () => {
    expect((await post(`${app.baseUrl}/publish`, 'hello', 'text/plain')).status).toBe(400);
    expect((await post(`${app.baseUrl}/publish`, 'hello', 'application/xml')).status).toBe(415);
    expect((await publish(app, '[{"stream": "broadcast", "data": ')).status).toBe(400);
  });
});

describe('POST /publish under AUTH_MODE=jwt', () => {
  const SECRET = 'an HS256 secret of at least thirty-two characters';
  let app: RunningApp;
  const token = (scope?: string) =>
    new SignJWT(scope === undefined ? {} : { scope })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('backend')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));

  beforeAll(async () => {
    app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
  });
  afterAll(() => app.close());

  it('needs the publish scope', async () => {
    const items = [{ stream: 'v2:backend', data: 'x' }];
    expect((await publish(app, items)).status).toBe(401);
    const refused = await publish(app, items, { authorization: `Bearer ${await token('read')}` });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/"publish" scope/);
    const reader = await SseReader.open(`${app.baseUrl}/v2/sse?username=backend`, {
      authorization: `Bearer ${await token()}`,
    });
    try {
      await waitUntil(() => reader.status === 200, 'stream open');
      const allowed = await publish(app, items, { authorization: `Bearer ${await token('publish')}` });
      expect(allowed.status).toBe(201);
      expect((await reader.waitForEvents(1)).map((event) => event.data)).toEqual(['x']);
    } finally {
      reader.close();
    }
  });
});
