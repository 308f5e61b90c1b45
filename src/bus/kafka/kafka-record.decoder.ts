import { IHeaders, KafkaMessage } from 'kafkajs';
import { RecordHeaders } from '../message-bus.interface';

/** What a consumed record holds, as text; or why it cannot be one. */
export type DecodedRecord =
  | {
      readonly key: string | null;
      readonly value: string;
      readonly timestamp: number;
      readonly headers?: RecordHeaders;
    }
  | { readonly error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The largest time a Date holds (ms either side of 1970); a Kafka timestamp may be any int64. */
const MAX_DATE_MS = 8.64e15;

/**
 * Every field of a consumed record is written by whichever producer wrote the record, so none may
 * make a consumer throw: a throw fails the whole batch, kafkajs reads it again, and the topic
 * stalls on every instance. Text the service passes on is never altered, so a key or value that
 * is not UTF-8 makes the record one to skip; metadata that cannot be read is left out instead:
 * a header without a value, or whose value is not UTF-8, and a timestamp that is no time (then the
 * time the record was read).
 */
export function decodeRecord(message: KafkaMessage): DecodedRecord {
  const value = textOf(message.value ?? undefined);
  if (value === undefined) {
    return { error: 'its value is not valid UTF-8' };
  }
  let key: string | null = null;
  if (message.key !== null && message.key !== undefined) {
    const text = textOf(message.key);
    if (text === undefined) {
      return { error: 'its key is not valid UTF-8' };
    }
    key = text;
  }
  return { key, value, timestamp: timestampOf(message.timestamp), headers: textHeadersOf(message.headers) };
}

/** A record's headers as text, or undefined when it has none (most records: nothing is kept). */
function textHeadersOf(headers: IHeaders | undefined): RecordHeaders | undefined {
  if (headers === undefined || headers === null) {
    return undefined;
  }
  let text: Record<string, string | string[]> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    let kept: string | string[] | undefined;
    if (Array.isArray(value)) {
      const values = value.map(headerTextOf).filter((one) => one !== undefined);
      kept = values.length > 1 ? values : values[0];
    } else {
      kept = headerTextOf(value);
    }
    if (kept !== undefined) {
      text ??= {};
      text[name] = kept;
    }
  }
  return text;
}

function headerTextOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? textOf(value) : undefined;
}

/** Empty for no bytes (a tombstone's value); undefined when the bytes are not UTF-8. */
function textOf(bytes: Buffer | undefined): string | undefined {
  if (bytes === undefined) {
    return '';
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function timestampOf(timestamp: unknown): number {
  const ms = typeof timestamp === 'string' || typeof timestamp === 'number' ? Number(timestamp) : NaN;
  // -1 is Kafka's "no timestamp"; others can be far outside what a Date (an ISO string) can hold.
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_DATE_MS ? ms : Date.now();
}
