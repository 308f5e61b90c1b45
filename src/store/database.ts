import { Generated, GeneratedAlways } from 'kysely';
import type { ReportStatus } from '../reports/report';

export interface ReportsTable {
  report_id: Generated<string>;
  user_id: string;
  status: ReportStatus;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ReportEventsTable {
  /**
   * `bigint generated always as identity`, read as a decimal string: node-postgres does so by default and
   * PGlite is given a parser (store.module.ts), so ids past 2^53 survive. Comparisons take strings too.
   */
  id: GeneratedAlways<string>;
  user_id: string;
  report_id: string;
  status: ReportStatus;
  created_at: Generated<Date>;
  published_at: Date | null;
}

export interface Database {
  reports: ReportsTable;
  report_events: ReportEventsTable;
}
