/** Topic of the per-user messages of the v2 streams. */
export const USER_MESSAGES_TOPIC = 'v2_messages';
