import { sql } from 'kysely';
import { preparedStatement } from '../../store/prepared-statements';
import { ReportStatus } from '../report';

// The SQL of SqlReportsRepository, kept apart from the code that runs it; the repository's comment says
// how the statements keep each user's event ids in commit order.

/**
 * First key of the two-key advisory lock that orders a user's outbox inserts ('RPRT'); the second is a
 * hash of the user id. Two-key locks never collide with Kysely's one-key migration lock.
 */
export const OUTBOX_LOCK_CLASS = 0x52505254;

/**
 * The CTEs `to_mark` and `marked` of both statements that write marks: mark published the events whose
 * ids the text parameter `parameter` holds, comma-separated. `to_mark` locks those rows, skipping rows
 * another transaction is marking (never waiting on them, so marks add no lock wait and cannot deadlock),
 * and `marked` marks those not marked yet. Both find rows by primary key: a condition
 * `published_at IS NULL` on report_events itself would let the planner scan a partial index instead, and
 * those hold an entry for every event marked since the last vacuum (tens of thousands under load).
 */
export const markPublishedCtes = (parameter: string): string => `to_mark AS MATERIALIZED (
  SELECT id, published_at FROM report_events WHERE id = ANY (string_to_array(${parameter}, ',')::bigint[])
  ORDER BY id FOR UPDATE SKIP LOCKED
),
marked AS (
  UPDATE report_events AS e SET published_at = now()
  FROM to_mark AS m
  WHERE e.id = m.id AND m.published_at IS NULL
)`;

/**
 * Unpublished events a transition statement reads for its users, at most. A longer backlog means the bus
 * is down or behind; the relay's sweep pages through it, and the transitions stay cheap meanwhile.
 */
export const ANNOUNCE_LIMIT = 200;

/**
 * A row of MOVES_SQL: a move's (ord set) with its event when it changed, else the status it found; or an
 * unpublished event of a changed user (ord null).
 */
export interface MoveRow {
  ord: number | null;
  user_id: string;
  report_id: string;
  created_at: Date | null;
  updated_at: Date | null;
  event_id: string | null;
  event_status: ReportStatus | null;
  event_created_at: Date | null;
  current_status: ReportStatus | null;
}

/**
 * The moves of `SqlReportsRepository.runMoves`, one per report, as a JSON array in $1; the ids of events
 * to mark published in $2 (comma-separated); ANNOUNCE_LIMIT in $3.
 *
 * `input` keeps each move's place (ord); `changed` is every conditional UPDATE; `locked` takes the changed
 * users' locks, sorted, once all rows are updated; `announced` draws the event ids after the locks (its
 * source rows join `locked`), in move order. `to_mark` and `marked` write the marks (markPublishedCtes).
 * `unpublished` reads the changed users' unpublished events through a function that takes a fresh
 * snapshot after the locks (see the 0003 migration). Every move comes back, with its event when it
 * changed, else with the status it found; then the unpublished events, with ord null.
 */
export const MOVES_SQL = preparedStatement(
  'report_moves',
  `
WITH input AS MATERIALIZED (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS move(ord int, user_id uuid, report_id uuid, status text, allowed text[])
),
changed AS (
  UPDATE reports AS r SET status = i.status, updated_at = now()
  FROM input AS i
  WHERE r.report_id = i.report_id AND r.user_id = i.user_id AND r.status = ANY (i.allowed)
  RETURNING r.report_id, r.user_id, r.status, r.created_at, r.updated_at, i.ord
),
locked AS MATERIALIZED (
  SELECT count(pg_advisory_xact_lock(${OUTBOX_LOCK_CLASS}, key)) AS users
  FROM (SELECT DISTINCT hashtext(user_id::text) AS key FROM changed ORDER BY key) AS keys
),
announced AS (
  INSERT INTO report_events (user_id, report_id, status)
  SELECT c.user_id, c.report_id, c.status FROM changed AS c CROSS JOIN locked ORDER BY c.ord
  RETURNING id, report_id, status, created_at
),
${markPublishedCtes('$2')},
unpublished AS MATERIALIZED (
  SELECT u.* FROM locked, LATERAL report_events_unpublished_of_users(
    ARRAY(SELECT DISTINCT user_id FROM changed), string_to_array($2, ',')::bigint[], $3, locked.users
  ) AS u
)
SELECT i.ord, i.user_id, i.report_id, c.created_at, c.updated_at, a.id AS event_id,
       a.status AS event_status, a.created_at AS event_created_at, found.status AS current_status
FROM input AS i
LEFT JOIN changed AS c ON c.ord = i.ord
LEFT JOIN announced AS a ON a.report_id = i.report_id
LEFT JOIN reports AS found ON found.report_id = i.report_id AND found.user_id = i.user_id
UNION ALL
SELECT NULL, u.user_id, u.report_id, NULL, NULL, u.id, u.status, u.created_at, NULL
FROM unpublished AS u`,
);

/**
 * Marks the ids in $1 (comma-separated) published, and selects what is still unpublished. The SELECT sees
 * the table as it was before the UPDATE, so it leaves those ids out itself. Marks as markPublishedCtes says.
 *
 * The marks commit without waiting for the WAL flush (synchronous_commit off for this transaction only):
 * a mark lost in a crash only means the event is published once more, which streams drop by id. The
 * changes and their events are still committed durably.
 */
export const NEXT_TO_PUBLISH_SQL = preparedStatement(
  'report_events_next_to_publish',
  `
WITH published AS MATERIALIZED (
  SELECT unnest(string_to_array($1, ',')::bigint[]) AS id
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
),
${markPublishedCtes('$1')}
SELECT id, user_id, report_id, status, created_at FROM report_events
WHERE published_at IS NULL AND id NOT IN (SELECT id FROM published)
ORDER BY id
LIMIT $2`,
);

/** The same user lock as the `locked` CTE of MOVES_SQL, for statements built with Kysely. */
export const lockUser = (userId: ReturnType<typeof sql.ref>) =>
  sql<unknown>`pg_advisory_xact_lock(${sql.lit(OUTBOX_LOCK_CLASS)}, hashtext(${userId}::text))`;
