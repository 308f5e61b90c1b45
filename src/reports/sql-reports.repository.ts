import { Inject, Injectable } from '@nestjs/common';
import { Kysely, Selectable, sql } from 'kysely';
import { Database, ReportEventsTable, ReportsTable } from '../store/database';
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
 * insert's source rows, so it is taken before the insert evaluates the id default.
 */
@Injectable()
export class SqlReportsRepository implements ReportsRepository {
  constructor(@Inject(DATABASE) private readonly db: Kysely<Database>) {}

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

  async transition(
    userId: string,
    reportId: string,
    to: ReportStatus,
    allowedFrom: readonly ReportStatus[],
  ): Promise<TransitionResult> {
    if (!UUID.test(userId) || !UUID.test(reportId)) {
      return { kind: 'not-found' };
    }
    for (let attempt = 1; ; attempt++) {
      const changed = allowedFrom.length > 0 ? await this.move(userId, reportId, to, allowedFrom) : undefined;
      if (changed) {
        return { kind: 'changed', report: toReport(changed), event: eventOf(changed) };
      }
      const current = await this.db
        .selectFrom('reports')
        .select('status')
        .where('report_id', '=', reportId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!current) {
        return { kind: 'not-found' };
      }
      if (!allowedFrom.includes(current.status) || attempt === TRANSITION_ATTEMPTS) {
        return { kind: 'conflict', current: current.status };
      }
    }
  }

  /** The conditional UPDATE and its outbox event, in one statement; undefined when no row matched. */
  private move(userId: string, reportId: string, to: ReportStatus, allowedFrom: readonly ReportStatus[]) {
    return this.db
      .with('changed', (db) =>
        db
          .updateTable('reports')
          .set({ status: to, updated_at: sql<Date>`now()` })
          .where('report_id', '=', reportId)
          .where('user_id', '=', userId)
          .where('status', 'in', allowedFrom)
          .returningAll(),
      )
      .with(
        (cte) => cte('locked').materialized(),
        (db) => db.selectFrom('changed').select(lockUser(sql.ref('changed.user_id')).as('locked')),
      )
      .with('announced', (db) =>
        db
          .insertInto('report_events')
          .columns(['user_id', 'report_id', 'status'])
          .expression((eb) =>
            eb
              .selectFrom(['changed', 'locked'])
              .select(['changed.user_id', 'changed.report_id', 'changed.status']),
          )
          .returningAll(),
      )
      .selectFrom('changed')
      .innerJoin('announced', 'announced.report_id', 'changed.report_id')
      .selectAll('changed')
      .select(['announced.id as event_id', 'announced.created_at as event_created_at'])
      .executeTakeFirst();
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

  async unpublished(limit: number): Promise<ReportEvent[]> {
    const rows = await this.db
      .selectFrom('report_events')
      .select(['id', 'user_id', 'report_id', 'status', 'created_at'])
      .where('published_at', 'is', null)
      .orderBy('id')
      .limit(positive(limit))
      .execute();
    return rows.map(toEvent);
  }

  async markPublished(ids: readonly string[]): Promise<void> {
    const valid = ids.filter((id) => EVENT_ID.test(id) && BigInt(id) <= MAX_BIGINT);
    if (valid.length === 0) {
      return;
    }
    await this.db
      .updateTable('report_events')
      .set({ published_at: sql<Date>`now()` })
      .where('id', 'in', valid)
      .where('published_at', 'is', null)
      .execute();
  }
}

const lockUser = (userId: ReturnType<typeof sql.ref>) =>
  sql<unknown>`pg_advisory_xact_lock(${sql.lit(OUTBOX_LOCK_CLASS)}, hashtext(${userId}::text))`;

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
  return {
    id: String(row.id),
    userId: row.user_id,
    reportId: row.report_id,
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

function eventOf(row: ReportRow & { event_id: string; event_created_at: Date }): ReportEvent {
  return toEvent({ ...row, id: row.event_id, created_at: row.event_created_at });
}
