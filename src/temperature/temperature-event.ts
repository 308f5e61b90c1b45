import { ParsedRecord } from '../bus/message-bus.interface';
import { parseJsonObject } from '../common/records/json-object';
import type { TemperatureEvent } from '../multiplex/stream-contract';

export const ENTITY_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

/** The event shapes are part of the stream contract that the client shares. */
export type { TemperatureEvent };

/** What the topic holds: the event as JSON. The entity id is also the record key. */
export const encodeTemperatureEvent = (event: TemperatureEvent): string => JSON.stringify(event);

/**
 * Reads a record of the temperature topic, from this service or another producer: JSON with a
 * `type` of Registered or TemperatureRead (with a finite `temperature`), for the entity named by
 * the record key or by an `entityId` field (they must agree when both are given).
 */
export function decodeTemperatureEvent(
  value: string,
  key: string | null,
): TemperatureEvent | { error: string } {
  const parsed = parseJsonObject(value);
  if ('error' in parsed) {
    return parsed;
  }
  const { fields } = parsed;
  const named = fields.entityId;
  if (named !== undefined && typeof named !== 'string') {
    return { error: 'entityId is not a string' };
  }
  if (key !== null && named !== undefined && key !== named) {
    return { error: `record key ${JSON.stringify(key)} and entityId ${JSON.stringify(named)} differ` };
  }
  const entityId = named ?? key;
  if (entityId === null || !ENTITY_ID_PATTERN.test(entityId)) {
    return { error: 'no valid entity id (record key or entityId: 1-64 of A-Z a-z 0-9 . _ ~ -)' };
  }
  switch (fields.type) {
    case 'Registered':
      return { type: 'Registered', entityId };
    case 'TemperatureRead':
      if (typeof fields.temperature !== 'number' || !Number.isFinite(fields.temperature)) {
        return { error: 'TemperatureRead without a finite number in temperature' };
      }
      return { type: 'TemperatureRead', entityId, temperature: fields.temperature };
    default:
      return { error: 'type is neither Registered nor TemperatureRead' };
  }
}

export function parseTemperatureRecord(value: string, key: string | null): ParsedRecord {
  const event = decodeTemperatureEvent(value, key);
  return 'error' in event ? event : { key: event.entityId };
}
