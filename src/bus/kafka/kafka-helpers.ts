import { IHeaders } from 'kafkajs';
import { RecordHeaders } from '../message-bus.interface';

/** Small helpers the Kafka bus parts share. */

/** A record's headers as text, or undefined when it has none (most records: nothing is kept). */
export function textHeadersOf(headers: IHeaders | undefined): RecordHeaders | undefined {
  if (headers === undefined) {
    return undefined;
  }
  let text: Record<string, string | string[]> | undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) {
      continue;
    }
    text ??= {};
    text[name] = Array.isArray(value) ? value.map((one) => one.toString()) : value.toString();
  }
  return text;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Waits for a promise at most `ms`. By default a timeout or a failure just ends the wait; given
 * what is awaited, both reject instead.
 */
export async function withTimeout<T>(
  promise: Promise<T> | undefined,
  ms: number,
  what?: string,
): Promise<T | void> {
  const strict = what !== undefined;
  if (!promise) {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => (strict ? reject(new Error(`Kafka did not answer ${what} within ${ms} ms`)) : resolve()),
      ms,
    );
  });
  try {
    return await Promise.race([
      promise.catch((error: unknown) => {
        if (strict) {
          throw error;
        }
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
