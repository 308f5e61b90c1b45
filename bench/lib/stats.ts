/** Rounding and percentiles as the results report them. */
import type { monitorEventLoopDelay } from 'node:perf_hooks';

import type { LatencyHistogram } from './latency-histogram';

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The p-quantile of sorted values (nearest rank), or null when there are none. */
export function percentileOf(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) {
    return null;
  }
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** p50 / p90 / p99 / p99.9 / max of a histogram, in ms. */
export function latencySummary(h: LatencyHistogram): Record<string, number | null> {
  return {
    p50: h.pct(0.5),
    p90: h.pct(0.9),
    p99: h.pct(0.99),
    p999: h.pct(0.999),
    max: h.count === 0 ? null : round(h.maxNs / 1e6, 2),
  };
}

/** Latencies (ms) grouped by the second of the window they belong to: p50, p99, max of each second. */
export function perSecondSummary(perSecond: number[][]): Record<'p50' | 'p99' | 'max', (number | null)[]> {
  const sorted = perSecond.map((values) => Float64Array.from(values).sort());
  const at = (v: Float64Array, p: number): number | null =>
    v.length === 0 ? null : round(percentileOf(v, p) ?? 0, 2);
  return {
    p50: sorted.map((v) => at(v, 0.5)),
    p99: sorted.map((v) => at(v, 0.99)),
    max: sorted.map((v) => (v.length === 0 ? null : round(v[v.length - 1], 2))),
  };
}

/** kB as MB with one decimal, null when there is no reading. */
export function mb(kb: number | undefined): number | null {
  return kb === undefined ? null : round(kb / 1024, 1);
}

/**
 * A load generator's CPU over the measured window (100 = one core), and what the rest of the machine used
 * besides it and the measured processes (`measuredMs`: the server's and, say, the broker's CPU).
 */
export function cpuShares(
  wallMs: number,
  loadgenMs: number,
  [machineStart, machineEnd]: [number | null, number | null],
  measuredMs: number,
): { loadgen_cpu_pct: number; other_cpu_pct: number | null } {
  const pct = (ms: number): number => round((ms / wallMs) * 100, 1);
  const machineMs = machineStart !== null && machineEnd !== null ? machineEnd - machineStart : null;
  return {
    loadgen_cpu_pct: pct(loadgenMs),
    other_cpu_pct: machineMs === null ? null : pct(Math.max(0, machineMs - measuredMs - loadgenMs)),
  };
}

/** cpuShares, and the load generator's event-loop delay. */
export function loadgenFigures(
  wallMs: number,
  loadgenMs: number,
  machine: [number | null, number | null],
  measuredMs: number,
  loopDelay: ReturnType<typeof monitorEventLoopDelay>,
): Record<string, unknown> {
  return {
    ...cpuShares(wallMs, loadgenMs, machine, measuredMs),
    loadgen_loop_delay_ms: loopDelaySummary(loopDelay),
  };
}

/** Event-loop delay of a load generator while measuring: how late a 1 ms timer fired (~0 when idle). */
export function loopDelaySummary(loopDelay: ReturnType<typeof monitorEventLoopDelay>): {
  p99: number;
  max: number;
} {
  return {
    p99: round(Math.max(0, loopDelay.percentile(99) / 1e6 - 1), 1),
    max: round(Math.max(0, loopDelay.max / 1e6 - 1), 1),
  };
}

/** The checks of a load whose events each belong to one stream: what was expected and what came. */
export function deliveryChecks(
  [expected, delivered]: [number, number],
  [lost, lostInWindow]: [number, number],
  duplicates: number,
  reordered: number,
  misdelivered: number,
): Record<string, number> {
  return { expected, delivered, lost, lost_in_window: lostInWindow, duplicates, reordered, misdelivered };
}
