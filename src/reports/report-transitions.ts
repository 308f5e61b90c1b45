import { ReportStatus } from './report';

/** The eight legal transitions of SPEC 2.4, as target status → the statuses it may come from. */
const SOURCES: Readonly<Record<ReportStatus, readonly ReportStatus[]>> = {
  pending: ['failed', 'canceled'],
  queued: ['pending'],
  processing: ['queued'],
  completed: ['processing'],
  failed: ['processing'],
  canceled: ['pending', 'queued'],
};

/** The statuses a report may be in to become `to`. */
export const allowedSources = (to: ReportStatus): readonly ReportStatus[] => SOURCES[to];

/** Where a report in `from` may go next. */
export const nextStatuses = (from: ReportStatus): ReportStatus[] =>
  (Object.keys(SOURCES) as ReportStatus[]).filter((to) => SOURCES[to].includes(from));
