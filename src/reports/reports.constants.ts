import type { ReportStatusEventType } from '../multiplex/stream-contract';
import { AccessRule } from '../auth/access-rule';

/** Fan-out topic announcing committed report changes (from the outbox), keyed by user id. */
export const REPORT_UPDATES_TOPIC = 'report_updates';

/** Command topic of status updates from workers, `{"id","status"}`, handled once across instances. */
export const REPORT_COMMANDS_TOPIC = 'v4_messages';

/** Where rejected commands are kept, with the reason. */
export const REPORT_DEAD_LETTER_TOPIC = 'v4_messages.dead-letter';

/** SSE event type of a status change on GET /v4/sse. */
export const REPORT_STATUS_EVENT: ReportStatusEventType = 'report_status_update';

/** The v4 stream's name in metrics and for the per-user cap (GET /v4/sse and `reports:` in GET /sse). */
export const REPORTS_STREAM = 'v4';

/** Who may read a user's report events (AUTH_MODE=jwt): that user; on GET /v4/sse and in GET /sse. */
export const REPORT_STREAM_ACCESS: AccessRule = {
  kind: 'subscriber',
  subjectQuery: 'user_id',
  subjectIgnoresCase: true,
};
