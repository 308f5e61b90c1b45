/**
 * direct-pipelined: direct-10k's users, then 20,000 messages (BENCH_MESSAGES), one POST /v2/message each,
 * pipelined up to 32 deep on each of 2 keep-alive connections: messages/s from the first measured POST to
 * its last answer or delivery, whichever is later, and server CPU per message.
 */
import { fmt } from '../lib/summary';
import type { ScenarioPlan, SseLoadArgs } from '../load/sse-load';
import { directPlan } from './direct-10k';
import type { Result } from './scenario';
import { sseScenario } from './sse-scenario';

export const pipelinedPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...directPlan(args),
  window: 1e9,
  pipeline: 32,
  messages: 20_000,
});

/** The figures of a counted run (direct-pipelined, direct-batched) that the table has no column for. */
export function countedNotes(results: Result[]): void {
  for (const r of results) {
    const post = (r.post_latency_ms ?? {}) as Record<string, unknown>;
    process.stderr.write(
      `  ${String(r.scenario)} ${String(r.target)}: ${fmt(r.messages_measured)} messages (${String(r.publish_mode)}) in ` +
        `${fmt(r.messages_s, 2)} s = ${fmt(r.messages_per_s)} msg/s; POST p50 ${fmt(post.p50, 2)} / ` +
        `p99 ${fmt(post.p99, 2)} ms; server CPU ${fmt(r.server_cpu_us_per_message)} µs/message; ` +
        `lost ${fmt(r.lost)}, duplicated ${fmt(r.duplicates)}, reordered ${fmt(r.reordered)}, ` +
        `misdelivered ${fmt(r.misdelivered)}, failed ${fmt(r.messages_failed)}\n`,
    );
  }
}

export default sseScenario({
  name: 'direct-pipelined',
  plan: pipelinedPlan,
  ratios: [
    { label: 'msg/s', higherIsBetter: true, of: (r) => r.messages_per_s },
    { label: 'server CPU/msg', higherIsBetter: false, of: (r) => r.server_cpu_us_per_message },
  ],
  notes: countedNotes,
});
