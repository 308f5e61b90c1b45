/** Progress goes to stderr, so stdout carries only the JSON result lines. */

/** A line of the orchestrator (run.ts). */
export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** A line of a load generator, indented under the orchestrator's. */
export function logStep(msg: string): void {
  process.stderr.write(`[bench]   ${msg}\n`);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Counts by key (errors by reason, answers by status, ...), as a JSON object. */
export class Tally {
  readonly counts: Record<string, number> = {};

  add(key: string): void {
    this.counts[key] = (this.counts[key] ?? 0) + 1;
  }

  get size(): number {
    return Object.keys(this.counts).length;
  }
}
