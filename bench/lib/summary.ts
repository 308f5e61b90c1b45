/** Formatting for the summary on stderr: numbers, latency lines, the table, gateway / baseline ratios. */
import type { RatioFigure, Result } from '../scenarios/scenario';
import { log } from './log';

export function fmt(v: unknown, digits = 0): string {
  if (typeof v !== 'number') {
    return '-';
  }
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** `p50 … / p90 … / p99 … / max … ms` of a latency summary field. */
export function latencyLine(v: unknown): string {
  const h = (v ?? {}) as Record<string, unknown>;
  return `p50 ${fmt(h.p50, 2)} / p90 ${fmt(h.p90, 2)} / p99 ${fmt(h.p99, 2)} / max ${fmt(h.max, 1)} ms`;
}

/** The result of `scenario` on `target` in this run, if it ran without an error. */
export function resultOf(results: Result[], scenario: string, target: string): Result | undefined {
  return results.find((r) => r.scenario === scenario && r.target === target && !('error' in r));
}

/** `dropped/stalled (server counter)` for slow-readers, '-' for the other scenarios. */
function stalledCell(r: Result): string {
  if (typeof r.stalled !== 'number') {
    return '-';
  }
  const server =
    typeof r.server_slow_reader_disconnects === 'number' ? fmt(r.server_slow_reader_disconnects) : '-';
  return `${fmt(r.stalled_disconnected_by_server)}/${fmt(r.stalled)} (${server})`;
}

const HEADER = [
  'scenario',
  'target',
  'conns',
  'connect s',
  'events/s',
  'p50 ms',
  'p99 ms',
  'max ms',
  'lost',
  'dup',
  'reord',
  'kB/conn',
  'idle kB/conn',
  'srv cpu%',
  'gen cpu%',
  'stalled dropped',
];

/** One row per result line, the same columns for every scenario ('-' where one has no such figure). */
export function printTable(results: Result[]): void {
  const rows = results.map((r) => {
    if (typeof r.error === 'string') {
      return [String(r.scenario), String(r.target), `error: ${r.error}`];
    }
    const lat = (r.latency_ms ?? {}) as Record<string, unknown>;
    const conn = (r.connect_ms ?? {}) as Record<string, unknown>;
    return [
      String(r.scenario),
      String(r.target) + (typeof r.store === 'string' ? `/${r.store}` : ''),
      `${fmt(r.connections_open)}/${fmt(r.connections ?? r.users)}`,
      typeof conn.total === 'number' ? fmt(conn.total / 1000, 2) : '-',
      fmt(r.events_per_s ?? r.produce_per_s ?? r.transitions_per_s),
      fmt(lat.p50, 2),
      fmt(lat.p99, 2),
      fmt(lat.max, 1),
      fmt(r.lost),
      fmt(r.duplicates),
      fmt(r.reordered),
      fmt(r.server_rss_kb_per_conn, 1),
      fmt(r.server_rss_kb_per_conn_settled, 1),
      fmt(r.server_cpu_pct),
      fmt(r.loadgen_cpu_pct),
      stalledCell(r),
    ];
  });
  const widths = HEADER.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r.length > 3 ? r[i].length : 0))),
  );
  const line = (cells: string[]): string =>
    cells.length <= 3
      ? cells.join('  ')
      : cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  log('summary (events/s = deliveries per second while publishing; latency = publish -> receive)');
  process.stderr.write(`${line(HEADER)}\n`);
  for (const r of rows) {
    process.stderr.write(`${line(r)}\n`);
  }
}

/** Gateway / baseline for each scenario that ran on both targets in this run. */
export function printRatios(results: Result[], figuresOf: [string, RatioFigure[]][]): void {
  const lines: string[] = [];
  for (const [scenario, figures] of figuresOf) {
    const gateway = resultOf(results, scenario, 'gateway');
    const baseline = resultOf(results, scenario, 'baseline-node-http');
    if (!gateway || !baseline) {
      continue;
    }
    const parts = figures.map(({ label, higherIsBetter, of }) => {
      const g = of(gateway);
      const b = of(baseline);
      if (typeof g !== 'number' || typeof b !== 'number' || b === 0) {
        return `${label} -`;
      }
      return `${label} ${fmt(g / b, 2)}x (${fmt(g, 1)} vs ${fmt(b, 1)}, ${higherIsBetter ? 'higher' : 'lower'} is better)`;
    });
    lines.push(`  ${scenario}: ${parts.join('; ')}`);
  }
  if (lines.length > 0) {
    log('gateway / plain node:http baseline, this run:');
    process.stderr.write(lines.join('\n') + '\n');
  }
}

/** `N/M streams open in S s (C in flight), server CPU X s`: how a scenario's streams opened. */
export function openedNote(r: Result): string {
  const conn = (r.connect_ms ?? {}) as Record<string, unknown>;
  return (
    `${fmt(r.connections_open)}/${fmt(r.connections)} streams open in ${fmt(Number(conn.total) / 1000, 2)} s ` +
    `(${fmt(r.connect_concurrency)} in flight), server CPU ${fmt(Number(r.connect_server_cpu_ms) / 1000, 2)} s`
  );
}
