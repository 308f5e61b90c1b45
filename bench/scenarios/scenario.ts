/**
 * What a scenario is to the orchestrator (run.ts). A scenario is one module in this folder, listed in
 * index.ts: it says which targets it runs on, runs once per target (starting and stopping its servers
 * through lib/servers.ts), and may print notes under the summary table. If its load runs in a process of
 * its own (so that its CPU is measured apart), `load` is that process's work (loadgen.ts runs it).
 */
import type { BenchSettings } from '../settings';

export const TARGETS = ['gateway', 'baseline-node-http'] as const;
export type Target = (typeof TARGETS)[number];

/** One JSON line of the results. */
export type Result = Record<string, unknown>;

/** A figure the summary divides, gateway by baseline, when both ran in the same run. */
export interface RatioFigure {
  label: string;
  higherIsBetter: boolean;
  of: (r: Result) => unknown;
}

export interface Scenario {
  name: string;
  /** Targets it can run on; on the others it is skipped with `skipped`'s reason. */
  targets: readonly Target[];
  skipped?: string;
  /** Runs on one target; `emit` takes each result line as it is ready (several: one per store, per mode). */
  run(target: Target, settings: BenchSettings, emit: (result: Result) => void): Promise<void>;
  /** Lines under the summary table, from this scenario's results of the run (without errors) and all of them. */
  notes?(results: Result[], all: Result[]): void;
  ratios?: RatioFigure[];
  /** The load generator's work, in its own process: the JSON arguments run() passed, to one result. */
  load?(args: unknown): Promise<Result>;
}
