/**
 * open-10k: BENCH_CONNECTIONS /v2/sse user streams opened with 500 connects in flight (unless
 * BENCH_CONNECT_CONCURRENCY is set), and nothing else: the time, and the server's CPU while they opened.
 */
import { openedNote } from '../lib/summary';
import type { ScenarioPlan, SseLoadArgs } from '../load/sse-load';
import { directPlan } from './direct-10k';
import type { RatioFigure } from './scenario';
import { sseScenario } from './sse-scenario';

export const openTimeRatio: RatioFigure = {
  label: 'open time',
  higherIsBetter: false,
  of: (r) => (r.connect_ms as Record<string, unknown> | undefined)?.total,
};

const openPlan = (args: SseLoadArgs): ScenarioPlan => ({ ...directPlan(args), publish: false });

export default sseScenario({
  name: 'open-10k',
  plan: openPlan,
  connectConcurrency: (settings) =>
    settings.given.has('connectConcurrency') ? settings.connectConcurrency : 500,
  ratios: [openTimeRatio, { label: 'server CPU', higherIsBetter: false, of: (r) => r.connect_server_cpu_ms }],
  notes: (results) => {
    for (const r of results) {
      process.stderr.write(`  open-10k ${String(r.target)}: ${openedNote(r)}\n`);
    }
  },
});
