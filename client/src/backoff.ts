/**
 * Delays between reconnects: exponential from the server's `retry:` hint, with full jitter between
 * half and all of it so that clients cut off together do not return together, capped, and never
 * shorter than a `Retry-After` the server sent with a 429 or 503.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The server's `retry:` hint: the base of every delay from now on. */
  set retryHint(ms: number) {
    this.baseMs = ms;
  }

  /** A connection got through: the next failure starts from the base again. */
  reset(): void {
    this.attempt = 0;
  }

  next(retryAfterMs?: number): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    const jittered = ceiling / 2 + (this.random() * ceiling) / 2;
    return Math.max(jittered, retryAfterMs ?? 0);
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') {
    return undefined;
  }
  if (/^\d+$/.test(header.trim())) {
    return Number(header.trim()) * 1000;
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
