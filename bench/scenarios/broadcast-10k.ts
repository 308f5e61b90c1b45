/**
 * broadcast-10k: BENCH_CONNECTIONS streams on GET /events, broadcasts as fast as the server absorbs them
 * (8 POSTs in flight, at most 32 broadcasts published but not yet delivered everywhere). `events_per_s`
 * counts every (event, connection) delivery in the window.
 */
import { PLAN_DEFAULTS, type ScenarioPlan, type SseLoadArgs } from '../load/sse-load';
import { sseScenario } from './sse-scenario';

export const broadcastPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...PLAN_DEFAULTS,
  mode: 'broadcast',
  connections: args.connections,
  inFlight: 8,
  window: 32,
  rate: 0,
});

export default sseScenario({
  name: 'broadcast-10k',
  plan: broadcastPlan,
  keepAlive: true,
  ratios: [{ label: 'deliveries/s', higherIsBetter: true, of: (r) => r.events_per_s }],
});
