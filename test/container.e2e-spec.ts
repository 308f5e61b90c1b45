import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { Client } from 'pg';
import { DEFAULT_KAFKA_VERSION, runKafkaScript } from '../scripts/kafka-broker';
import { post, waitUntil } from './support/app';
import {
  ComposeFile,
  ComposeService,
  copyInto,
  dependsOn,
  dockerfileStages,
  dockerIgnored,
  layOutNodeModules,
  npmCiOmits,
  readCompose,
  serviceEnvironment,
  Stage,
} from './support/container';
import { sharedBrokers } from './support/kafka';
import { kcatProduce } from './support/kcat';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { SseReader } from './support/sse-reader';

const ROOT = resolve(__dirname, '..');

jest.setTimeout(60_000);

/** The compose service built from this repository (`build:`), and where its build context is. */
function gatewayService(compose: ComposeFile): {
  name: string;
  service: ComposeService;
  context: string;
  dockerfile: string;
} {
  const built = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
  expect(built.map(([name]) => name)).toHaveLength(1);
  const [name, service] = built[0];
  const build = typeof service.build === 'string' ? { context: service.build } : (service.build ?? {});
  const context = resolve(ROOT, build.context ?? '.');
  return { name, service, context, dockerfile: join(context, build.dockerfile ?? 'Dockerfile') };
}

/** Where a path of a build stage came from: a COPY out of the build context, or a known RUN step. */
function stageSource(
  stage: Stage,
  path: string,
  context: string,
): { kind: 'context'; hostPath: string } | { kind: 'node_modules'; omit: string[] } {
  for (const copy of [...stage.copies].reverse()) {
    if (copy.from !== undefined) {
      continue;
    }
    for (const source of copy.sources) {
      const placedAt =
        copy.dest.endsWith('/') || copy.sources.length > 1 ? posix.join(copy.dest, source) : copy.dest;
      if (path === placedAt || path.startsWith(`${placedAt}/`)) {
        if (dockerIgnored(context, source)) {
          throw new Error(
            `Dockerfile line ${copy.line}: COPY ${source}: .dockerignore keeps it out of the context`,
          );
        }
        return { kind: 'context', hostPath: join(context, source, posix.relative(placedAt, path)) };
      }
    }
  }
  for (const run of stage.runs) {
    const omit = npmCiOmits(run.command);
    if (omit !== undefined && path === posix.join(run.workdir, 'node_modules')) {
      return { kind: 'node_modules', omit };
    }
    if (/\bnpm run build\b/.test(run.command) && path === posix.join(run.workdir, 'dist')) {
      // `nest build` reads these; the build stage must have them before it runs.
      const before = { ...stage, copies: stage.copies.filter((copy) => copy.line < run.line), runs: [] };
      for (const input of ['package.json', 'nest-cli.json', 'tsconfig.json', 'tsconfig.build.json', 'src']) {
        let copied = false;
        try {
          const found = stageSource(before, posix.join(run.workdir, input), context);
          copied = found.kind === 'context' && existsSync(found.hostPath);
        } catch {
          copied = false; // not in the stage at all
        }
        if (!copied) {
          throw new Error(`Dockerfile line ${run.line}: npm run build runs without ${input} in the stage`);
        }
      }
      // The same build the e2e run made (`npm test` builds first): dist/ of this checkout.
      return { kind: 'context', hostPath: join(ROOT, 'dist') };
    }
    const clientDist = posix.join(run.workdir, 'client', 'dist');
    if (/\bnpm run build\b/.test(run.command) && (path === clientDist || path.startsWith(`${clientDist}/`))) {
      // `npm run build` builds the client package too, from its sources copied before it.
      const before = { ...stage, copies: stage.copies.filter((copy) => copy.line < run.line), runs: [] };
      for (const input of ['client/package.json', 'client/build.mjs', 'client/tsconfig.json', 'client/src']) {
        const found = stageSource(before, posix.join(run.workdir, input), context);
        if (found.kind !== 'context' || !existsSync(found.hostPath)) {
          throw new Error(`Dockerfile line ${run.line}: npm run build runs without ${input} in the stage`);
        }
      }
      return { kind: 'context', hostPath: join(ROOT, 'client', 'dist', posix.relative(clientDist, path)) };
    }
  }
  throw new Error(`cannot tell where ${path} comes from in the ${stage.name ?? stage.image} stage`);
}

/** Lays out the runtime stage's files under `root` as the image would have them. */
function layOutImage(stages: Stage[], context: string, root: string): void {
  const runtime = stages[stages.length - 1];
  const host = (path: string) => join(root, path);
  for (const copy of runtime.copies) {
    const destIsFolder = copy.dest.endsWith('/') || copy.sources.length > 1;
    for (const source of copy.sources) {
      let hostPath: string;
      if (copy.from === undefined) {
        if (dockerIgnored(context, source)) {
          throw new Error(
            `Dockerfile line ${copy.line}: COPY ${source}: .dockerignore keeps it out of the context`,
          );
        }
        hostPath = join(context, source);
      } else {
        const stage = stages.find((candidate) => candidate.name === copy.from);
        if (!stage) {
          throw new Error(`Dockerfile line ${copy.line}: no stage named ${copy.from}`);
        }
        const found = stageSource(stage, posix.resolve(stage.workdir, source), context);
        if (found.kind === 'node_modules') {
          layOutNodeModules(ROOT, found.omit, host(copy.dest));
          continue;
        }
        hostPath = found.hostPath;
      }
      if (!existsSync(hostPath)) {
        throw new Error(`Dockerfile line ${copy.line}: COPY ${source}: ${hostPath} does not exist`);
      }
      copyInto(hostPath, host(copy.dest), destIsFolder);
    }
  }
  for (const run of runtime.runs) {
    const omit = npmCiOmits(run.command);
    if (omit !== undefined) {
      layOutNodeModules(ROOT, omit, host(posix.join(run.workdir, 'node_modules')));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `host:port` of the container network that a compose service advertises as a Kafka listener. */
function advertisesKafka(compose: ComposeFile, address: string): string | undefined {
  return Object.entries(compose.services).find(([name, service]) => {
    const listeners = serviceEnvironment(service).KAFKA_ADVERTISED_LISTENERS ?? '';
    return (
      address.split(':')[0] === (service.hostname ?? name) &&
      listeners.split(',').some((listener) => listener.endsWith(`://${address}`))
    );
  })?.[0];
}

describe('the container path: docker-compose.yml and the Dockerfile', () => {
  const compose = readCompose(join(ROOT, 'docker-compose.yml'));
  const gateway = gatewayService(compose);
  const stages = dockerfileStages(readFileSync(gateway.dockerfile, 'utf8'));
  const runtime = stages[stages.length - 1];
  const composeEnv = serviceEnvironment(gateway.service);
  /** The container's environment: the image's ENV, then the compose service's (which wins). */
  const containerEnv: Record<string, string> = { ...runtime.env, ...composeEnv };

  let root: string;
  let databaseUrl: string;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<number | null>;
  let baseUrl: string;
  let processEnv: Record<string, string>;

  /** The compose environment with the compose services' addresses pointed at this run's. */
  function mappedEnvironment(port: number): Record<string, string> {
    const env = { ...containerEnv };
    const used = new Set<string>();
    if (env.KAFKA_BROKERS !== undefined) {
      for (const address of env.KAFKA_BROKERS.split(',')) {
        const service = advertisesKafka(compose, address);
        if (!service) {
          throw new Error(`KAFKA_BROKERS=${env.KAFKA_BROKERS}: no compose service advertises ${address}`);
        }
        used.add(service);
      }
      env.KAFKA_BROKERS = sharedBrokers();
    }
    if (env.DATABASE_URL !== undefined) {
      const url = new URL(env.DATABASE_URL);
      const service = compose.services[url.hostname];
      const pg = serviceEnvironment(service ?? {});
      if (!service?.image?.startsWith('postgres:')) {
        throw new Error(
          `DATABASE_URL=${env.DATABASE_URL}: ${url.hostname} is not a postgres service of the file`,
        );
      }
      const user = pg.POSTGRES_USER ?? 'postgres';
      expect({
        user: url.username,
        password: url.password,
        db: url.pathname.slice(1),
        port: url.port || '5432',
      }).toEqual({
        user,
        password: pg.POSTGRES_PASSWORD,
        db: pg.POSTGRES_DB ?? user,
        port: '5432',
      });
      used.add(url.hostname);
      env.DATABASE_URL = databaseUrl;
    }
    for (const [key, value] of Object.entries(env)) {
      for (const name of Object.keys(compose.services)) {
        if (!used.has(name) && new RegExp(`(^|[/@,])${name}:\\d`).test(value)) {
          throw new Error(`${key}=${value} names the ${name} service: teach this test to map it`);
        }
      }
    }
    // Inside the container the gateway must listen on every interface; here, loopback only.
    expect(env.HOST === undefined || !/^(127\.|localhost|::1$)/.test(env.HOST)).toBe(true);
    return { ...env, PORT: String(port), HOST: '127.0.0.1' };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sse-gateway-image-'));
    expect(existsSync(join(ROOT, 'dist', 'main.js'))).toBe(true); // `npm test` builds before the tests
    layOutImage(stages, gateway.context, root);
    databaseUrl = await createTestDatabase('sse_gateway_container');

    const port = await freePort();
    const workdir = join(root, runtime.workdir);
    mkdirSync(workdir, { recursive: true });
    // Nothing of this process's environment (NODE_ENV=test, for one): the container's only.
    processEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, ...mappedEnvironment(port) };
    const cmd = runtime.cmd ?? [];
    expect(cmd.length).toBeGreaterThan(0);
    child = spawn(cmd[0] === 'node' ? process.execPath : cmd[0], cmd.slice(1), {
      cwd: workdir,
      env: processEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const proc = child;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    baseUrl = `http://127.0.0.1:${port}`;
    await waitUntil(
      () => /listening on/.test(output) || proc.exitCode !== null,
      'the gateway listens',
      30_000,
    );
    if (proc.exitCode !== null) {
      throw new Error(`the gateway exited with code ${proc.exitCode} at start:\n${output}`);
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    if (databaseUrl) {
      await dropTestDatabase(databaseUrl);
    }
    if (root) {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('states the auth mode in the compose file', () => {
    expect(['off', 'jwt']).toContain(composeEnv.AUTH_MODE);
  });

  it('becomes ready on Kafka and PostgreSQL', async () => {
    const deadline = Date.now() + 45_000;
    let last = '';
    while (Date.now() < deadline) {
      const response = await fetch(`${baseUrl}/health/ready`).catch(() => undefined);
      last = response ? `${response.status} ${await response.text()}` : 'no answer';
      if (response?.status === 200) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(last).toMatch(/^200 /);
    expect(last).toContain('kafka');
  });

  it("passes the image's own HEALTHCHECK", async () => {
    const check = runtime.healthcheck ?? [];
    expect(check.length).toBeGreaterThan(0);
    const code = await new Promise<number | null>((resolve) => {
      const probe = spawn(check[0] === 'node' ? process.execPath : check[0], check.slice(1), {
        cwd: join(root, runtime.workdir),
        env: processEnv,
        stdio: 'ignore',
      });
      probe.once('exit', resolve);
    });
    expect(code).toBe(0);
  });

  it('serves the reports page at /', async () => {
    const response = await fetch(`${baseUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toBe(readFileSync(join(ROOT, 'public', 'index.html'), 'utf8'));
  });

  it('serves the client package’s browser build at /client/index.js', async () => {
    const response = await fetch(`${baseUrl}/client/index.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(await response.text()).toBe(
      readFileSync(join(ROOT, 'client', 'dist', 'browser', 'index.js'), 'utf8'),
    );
  });

  it('serves the API docs at /docs', async () => {
    const page = await fetch(`${baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
    const document = (await (await fetch(`${baseUrl}/docs-json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toContain('/v3/message');
  });

  it('stores a report in PostgreSQL', async () => {
    const userId = randomUUID();
    expect((await fetch(`${baseUrl}/v4/new/report?user_id=${userId}`, { method: 'POST' })).status).toBe(201);
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM reports WHERE user_id = $1', [
        userId,
      ]);
      expect(rows[0].n).toBe('1');
    } finally {
      await db.end();
    }
  });

  it('carries v3 messages through Kafka: a POST, a kcat record and the README producer command', async () => {
    const user = `container-${randomUUID().slice(0, 8)}`;
    const stream = await SseReader.open(`${baseUrl}/v3/sse?username=${user}`);
    try {
      expect(stream.status).toBe(200);
      expect((await post(`${baseUrl}/v3/message?username=${user}`, 'posted over HTTP')).status).toBe(201);
      await stream.waitForEvents(1, 15_000);

      await kcatProduce(sharedBrokers(), 'v3_messages', [`${user}:written by kcat`]);
      await stream.waitForEvents(2, 15_000);

      // The README's command for the compose Kafka container, run with the same class and arguments.
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const line = /^docker compose exec (\S+) \/opt\/kafka\/bin\/(kafka-console-producer\.sh) (.+)$/m.exec(
        readme,
      );
      expect(line).not.toBeNull();
      const [, service, script, args] = line as RegExpExecArray;
      expect(compose.services[service]?.image).toMatch(/^apache\/kafka:/);
      const argv = args.trim().split(/\s+/);
      const at = argv.indexOf('--bootstrap-server') + 1;
      expect(at).toBeGreaterThan(0);
      expect(advertisesKafka(compose, argv[at])).toBe(service);
      argv[at] = sharedBrokers();
      await runKafkaScript(script as 'kafka-console-producer.sh', argv, {
        input: `${user}:typed into the console producer\n`,
      });
      await stream.waitForEvents(3, 15_000);

      expect(stream.events.map((event) => event.data)).toEqual([
        'posted over HTTP',
        'written by kcat',
        'typed into the console producer',
      ]);
    } finally {
      stream.close();
    }
  });

  it('runs the Kafka version the tests default to, the gateway after its dependencies are healthy', () => {
    const kafka = Object.values(compose.services).find((service) =>
      service.image?.startsWith('apache/kafka:'),
    );
    expect(kafka?.image).toBe(`apache/kafka:${DEFAULT_KAFKA_VERSION}`);
    const needs = dependsOn(gateway.service);
    for (const name of Object.keys(compose.services).filter((service) => service !== gateway.name)) {
      expect([name, needs[name]]).toEqual([name, 'service_healthy']);
    }
  });

  it('publishes the port the gateway listens on, on the image both stages build with', () => {
    const port = containerEnv.PORT ?? '3000';
    expect(runtime.expose).toContain(port);
    expect((gateway.service.ports ?? []).map((mapping) => String(mapping).split(':').pop())).toContain(port);
    expect(new Set(stages.map((stage) => stage.image)).size).toBe(1);
    const major = Number(/^node:(\d+)/.exec(runtime.image)?.[1]);
    const engines = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines;
    expect(major).toBeGreaterThanOrEqual(Number(/>=\s*(\d+)/.exec(engines.node)?.[1]));
  });

  it('leaves the test tooling out of the image', () => {
    const modules = join(root, runtime.workdir, 'node_modules');
    expect(existsSync(join(modules, '@nestjs', 'core'))).toBe(true);
    expect(existsSync(join(modules, 'jest'))).toBe(false);
    expect(existsSync(join(root, runtime.workdir, 'src'))).toBe(false);
  });
});
