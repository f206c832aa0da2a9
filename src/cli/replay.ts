// `gartbench replay SCRIPT`: a DMA-API script on one machine, through the same plan → cell →
// result path as `run`.
import { UsageError, msg } from '../errors.js';
import type { Command } from './command.js';
import { costsInput, checkOutPath, emit } from './output.js';
import { COSTS_OPTION, DEVICE_OPTION, IOMMU_MODE_OPTION, KERNEL_OPTION, MACHINE_OPTIONS, OUTPUT_OPTIONS, PLATFORM_OPTION, STRATEGY_OPTION, SWIOTLB_DYNAMIC_OPTION } from './options.js';

export const replay: Command = {
  usage: 'gartbench replay SCRIPT.jsonl [--platform P] [--device D] [--strategy S] [--kernel K] [machine options] [--json] [--out FILE]',
  about: 'Replays a DMA-API script (JSON Lines, one operation per line) on one simulated machine and checks\nevery read against the oracle. In the result, "op" numbers are script lines; tt_* ops take their pages\nfrom the TTM pool of --strategy, and "pools" gives each pool\'s free pages at the end.',
  specs: [PLATFORM_OPTION, DEVICE_OPTION, STRATEGY_OPTION, KERNEL_OPTION, IOMMU_MODE_OPTION, SWIOTLB_DYNAMIC_OPTION, ...MACHINE_OPTIONS, ...OUTPUT_OPTIONS, COSTS_OPTION],
  positionals: 1,
  interruptible: true,
  async run(v, args, io, given, signal) {
    const script = args[0];
    if (!script) throw new UsageError(msg.missing('SCRIPT.jsonl (see gartbench replay --help)'));
    const [{ costsFrom, replayPlanFrom, runPlans }, { formatResult }] = await Promise.all([import('./plans.js'), import('../report/format.js')]);
    checkOutPath(v.out, [{ path: script === '-' ? undefined : script, is: 'the script being replayed' }, costsInput(v)]);
    const costs = costsFrom(v);
    const [result] = (await runPlans([replayPlanFrom(v, script, given)], costs, { workers: 1 }, io, signal)).results;
    emit(v, io, result, () => formatResult(result!));
  },
};
