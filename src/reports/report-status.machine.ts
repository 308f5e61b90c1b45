import { REPORT_STATUSES, ReportStatus } from './report';

/**
 * The report status machine, defined here and nowhere else: where a report in each status may go
 * next. The service enforces it, `GET /v4/transitions` hands it to the reports page and to
 * update_report_status.sh, and the API description of `PUT /v4/report` is written from it.
 */
export const REPORT_TRANSITIONS: Readonly<Record<ReportStatus, readonly ReportStatus[]>> = {
  pending: ['queued', 'canceled'],
  queued: ['processing', 'canceled'],
  processing: ['completed', 'failed'],
  completed: [],
  failed: ['pending'],
  canceled: ['pending'],
};

/** Target status → the statuses it may come from: what the transition statement checks. */
const SOURCES = new Map<ReportStatus, readonly ReportStatus[]>(
  REPORT_STATUSES.map((to) => [to, REPORT_STATUSES.filter((from) => REPORT_TRANSITIONS[from].includes(to))]),
);

/** The statuses a report may be in to become `to`. */
export const allowedSources = (to: ReportStatus): readonly ReportStatus[] => SOURCES.get(to) ?? [];

/** Where a report in `from` may go next (empty for a final status). */
export const nextStatuses = (from: ReportStatus): readonly ReportStatus[] => REPORT_TRANSITIONS[from];

/** `pending→queued|canceled, queued→processing|canceled, …`: the legal moves in one line, final statuses left out. */
export const describeTransitions = (): string =>
  REPORT_STATUSES.filter((from) => REPORT_TRANSITIONS[from].length > 0)
    .map((from) => `${from}→${REPORT_TRANSITIONS[from].join('|')}`)
    .join(', ');
