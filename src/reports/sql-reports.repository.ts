import { Inject, Injectable } from '@nestjs/common';
import { CompiledQuery, Kysely, Selectable, sql } from 'kysely';
import { Database, ReportEventsTable, ReportsTable } from '../store/database';
import { KeyedBatcher } from '../store/keyed-batcher';
import { preparedStatement } from '../store/prepared-statements';
import { DATABASE } from '../store/store.constants';
import { Report, ReportEvent, ReportStatus } from './report';
import { ReportsRepository, TransitionResult } from './reports.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_ID = /^\d{1,40}$/;
const MAX_BIGINT = 9_223_372_036_854_775_807n;

/**
 * First key of the two-key advisory lock that orders a user's outbox inserts ('RPRT'); the second is a
 * hash of the user id. Two-key locks never collide with Kysely's one-key migration lock.
 */
export const OUTBOX_LOCK_CLASS = 0x52505254;

/** The statement that found the report in an allowed status could lose it to a racing move; ask again. */
const TRANSITION_ATTEMPTS = 3;

/** Group commit of transitions (see KeyedBatcher): moves per statement, and statements at once. */
const MOVES_PER_STATEMENT = 256;
const MOVE_STATEMENTS_IN_FLIGHT = 1;

interface Move {
  userId: string;
  reportId: string;
  to: ReportStatus;
  allowedFrom: readonly ReportStatus[];
}

type MoveOutcome = TransitionResult | { kind: 'retry'; current: ReportStatus };

/**
 * A row of MOVES_SQL: a move's (ord set) with its event when it changed, else the status it found; or an
 * unpublished event of a changed user (ord null).
 */
interface MoveRow {
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
 * The CTEs `to_mark` and `marked` of both statements that write marks: mark published the events whose
 * ids the text parameter `parameter` holds, comma-separated. `to_mark` locks those rows, skipping rows
 * another transaction is marking (never waiting on them, so marks add no lock wait and cannot deadlock),
 * and `marked` marks those not marked yet. Both find rows by primary key: a condition
 * `published_at IS NULL` on report_events itself would let the planner scan a partial index instead, and
 * those hold an entry for every event marked since the last vacuum (tens of thousands under load).
 */
const markPublishedCtes = (parameter: string): string => `to_mark AS MATERIALIZED (
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
const ANNOUNCE_LIMIT = 200;

/**
 * The moves of `runMoves`, one per report, as a JSON array in $1; the ids of events to mark published in
 * $2 (comma-separated); ANNOUNCE_LIMIT in $3.
 *
 * `input` keeps each move's place (ord); `changed` is every conditional UPDATE; `locked` takes the changed
 * users' locks, sorted, once all rows are updated; `announced` draws the event ids after the locks (its
 * source rows join `locked`), in move order. `to_mark` and `marked` write the marks (markPublishedCtes).
 * `unpublished` reads the changed users' unpublished events through a function that takes a fresh
 * snapshot after the locks (see the 0003 migration). Every move comes back, with its event when it
 * changed, else with the status it found; then the unpublished events, with ord null.
 */
const MOVES_SQL = preparedStatement(
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
 * The ReportsRepository on PostgreSQL or PGlite, with the same SQL.
 *
 * Event ids and commit order. An identity column hands out ids when rows are inserted, not when they
 * commit, so with concurrent transactions id 7 can become visible after id 8; a stream that resumed after
 * 8 would never see 7. Each write therefore takes a transaction-scoped advisory lock keyed by the user,
 * after its UPDATE or INSERT on `reports` and before the outbox insert draws its id, and holds it until
 * commit. PostgreSQL makes a commit visible before it releases the transaction's locks, so for any one
 * user ids commit in increasing order: once a reader sees id N for a user, every lower id of that user is
 * visible too. `eventsAfter(user, N)` and the relay can then page by id without ever skipping a row.
 *
 * Only the same user's writes wait for each other, for the time of one insert and its commit; different
 * users, and reads, never do. A global lock would also order ids across users, which nothing needs (the
 * relay selects by `published_at IS NULL`, not by a cursor), and would put every write in the service
 * behind one lock. The lock is always the last one a statement takes, so it adds no deadlock. PGlite runs
 * one statement at a time and would be ordered anyway; the same SQL keeps one code path.
 *
 * Each write is one statement (data-modifying CTEs): atomic without BEGIN/COMMIT round trips, and the
 * lock is held for the shortest possible time. The lock CTE is MATERIALIZED and joined into the outbox
 * insert's source rows, so it is taken before the insert evaluates the id default. Transitions are
 * group-committed (KeyedBatcher): the moves that arrive together share one such statement and one commit.
 *
 * Announcing. A transition statement also returns the unpublished events of the users it changed, read by
 * a function that takes its own snapshot after the locks: since each user's ids commit in order, that
 * snapshot holds every event of theirs below the new ones. For each such user the list runs without a gap
 * from the oldest unpublished event to the newest: any lower id left out was marked published, so it was
 * published before. Published in id order after the commit (OutboxRelay.announce), the events reach
 * streams without waiting for a relay pass, and in order. Marks of published events ride on the next
 * statement, whichever it is (markPublished): one statement per group of transitions, not two.
 */
@Injectable()
export class SqlReportsRepository implements ReportsRepository {
  private readonly moves: KeyedBatcher<Move, MoveOutcome>;
  /** Ids of published events whose marks wait for the next statement (see markPublished). */
  private unwrittenMarks: string[] = [];

  constructor(@Inject(DATABASE) private readonly db: Kysely<Database>) {
    this.moves = new KeyedBatcher({
      run: (moves) => this.runMoves(moves),
      maxBatch: MOVES_PER_STATEMENT,
      maxInFlight: MOVE_STATEMENTS_IN_FLIGHT,
    });
  }

  async create(userId: string): Promise<{ report: Report; event: ReportEvent }> {
    if (!UUID.test(userId)) {
      throw new TypeError(`user id ${JSON.stringify(userId)} is not a UUID`);
    }
    const row = await this.db
      .with('created', (db) =>
        db.insertInto('reports').values({ user_id: userId, status: 'pending' }).returningAll(),
      )
      .with(
        (cte) => cte('locked').materialized(),
        (db) => db.selectFrom('created').select(lockUser(sql.ref('created.user_id')).as('locked')),
      )
      .with('announced', (db) =>
        db
          .insertInto('report_events')
          .columns(['user_id', 'report_id', 'status'])
          .expression((eb) =>
            eb
              .selectFrom(['created', 'locked'])
              .select(['created.user_id', 'created.report_id', 'created.status']),
          )
          .returningAll(),
      )
      .selectFrom('created')
      .innerJoin('announced', 'announced.report_id', 'created.report_id')
      .selectAll('created')
      .select(['announced.id as event_id', 'announced.created_at as event_created_at'])
      .executeTakeFirstOrThrow();
    return { report: toReport(row), event: eventOf(row) };
  }

  async ownerOf(reportId: string): Promise<string | undefined> {
    if (!UUID.test(reportId)) {
      return undefined;
    }
    const row = await this.db
      .selectFrom('reports')
      .select('user_id')
      .where('report_id', '=', reportId)
      .executeTakeFirst();
    return row?.user_id;
  }

  async listByUser(userId: string): Promise<Report[]> {
    if (!UUID.test(userId)) {
      return [];
    }
    const rows = await this.db
      .selectFrom('reports')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('report_id')
      .execute();
    return rows.map(toReport);
  }

  transition(
    userId: string,
    reportId: string,
    to: ReportStatus,
    allowedFrom: readonly ReportStatus[],
  ): Promise<TransitionResult> {
    if (!UUID.test(userId) || !UUID.test(reportId)) {
      return Promise.resolve({ kind: 'not-found' });
    }
    return this.attempt({ userId, reportId, to, allowedFrom }, 1);
  }

  private async attempt(move: Move, attempt: number): Promise<TransitionResult> {
    const outcome = await this.moves.submit(move.reportId.toLowerCase(), move);
    if (outcome.kind !== 'retry') {
      return outcome;
    }
    // The report was in an allowed status when the statement began, but a racing move changed it first.
    return attempt < TRANSITION_ATTEMPTS
      ? this.attempt(move, attempt + 1)
      : { kind: 'conflict', current: outcome.current };
  }

  /**
   * Many moves in one statement: each report's conditional UPDATE, and one outbox event per changed
   * report, as `move` did for one. The user locks are taken in one order (by key) after every UPDATE, so
   * two such statements never wait on each other's locks in a cycle. For a report left unchanged, the
   * status it had when the statement began tells not-found, conflict, or lost-a-race (try again).
   */
  private async runMoves(moves: readonly Move[]): Promise<MoveOutcome[]> {
    const input = JSON.stringify(
      moves.map((move, ord) => ({
        ord,
        user_id: move.userId,
        report_id: move.reportId,
        status: move.to,
        allowed: move.allowedFrom,
      })),
    );
    const rows = await this.withMarks((marks) =>
      this.db
        .executeQuery<MoveRow>(CompiledQuery.raw(MOVES_SQL, [input, marks, ANNOUNCE_LIMIT]))
        .then((result) => result.rows),
    );
    const byOrd = new Map<number, MoveRow>();
    const events = new Map<string, ReportEvent>(); // this statement's and the unpublished ones, by id
    let unpublishedRows = 0;
    for (const row of rows) {
      if (row.ord !== null) {
        byOrd.set(row.ord, row);
      } else {
        unpublishedRows++;
      }
      if (row.event_id !== null && row.event_status !== null && row.event_created_at !== null) {
        events.set(
          row.event_id,
          newEvent(row.event_id, row.user_id, row.report_id, row.event_status, row.event_created_at),
        );
      }
    }
    // A longer backlog may have been cut short, and then this statement's events cannot go out before it.
    const announce = unpublishedRows < ANNOUNCE_LIMIT ? [...events.values()].sort(byEventId) : [];
    return moves.map((move, ord): MoveOutcome => {
      const row = byOrd.get(ord);
      const event = row?.event_id ? events.get(row.event_id) : undefined;
      if (row?.created_at && row.updated_at && event) {
        const report: Report = {
          userId: row.user_id,
          reportId: row.report_id,
          reportStatus: move.to,
          createdAt: row.created_at.toISOString(),
          updatedAt: row.updated_at.toISOString(),
        };
        return { kind: 'changed', report, event, announce };
      }
      if (!row?.current_status) {
        return { kind: 'not-found' };
      }
      return move.allowedFrom.includes(row.current_status)
        ? { kind: 'retry', current: row.current_status }
        : { kind: 'conflict', current: row.current_status };
    });
  }

  markPublished(ids: readonly string[]): void {
    for (const id of ids) {
      if (EVENT_ID.test(id) && BigInt(id) <= MAX_BIGINT) {
        this.unwrittenMarks.push(id);
      }
    }
  }

  hasUnwrittenMarks(): boolean {
    return this.unwrittenMarks.length > 0;
  }

  /**
   * Runs a statement that writes the marks recorded so far (comma-separated); if it fails, they wait for
   * the next one.
   */
  private async withMarks<T>(statement: (marks: string) => Promise<T>): Promise<T> {
    const marks = this.unwrittenMarks;
    this.unwrittenMarks = [];
    try {
      return await statement(marks.join(','));
    } catch (error) {
      this.unwrittenMarks.push(...marks);
      throw error;
    }
  }

  async eventsAfter(userId: string, afterId: string, limit: number): Promise<ReportEvent[]> {
    const after = parseEventId(afterId);
    if (!UUID.test(userId) || after === MAX_BIGINT) {
      return [];
    }
    const rows = await this.db
      .selectFrom('report_events')
      .select(['id', 'user_id', 'report_id', 'status', 'created_at'])
      .where('user_id', '=', userId)
      .where('id', '>', after.toString())
      .orderBy('id')
      .limit(positive(limit))
      .execute();
    return rows.map(toEvent);
  }

  async latestEventId(userId: string): Promise<string> {
    if (!UUID.test(userId)) {
      return '0';
    }
    const row = await this.db
      .selectFrom('report_events')
      .select(sql<string>`coalesce(max(id), 0)::text`.as('id'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async maxEventId(): Promise<string> {
    const row = await this.db
      .selectFrom('report_events')
      .select(sql<string>`coalesce(max(id), 0)::text`.as('id'))
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async nextToPublish(limit: number): Promise<ReportEvent[]> {
    const max = positive(limit);
    const rows = await this.withMarks((marks) =>
      this.db
        .executeQuery<EventRow>(CompiledQuery.raw(NEXT_TO_PUBLISH_SQL, [marks, max]))
        .then((result) => result.rows),
    );
    return rows.map(toEvent);
  }
}

/**
 * Marks the ids in $1 (comma-separated) published, and selects what is still unpublished. The SELECT sees
 * the table as it was before the UPDATE, so it leaves those ids out itself. Marks as markPublishedCtes says.
 *
 * The marks commit without waiting for the WAL flush (synchronous_commit off for this transaction only):
 * a mark lost in a crash only means the event is published once more, which streams drop by id. The
 * changes and their events are still committed durably.
 */
const NEXT_TO_PUBLISH_SQL = preparedStatement(
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

const lockUser = (userId: ReturnType<typeof sql.ref>) =>
  sql<unknown>`pg_advisory_xact_lock(${sql.lit(OUTBOX_LOCK_CLASS)}, hashtext(${userId}::text))`;

const byEventId = (a: ReportEvent, b: ReportEvent): number => {
  const difference = BigInt(a.id) - BigInt(b.id);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
};

function parseEventId(id: string): bigint {
  if (!EVENT_ID.test(id)) {
    throw new RangeError(`event id ${JSON.stringify(id)} is not a non-negative integer`);
  }
  const value = BigInt(id);
  return value > MAX_BIGINT ? MAX_BIGINT : value;
}

function positive(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit ${limit} is not a positive integer`);
  }
  return limit;
}

type ReportRow = Selectable<ReportsTable>;
type EventRow = Pick<Selectable<ReportEventsTable>, 'id' | 'user_id' | 'report_id' | 'status' | 'created_at'>;

function toReport(row: ReportRow): Report {
  return {
    userId: row.user_id,
    reportId: row.report_id,
    reportStatus: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toEvent(row: EventRow): ReportEvent {
  return newEvent(String(row.id), row.user_id, row.report_id, row.status, row.created_at);
}

function eventOf(row: ReportRow & { event_id: string; event_created_at: Date }): ReportEvent {
  return newEvent(row.event_id, row.user_id, row.report_id, row.status, row.event_created_at);
}

/** Field by field, not as `{ ...row, id: row.event_id }`: see `no-restricted-syntax` in eslint.config.mjs. */
function newEvent(
  id: string,
  userId: string,
  reportId: string,
  status: ReportStatus,
  createdAt: Date,
): ReportEvent {
  return { id, userId, reportId, status, createdAt: createdAt.toISOString() };
}
