/**
 * Latency histogram shared by the load generators: 10 µs buckets up to 100 ms, then 1 ms buckets up to
 * 10 min, exact max. Values are recorded in nanoseconds and read back in milliseconds.
 */
import { round } from './stats';

export class LatencyHistogram {
  private readonly fine = new Uint32Array(10_000); // [0, 100 ms) in 10 µs steps
  private readonly coarse = new Uint32Array(600_000); // [100 ms, 600 s) in 1 ms steps
  private overflow = 0;
  count = 0;
  maxNs = 0;

  record(ns: number): void {
    const v = ns < 0 ? 0 : ns;
    this.count++;
    if (v > this.maxNs) {
      this.maxNs = v;
    }
    if (v < 100_000_000) {
      this.fine[Math.floor(v / 10_000)]++;
    } else if (v < 600_000_000_000) {
      this.coarse[Math.floor(v / 1_000_000) - 100]++;
    } else {
      this.overflow++;
    }
  }

  /** Upper edge of the bucket holding the p-quantile, in ms (never above the exact max). */
  percentileMs(p: number): number | null {
    if (this.count === 0) {
      return null;
    }
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let i = 0; i < this.fine.length; i++) {
      seen += this.fine[i];
      if (seen >= rank) {
        return Math.min((i + 1) * 0.01, this.maxNs / 1e6);
      }
    }
    for (let i = 0; i < this.coarse.length; i++) {
      seen += this.coarse[i];
      if (seen >= rank) {
        return Math.min(100 + i + 1, this.maxNs / 1e6);
      }
    }
    return this.maxNs / 1e6;
  }

  summary(): { p50: number | null; p99: number | null; max: number | null } {
    return {
      p50: this.pct(0.5),
      p99: this.pct(0.99),
      max: this.count === 0 ? null : round(this.maxNs / 1e6, 2),
    };
  }

  /** percentileMs rounded to 0.01 ms, as the results report it. */
  pct(p: number): number | null {
    const v = this.percentileMs(p);
    return v === null ? null : round(v, 2);
  }
}
