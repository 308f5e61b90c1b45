import { AccessRule } from '../auth/access-rule';

/** The commit log of temperature entities: one record per event, keyed by entity id. */
export const TEMPERATURE_TOPIC = 'temperature';

/** How long an entity stream's connection lasts, on its route and in GET /sse. */
export const ENTITY_STREAM_MAX_DURATION_SETTING = 'MAX_SSE_CONNECTION_TIME';

/** Who may read an entity's events (AUTH_MODE=jwt): any valid token; on its route and in GET /sse. */
export const ENTITY_STREAM_ACCESS: AccessRule = { kind: 'subscriber' };
