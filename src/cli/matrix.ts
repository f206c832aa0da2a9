// `gartbench matrix`: every platform × strategy (TTM devices) or × gatt (agp), side by side; with
// --shard K/N only the K-th of N slices of those cells, as a part `gartbench merge` can join.
import { matrixOrder } from '../run/matrix.js';
import { parseShard, shardSlice } from '../run/shard.js';
import type { KernelName } from '../engine/abi.js';
import type { DeviceName } from '../source/scenario.js';
import type { Command } from './command.js';
import { costsInput, checkOutPath, emit } from './output.js';
import { SHARD_OPTION } from './options.js';
import { RUN_SPECS } from './run.js';

export const matrix: Command = {
  usage: 'gartbench matrix [--device D] [--workload W] [scenario options but platform/strategy/gatt] [--shard K/N] [--json] [--out FILE]',
  about: 'Runs every platform × strategy (TTM devices; auto, the kernel\'s own choice, beside the RFC\'s four\npaths) or platform × gatt (agp) for one device and workload, and prints the verdicts side by side.\nWith --shard K/N it runs one slice of those cells (one machine of many); `gartbench merge` joins the parts into the result one unsharded run gives.',
  specs: [...RUN_SPECS.filter((s) => !['platform', 'strategy', 'gatt', 'json', 'out'].includes(s.name)), SHARD_OPTION, ...RUN_SPECS.filter((s) => ['json', 'out'].includes(s.name))],
  interruptible: true,
  async run(v, _args, io, _given, signal) {
    const shard = typeof v.shard === 'string' ? parseShard(v.shard) : undefined;
    const [{ costsFrom, runPlans, workloadPlanFrom }, { formatMatrix }, { matrixDoc, runIdentity, shardRecord }] = await Promise.all([
      import('./plans.js'), import('../report/matrixFormat.js'), import('../report/shard.js')]);
    // With --swiotlb-dynamic a 32-bit radeon's xen-pv cells are machines whose driver never comes
    // up (run/plan.ts xenDynamicProbeFailure): they run, move nothing, and say why.
    const all = matrixOrder(v.device as DeviceName, v.kernel as KernelName).map((c) => workloadPlanFrom({ ...v, platform: c.platform, strategy: c.strategy ?? undefined, gatt: c.gatt ?? undefined }, new Set()));
    checkOutPath(v.out, [costsInput(v)]);
    const costs = costsFrom(v);
    const { items: plans, indices } = shard ? shardSlice(all, shard) : { items: all, indices: undefined };
    const { results: cells, run } = await runPlans(plans, costs, v, io, signal);
    const part = shard ? shardRecord(shard, all.length, runIdentity(all, costs)) : undefined;
    const doc = matrixDoc(cells, run, v.engine as string, part);
    emit(v, io, doc, () => formatMatrix(cells, { engine: doc.engine, shard: part, indices }));
  },
};
