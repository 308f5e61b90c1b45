import { AccessRule } from '../auth/access-rule';

/** The setting that opens Kafka topics to clients: named in errors and logs. */
export const KAFKA_SSE_TOPICS_SETTING = 'KAFKA_SSE_TOPICS';

/** Under AUTH_MODE=jwt, reading GET /kafka/<topic>/sse needs the scope `kafka:<topic>`. */
export const KAFKA_TOPIC_SCOPE_PREFIX = 'kafka:';

/** Who may read a topic's stream, on its own route and in GET /sse. */
export const KAFKA_TOPIC_STREAM_ACCESS: AccessRule = {
  kind: 'scoped-subscriber',
  scopePrefix: KAFKA_TOPIC_SCOPE_PREFIX,
  scopeParam: 'topic',
};

export const kafkaTopicScope = (topic: string): string => `${KAFKA_TOPIC_SCOPE_PREFIX}${topic}`;

/** Longest record key a client may name (?key=), in characters. */
export const MAX_RECORD_KEY_LENGTH = 256;
