/** Topic of the messages broadcast to every client of GET /events. */
export const BROADCAST_TOPIC = 'broadcast';
