import { Report, ReportEvent, ReportStatus } from './report';

/** Injection token of the ReportsRepository implementation. */
export const REPORTS_REPOSITORY = Symbol('REPORTS_REPOSITORY');

export type TransitionResult =
  | {
      kind: 'changed';
      report: Report;
      event: ReportEvent;
      /**
       * What to publish now that the change is committed: the unpublished events of every user the same
       * statement changed, `event` among them, in id order, each user's complete from its oldest
       * unpublished one (see OutboxRelay.announce). The same array for every change of one statement;
       * empty when that backlog is too long to carry here, which leaves it to the relay's sweep.
       */
      announce: readonly ReportEvent[];
    }
  /** No such report, or it belongs to another user. */
  | { kind: 'not-found' }
  /** The report exists but its status is not one the move starts from. */
  | { kind: 'conflict'; current: ReportStatus };

/**
 * Reports and their outbox of status events. Every write that changes a report also writes the event
 * announcing it, atomically, so an accepted change is never lost and never announced without happening.
 *
 * Ids are UUIDs; a malformed one matches nothing (not-found, an empty list), except in `create`, which
 * throws. Event ids are bigints as decimal strings, and a user's events commit in id order: a reader that
 * has seen id N will never later find a lower id for that user (see SqlReportsRepository).
 */
export interface ReportsRepository {
  /** A new report in `pending`, and the event announcing it, in one transaction. */
  create(userId: string): Promise<{ report: Report; event: ReportEvent }>;

  /** The user a report belongs to; undefined when there is no such report. For updates that name no user. */
  ownerOf(reportId: string): Promise<string | undefined>;

  /** The user's reports, oldest first. */
  listByUser(userId: string): Promise<Report[]>;

  /**
   * Moves the report to `to` if, at that instant, its status is one of `allowedFrom`; the check and the
   * write are one statement, so of many racing conflicting moves exactly one changes the report. The
   * event is written in the same statement.
   */
  transition(
    userId: string,
    reportId: string,
    to: ReportStatus,
    allowedFrom: readonly ReportStatus[],
  ): Promise<TransitionResult>;

  /** The user's events with an id above `afterId` ('0': from the first), oldest first, at most `limit`. */
  eventsAfter(userId: string, afterId: string, limit: number): Promise<ReportEvent[]>;

  /** The id of the user's newest event, '0' when there is none: where a stream that starts now resumes. */
  latestEventId(userId: string): Promise<string>;

  /** The id of the newest event of any user, '0' when there is none: no real event has a higher one. */
  maxEventId(): Promise<string>;

  /**
   * The relay's sweep: writes the marks recorded so far, then returns the events still unpublished, oldest
   * first, at most `limit`.
   */
  nextToPublish(limit: number): Promise<ReportEvent[]>;

  /**
   * Records that these events were published. The marks ride on the next statement the repository runs
   * (a transition's or `nextToPublish`'s) rather than costing one of their own; until then the events may
   * be handed out again, which streams drop by id. Unknown or malformed ids are ignored.
   */
  markPublished(ids: readonly string[]): void;

  /** Whether marks recorded by `markPublished` are still waiting for a statement to carry them. */
  hasUnwrittenMarks(): boolean;
}
