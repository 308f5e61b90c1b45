/**
 * direct-batched (gateway only: the baseline has no POST /publish): direct-pipelined's users and publisher,
 * 200,000 messages (BENCH_MESSAGES), 100 consecutive ones (to 100 users) per POST /publish. The summary
 * divides its msg/s by direct-pipelined's of both targets in the same run.
 */
import { log } from '../lib/log';
import { fmt, resultOf } from '../lib/summary';
import type { ScenarioPlan, SseLoadArgs } from '../load/sse-load';
import { countedNotes, pipelinedPlan } from './direct-pipelined';
import type { Result, Target } from './scenario';
import { sseScenario } from './sse-scenario';

const batchedPlan = (args: SseLoadArgs): ScenarioPlan => ({
  ...pipelinedPlan(args),
  messages: 200_000,
  batch: 100,
});

/** direct-batched's msg/s over the one-POST-per-message rates of this run's direct-pipelined. */
function batchedNotes(results: Result[], all: Result[]): void {
  countedNotes(results);
  const batched = results.find((r) => r.target === 'gateway' && !('error' in r));
  if (!batched) {
    return;
  }
  const rate = batched.messages_per_s;
  const ratio = (target: Target, wanted: number): string => {
    const single = resultOf(all, 'direct-pipelined', target)?.messages_per_s;
    if (typeof rate !== 'number' || typeof single !== 'number' || single === 0) {
      return `- (needs direct-pipelined on ${target} in the same run)`;
    }
    return `${fmt(rate / single, 2)}x (${fmt(rate, 1)} vs ${fmt(single, 1)} msg/s, wanted at least ${wanted}x)`;
  };
  log(
    'direct-batched (gateway, 100 messages per POST /publish) / direct-pipelined (one POST per message), this run:',
  );
  process.stderr.write(
    `  to the plain node:http baseline's direct-pipelined: ${ratio('baseline-node-http', 3)}\n` +
      `  to the gateway's own direct-pipelined: ${ratio('gateway', 10)}\n`,
  );
}

export default sseScenario({
  name: 'direct-batched',
  plan: batchedPlan,
  gatewayOnly: 'it has no POST /publish (the summary divides by its direct-pipelined)',
  notes: batchedNotes,
});
