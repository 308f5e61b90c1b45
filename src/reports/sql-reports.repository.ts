import { Inject, Injectable } from '@nestjs/common';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { Database } from '../store/database';
import { KeyedBatcher } from '../store/keyed-batcher';
import { DATABASE } from '../store/store.constants';
import { Report, ReportEvent, ReportStatus } from './report';
import { ReportsRepository, TransitionResult } from './reports.repository';
import { EventRow, eventOf, newEvent, toEvent, toReport } from './sql/report-row.mapper';
import { ANNOUNCE_LIMIT, lockUser, MoveRow, MOVES_SQL, NEXT_TO_PUBLISH_SQL } from './sql/report.statements';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EVENT_ID = /^\d{1,40}$/;
const MAX_BIGINT = 9_223_372_036_854_775_807n;

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
