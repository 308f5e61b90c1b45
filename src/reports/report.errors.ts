import { ReportStatus } from './report';
import { nextStatuses } from './report-status.machine';

/** No report with this id belongs to this user (it may not exist, or be another user's). */
export class ReportNotFoundError extends Error {
  constructor(
    readonly userId: string,
    readonly reportId: string,
  ) {
    super(`Report ${reportId} was not found for user ${userId}`);
    this.name = ReportNotFoundError.name;
  }
}

/** The status machine does not allow `requested` from where the report is now; the message says where it can go. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly reportId: string,
    readonly current: ReportStatus,
    readonly requested: ReportStatus,
  ) {
    const next = nextStatuses(current);
    super(
      `Report ${reportId} is ${current}; it cannot become ${requested}` +
        (next.length > 0
          ? ` (from ${current} it can become ${next.join(' or ')})`
          : ` (${current} is final)`),
    );
    this.name = IllegalTransitionError.name;
  }
}
