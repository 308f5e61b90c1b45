import { Selectable } from 'kysely';
import { ReportEventsTable, ReportsTable } from '../../store/database';
import { Report, ReportEvent, ReportStatus } from '../report';

// Rows of the reports tables to the domain's Report and ReportEvent: ids as strings, times as ISO text.

export type ReportRow = Selectable<ReportsTable>;
export type EventRow = Pick<
  Selectable<ReportEventsTable>,
  'id' | 'user_id' | 'report_id' | 'status' | 'created_at'
>;

export function toReport(row: ReportRow): Report {
  return {
    userId: row.user_id,
    reportId: row.report_id,
    reportStatus: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toEvent(row: EventRow): ReportEvent {
  return newEvent(String(row.id), row.user_id, row.report_id, row.status, row.created_at);
}

export function eventOf(row: ReportRow & { event_id: string; event_created_at: Date }): ReportEvent {
  return newEvent(row.event_id, row.user_id, row.report_id, row.status, row.event_created_at);
}

/** Field by field, not as `{ ...row, id: row.event_id }`: see `no-restricted-syntax` in eslint.config.mjs. */
export function newEvent(
  id: string,
  userId: string,
  reportId: string,
  status: ReportStatus,
  createdAt: Date,
): ReportEvent {
  return { id, userId, reportId, status, createdAt: createdAt.toISOString() };
}
