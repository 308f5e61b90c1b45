/**
 * slow-readers: latency-250 with 4096-byte messages (BENCH_PAYLOAD_BYTES is ignored) plus 25 stalled
 * readers (BENCH_STALLED; 0 = the same load without them, a control run) that send GET /events and never
 * read (load/stalled-readers.ts): does the server drop them, and do the healthy readers keep their latency?
 */
import { log } from '../lib/log';
import { fmt } from '../lib/summary';
import type { ScenarioPlan, SseLoadArgs } from '../load/sse-load';
import { latencyPlan, p99Ratio } from './latency-250';
import type { Result } from './scenario';
import { sseScenario } from './sse-scenario';

const slowPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...latencyPlan(args),
  stalled: Math.max(0, Math.floor(args.stalled ?? 25)),
  slowReaders: true,
  messageBytes: 4096,
});

function slowNotes(results: Result[]): void {
  log(
    "stalled dropped = stalled readers the server closed, as seen by the client (server's own " +
      'sse_slow_reader_disconnects_total in parentheses, "-" = no /metrics)',
  );
  for (const r of results) {
    const half = (v: unknown): string => {
      const h = (v ?? {}) as Record<string, unknown>;
      return `p50 ${fmt(h.p50, 2)} / p99 ${fmt(h.p99, 2)} / max ${fmt(h.max, 1)} ms`;
    };
    const at = r.stalled_disconnected_at_s as Record<string, unknown> | null | undefined;
    const perS = ((r.latency_ms_per_s ?? {}) as Record<string, unknown>).p99;
    const rss = r.server_rss_mb_per_s;
    process.stderr.write(
      `  slow-readers ${String(r.target)}: ${fmt(r.stalled_disconnected_by_server)}/${fmt(r.stalled)} stalled ` +
        `readers dropped` +
        (at ? ` (noticed ${fmt(at.first, 1)}..${fmt(at.last, 1)} s into the window)` : '') +
        `, ${fmt(r.stalled_still_open_at_end)} still open at the end; server RSS peak ${fmt(r.server_rss_mb_peak, 1)} MB` +
        (Array.isArray(rss) ? ` (per s: ${rss.map((v) => fmt(v)).join(' ')})` : '') +
        `\n    healthy latency, first half: ${half(r.latency_ms_first_half)}; ` +
        `second half: ${half(r.latency_ms_second_half)}` +
        (Array.isArray(perS)
          ? `\n    healthy p99 per second (ms): ${perS.map((v) => fmt(v, 1)).join(' ')}`
          : '') +
        '\n',
    );
  }
}

export default sseScenario({ name: 'slow-readers', plan: slowPlan, ratios: p99Ratio, notes: slowNotes });
