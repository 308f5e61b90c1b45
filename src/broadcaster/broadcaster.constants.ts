import { AccessRule } from '../auth/access-rule';

/** Topic of the messages broadcast to every client of GET /events. */
export const BROADCAST_TOPIC = 'broadcast';

/** Who may read the broadcast (AUTH_MODE=jwt): any valid token; on GET /events and in GET /sse. */
export const BROADCAST_STREAM_ACCESS: AccessRule = { kind: 'subscriber' };
