import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { SignJWT } from 'jose';
import { RunningApp, startApp, waitUntil } from './support/app';
import { SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

const SECRET = 'an HS256 secret of at least thirty-two characters';
const DAY_S = 24 * 60 * 60;

async function token(
  subject: string,
  options: { scope?: string; expiresIn?: number | null } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(options.scope !== undefined && { scope: options.scope }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt(now);
  if (options.expiresIn !== null) {
    jwt.setExpirationTime(now + (options.expiresIn ?? 300));
  }
  return jwt.sign(new TextEncoder().encode(SECRET));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends exactly these bytes and headers (fetch would not let a test set Origin or Sec-Fetch-Site). */
function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('tokens valid for longer than one timer can wait (2^31-1 ms, 24.8 days)', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET })));
  afterAll(() => app.close());

  it('keeps a stream open whose token is valid 30 days', async () => {
    const reader = await SseReader.open(`${app.baseUrl}/v2/sse?username=patient`, {
      authorization: `Bearer ${await token('patient', { expiresIn: 30 * DAY_S })}`,
    });
    expect(reader.status).toBe(200);
    await pause(1500);
    expect(reader.raw).not.toContain('token expired');
    expect(reader.ended).toBe(false);
    reader.close();
  });
});

describe('JWT_REQUIRE_EXP', () => {
  let strict: RunningApp;
  let lenient: RunningApp;
  beforeAll(async () => {
    strict = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_REQUIRE_EXP: 'true' });
    lenient = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
  });
  afterAll(async () => {
    await strict.close();
    await lenient.close();
  });

  it('refuses a token without exp when set, naming the claim; takes it when not (outside production)', async () => {
    const forever = await token('worker-1', { scope: 'publish', expiresIn: null });
    const refused = await fetch(`${strict.baseUrl}/events/x`, {
      headers: { authorization: `Bearer ${forever}` },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toContain('no expiry (exp)');
    const withExp = await token('worker-1', { scope: 'publish' });
    const taken = await fetch(`${strict.baseUrl}/events/x`, {
      headers: { authorization: `Bearer ${withExp}` },
    });
    expect(taken.status).toBe(200);
    const lenientAnswer = await fetch(`${lenient.baseUrl}/events/x`, {
      headers: { authorization: `Bearer ${forever}` },
    });
    expect(lenientAnswer.status).toBe(200);
  });
});

describe('the access_token cookie and other origins (CSRF)', () => {
  let app: RunningApp;
  let owner: string;
  let reportId: string;
  let host: string;
  beforeAll(async () => {
    app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, TRUSTED_ORIGINS: 'https://app.example' });
    host = `127.0.0.1:${app.port}`;
    owner = randomUUID();
    const created = await fetch(`${app.baseUrl}/v4/new/report?user_id=${owner}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(owner)}` },
    });
    reportId = ((await created.json()) as { reportId: string }).reportId;
    await fetch(`${app.baseUrl}/api/temperature/sensor-9/registration`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('worker-1', { scope: 'publish' })}` },
    });
  });
  afterAll(() => app.close());

  /** Every route that changes state, with a publisher's token (which also owns nothing). */
  const changes = () => [
    { method: 'POST', path: '/v2/message?username=alice', body: 'hi', type: 'text/plain' },
    { method: 'POST', path: '/v3/message?username=alice', body: 'hi', type: 'text/plain' },
    { method: 'POST', path: '/events', body: 'hi all', type: 'text/plain' },
    { method: 'GET', path: '/events/hello' },
    { method: 'POST', path: '/api/temperature/sensor-9/registration' },
    {
      method: 'POST',
      path: '/api/temperature/sensor-9/observations',
      body: '{"temperature": 20.5}',
      type: 'application/json',
    },
    { method: 'POST', path: `/v4/new/report?user_id=${owner}` },
    {
      method: 'PUT',
      path: `/v4/report?user_id=${owner}`,
      body: JSON.stringify({ id: reportId, status: 'canceled' }),
      type: 'application/json',
    },
  ];

  async function call(
    route: { method: string; path: string; body?: string; type?: string },
    headers: Record<string, string>,
  ) {
    return send(
      `${app.baseUrl}${route.path}`,
      route.method,
      {
        ...(route.type !== undefined && { 'content-type': route.type }),
        ...headers,
      },
      route.body,
    );
  }

  it('refuses every state-changing route with the cookie from another origin, or without any', async () => {
    const cookie = `access_token=${await token('worker-1', { scope: 'publish' })}`;
    for (const route of changes()) {
      for (const origin of [{ origin: 'https://evil.example' }, {}, { origin: 'null' }] as Record<
        string,
        string
      >[]) {
        const answer = await call(route, { cookie, ...origin });
        expect({ route: `${route.method} ${route.path}`, origin, status: answer.status }).toEqual({
          route: `${route.method} ${route.path}`,
          origin,
          status: 403,
        });
        expect(answer.text).toContain('send the token in the Authorization header');
      }
    }
  });

  it('takes the cookie from its own origin, a trusted origin or a same-origin fetch; the header from anywhere', async () => {
    const publisher = await token('worker-1', { scope: 'publish' });
    const cookie = `access_token=${publisher}`;
    const allowed: Record<string, string>[] = [
      { cookie, origin: `http://${host}` },
      { cookie, origin: 'https://app.example' },
      { cookie, 'sec-fetch-site': 'same-origin' },
      { authorization: `Bearer ${publisher}`, origin: 'https://evil.example' },
    ];
    for (const headers of allowed) {
      for (const route of changes().filter((each) => !each.path.startsWith('/v4/report?'))) {
        const answer = await call(route, headers);
        expect({ route: `${route.method} ${route.path}`, headers, status: answer.status }).toEqual({
          route: `${route.method} ${route.path}`,
          headers,
          status: route.method === 'GET' ? 200 : 201,
        });
      }
    }
  });

  it('still opens streams and reads with the cookie from any origin (EventSource cannot send headers)', async () => {
    const own = await token(owner);
    const stream = await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${owner}`, {
      cookie: `access_token=${own}`,
      origin: 'https://evil.example',
    });
    expect(stream.status).toBe(200);
    stream.close();
    const list = await send(`${app.baseUrl}/v4/reports?user_id=${owner}`, 'GET', {
      cookie: `access_token=${own}`,
      origin: 'https://evil.example',
    });
    expect(list.status).toBe(200);
  });
});

describe('user ids are UUIDs in any letter case', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp({ SSE_MAX_CONNECTIONS_PER_USER: '3' })));
  afterAll(() => app.close());

  it('streams live changes to a stream opened with the upper-case id (what uuidgen prints)', async () => {
    const lower = randomUUID();
    const upper = lower.toUpperCase();
    const stream = await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${upper}`);
    expect(stream.status).toBe(200);
    await stream.waitForPosition();
    const created = await fetch(`${app.baseUrl}/v4/new/report?user_id=${upper}`, { method: 'POST' });
    expect(created.status).toBe(201);
    const report = (await created.json()) as { userId: string; reportId: string };
    expect(report.userId).toBe(lower);
    const put = await fetch(`${app.baseUrl}/v4/report?user_id=${lower}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: report.reportId.toUpperCase(), status: 'queued' }),
    });
    expect(put.status).toBe(200);
    const events = await stream.waitForEvents(2);
    expect(events.map((event) => JSON.parse(event.data) as unknown)).toEqual([
      { id: report.reportId, status: 'pending' },
      { id: report.reportId, status: 'queued' },
    ]);
    const listed = (await (await fetch(`${app.baseUrl}/v4/reports?user_id=${upper}`)).json()) as unknown[];
    expect(listed).toHaveLength(1);
    stream.close();
  });

  it('counts every spelling of one user against the per-user cap', async () => {
    const lower = randomUUID();
    const spellings = [lower, lower.toUpperCase(), lower.replace(/[a-f]/, (c) => c.toUpperCase()), lower];
    const readers = [];
    for (const spelling of spellings) {
      readers.push(await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${spelling}`));
    }
    expect(readers.map((reader) => reader.status)).toEqual([200, 200, 200, 429]);
    readers.forEach((reader) => reader.close());
  });
});

describe('user ids in any letter case with AUTH_MODE=jwt', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET })));
  afterAll(() => app.close());

  it("takes the user's token whichever case the id is written in, and still refuses another user's", async () => {
    const lower = randomUUID();
    for (const [subject, asked] of [
      [lower, lower.toUpperCase()],
      [lower.toUpperCase(), lower],
    ]) {
      const stream = await SseReader.open(`${app.baseUrl}/v4/sse?user_id=${asked}`, {
        authorization: `Bearer ${await token(subject)}`,
      });
      expect(stream.status).toBe(200);
      stream.close();
      const created = await fetch(`${app.baseUrl}/v4/new/report?user_id=${asked}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token(subject)}` },
      });
      expect(created.status).toBe(201);
    }
    const other = await fetch(`${app.baseUrl}/v4/reports?user_id=${lower.toUpperCase()}`, {
      headers: { authorization: `Bearer ${await token(randomUUID())}` },
    });
    expect(other.status).toBe(403);
  });
});

describe('deeply nested JSON', () => {
  let app: RunningApp;
  beforeAll(async () => (app = await startApp({ BODY_LIMIT_BYTES: '65536' })));
  afterAll(() => app.close());

  it.each([33, 1_500, 30_000])(
    'answers 400 naming the limit to a body nested %d levels, and keeps serving',
    async (levels) => {
      const body = `{"message":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
      for (const path of ['/v2/message?username=deep', '/api/temperature/x/observations', '/events']) {
        const answer = await send(
          `${app.baseUrl}${path}`,
          'POST',
          { 'content-type': 'application/json' },
          body,
        );
        expect({ path, status: answer.status }).toEqual({ path, status: 400 });
        expect((JSON.parse(answer.text) as { message: string }).message).toContain(
          'deeper than 32 levels (BODY_JSON_MAX_DEPTH)',
        );
      }
      expect((await fetch(`${app.baseUrl}/health`)).status).toBe(200);
    },
  );

  it('takes a body nested within the limit as before', async () => {
    const answer = await send(
      `${app.baseUrl}/v2/message?username=deep`,
      'POST',
      { 'content-type': 'application/json' },
      '{"message":"fine"}',
    );
    expect(answer.status).toBe(201);
  });
});

describe('v1: the first beat at once', () => {
  let app: RunningApp;
  beforeAll(
    async () => (app = await startApp({ HEARTBEAT_INTERVAL_MS: '1500', HEARTBEAT_KEEPALIVE_MS: '400' })),
  );
  afterAll(() => app.close());

  it('sends "data: hi!" as soon as the stream opens, then every HEARTBEAT_INTERVAL_MS from then on', async () => {
    const opened = Date.now();
    const reader = await SseReader.open(`${app.baseUrl}/v1/sse?username=demo`);
    const arrivals: number[] = [];
    const watch = setInterval(() => {
      while (arrivals.length < reader.events.length) {
        arrivals.push(Date.now() - opened);
      }
    }, 5);
    try {
      await waitUntil(() => arrivals.length >= 3, 'three beats', 6_000);
    } finally {
      clearInterval(watch);
      reader.close();
    }
    expect(reader.events.slice(0, 3).map((event) => event.data)).toEqual(['hi!', 'hi!', 'hi!']);
    expect(arrivals[0]).toBeLessThan(500);
    expect(arrivals[1] - arrivals[0]).toBeGreaterThan(1_300);
    expect(arrivals[1] - arrivals[0]).toBeLessThan(1_900);
    expect(arrivals[2] - arrivals[1]).toBeGreaterThan(1_300);
    expect(arrivals[2] - arrivals[1]).toBeLessThan(1_900);
  });
});
