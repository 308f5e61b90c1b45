/** latency-250: 250 streams on /events (at most BENCH_CONNECTIONS), 200 broadcasts per second: publish -> receive latency. */
import { PLAN_DEFAULTS, type ScenarioPlan, type SseLoadArgs } from '../load/sse-load';
import type { RatioFigure } from './scenario';
import { sseScenario } from './sse-scenario';

export const latencyPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...PLAN_DEFAULTS,
  mode: 'broadcast',
  connections: Math.min(250, args.connections),
  inFlight: 16,
  window: 1e9,
  rate: 200,
});

export const p99Ratio: RatioFigure[] = [
  {
    label: 'p99',
    higherIsBetter: false,
    of: (r) => (r.latency_ms as Record<string, unknown> | undefined)?.p99,
  },
];

export default sseScenario({ name: 'latency-250', plan: latencyPlan, ratios: p99Ratio });
