import { PGlite, types } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, Migrator, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Pool } from 'pg';
import { Database } from './database';
import { MIGRATIONS } from './migrations';
import { copyPgliteTemplate, PGLITE_TEMPLATE } from './pglite-template';
import { PreparingClient } from './prepared-statements';

export type StoreKind = 'postgres' | 'pglite';

export interface StoreLogger {
  log(message: string): void;
  error(message: string): void;
}

/** The open, migrated database: which one it is, where, and what start-up applied to it. */
export class StoreConnection {
  private closed = false;

  private constructor(
    readonly kind: StoreKind,
    /** Host, port and database, or the PGlite folder; never a password. */
    readonly location: string,
    readonly db: Kysely<Database>,
    /** Migrations this start applied, in order; empty when the schema was already current. */
    readonly appliedMigrations: readonly string[],
    private readonly release: () => void,
  ) {}

  /**
   * PostgreSQL when `databaseUrl` is set, else PGlite in `<dataDir>/pglite` (created when missing); then
   * every pending migration, so nothing reads or writes an old schema. Fails, closing what it opened,
   * when the database is unreachable or a migration fails.
   */
  static async open(
    options: { databaseUrl?: string; dataDir: string },
    logger: StoreLogger,
  ): Promise<StoreConnection> {
    const { kind, location, db, release } = options.databaseUrl
      ? openPostgres(options.databaseUrl, logger)
      : await openPglite(options.dataDir, logger);
    try {
      logger.log(`Reports store: ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} at ${location}`);
      const applied = await migrateToLatest(db);
      logger.log(
        applied.length > 0
          ? `Reports store: applied migrations ${applied.join(', ')}`
          : `Reports store: schema current (${Object.keys(MIGRATIONS).length} migrations), none to apply`,
      );
      return new StoreConnection(kind, location, db, applied, release);
    } catch (error) {
      await db.destroy();
      release();
      throw error;
    }
  }

  /** Ends the pool, or closes PGlite (which flushes it to disk); once. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        await this.db.destroy();
      } finally {
        this.release();
      }
    }
  }
}

interface OpenedStore {
  kind: StoreKind;
  location: string;
  db: Kysely<Database>;
  /** Gives up what only one opener may hold (the PGlite folder). */
  release: () => void;
}

function openPostgres(databaseUrl: string, logger: StoreLogger): OpenedStore {
  const pool = new Pool({
    connectionString: databaseUrl,
    application_name: 'sse-gateway',
    // Without it an unreachable server stalls start-up (and every later query) indefinitely.
    connectionTimeoutMillis: 10_000,
    Client: PreparingClient,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) =>
    logger.error(`Reports store: idle PostgreSQL connection failed: ${error.message}`),
  );
  const url = new URL(databaseUrl);
  const location = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      // The reports' statements rely on READ COMMITTED, whatever the server's default: a fresh snapshot
      // per statement, and one per query of a VOLATILE function (see SqlReportsRepository).
      onCreateConnection: async (connection) => {
        await connection.executeQuery(
          CompiledQuery.raw('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED'),
        );
      },
    }),
  });
  return { kind: 'postgres', location, db, release: () => undefined };
}

/** PGlite's options, for the service and for the template the build makes. */
export const PGLITE_OPTIONS = {
  // bigint as a decimal string, as node-postgres gives it: PGlite gives a number, or a BigInt past 2^53.
  parsers: { [types.INT8]: (value: string) => value },
  // PostgreSQL's 128 MB of shared buffers would all be WebAssembly memory in this process; a
  // laptop's reports need far less (RSS after start: about 170 MB instead of 310 MB).
  postgresqlconf: ['shared_buffers=16MB', 'wal_buffers=1MB', 'work_mem=1MB', 'maintenance_work_mem=8MB'],
};

async function openPglite(dataDir: string, logger: StoreLogger): Promise<OpenedStore> {
  const location = resolve(dataDir, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  const release = lockFolder(location);
  try {
    // V8 compiles WebAssembly with Liftoff, then recompiles hot functions with its optimising compiler;
    // on Node 24 that takes one of PostgreSQL's functions over 600 MB of compiler memory for a few
    // seconds, at the first reports. Liftoff code alone keeps the peak to what runs. (These two flags, not
    // --liftoff-only: that one implies them only when given on the command line.)
    setFlagsFromString('--no-wasm-tier-up');
    setFlagsFromString('--no-wasm-dynamic-tiering');
    if (!existsSync(resolve(location, 'PG_VERSION'))) {
      createPglite(location, logger);
    }
    const pglite = await PGlite.create(location, PGLITE_OPTIONS);
    return {
      kind: 'pglite',
      location,
      db: new Kysely<Database>({ dialect: new PGliteDialect(pglite) }),
      release,
    };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * A new database in `location`, from the template the build made. Without one (a build by the compiler
 * alone) PGlite's initdb makes it when it opens the folder, at the cost of several hundred MB held.
 */
function createPglite(location: string, logger: StoreLogger): void {
  if (!existsSync(PGLITE_TEMPLATE)) {
    logger.log(`Reports store: no ${PGLITE_TEMPLATE} (npm run build makes it); PGlite runs initdb instead`);
    return;
  }
  if (existsSync(location) && readdirSync(location).length > 0) {
    throw new Error(
      `Reports store: ${location} holds files but no database (no PG_VERSION); move it away to start afresh`,
    );
  }
  copyPgliteTemplate(PGLITE_TEMPLATE, location);
  logger.log(`Reports store: new PGlite database in ${location}, from ${PGLITE_TEMPLATE}`);
}

/**
 * PGlite is one process's private PostgreSQL: it takes no lock on its folder, and a second opener
 * (another instance with the same DATA_DIR, or a second app in one test process) fails obscurely or
 * corrupts it. A pid file beside the folder turns that into a clear start-up error. A file left by a
 * process that died is taken over.
 */
function lockFolder(location: string): () => void {
  const lockFile = `${location}.lock`;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      const who = holder === process.pid ? 'this process' : `process ${holder}`;
      throw new Error(
        `Reports store: ${location} is in use by ${who} (${lockFile}). PGlite serves one process: ` +
          'give each instance its own DATA_DIR, or set DATABASE_URL.',
      );
    }
    rmSync(lockFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kysely's migrator holds a PostgreSQL advisory lock for the whole run, in one transaction, so instances
 * starting together on one database apply each migration once and the others find it done.
 */
async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(MIGRATIONS) } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? '(setup)';
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`Reports store: migration ${failed} failed: ${reason}`, { cause: error });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
