/**
 * direct-10k: BENCH_CONNECTIONS users, one GET /v2/sse?username=uK each; messages to users round-robin
 * (message <seq> to u<seq % N>), 16 POSTs in flight, at most 1,024 undelivered.
 */
import { PLAN_DEFAULTS, type ScenarioPlan, type SseLoadArgs } from '../load/sse-load';
import { sseScenario } from './sse-scenario';

export const directPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...PLAN_DEFAULTS,
  mode: 'direct',
  connections: args.connections,
  inFlight: 16,
  window: 1024,
  rate: 0,
});

export default sseScenario({
  name: 'direct-10k',
  plan: directPlan,
  ratios: [{ label: 'msg/s', higherIsBetter: true, of: (r) => r.publish_per_s }],
});
