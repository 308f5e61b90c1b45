import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, KeyLike, SignJWT } from 'jose';
import { RunningApp, startApp, waitUntil } from './support/app';
import { sharedDatabaseUrl } from './support/postgres';
import { startService } from './support/service';
import { SseReader } from './support/sse-reader';

jest.setTimeout(60_000);

const SECRET = 'an HS256 secret of at least thirty-two characters';
const key = new TextEncoder().encode(SECRET);
const USER = 'alice';
const OWNER = randomUUID(); // reports are addressed by user UUID

async function token(
  subject: string,
  options: { scope?: string; expiresIn?: number; notBefore?: number; secret?: Uint8Array } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(options.scope !== undefined && { scope: options.scope }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) {
    jwt.setNotBefore(now + options.notBefore);
  }
  return jwt.sign(options.secret ?? key);
}

function unsigned(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: subject, scope: 'publish', exp: now + 300 })}.`;
}

type Rule = 'own stream' | 'any stream' | 'topic scope' | 'publisher' | 'owner or publisher';
interface Route {
  name: string;
  rule: Rule;
  method: string;
  path: string;
  body?: string;
  json?: boolean;
  stream?: boolean;
  /** The subject whose data the route touches. */
  subject: string;
}

const reportId = { value: '' };
const ROUTES: Route[] = [
  {
    name: 'GET /v1/sse',
    rule: 'own stream',
    method: 'GET',
    path: `/v1/sse?username=${USER}`,
    stream: true,
    subject: USER,
  },
  {
    name: 'GET /v2/sse',
    rule: 'own stream',
    method: 'GET',
    path: `/v2/sse?username=${USER}`,
    stream: true,
    subject: USER,
  },
  {
    name: 'GET /v3/sse',
    rule: 'own stream',
    method: 'GET',
    path: `/v3/sse?username=${USER}`,
    stream: true,
    subject: USER,
  },
  {
    name: 'GET /v4/sse',
    rule: 'own stream',
    method: 'GET',
    path: `/v4/sse?user_id=${OWNER}`,
    stream: true,
    subject: OWNER,
  },
  { name: 'GET /events', rule: 'any stream', method: 'GET', path: '/events', stream: true, subject: USER },
  {
    name: 'GET /api/temperature/events/<id>',
    rule: 'any stream',
    method: 'GET',
    path: '/api/temperature/events/sensor-1',
    stream: true,
    subject: USER,
  },
  {
    name: 'GET /kafka/<topic>/sse',
    rule: 'topic scope',
    method: 'GET',
    path: '/kafka/clicks/sse',
    stream: true,
    subject: USER,
  },
  {
    name: 'POST /kafka/<topic>',
    rule: 'publisher',
    method: 'POST',
    path: '/kafka/clicks',
    body: 'hi',
    subject: USER,
  },
  {
    name: 'POST /v2/message',
    rule: 'publisher',
    method: 'POST',
    path: `/v2/message?username=${USER}`,
    body: 'hi',
    subject: USER,
  },
  {
    name: 'POST /v3/message',
    rule: 'publisher',
    method: 'POST',
    path: `/v3/message?username=${USER}`,
    body: 'hi',
    subject: USER,
  },
  { name: 'POST /events', rule: 'publisher', method: 'POST', path: '/events', body: 'hi all', subject: USER },
  { name: 'GET /events/<msg>', rule: 'publisher', method: 'GET', path: '/events/hello', subject: USER },
  {
    name: 'POST /api/temperature/<id>/registration',
    rule: 'publisher',
    method: 'POST',
    path: '/api/temperature/sensor-1/registration',
    subject: USER,
  },
  {
    name: 'POST /api/temperature/<id>/observations',
    rule: 'publisher',
    method: 'POST',
    path: '/api/temperature/sensor-1/observations',
    body: '{"temperature": 20.5}',
    json: true,
    subject: USER,
  },
  {
    name: 'POST /v4/new/report',
    rule: 'owner or publisher',
    method: 'POST',
    path: `/v4/new/report?user_id=${OWNER}`,
    subject: OWNER,
  },
  {
    name: 'GET /v4/reports',
    rule: 'owner or publisher',
    method: 'GET',
    path: `/v4/reports?user_id=${OWNER}`,
    subject: OWNER,
  },
  {
    name: 'PUT /v4/report',
    rule: 'owner or publisher',
    method: 'PUT',
    path: `/v4/report?user_id=${OWNER}`,
    json: true,
    subject: OWNER,
  },
];

type Case =
  | 'no token'
  | 'garbage'
  | 'wrong signature'
  | 'alg none'
  | 'expired'
  | 'not yet valid'
  | "another user's token"
  | 'token without publish scope'
  | 'the right token';
const CASES: Case[] = [
  'no token',
  'garbage',
  'wrong signature',
  'alg none',
  'expired',
  'not yet valid',
  "another user's token",
  'token without publish scope',
  'the right token',
];

async function tokenFor(route: Route, which: Case): Promise<string | undefined> {
  switch (which) {
    case 'no token':
      return undefined;
    case 'garbage':
      return 'not-a-jwt';
    case 'wrong signature':
      return token(route.subject, { scope: 'publish', secret: new TextEncoder().encode('x'.repeat(40)) });
    case 'alg none':
      return unsigned(route.subject);
    case 'expired':
      return token(route.subject, { scope: 'publish', expiresIn: -60 });
    case 'not yet valid':
      return token(route.subject, { scope: 'publish', notBefore: 120 });
    case "another user's token":
      return token(route.subject === OWNER ? randomUUID() : 'mallory');
    case 'token without publish scope':
      return token(route.subject);
    case 'the right token':
      if (route.rule === 'topic scope') {
        return token(route.subject, { scope: 'openid kafka:clicks' });
      }
      return route.rule === 'publisher' ? token('worker-1', { scope: 'publish' }) : token(route.subject);
  }
}

function expected(route: Route, which: Case): number {
  if (['no token', 'garbage', 'wrong signature', 'alg none', 'expired', 'not yet valid'].includes(which)) {
    return 401;
  }
  const ok = route.stream ? 200 : route.method === 'POST' ? 201 : 200;
  if (which === "another user's token") {
    return route.rule === 'any stream' ? ok : 403;
  }
  if (which === 'token without publish scope') {
    // These tokens carry no scope at all.
    return route.rule === 'publisher' || route.rule === 'topic scope' ? 403 : ok;
  }
  return ok;
}

describe('access control (AUTH_MODE=jwt, HS256)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, KAFKA_SSE_TOPICS: 'clicks,views' });
    const owner = await token(OWNER);
    const created = await fetch(`${app.baseUrl}/v4/new/report?user_id=${OWNER}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}` },
    });
    reportId.value = ((await created.json()) as { reportId: string }).reportId;
  });
  afterAll(() => app.close());

  async function call(route: Route, bearer?: string): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = {};
    if (bearer !== undefined) {
      headers.authorization = `Bearer ${bearer}`;
    }
    let body = route.body;
    if (route.method === 'PUT') {
      // Alternate between two legal moves, so every accepted PUT is a 200.
      const list = await fetch(`${app.baseUrl}/v4/reports?user_id=${OWNER}`, {
        headers: { authorization: `Bearer ${await token(OWNER)}` },
      });
      const [report] = (await list.json()) as { reportStatus: string }[];
      body = JSON.stringify({
        id: reportId.value,
        status: report.reportStatus === 'pending' ? 'canceled' : 'pending',
      });
    }
    if (route.json || route.method === 'PUT') {
      headers['content-type'] = 'application/json';
    }
    const abort = new AbortController();
    const response = await fetch(`${app.baseUrl}${route.path}`, {
      method: route.method,
      headers,
      body,
      signal: abort.signal,
    });
    if (route.stream && response.status === 200) {
      abort.abort(); // the stream started: that is the answer
      return { status: 200, body: '' };
    }
    return { status: response.status, body: await response.text() };
  }

  const table = ROUTES.flatMap((route) => CASES.map((which) => [route.name, which, route] as const));
  it.each(table)('%s with %s', async (_name, which, route) => {
    if (route.name.includes('observations')) {
      // Observations need a registered entity.
      await fetch(`${app.baseUrl}/api/temperature/sensor-1/registration`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token('worker-1', { scope: 'publish' })}` },
      });
    }
    const answer = await call(route, await tokenFor(route, which));
    expect({ status: answer.status, body: answer.body.slice(0, 300) }).toEqual({
      status: expected(route, which),
      body: expect.any(String) as unknown,
    });
    if (answer.status === 401 || answer.status === 403) {
      expect(JSON.parse(answer.body)).toMatchObject({ message: expect.any(String) as unknown });
    }
  });

  it('takes the token from an access_token query parameter or a cookie too (EventSource cannot set headers)', async () => {
    const own = await token(USER);
    const byQuery = await SseReader.open(`${app.baseUrl}/v2/sse?username=${USER}&access_token=${own}`);
    expect(byQuery.status).toBe(200);
    byQuery.close();
    const byCookie = await SseReader.open(`${app.baseUrl}/v2/sse?username=${USER}`, {
      cookie: `theme=dark; access_token=${own}`,
    });
    expect(byCookie.status).toBe(200);
    byCookie.close();
    const wrongQuery = await SseReader.open(
      `${app.baseUrl}/v2/sse?username=${USER}&access_token=${await token('bob')}`,
    );
    expect(wrongQuery.status).toBe(403);
  });

  it('closes a stream when its token expires, with a retry hint', async () => {
    const shortLived = await token(USER, { expiresIn: 2 });
    const reader = await SseReader.open(`${app.baseUrl}/v2/sse?username=${USER}`, {
      authorization: `Bearer ${shortLived}`,
    });
    expect(reader.status).toBe(200);
    await waitUntil(() => reader.ended, 'the stream ended at token expiry', 5_000);
    expect(reader.raw).toMatch(/: token expired, reconnect with a new token\n\nretry: \d+\n\n$/);
  });

  it("opens a Kafka topic stream only with that topic's scope, and publishes only with the publish scope", async () => {
    const clicks = await token('reader', { scope: 'kafka:clicks' });
    const publisher = await token('worker-1', { scope: 'publish' });
    const open = (path: string, bearer: string) =>
      SseReader.open(`${app.baseUrl}${path}`, { authorization: `Bearer ${bearer}` });

    const other = await open('/kafka/views/sse', clicks);
    expect(other.status).toBe(403);
    await other.waitForEnd();
    expect(JSON.parse(other.raw)).toMatchObject({
      message: 'This stream needs a token with the "kafka:views" scope',
    });
    expect((await open('/kafka/clicks/sse', publisher)).status).toBe(403);
    // scp as a list, as some identity providers issue it.
    const listed = new SignJWT({ scp: ['kafka:views'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('reader')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 60);
    const views = await open('/kafka/views/sse', await listed.sign(key));
    expect(views.status).toBe(200);

    const reader = await open('/kafka/clicks/sse', clicks);
    expect(reader.status).toBe(200);
    await reader.waitForPosition();
    const refused = await fetch(`${app.baseUrl}/kafka/clicks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clicks}`, 'content-type': 'text/plain' },
      body: 'not allowed',
    });
    expect(refused.status).toBe(403);
    const sent = await fetch(`${app.baseUrl}/kafka/clicks?key=k`, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'text/plain' },
      body: 'allowed',
    });
    expect(sent.status).toBe(201);
    expect((await reader.waitForEvents(1)).map((event) => event.data)).toEqual(['allowed']);
    reader.close();
    views.close();

    // No token is 401 before the topic is looked at: the answer does not tell which topics exist.
    expect((await fetch(`${app.baseUrl}/kafka/secret-topic/sse`)).status).toBe(401);
    // A topic not listed is 404 even with its scope.
    const scoped = await token('reader', { scope: 'kafka:secret-topic' });
    expect((await open('/kafka/secret-topic/sse', scoped)).status).toBe(404);
  });

  it('closes a Kafka topic stream when its token expires, with a retry hint', async () => {
    const shortLived = await token(USER, { scope: 'kafka:clicks', expiresIn: 2 });
    const reader = await SseReader.open(`${app.baseUrl}/kafka/clicks/sse?access_token=${shortLived}`);
    expect(reader.status).toBe(200);
    await waitUntil(() => reader.ended, 'the stream ended at token expiry', 5_000);
    expect(reader.raw).toMatch(/: token expired, reconnect with a new token\n\nretry: \d+\n\n$/);
  });

  it('documents the security schemes in OpenAPI', async () => {
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as {
      components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(document.components.securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
    expect(document.paths['/v2/sse'].get.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
  });
});

describe('access control with keys from a JWKS URL (RS256)', () => {
  let jwks: Server;
  let app: RunningApp;
  let privateKey: KeyLike;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    jwks = createServer((_, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    app = await startApp({
      AUTH_MODE: 'jwt',
      JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    });
  });
  afterAll(async () => {
    await app.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('accepts a token signed by a key of the set, refuses an HS256 one', async () => {
    const rs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setSubject(USER)
      .setExpirationTime('5m')
      .sign(privateKey);
    const ok = await SseReader.open(`${app.baseUrl}/v2/sse?username=${USER}&access_token=${rs256}`);
    expect(ok.status).toBe(200);
    ok.close();
    const hs256 = await token(USER);
    const refused = await fetch(`${app.baseUrl}/v2/sse?username=${USER}&access_token=${hs256}`);
    expect(refused.status).toBe(401);
  });
});

describe('tokens in logs', () => {
  it('shows an access_token query parameter redacted in the request log', async () => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'main.js')], {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        DATABASE_URL: sharedDatabaseUrl(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitUntil(() => /listening on http:\/\/[\d.]+:\d+/.test(output), 'the service listens', 30_000);
      const baseUrl = /listening on (http:\/\/[\d.]+:\d+)/.exec(output)![1];
      const secret = await token('worker-1', { scope: 'publish' });
      const answer = await fetch(`${baseUrl}/events/hello?access_token=${secret}`);
      expect(answer.status).toBe(200);
      await waitUntil(() => output.includes('/events/hello'), 'the request was logged', 5_000);
      const line = output.split('\n').find((entry) => entry.includes('/events/hello'))!;
      expect(line).toContain('access_token=[REDACTED]');
      // Names that Express's query parser decodes to access_token are tokens too.
      for (const name of ['%61ccess_token', 'access%5Ftoken', 'ACCESS%5ftoken']) {
        const other = await token('worker-1', { scope: 'publish', expiresIn: 301 + name.length });
        const accepted = await fetch(`${baseUrl}/events/encoded?${name}=${other}`);
        expect({ name, status: accepted.status }).toEqual({
          name,
          status: name.startsWith('ACCESS') ? 401 : 200,
        });
        await waitUntil(
          () => output.includes(`/events/encoded?${name}=`),
          `the request with ${name} was logged`,
          5_000,
        );
        expect(output).toContain(`/events/encoded?${name}=[REDACTED]`);
        expect(output).not.toContain(other);
      }
      expect(output).not.toContain(secret);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

describe('refused stream requests in the log', () => {
  it('writes one line per refused stream, on every route, with status, route, request id and the token’s subject, never the token', async () => {
    const service = await startService({
      AUTH_MODE: 'jwt',
      JWT_SECRET: SECRET,
      KAFKA_SSE_TOPICS: 'clicks',
    });
    try {
      const alice = await token(USER);
      const forged = await token(USER, { secret: new TextEncoder().encode(`${SECRET} but another one`) });
      const other = randomUUID();
      // [path, token (in the header, or in the query as EventSource sends it), status, route, subject]
      const refusals: [string, 'header' | 'query' | 'forged', number, string, string | undefined][] = [
        ['/v1/sse?username=bob', 'header', 403, '/v1/sse', USER],
        ['/v2/sse?username=bob', 'query', 403, '/v2/sse', USER],
        ['/v2/sse?username=alice&unknown=1', 'header', 400, '/v2/sse', USER],
        ['/v3/sse?username=bob', 'header', 403, '/v3/sse', USER],
        [`/v4/sse?user_id=${other}`, 'query', 403, '/v4/sse', USER],
        ['/events', 'forged', 401, '/events', undefined],
        ['/api/temperature/events/not%20ok!', 'header', 400, '/api/temperature/events/:id', USER],
        ['/api/temperature/events/sensor-1', 'forged', 401, '/api/temperature/events/:id', undefined],
        ['/kafka/clicks/sse', 'query', 403, '/kafka/:topic/sse', USER],
        ['/kafka/not-listed/sse', 'header', 403, '/kafka/:topic/sse', USER],
        ['/sse?stream=v2:bob', 'header', 403, '/sse', USER],
        ['/sse?stream=kafka:clicks', 'query', 403, '/sse', USER],
        ['/sse?stream=nope', 'header', 400, '/sse', USER],
        ['/sse?stream=broadcast', 'forged', 401, '/sse', undefined],
      ];
      for (const [index, [path, where, status]] of refusals.entries()) {
        const bearer = where === 'forged' ? forged : alice;
        const url =
          where === 'header' ? path : `${path}${path.includes('?') ? '&' : '?'}access_token=${bearer}`;
        const headers: Record<string, string> = { 'x-request-id': `refused-${index}` };
        if (where === 'header') {
          headers.authorization = `Bearer ${bearer}`;
        }
        const answer = await fetch(`${service.baseUrl}${url}`, { headers });
        expect({ path, status: answer.status }).toEqual({ path, status });
        await answer.text();
      }
      const linesOf = (id: string) =>
        service.output
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown> & { req?: { id?: string } })
          .filter((line) => line.req?.id === id);
      await waitUntil(
        () => linesOf(`refused-${refusals.length - 1}`).length > 0,
        'the last refusal was logged',
        5_000,
      );
      for (const [index, [path, where, status, route, user]] of refusals.entries()) {
        const lines = linesOf(`refused-${index}`);
        expect({ path, lines }).toEqual({
          path,
          lines: [
            expect.objectContaining({
              msg: 'request refused',
              req: expect.objectContaining({ id: `refused-${index}`, method: 'GET' }) as unknown,
              res: { statusCode: status },
              route,
              ...(user !== undefined && { user }),
            }) as unknown,
          ],
        });
        expect(lines[0].user).toBe(user);
        const logged = (lines[0].req as { url: string }).url;
        expect(logged).toBe(
          where === 'header' ? path : `${path}${path.includes('?') ? '&' : '?'}access_token=[REDACTED]`,
        );
      }
      expect(service.output).not.toContain(alice);
      expect(service.output).not.toContain(forged);
      expect(service.output).not.toContain(alice.split('.')[2]);
    } finally {
      service.child.kill('SIGTERM');
      await service.exit;
    }
  });
});
