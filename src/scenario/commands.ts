// `gartbench run` and `gartbench matrix`.
import { MACHINE_OPTIONS, OUTPUT_OPTIONS, SCENARIO_OPTIONS, type OptionSpec, type Values } from '../cli/options.js';
import { formatResult } from '../cli/format.js';
import { formatMatrix } from './matrixFormat.js';
import { machineOptionsFrom } from '../machine.js';
import { loadCosts } from '../costs.js';
import { buildResult, type Result } from '../result.js';
import { PLATFORMS } from '../engine/abi.js';
import { GATTS, STRATEGIES } from '../cli/options.js';
import { type ScenarioSpec, cellsOf, checkScenario, mergeOutputs, scenarioFrom, scenarioRecord } from './scenario.js';
import { runCells } from './executor.js';
import type { Command, Io } from '../cli/command.js';
import { checkOutPath, costsInput, emit } from '../cli/output.js';
import { progress } from '../cli/progress.js';

const RUN_SPECS: OptionSpec[] = [...SCENARIO_OPTIONS, ...MACHINE_OPTIONS.filter((s) => s.name !== 'seed'), ...OUTPUT_OPTIONS];
// --seed sits in SCENARIO_OPTIONS' table order for help; reuse the machine spec.
RUN_SPECS.splice(SCENARIO_OPTIONS.findIndex((s) => s.name === 'kernel') + 1, 0, MACHINE_OPTIONS.find((s) => s.name === 'seed')!);

const MATRIX_SPECS: OptionSpec[] = RUN_SPECS.filter((s) => !['platform', 'strategy', 'gatt'].includes(s.name));

/** Runs scenarios (all their replicas) and returns one result each, in order. */
async function runScenarios(specs: ScenarioSpec[], v: Values, io: Io, signal: AbortSignal): Promise<Result[]> {
  const costs = loadCosts(v.costs as string | undefined);
  const cells = specs.flatMap((s) => cellsOf(s));
  const workers = v.workers as number;
  const bar = progress(io, cells.length);
  let outs;
  try {
    outs = await runCells(cells, { workers, onProgress: bar.update, signal });
  } finally {
    bar.done();
  }
  const results: Result[] = [];
  let k = 0;
  for (const s of specs) {
    const merged = mergeOutputs(outs.slice(k, k + s.replicas));
    k += s.replicas;
    results.push(buildResult({ scenario: scenarioRecord(s), machine: s.machine, costs, wallMs: merged.wallMs, workers }, merged.raw));
  }
  return results;
}

export const commands: Record<string, Command> = {
  run: {
    usage: 'gartbench run [scenario options] [machine options] [--json] [--out FILE]',
    about: 'Simulates one scenario — a platform, a GPU, a fixing strategy (or AGP GATT strategy) and a workload —\nand checks every CPU and GPU read against the oracle.',
    specs: RUN_SPECS,
    interruptible: true,
    async run(v, _args, io, given, signal) {
      const spec = scenarioFrom(v, given, machineOptionsFrom(v));
      checkOutPath(v.out, [costsInput(v)]);
      const [result] = await runScenarios([spec], v, io, signal);
      emit(v, io, result, () => formatResult(result!));
    },
  },
  matrix: {
    usage: 'gartbench matrix [--device D] [--workload W] [scenario options but platform/strategy/gatt] [--json] [--out FILE]',
    about: 'Runs every platform × strategy (TTM devices) or platform × gatt (agp) for one device and workload,\nand prints the verdicts side by side.',
    specs: MATRIX_SPECS,
    interruptible: true,
    async run(v, _args, io, _given, signal) {
      const agp = v.device === 'agp';
      const specs: ScenarioSpec[] = [];
      for (const platform of PLATFORMS) {
        for (const variant of agp ? GATTS : STRATEGIES) {
          const vv = { ...v, platform, strategy: agp ? undefined : variant, gatt: agp ? variant : undefined };
          const spec = scenarioFrom(vv, new Set(), machineOptionsFrom(vv));
          checkScenario(spec);
          specs.push(spec);
        }
      }
      checkOutPath(v.out, [costsInput(v)]);
      const cells = await runScenarios(specs, v, io, signal);
      emit(v, io, { schema: 'gartbench.matrix/1', cells }, () => formatMatrix(cells));
    },
  },
};
