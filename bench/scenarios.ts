/**
 * The scenarios loadgen.ts runs against an SSE server, gateway or baseline. Their own module: run.ts
 * lists them too, and importing loadgen.ts would start a load generator.
 */
export const SCENARIOS = [
  'broadcast-10k',
  'direct-10k',
  'direct-pipelined',
  'direct-batched',
  'open-10k',
  'streams-19k',
  'latency-250',
  'slow-readers',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
