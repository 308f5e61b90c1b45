import { Kysely, Migration, sql } from 'kysely';

/**
 * What a status change needs to announce itself: the unpublished events of the users it changed, read
 * after it holds their locks (see SqlReportsRepository).
 *
 * The function is VOLATILE plpgsql so that, under READ COMMITTED, its query takes a snapshot of its own
 * when it runs, not the one the calling statement took when it began: only a snapshot taken after the
 * locks sees every earlier event of those users, including ones committed while the statement waited for
 * a lock. `locked_users` is the count of locks the caller took; passing it makes the call depend on them,
 * so the planner cannot run it first. `skip` names events being marked published by the caller.
 */
export const reportEventsUnpublishedOfUsersMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    // Serves the function: a user's unpublished events, in id order, without reading the user's history.
    await sql`
      CREATE INDEX report_events_unpublished_user_idx ON report_events (user_id, id)
      WHERE published_at IS NULL`.execute(db);
    await sql`
      CREATE FUNCTION report_events_unpublished_of_users(
        users uuid[], skip bigint[], max_rows integer, locked_users bigint
      )
      RETURNS TABLE (id bigint, user_id uuid, report_id uuid, status text, created_at timestamptz)
      LANGUAGE plpgsql VOLATILE
      AS $$
      BEGIN
        IF locked_users = 0 THEN
          RETURN;
        END IF;
        RETURN QUERY
          SELECT e.id, e.user_id, e.report_id, e.status, e.created_at
          FROM report_events AS e
          WHERE e.user_id = ANY (users) AND e.published_at IS NULL AND e.id <> ALL (skip)
          ORDER BY e.id
          LIMIT max_rows;
      END
      $$`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`DROP FUNCTION report_events_unpublished_of_users(uuid[], bigint[], integer, bigint)`.execute(
      db,
    );
    await sql`DROP INDEX report_events_unpublished_user_idx`.execute(db);
  },
};
