import { AccessRule } from '../auth/access-rule';

/** Topic of the per-user messages of the v2 streams. */
export const USER_MESSAGES_TOPIC = 'v2_messages';

/** Topic of the v3 streams: `username:message` records, from this service or any Kafka producer. */
export const V3_MESSAGES_TOPIC = 'v3_messages';

/**
 * The v2 and v3 streams' names in metrics and for the per-user cap: a connection of GET /sse that
 * carries `v2:<user>` counts against the same cap as GET /v2/sse.
 */
export const V2_STREAM = 'v2';
export const V3_STREAM = 'v3';

/** Who may read a user's v2 or v3 messages (AUTH_MODE=jwt): that user; on their route and in GET /sse. */
export const USER_STREAM_ACCESS: AccessRule = { kind: 'subscriber', subjectQuery: 'username' };
