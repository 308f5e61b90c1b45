/**
 * Benchmark orchestrator (`npm run bench`; `npm run bench -- --help` lists every setting).
 *
 * For every scenario (bench/scenarios/<name>.ts, in scenarios/index.ts's order) and every target it runs on
 * (`gateway`: node dist/main.js; `baseline-node-http`: bench/baseline-server.ts, the plain node:http
 * reference), the scenario starts a fresh server on a free port, waits until its health path answers 200,
 * runs its load (in the load generator's own process, loadgen.ts, unless it says otherwise) and stops the
 * server with SIGTERM (SIGKILL after 10 s); each result is one JSON line on stdout. Progress and a
 * human-readable summary go to stderr, so `npm run bench > results.jsonl` keeps the data. After the table,
 * the summary prints each scenario's notes and its figures as a ratio to the node:http baseline's in the
 * same run.
 */
import { spawnSync } from 'node:child_process';

import { errorText, log } from './lib/log';
import { nodeVersionWarning } from './lib/proc';
import { killStarted, ROOT, stopStartedOnExit } from './lib/servers';
import { printRatios, printTable } from './lib/summary';
import { SCENARIOS, scenarioNamed } from './scenarios';
import type { RatioFigure, Result, Target } from './scenarios/scenario';
import { benchHelp, parseBenchSettings, type BenchSettings } from './settings';

/** `npm run build` (the gateway and the client), its output on stderr so stdout stays JSON lines. */
function buildServer(): void {
  log('building the gateway (npm run build)…');
  const npm = process.env.npm_execpath;
  const built = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] })
    : spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2], shell: true });
  if (built.status !== 0) {
    throw new Error(`npm run build failed (${built.status ?? built.signal})`);
  }
}

async function runAll(settings: BenchSettings): Promise<Result[]> {
  const results: Result[] = [];
  for (const name of settings.scenarios) {
    const scenario = scenarioNamed(name);
    for (const target of settings.targets as Target[]) {
      if (!scenario.targets.includes(target)) {
        if (scenario.skipped) {
          log(`skipping ${name} on ${target}: ${scenario.skipped}`);
        }
        continue;
      }
      await scenario.run(target, settings, (result) => {
        results.push(result);
        process.stdout.write(JSON.stringify(result) + '\n');
        // a scenario that runs every target at once (kafka-ingest) emits the others' lines too
        warnings(result, typeof result.target === 'string' ? result.target : target);
      });
    }
  }
  return results;
}

/** Says when the load generator or other processes may have skewed a result. */
function warnings(result: Result, target: string): void {
  const cpu = result.loadgen_cpu_pct;
  if (typeof cpu === 'number' && cpu >= 90) {
    log(`warning: the load generator used ${cpu}% CPU: it may have been the bottleneck for ${target}`);
  }
  const other = result.other_cpu_pct;
  if (typeof other === 'number' && other >= 20) {
    log(`warning: other processes used ${other}% CPU (of one core) while measuring: expect noisy numbers`);
  }
}

function summary(results: Result[], settings: BenchSettings): void {
  printTable(results);
  for (const name of settings.scenarios) {
    const own = results.filter((r) => r.scenario === name && typeof r.error !== 'string');
    if (own.length > 0) {
      scenarioNamed(name).notes?.(own, results);
    }
  }
  const ratios: [string, RatioFigure[]][] = SCENARIOS.filter((s) => s.ratios).map((s) => [
    s.name,
    s.ratios ?? [],
  ]);
  printRatios(results, ratios);
}

async function main(): Promise<void> {
  const settings = parseBenchSettings(process.argv.slice(2));
  if (settings.help) {
    process.stdout.write(benchHelp());
    return;
  }
  if (settings.buildFirst) {
    buildServer();
  }
  stopStartedOnExit();
  log(
    `targets ${settings.targets.join(', ')}; scenarios ${settings.scenarios.join(', ')}; ` +
      `${settings.connections} connections, ${settings.seconds} s publishing per scenario; node ${process.version}`,
  );
  const nodeWarning = nodeVersionWarning();
  if (nodeWarning) {
    log(nodeWarning);
  }
  const results = await runAll(settings);
  summary(results, settings);
  if (results.some((r) => typeof r.error === 'string')) {
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : errorText(err)}`);
  killStarted();
  process.exit(1);
});
