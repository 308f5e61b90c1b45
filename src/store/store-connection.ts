import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { Database } from './database';
import { MIGRATIONS } from './migrations';

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
    const { kind, location, db } = options.databaseUrl
      ? openPostgres(options.databaseUrl, logger)
      : await openPglite(options.dataDir);
    try {
      logger.log(`Reports store: ${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'} at ${location}`);
      const applied = await migrateToLatest(db);
      logger.log(
        applied.length > 0
          ? `Reports store: applied migrations ${applied.join(', ')}`
          : `Reports store: schema current (${Object.keys(MIGRATIONS).length} migrations), none to apply`,
      );
      return new StoreConnection(kind, location, db, applied);
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }

  /** Ends the pool, or closes PGlite (which flushes it to disk); once. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.db.destroy();
    }
  }
}

function openPostgres(
  databaseUrl: string,
  logger: StoreLogger,
): { kind: StoreKind; location: string; db: Kysely<Database> } {
  const pool = new Pool({
    connectionString: databaseUrl,
    application_name: 'sse-gateway',
    // Without it an unreachable server stalls start-up (and every later query) indefinitely.
    connectionTimeoutMillis: 10_000,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) =>
    logger.error(`Reports store: idle PostgreSQL connection failed: ${error.message}`),
  );
  const url = new URL(databaseUrl);
  const location = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  return { kind: 'postgres', location, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}

async function openPglite(
  dataDir: string,
): Promise<{ kind: StoreKind; location: string; db: Kysely<Database> }> {
  const location = resolve(dataDir, 'pglite');
  mkdirSync(location, { recursive: true });
  // bigint as a decimal string, as node-postgres gives it: PGlite would give a number, or a BigInt past 2^53.
  const pglite = await PGlite.create(location, { parsers: { [types.INT8]: (value: string) => value } });
  return { kind: 'pglite', location, db: new Kysely<Database>({ dialect: new PGliteDialect(pglite) }) };
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
