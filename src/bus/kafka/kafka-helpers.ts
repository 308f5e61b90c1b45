/** Small helpers the Kafka bus parts share. */

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
