/**
 * Every scenario, in the order a full run takes them. To add one: a module in this folder whose default
 * export is a Scenario (scenario.ts), listed here; its settings go in ../settings.ts.
 */
import broadcast10k from './broadcast-10k';
import direct10k from './direct-10k';
import directBatched from './direct-batched';
import directPipelined from './direct-pipelined';
import kafkaIngest from './kafka-ingest';
import kafkaLatency from './kafka-latency';
import latency250 from './latency-250';
import multiplexBroadcast10k from './multiplex-broadcast-10k';
import open10k from './open-10k';
import reportsTransitions from './reports-transitions';
import type { Scenario } from './scenario';
import slowReaders from './slow-readers';
import streams19k from './streams-19k';

export const SCENARIOS: readonly Scenario[] = [
  broadcast10k,
  direct10k,
  directPipelined,
  directBatched,
  open10k,
  streams19k,
  latency250,
  slowReaders,
  kafkaLatency,
  reportsTransitions,
  multiplexBroadcast10k,
  kafkaIngest,
];

export function scenarioNamed(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return scenario;
}
