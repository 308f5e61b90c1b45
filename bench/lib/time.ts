/** Timing shared by every bench process: one monotonic clock, sleeping, waiting for a condition. */

const T0 = process.hrtime.bigint();

/** Nanoseconds since this process started (monotonic, exact in a double for days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint() - T0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 5 ms; rejects after `timeoutMs` with `timed out waiting for <what>`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(5);
  }
}

/** A promise and the function that resolves it, for phases that end from a callback. */
export function signal(): { done: Promise<void>; fire: () => void } {
  let fire: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { done, fire };
}
