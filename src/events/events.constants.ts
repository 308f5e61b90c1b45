import { AccessRule } from '../auth/access-rule';

/** Topic of the per-user messages of the v2 streams. */
export const USER_MESSAGES_TOPIC = 'v2_messages';

/** Topic of the v3 streams: `username:message` records, from this service or any Kafka producer. */
export const V3_MESSAGES_TOPIC = 'v3_messages';

/** Who may read a user's v2 or v3 messages (AUTH_MODE=jwt): that user; on their route and in GET /sse. */
export const USER_STREAM_ACCESS: AccessRule = { kind: 'subscriber', subjectQuery: 'username' };
