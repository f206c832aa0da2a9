// `gartbench run`: one scenario, all its replicas. The simulator and the report load when the
// command runs (--help needs only the options).
import type { Command } from './command.js';
import { costsInput, checkOutPath, emit } from './output.js';
import { MACHINE_OPTIONS, OUTPUT_OPTIONS, SCENARIO_OPTIONS, type OptionSpec } from './options.js';

export const RUN_SPECS: OptionSpec[] = [...SCENARIO_OPTIONS, ...MACHINE_OPTIONS.filter((s) => s.name !== 'seed'), ...OUTPUT_OPTIONS];
// --seed sits in SCENARIO_OPTIONS' table order for help; reuse the machine spec.
RUN_SPECS.splice(SCENARIO_OPTIONS.findIndex((s) => s.name === 'kernel') + 1, 0, MACHINE_OPTIONS.find((s) => s.name === 'seed')!);

export const run: Command = {
  usage: 'gartbench run [scenario options] [machine options] [--json] [--out FILE]',
  about: 'Simulates one scenario — a platform, a GPU, a fixing strategy (or AGP GATT strategy) and a workload —\nand checks every CPU and GPU read against the oracle.',
  specs: RUN_SPECS,
  interruptible: true,
  async run(v, _args, io, given, signal) {
    const [{ costsFrom, runPlans, workloadPlanFrom }, { formatResult }] = await Promise.all([import('./plans.js'), import('../report/format.js')]);
    const plan = workloadPlanFrom(v, given);
    checkOutPath(v.out, [costsInput(v)]);
    const [result] = (await runPlans([plan], costsFrom(v), v, io, signal)).results;
    emit(v, io, result, () => formatResult(result!));
  },
};
