/** Every status a report can be in; the state machine decides which moves between them are legal. */
export const REPORT_STATUSES = [
  'pending',
  'queued',
  'processing',
  'completed',
  'failed',
  'canceled',
] as const;

export type ReportStatus = (typeof REPORT_STATUSES)[number];

export interface Report {
  userId: string;
  reportId: string;
  reportStatus: ReportStatus;
  /** ISO 8601, UTC. */
  createdAt: string;
  updatedAt: string;
}

/**
 * A row of the outbox: one per creation and per accepted transition, written in the same transaction as
 * the change. `id` is the SSE event id: a bigint as a decimal string, increasing in commit order per user.
 */
export interface ReportEvent {
  id: string;
  userId: string;
  reportId: string;
  status: ReportStatus;
  /** ISO 8601, UTC. */
  createdAt: string;
}
