import { Kysely, Migration, sql } from 'kysely';

/**
 * Free room in each page of `reports`, so a status change can put the row's new version beside the old
 * one: a HOT update, which touches neither of the table's indexes (no indexed column changes). With full
 * pages every change also inserted into both indexes. Applies to pages written from now on.
 */
export const reportsFillfactorMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`ALTER TABLE reports SET (fillfactor = 70)`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`ALTER TABLE reports RESET (fillfactor)`.execute(db);
  },
};
