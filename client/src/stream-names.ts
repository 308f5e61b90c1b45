import type { StreamName } from '../../src/multiplex/stream-contract.js';

/** Longest stream name the gateway takes. */
const MAX_NAME_LENGTH = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ENTITY_ID = /^[A-Za-z0-9._~-]{1,64}$/;
const CONTROL = /\p{Cc}/u;

/**
 * What is wrong with a stream name, checked here so a typo fails at `subscribe` rather than as a
 * 400 of the whole connection; undefined when the gateway may take it. The gateway checks again
 * (a Kafka topic must also be listed in its KAFKA_SSE_TOPICS).
 */
export function streamNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') {
    return `stream name ${String(name)} is not a string`;
  }
  const quoted = JSON.stringify(name);
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || CONTROL.test(name)) {
    return `stream ${quoted} is malformed: 1-${MAX_NAME_LENGTH} characters without control characters`;
  }
  const colon = name.indexOf(':');
  const prefix = colon < 0 ? name : name.slice(0, colon);
  const parameter = colon < 0 ? undefined : name.slice(colon + 1);
  switch (prefix) {
    case 'broadcast':
      return parameter === undefined
        ? undefined
        : `stream ${quoted} is malformed: broadcast takes no parameter`;
    case 'v2':
    case 'v3':
      if (!parameter || parameter.length > 128) {
        return `stream ${quoted} is malformed (${prefix}:<username>): a user name of 1-128 characters`;
      }
      return prefix === 'v3' && parameter.includes(':')
        ? `stream ${quoted} is malformed (v3:<username>): a v3 user name has no ":"`
        : undefined;
    case 'reports':
      return parameter !== undefined && UUID.test(parameter)
        ? undefined
        : `stream ${quoted} is malformed (reports:<user uuid>): not a UUID`;
    case 'temperature':
      return parameter !== undefined && ENTITY_ID.test(parameter)
        ? undefined
        : `stream ${quoted} is malformed (temperature:<entity id>): 1-64 of A-Z a-z 0-9 . _ ~ -`;
    case 'kafka':
      return parameter && !parameter.startsWith(':')
        ? undefined
        : `stream ${quoted} is malformed (kafka:<topic>[:<key>]): it needs a topic after the colon`;
    default:
      return `stream ${quoted} is unknown: streams are broadcast, v2:<username>, v3:<username>, reports:<user uuid>, temperature:<entity id>, kafka:<topic>[:<key>]`;
  }
}

/** Throws a TypeError naming the stream when the gateway would refuse its name. */
export function checkStreamName(name: unknown): asserts name is StreamName {
  const problem = streamNameProblem(name);
  if (problem !== undefined) {
    throw new TypeError(problem);
  }
}
