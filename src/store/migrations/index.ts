import { Migration } from 'kysely';
import { reportsMigration } from './0001-reports';
import { reportsFillfactorMigration } from './0002-reports-fillfactor';
import { reportEventsUnpublishedOfUsersMigration } from './0003-report-events-unpublished-of-users';

/**
 * Every migration, by name; Kysely applies them in name order. A static map rather than a folder scan, so
 * the same code runs from dist/ and under ts-jest. Never rename or edit a shipped entry: add one.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-reports': reportsMigration,
  '0002-reports-fillfactor': reportsFillfactorMigration,
  '0003-report-events-unpublished-of-users': reportEventsUnpublishedOfUsersMigration,
};
