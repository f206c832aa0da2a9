// `gartbench matrix`: every platform × strategy (TTM devices) or × gatt (agp), side by side.
import { PLATFORMS } from '../engine/abi.js';
import { formatMatrix } from '../report/matrixFormat.js';
import type { Command } from './command.js';
import { costsInput, checkOutPath, emit } from './output.js';
import { GATTS, STRATEGIES } from './options.js';
import { costsFrom, runPlans, workloadPlanFrom } from './plans.js';
import { RUN_SPECS } from './run.js';

export const matrix: Command = {
  usage: 'gartbench matrix [--device D] [--workload W] [scenario options but platform/strategy/gatt] [--json] [--out FILE]',
  about: 'Runs every platform × strategy (TTM devices) or platform × gatt (agp) for one device and workload,\nand prints the verdicts side by side.',
  specs: RUN_SPECS.filter((s) => !['platform', 'strategy', 'gatt'].includes(s.name)),
  interruptible: true,
  async run(v, _args, io, _given, signal) {
    const agp = v.device === 'agp';
    const plans = PLATFORMS.flatMap((platform) => (agp ? GATTS : STRATEGIES).map((variant) =>
      workloadPlanFrom({ ...v, platform, strategy: agp ? undefined : variant, gatt: agp ? variant : undefined }, new Set())));
    checkOutPath(v.out, [costsInput(v)]);
    const cells = await runPlans(plans, costsFrom(v), v.workers as number, io, signal);
    emit(v, io, { schema: 'gartbench.matrix/1', cells }, () => formatMatrix(cells));
  },
};
