import { LoggerService } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ConfigModule } from '../src/config/config.module';
import { ReportStatus } from '../src/reports/report';
import { REPORTS_REPOSITORY, ReportsRepository } from '../src/reports/reports.repository';
import { ReportsStoreModule } from '../src/reports/reports-store.module';
import { OUTBOX_LOCK_CLASS } from '../src/reports/sql/report.statements';
import { SqlReportsRepository } from '../src/reports/sql-reports.repository';
import { PGLITE_TEMPLATE } from '../src/store/pglite-template';
import { StoreConnection } from '../src/store/store-connection';
import { STORE_CONNECTION } from '../src/store/store.constants';
import { StoreHealth } from '../src/store/store.health';
import { createTestDatabase, dropTestDatabase } from './support/postgres';
import { changed, drainOutbox, queueTogether } from './support/reports-outbox';

jest.setTimeout(120_000);

/** The store environment of one contract run: a fresh PostgreSQL database, or a fresh DATA_DIR. */
interface StoreUnderTest {
  env: Record<string, string | undefined>;
  remove(): Promise<void>;
}

/**
 * A fresh database whose default isolation is REPEATABLE READ, as a server may be configured: the store
 * must run its statements under READ COMMITTED all the same (one snapshot per statement, a fresh one in
 * the function that reads what to announce).
 */
async function freshPostgresDatabase(): Promise<StoreUnderTest> {
  const url = await createTestDatabase('reports_store');
  const admin = new Client({ connectionString: url });
  await admin.connect();
  try {
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    await admin.query(`ALTER DATABASE "${name}" SET default_transaction_isolation = 'repeatable read'`);
  } finally {
    await admin.end();
  }
  return { env: { DATABASE_URL: url }, remove: () => dropTestDatabase(url) };
}

function freshDataDir(): Promise<StoreUnderTest> {
  // PGlite's CommonJS build loads node:fs and friends with import(), which jest only allows with the flag.
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!flags.includes('--experimental-vm-modules')) {
    throw new Error(
      'PGlite under jest needs `node --experimental-vm-modules`: run the tests with `npm test`',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'reports-store-'));
  return Promise.resolve({
    // DATABASE_URL explicitly unset, in case the environment running the tests has one.
    env: { DATABASE_URL: undefined, DATA_DIR: dir },
    remove: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
}

/** Collects the store's start-up lines instead of printing them. */
class LinesLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

interface StartedStore {
  module: TestingModule;
  sut: ReportsRepository;
  connection: StoreConnection;
  logs: string[];
}

/** What the application does at start-up: configuration, then the store, migrated, then the repository. */
async function startStore(env: Record<string, string | undefined>): Promise<StartedStore> {
  const logger = new LinesLogger();
  const module = await Test.createTestingModule({ imports: [ConfigModule.forRoot(env), ReportsStoreModule] })
    .setLogger(logger)
    .compile();
  await module.init();
  return {
    module,
    sut: module.get<ReportsRepository>(REPORTS_REPOSITORY),
    connection: module.get<StoreConnection>(STORE_CONNECTION),
    logs: logger.lines,
  };
}

const ALL_EVENTS = 1_000_000;

describe.each([
  ['PGlite', freshDataDir],
  ['PostgreSQL', freshPostgresDatabase],
])(`${SqlReportsRepository.name} on %s`, (store, makeStore) => {
  let target: StoreUnderTest;
  let started: StartedStore;
  let sut: ReportsRepository;

  beforeAll(async () => {
    target = await makeStore();
    started = await startStore(target.env);
    sut = started.sut;
  });

  afterAll(async () => {
    await started?.module.close();
    await target?.remove();
  });

  it('applies the migrations at start-up and says which store it opened and what it applied', () => {
    expect(started.connection.kind).toBe(store === 'PGlite' ? 'pglite' : 'postgres');
    expect(started.connection.appliedMigrations).toEqual([
      '0001-reports',
      '0002-reports-fillfactor',
      '0003-report-events-unpublished-of-users',
    ]);
    expect(started.logs.join('\n')).toContain(`Reports store: ${store} at`);
    expect(started.logs.join('\n')).toContain(
      'applied migrations 0001-reports, 0002-reports-fillfactor, 0003-report-events-unpublished-of-users',
    );
    expect(started.logs.join('\n')).not.toContain('postgres@'); // no credentials in the log
  });

  it('creates a report in pending, announced by an event, and lists a user its own reports oldest first', async () => {
    const user = randomUUID();
    const first = await sut.create(user);
    const second = await sut.create(user);
    await sut.create(randomUUID());

    expect(first.report).toEqual({
      userId: user,
      reportId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      reportStatus: 'pending',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      updatedAt: first.report.createdAt,
    });
    expect(first.event).toEqual({
      id: expect.stringMatching(/^\d+$/),
      userId: user,
      reportId: first.report.reportId,
      status: 'pending',
      createdAt: first.report.createdAt,
    });
    expect(BigInt(second.event.id)).toBeGreaterThan(BigInt(first.event.id));
    expect(await sut.listByUser(user)).toEqual([first.report, second.report]);
    expect(await sut.listByUser(randomUUID())).toEqual([]);
    expect(await sut.ownerOf(first.report.reportId)).toBe(user);
    expect(await sut.ownerOf(randomUUID())).toBeUndefined();
  });

  it('refuses to create a report for a user id that is not a UUID', async () => {
    await expect(sut.create('alice')).rejects.toThrow(TypeError);
  });

  it('changes the status when the report is in an allowed status, with its event', async () => {
    const user = randomUUID();
    const { report } = await sut.create(user);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const result = changed(await sut.transition(user, report.reportId, 'queued', ['pending']));

    expect(result.report).toMatchObject({ userId: user, reportId: report.reportId, reportStatus: 'queued' });
    expect(result.report.createdAt).toBe(report.createdAt);
    expect(Date.parse(result.report.updatedAt)).toBeGreaterThan(Date.parse(report.updatedAt));
    expect(result.event).toMatchObject({ userId: user, reportId: report.reportId, status: 'queued' });
    expect(await sut.listByUser(user)).toEqual([result.report]);
  });

  it("answers not-found for an unknown report, a malformed id, and another user's report, changing nothing", async () => {
    const owner = randomUUID();
    const { report } = await sut.create(owner);

    expect(await sut.transition(owner, randomUUID(), 'queued', ['pending'])).toEqual({ kind: 'not-found' });
    expect(await sut.transition(owner, 'not-a-uuid', 'queued', ['pending'])).toEqual({ kind: 'not-found' });
    expect(await sut.transition(randomUUID(), report.reportId, 'queued', ['pending'])).toEqual({
      kind: 'not-found',
    });
    expect(await sut.transition(randomUUID(), report.reportId, 'queued', [])).toEqual({ kind: 'not-found' });
    expect((await sut.listByUser(owner)).map((r) => r.reportStatus)).toEqual(['pending']);
  });

  it('answers conflict naming the current status when the report is not in an allowed one', async () => {
    const user = randomUUID();
    const { report } = await sut.create(user);
    changed(await sut.transition(user, report.reportId, 'queued', ['pending']));

    expect(await sut.transition(user, report.reportId, 'completed', ['processing'])).toEqual({
      kind: 'conflict',
      current: 'queued',
    });
    expect(await sut.transition(user, report.reportId, 'queued', [])).toEqual({
      kind: 'conflict',
      current: 'queued',
    });
    expect((await sut.listByUser(user))[0].reportStatus).toBe('queued');
  });

  it('writes one outbox event per creation and per accepted transition, and none for a refused one', async () => {
    const user = randomUUID();
    const { report, event: created } = await sut.create(user);
    const queued = changed(await sut.transition(user, report.reportId, 'queued', ['pending']));
    await sut.transition(user, report.reportId, 'failed', ['processing']); // conflict
    await sut.transition(user, randomUUID(), 'queued', ['pending']); // not found
    const processing = changed(await sut.transition(user, report.reportId, 'processing', ['queued']));

    expect(await sut.eventsAfter(user, '0', ALL_EVENTS)).toEqual([created, queued.event, processing.event]);
    expect(processing.event.status).toBe('processing');
  });

  it('rejects a transition to a status the schema does not know, writing nothing', async () => {
    const user = randomUUID();
    const { report, event } = await sut.create(user);
    await expect(
      sut.transition(user, report.reportId, 'archived' as ReportStatus, ['pending']),
    ).rejects.toThrow(/reports_status_check/);
    expect(await sut.eventsAfter(user, '0', ALL_EVENTS)).toEqual([event]);
    expect((await sut.listByUser(user))[0].reportStatus).toBe('pending');
  });

  it("pages through a user's events after an id, oldest first, without other users' events", async () => {
    const user = randomUUID();
    const other = randomUUID();
    const { report } = await sut.create(user);
    await sut.create(other);
    const path: [ReportStatus, ReportStatus][] = [
      ['queued', 'pending'],
      ['canceled', 'queued'],
      ['pending', 'canceled'],
      ['queued', 'pending'],
    ];
    for (const [to, from] of path) {
      changed(await sut.transition(user, report.reportId, to, [from]));
      await sut.create(other);
    }
    const all = await sut.eventsAfter(user, '0', ALL_EVENTS);
    expect(all.map((e) => e.status)).toEqual(['pending', 'queued', 'canceled', 'pending', 'queued']);
    expect(new Set(all.map((e) => e.userId))).toEqual(new Set([user]));

    const pages: string[][] = [];
    for (let after = '0'; ;) {
      const page = await sut.eventsAfter(user, after, 2);
      if (page.length === 0) {
        break;
      }
      pages.push(page.map((e) => e.id));
      after = page[page.length - 1].id;
    }
    expect(pages).toEqual([[all[0].id, all[1].id], [all[2].id, all[3].id], [all[4].id]]);
    expect(await sut.latestEventId(user)).toBe(all[4].id);
    expect(await sut.eventsAfter(user, all[4].id, 10)).toEqual([]);
    expect(await sut.eventsAfter(user, '99999999999999999999', 10)).toEqual([]);
    expect(await sut.latestEventId(randomUUID())).toBe('0');
    await expect(sut.eventsAfter(user, 'abc', 10)).rejects.toThrow(RangeError);
    await expect(sut.eventsAfter(user, '0', 0)).rejects.toThrow(RangeError);
  });

  it('hands the relay unpublished events oldest first, and writes recorded marks with its next statement', async () => {
    await drainOutbox(sut); // what earlier tests left
    const user = randomUUID();
    const { report, event: created } = await sut.create(user);
    const { event: queued } = changed(await sut.transition(user, report.reportId, 'queued', ['pending']));
    const { event: other } = await sut.create(randomUUID());

    expect(await sut.nextToPublish(100)).toEqual([created, queued, other]);
    expect(await sut.nextToPublish(2)).toEqual([created, queued]);

    // Recorded, then written by the next statement, which leaves them out itself and so does every later one.
    sut.markPublished([created.id, queued.id, '987654321987', 'junk']);
    expect(sut.hasUnwrittenMarks()).toBe(true);
    expect(await sut.nextToPublish(100)).toEqual([other]);
    expect(sut.hasUnwrittenMarks()).toBe(false);
    expect(await sut.nextToPublish(100)).toEqual([other]);
    sut.markPublished([other.id]);
    expect(await sut.nextToPublish(100)).toEqual([]);
    expect(await sut.nextToPublish(100)).toEqual([]);
    // Published events stay in the history that streams replay.
    expect(await sut.eventsAfter(user, '0', 10)).toEqual([created, queued]);
  });

  it("carries the changed users' unpublished events in id order, its own among them, and writes recorded marks", async () => {
    await drainOutbox(sut);
    const user = randomUUID();
    const first = await sut.create(user);
    const second = await sut.create(user);
    const { event: elsewhere } = await sut.create(randomUUID());

    const queued = changed(await sut.transition(user, first.report.reportId, 'queued', ['pending']));
    expect(queued.announce).toEqual([first.event, second.event, queued.event]); // not another user's

    sut.markPublished(queued.announce.map((e) => e.id));
    const again = changed(await sut.transition(user, second.report.reportId, 'queued', ['pending']));
    expect(again.announce).toEqual([again.event]);
    expect(sut.hasUnwrittenMarks()).toBe(false);
    expect(await sut.nextToPublish(100)).toEqual([elsewhere, again.event]);

    // Changes that share a statement (submitted together) share one list, holding both users' events.
    await drainOutbox(sut);
    const other = randomUUID();
    const mine = await sut.create(user);
    const theirs = await sut.create(other);
    const [a, b] = await queueTogether(sut, [mine.report, theirs.report]);
    expect(a.announce).toBe(b.announce);
    expect(a.announce).toEqual([mine.event, theirs.event, a.event, b.event]);
  });

  it('carries nothing when the changed users have too long a backlog, leaving it to the sweep', async () => {
    const user = randomUUID();
    const made = await Promise.all(Array.from({ length: 200 }, () => sut.create(user)));
    expect(
      changed(await sut.transition(user, made[0].report.reportId, 'queued', ['pending'])).announce,
    ).toEqual([]);
    // Once the sweep has published the backlog, a change carries its event again.
    await drainOutbox(sut);
    const next = changed(await sut.transition(user, made[1].report.reportId, 'queued', ['pending']));
    expect(next.announce).toEqual([next.event]);
    await drainOutbox(sut);
  });

  it('lets exactly one of 20 concurrent conflicting transitions win, with exactly one event', async () => {
    const user = randomUUID();
    const { report, event: created } = await sut.create(user);
    const targets: ReportStatus[] = Array.from({ length: 20 }, (_, n) =>
      n % 2 === 0 ? 'queued' : 'canceled',
    );

    const results = await Promise.all(
      targets.map((to) => sut.transition(user, report.reportId, to, ['pending'])),
    );

    const winners = results.filter((r) => r.kind === 'changed');
    expect(winners).toHaveLength(1);
    const winner = changed(winners[0]).report.reportStatus;
    expect(results.filter((r) => r.kind === 'conflict')).toEqual(
      Array.from({ length: 19 }, () => ({ kind: 'conflict', current: winner })),
    );
    const events = await sut.eventsAfter(user, created.id, ALL_EVENTS);
    expect(events.map((e) => e.status)).toEqual([winner]);
  });

  it('never lets a reader page past an event id that commits later (ids commit in order per user)', async () => {
    const user = randomUUID();
    const reports = await Promise.all(Array.from({ length: 24 }, () => sut.create(user)));
    const cursor = { after: await sut.latestEventId(user), seen: [] as string[] };
    const cycle: [ReportStatus, ReportStatus][] = [
      ['queued', 'pending'],
      ['processing', 'queued'],
      ['failed', 'processing'],
      ['pending', 'failed'],
    ];
    let writing = true;
    const reader = (async () => {
      // Pages as a resuming stream does, while the writers commit: a row that commits below the cursor
      // after the cursor passed it would be missing from `seen`.
      while (writing) {
        const page = await sut.eventsAfter(user, cursor.after, 5);
        for (const event of page) {
          cursor.seen.push(event.id);
          cursor.after = event.id;
        }
        if (page.length === 0) {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    })();
    await Promise.all(
      reports.map(async ({ report }) => {
        for (let round = 0; round < 3; round++) {
          for (const [to, from] of cycle) {
            changed(await sut.transition(user, report.reportId, to, [from]));
          }
        }
      }),
    );
    writing = false;
    await reader;
    for (let page = await sut.eventsAfter(user, cursor.after, 100); page.length > 0;) {
      cursor.seen.push(...page.map((e) => e.id));
      page = await sut.eventsAfter(user, page[page.length - 1].id, 100);
    }

    const committed = (await sut.eventsAfter(user, '0', ALL_EVENTS)).slice(reports.length).map((e) => e.id);
    expect(committed).toHaveLength(24 * 3 * cycle.length);
    expect(cursor.seen).toEqual(committed);
  });

  // A deterministic form of the test above: a writer of the same user is held mid-transaction, after it
  // drew its event id, as the protocol has it (lock, then insert). PGlite has one connection: nothing to hold.
  if (store === 'PostgreSQL') {
    it("makes a user's write wait for that user's write in flight, so ids commit in order; other users go on", async () => {
      const user = randomUUID();
      const { report, event: created } = await sut.create(user);
      const inFlight = new Client({ connectionString: target.env.DATABASE_URL });
      await inFlight.connect();
      try {
        await inFlight.query('BEGIN');
        await inFlight.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OUTBOX_LOCK_CLASS, user]);
        const drawn = await inFlight.query<{ id: string }>(
          "INSERT INTO report_events (user_id, report_id, status) VALUES ($1, $2, 'pending') RETURNING id::text",
          [user, report.reportId],
        );
        let settled = false;
        const later = sut
          .transition(user, report.reportId, 'queued', ['pending'])
          .finally(() => (settled = true));

        const otherUser = randomUUID();
        await sut.create(otherUser);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(settled).toBe(false);
        expect(await sut.eventsAfter(user, created.id, 10)).toEqual([]);

        await inFlight.query('COMMIT');
        const { event, announce } = changed(await later);
        expect(BigInt(event.id)).toBeGreaterThan(BigInt(drawn.rows[0].id));
        // Committed while the transition waited for the lock, after its statement began: carried all the same.
        expect(announce.map((e) => e.id)).toEqual([created.id, drawn.rows[0].id, event.id]);
        expect((await sut.eventsAfter(user, created.id, 10)).map((e) => e.id)).toEqual([
          drawn.rows[0].id,
          event.id,
        ]);
      } finally {
        await inFlight.end();
      }
    });
  }

  it('reports itself healthy after a quick SELECT 1', async () => {
    expect(await started.module.get(StoreHealth).check()).toEqual({
      up: true,
      details: expect.objectContaining({ store: started.connection.kind, latencyMs: expect.any(Number) }),
    });
  });

  it('keeps reports and events across a restart (down while closed), and the second start migrates nothing', async () => {
    const user = randomUUID();
    const { report } = await sut.create(user);
    const moved = changed(await sut.transition(user, report.reportId, 'queued', ['pending']));
    const closed = started.module;
    await closed.close();
    expect(await closed.get(StoreHealth).check()).toMatchObject({
      up: false,
      details: { error: expect.any(String) },
    });

    started = await startStore(target.env);
    sut = started.sut;

    expect(started.connection.appliedMigrations).toEqual([]);
    expect(started.logs.join('\n')).toContain('none to apply');
    expect(await sut.listByUser(user)).toEqual([moved.report]);
    expect((await sut.eventsAfter(user, '0', 10)).map((e) => e.status)).toEqual(['pending', 'queued']);
    expect(
      changed(await sut.transition(user, report.reportId, 'processing', ['queued'])).report.reportStatus,
    ).toBe('processing');
  });
});

describe(StoreConnection.name, () => {
  const silent = { log: () => undefined, error: () => undefined };

  it('migrates a new PostgreSQL database once when two instances start on it at the same time', async () => {
    const target = await freshPostgresDatabase();
    try {
      const options = { databaseUrl: target.env.DATABASE_URL, dataDir: 'unused' };
      const both = await Promise.all([
        StoreConnection.open(options, silent),
        StoreConnection.open(options, silent),
      ]);
      try {
        expect(both.map((c) => c.appliedMigrations).sort()).toEqual([
          [],
          ['0001-reports', '0002-reports-fillfactor', '0003-report-events-unpublished-of-users'],
        ]);
        const third = await StoreConnection.open(options, silent);
        await third.close();
        expect(third.appliedMigrations).toEqual([]);
      } finally {
        await Promise.all(both.map((c) => c.close()));
      }
    } finally {
      await target.remove();
    }
  });

  it('refuses a second opener of one PGlite folder, and takes over the lock of a process that died', async () => {
    const target = await freshDataDir();
    const options = { dataDir: target.env.DATA_DIR! };
    try {
      const first = await StoreConnection.open(options, silent);
      await expect(StoreConnection.open(options, silent)).rejects.toThrow(
        /pglite is in use by this process .* give each instance its own DATA_DIR, or set DATABASE_URL/,
      );
      await first.close();

      const gone = spawnSync(process.execPath, ['-e', '']).pid;
      writeFileSync(join(options.dataDir, 'pglite.lock'), String(gone));
      const again = await StoreConnection.open(options, silent);
      expect(readFileSync(join(options.dataDir, 'pglite.lock'), 'utf8')).toBe(String(process.pid));
      await again.close();
      expect(existsSync(join(options.dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      await target.remove();
    }
  });

  it("makes a new PGlite database from the build's template, and refuses a folder that holds no database", async () => {
    const target = await freshDataDir();
    const dataDir = target.env.DATA_DIR!;
    const logs: string[] = [];
    try {
      const opened = await StoreConnection.open(
        { dataDir },
        { log: (line) => logs.push(line), error: () => undefined },
      );
      await opened.close();
      expect(logs.join('\n')).toContain(
        `new PGlite database in ${join(dataDir, 'pglite')}, from ${PGLITE_TEMPLATE}`,
      );
      expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

      rmSync(join(dataDir, 'pglite'), { recursive: true });
      mkdirSync(join(dataDir, 'pglite'));
      writeFileSync(join(dataDir, 'pglite', 'notes.txt'), 'not a database');
      await expect(StoreConnection.open({ dataDir }, silent)).rejects.toThrow(
        /pglite holds files but no database \(no PG_VERSION\); move it away to start afresh/,
      );
      expect(readFileSync(join(dataDir, 'pglite', 'notes.txt'), 'utf8')).toBe('not a database');
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      await target.remove();
    }
  });

  it('stops start-up when PostgreSQL cannot be reached', async () => {
    await expect(
      StoreConnection.open(
        { databaseUrl: 'postgres://postgres@127.0.0.1:1/none', dataDir: 'unused' },
        silent,
      ),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
