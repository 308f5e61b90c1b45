import { Kysely, Migration, sql } from 'kysely';

/**
 * Reports and their outbox. Plain SQL that PostgreSQL 15+ and PGlite both run. A migration is frozen once
 * shipped: the status list is spelled out here rather than taken from REPORT_STATUSES, so a later change
 * to the code needs a new migration.
 */
export const reportsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`
      CREATE TABLE reports (
        report_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        status text NOT NULL CONSTRAINT reports_status_check
          CHECK (status IN ('pending', 'queued', 'processing', 'completed', 'failed', 'canceled')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`.execute(db);
    // Serves "this user's reports, oldest first" without a sort.
    await sql`CREATE INDEX reports_user_id_idx ON reports (user_id, created_at)`.execute(db);

    // The transactional outbox, and the history that streams replay from after Last-Event-ID. `id` is
    // the SSE event id; see SqlReportsRepository for how ids are kept in commit order per user.
    await sql`
      CREATE TABLE report_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id uuid NOT NULL,
        report_id uuid NOT NULL REFERENCES reports (report_id) ON DELETE CASCADE,
        status text NOT NULL CONSTRAINT report_events_status_check
          CHECK (status IN ('pending', 'queued', 'processing', 'completed', 'failed', 'canceled')),
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz NULL
      )`.execute(db);
    await sql`CREATE INDEX report_events_user_id_id_idx ON report_events (user_id, id)`.execute(db);
    // What the relay polls: small, since published rows leave it.
    await sql`CREATE INDEX report_events_unpublished_idx ON report_events (id) WHERE published_at IS NULL`.execute(
      db,
    );
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`DROP TABLE report_events`.execute(db);
    await sql`DROP TABLE reports`.execute(db);
  },
};
