// `gartbench replay SCRIPT`: a DMA-API script (JSON Lines) or a kernel trace (--format ftrace) on
// one machine, or on every platform of the kernel (--platform all), through the same plan → cell
// → result path as `run`.
import { stat } from 'node:fs/promises';
import type { KernelName } from '../engine/abi.js';
import { UsageError, msg } from '../errors.js';
import type { Command } from './command.js';
import { costsInput, checkOutPath, emit } from './output.js';
import { COSTS_OPTION, DEVICE_OPTION, GATT_OPTION, IOMMU_MODE_OPTION, KERNEL_OPTION, MACHINE_OPTIONS, MIN_ALIGN_MASK_OPTION, OUTPUT_OPTIONS, PLATFORM_OPTION, SCENARIO_OPTIONS, type OptionSpec, STRATEGY_OPTION, SWIOTLB_DYNAMIC_OPTION } from './options.js';

export const REPLAY_FORMATS = ['jsonl', 'ftrace'] as const;

const REPLAY_PLATFORM: OptionSpec = { ...PLATFORM_OPTION, choices: [...PLATFORM_OPTION.choices!, 'all'], help: `${PLATFORM_OPTION.help}; all = every platform the kernel has, side by side (a file, not standard input)` };
const FORMAT: OptionSpec = { name: 'format', kind: 'choice', default: 'jsonl', choices: REPLAY_FORMATS, help: 'jsonl = a DMA-API script; ftrace = kernel trace text of the dma and swiotlb events (trace-cmd report, /sys/kernel/tracing/trace), replayed on --kernel modern unless --kernel is given' };
const TRACE_DEVICE: OptionSpec = { name: 'trace-device', kind: 'text', arg: 'NAME', help: 'with --format ftrace: the recording device (its dev_name, e.g. 0000:03:00.0) whose events are replayed; default: the one with most events (from standard input, read once: the only one, else an error naming them)' };

export const replay: Command = {
  usage: 'gartbench replay SCRIPT.jsonl|TRACE [--format jsonl|ftrace] [--trace-device NAME] [--platform P|all] [--device D] [--strategy S | --gatt G] [--kernel K] [machine options] [--workers N] [--json] [--out FILE]',
  about: 'Replays a DMA-API script (JSON Lines, one operation per line) on one simulated machine and checks\nevery read against the oracle. In the result, "op" numbers are script lines; tt_* ops take their pages\nfrom the TTM pool of --strategy, and "pools" gives each pool\'s free pages at the end.\nWith --format ftrace it replays a kernel trace instead (trace-cmd record -e dma -e swiotlb; trace-cmd report):\none device\'s maps, unmaps, syncs and allocations on the simulated platform, what they bounce, exhaust\nand cost there, beside what the recording machine bounced. --platform all runs every platform.',
  specs: [REPLAY_PLATFORM, DEVICE_OPTION, STRATEGY_OPTION, { ...GATT_OPTION, help: `${GATT_OPTION.help}; replay makes the table when the device comes up, and a script's gart_bind writes its buffer's page handles into it (with fsb-hooks, a page neither mapped nor coherent as its machine address)` }, { ...KERNEL_OPTION, help: `${KERNEL_OPTION.help}; a trace (--format ftrace) replays on modern unless --kernel is given; a JSON Lines script on the default` }, FORMAT, TRACE_DEVICE, IOMMU_MODE_OPTION, SWIOTLB_DYNAMIC_OPTION, MIN_ALIGN_MASK_OPTION, ...MACHINE_OPTIONS,
    // With --platform all, one cell per platform: the same worker pool as matrix's.
    ...SCENARIO_OPTIONS.filter((o) => o.name === 'workers' || o.name === 'oversubscribe'), ...OUTPUT_OPTIONS, COSTS_OPTION],
  positionals: 1,
  interruptible: true,
  async run(v, args, io, given, signal) {
    const script = args[0];
    if (!script) throw new UsageError(msg.missing('SCRIPT.jsonl or TRACE (see gartbench replay --help)'));
    const ftrace = v.format === 'ftrace';
    if (!ftrace && given.has('trace-device')) throw new UsageError('--trace-device: only with --format ftrace (a JSON Lines script names no devices)');
    // The trace events exist from Linux 6.12 on: a trace replays on the kernel that made it unless asked.
    if (ftrace && !given.has('kernel')) v.kernel = 'modern';
    const all = v.platform === 'all';
    if (all && script === '-') throw new UsageError('--platform all: replays the input once per platform, so give a file, not standard input');
    const [{ costsFrom, replayPlanFrom, runPlans }, { platformsOf }] = await Promise.all([import('./plans.js'), import('../run/matrix.js')]);
    checkOutPath(v.out, [{ path: script === '-' ? undefined : script, is: ftrace ? 'the trace being replayed' : 'the script being replayed' }, costsInput(v)]);
    const platforms = all ? platformsOf(v.kernel as KernelName) : [v.platform as string];
    const trace = ftrace ? { device: (v['trace-device'] as string | undefined) ?? await busiest(script, signal) } : undefined;
    const plans = platforms.map((platform) => replayPlanFrom({ ...v, platform }, script, given, trace));
    const costs = costsFrom(v);
    const { results, run } = await runPlans(plans, costs, v, io, signal);
    // INTERFACE: replay takes --strategy; a trace has no tt_* ops for it to act on, so say so (once it ran).
    if (ftrace && given.has('strategy')) io.err('gartbench: note: --strategy plays no part in a trace (it picks the TTM pool behind a script\'s tt_* ops, and a trace has none)\n');
    if (!all) {
      const { formatResult } = await import('../report/format.js');
      emit(v, io, results[0], () => formatResult(results[0]!));
      return;
    }
    const [{ matrixDoc }, { formatReplayMatrix }] = await Promise.all([import('../report/shard.js'), import('../report/replayFormat.js')]);
    const doc = matrixDoc(results, run, v.engine as string);
    emit(v, io, doc, () => formatReplayMatrix(results, doc.engine));
  },
};

/** The busiest recording device of a trace file, found by a first pass; undefined for a stream
 * (a pipe or standard input cannot be read twice: the translator takes the first device then). */
async function busiest(script: string, signal: AbortSignal): Promise<string | undefined> {
  if (script === '-') return undefined;
  const info = await stat(script).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const { busiestDevice, scanTraceDevices } = await import('../source/traceFile.js');
  return busiestDevice(script, await scanTraceDevices(script, signal));
}
