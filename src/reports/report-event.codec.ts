import { ParsedRecord } from '../bus/message-bus.interface';
import { parseJsonObject } from '../common/records/json-object';
import { REPORT_STATUSES, ReportEvent, ReportStatus } from './report';

/**
 * The value of a record on `report_updates` (REPORT_UPDATES_TOPIC): a ReportEvent as JSON, keyed by its
 * user. The outbox relay writes it; report streams and the bus's record check read it.
 */
export const encodeReportEvent = (event: ReportEvent): string => JSON.stringify(event);

const EVENT_ID = /^[1-9]\d{0,18}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EVENT_ID = 9_223_372_036_854_775_807n;

/**
 * Reads a record of `report_updates`. Any producer can write to the topic, so nothing is trusted:
 * a value that is not an event as encodeReportEvent writes it, or whose user is not its record key
 * (when it has one), gives the reason instead.
 */
export function decodeReportEvent(value: string, key?: string | null): ReportEvent | { error: string } {
  const parsed = parseJsonObject(value);
  if ('error' in parsed) {
    return parsed;
  }
  const { id, userId, reportId, status, createdAt } = parsed.fields;
  if (typeof id !== 'string' || !EVENT_ID.test(id) || BigInt(id) > MAX_EVENT_ID) {
    return { error: 'id is not a positive 64-bit integer as a decimal string' };
  }
  if (typeof userId !== 'string' || !UUID.test(userId)) {
    return { error: 'userId is not a UUID' };
  }
  if (key !== undefined && key !== null && key !== userId) {
    return { error: `record key ${JSON.stringify(key)} is not the event's userId` };
  }
  if (typeof reportId !== 'string' || !UUID.test(reportId)) {
    return { error: 'reportId is not a UUID' };
  }
  if (typeof status !== 'string' || !(REPORT_STATUSES as readonly string[]).includes(status)) {
    return { error: `status is not one of ${REPORT_STATUSES.join(', ')}` };
  }
  if (typeof createdAt !== 'string') {
    return { error: 'createdAt is not a string' };
  }
  return { id, userId, reportId, status: status as ReportStatus, createdAt };
}

/** The bus's check of `report_updates` records: malformed ones are skipped, logged and counted. */
export function parseReportRecord(value: string, key: string | null): ParsedRecord {
  const event = decodeReportEvent(value, key);
  return 'error' in event ? event : { key: event.userId };
}
