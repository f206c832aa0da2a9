// Plans in, results out: every cell of every plan runs (here or on workers), replicas merge, and
// each plan becomes one gartbench.result/1. What the CLI and the bench both call.
import { mergeOutputs, wallOf } from '../run/cell.js';
import { type ExecOptions, chooseWorkers, runCells } from '../run/executor.js';
import { type Plan, cellsOf } from '../run/plan.js';
import type { Costs } from './costs.js';
import { type EngineRun, type Result, buildResult } from './result.js';

/** The results, one per plan in order, and how the whole run went (every cell of every plan). */
export interface RunResults {
  results: Result[];
  run: EngineRun;
}

export async function runResults(plans: Plan[], costs: Costs, o: ExecOptions): Promise<RunResults> {
  const cells = plans.flatMap((p) => cellsOf(p));
  const workers = chooseWorkers(o.workers, cells.length, o.oversubscribe);
  const outs = await runCells(cells, { ...o, workers: workers.workers });
  const workersRan = new Set(outs.map((x) => x.lane ?? 0)).size;
  let k = 0;
  const results = plans.map((p) => {
    const merged = mergeOutputs(outs.slice(k, (k += p.scenario.replicas)));
    const run = { wallMs: merged.wallMs, cellMs: merged.cellMs, machineBytes: merged.machineBytes, reusedMemories: merged.reusedMemories, workers, workersRan };
    return buildResult({ scenario: p.scenario, sizes: p.sizes, costs, run, ...(p.deviceDown ? { deviceDown: p.deviceDown } : {}) }, merged.raw);
  });
  const run: EngineRun = {
    wallMs: wallOf(outs), cellMs: outs.reduce((t, x) => t + x.wallMs, 0),
    machineBytes: outs.reduce((m, x) => Math.max(m, x.machineBytes), 0), reusedMemories: outs.filter((x) => x.reusedMemory).length, workers, workersRan,
  };
  return { results, run };
}

export async function resultsOf(plans: Plan[], costs: Costs, o: ExecOptions): Promise<Result[]> {
  return (await runResults(plans, costs, o)).results;
}
