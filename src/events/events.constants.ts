/** Topic of the per-user messages of the v2 streams. */
export const USER_MESSAGES_TOPIC = 'v2_messages';

/** Topic of the v3 streams: `username:message` records, from this service or any Kafka producer. */
export const V3_MESSAGES_TOPIC = 'v3_messages';
