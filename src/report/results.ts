// Plans in, results out: every cell of every plan runs (here or on workers), replicas merge, and
// each plan becomes one gartbench.result/1. What the CLI and the bench both call.
import { mergeOutputs } from '../run/cell.js';
import { type ExecOptions, runCells } from '../run/executor.js';
import { type Plan, cellsOf } from '../run/plan.js';
import type { Costs } from './costs.js';
import { type Result, buildResult } from './result.js';

export async function resultsOf(plans: Plan[], costs: Costs, o: ExecOptions): Promise<Result[]> {
  const outs = await runCells(plans.flatMap((p) => cellsOf(p)), o);
  let k = 0;
  return plans.map((p) => {
    const merged = mergeOutputs(outs.slice(k, (k += p.scenario.replicas)));
    return buildResult({ scenario: p.scenario, sizes: p.sizes, costs, wallMs: merged.wallMs, workers: o.workers }, merged.raw);
  });
}
