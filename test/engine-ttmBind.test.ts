// TT_BIND, TT_UNBIND and TT_SYNC (docs/ENGINE.md §11, §15): a tt's pages mapped one by one, a
// failed map unwinding the bind and the GPU skipping the range, coherent handles bound as they
// are, and unbind copying back. Every case runs on both engines and checks the invariants.
import { describe } from 'node:test';
import { BindMode, Caching, Kernel, Platform, Pool, ViolationKind, type MachineConfig } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, cpuWrite, gpuRead, gpuWrite, populate, runCases, ttBind, ttSync, ttUnbind, unpopulate, type EngineCase,
} from './engineHarness.js';

// A 256-slot swiotlb pool whose slots 0-1 the GART dummy page holds from init (ENGINE.md §1):
// 127 page maps fit, the 128th fails. On xen-pv (32-bit device, guest frames above 4 GiB) and
// under swiotlb=force every page bounces, so both fail the same way.
const full: [string, Partial<MachineConfig>][] = [
  ['xen-pv', { nslabs: 256 }],
  ['swiotlb=force', { platform: Platform['swiotlb-force'], nslabs: 256 }],
];

const failureCases: EngineCase[] = full.flatMap(([name, cfg]): EngineCase[] => [
  { description: `${name}, 2010: the 128th dma_map_page fails: 127 unmapped again, nothing written, 200 GPU pages skipped twice`,
    cfg, ops: [populate(0, 200), ttBind(0), gpuRead(0, 200), gpuWrite(0, 200)],
    expect: { maps: 128, unmaps: 127, mappingErrors: 1, swiotlbFull: 1, bindFailures: 1, gartWrites: 0, tlbFlushes: 0,
      gpuSkippedPages: 400, gpuReads: 0, gpuWrites: 0, foreignReads: 0, dmaDebugErrors: 0, swiotlbSlotsInUse: 2 } },
  { description: `${name}, modern kernel: the same failure through DMA_MAPPING_ERROR, same unwinding`,
    cfg: { ...cfg, kernel: Kernel.modern }, ops: [populate(0, 200), ttBind(0), gpuRead(0, 10)],
    expect: { maps: 128, unmaps: 127, bindFailures: 1, swiotlbSlotsInUse: 2, gpuSkippedPages: 10 } },
]);

const force = full[1][1];
const bare = { platform: Platform['bare-metal'] };
const tight = { nslabs: 256, xenLowPages: 2 }; // 2 low frames left after boot

const bindCases: EngineCase[] = [
  ...failureCases,
  { description: 'xen-pv: a later successful bind over the range (after unpopulate) clears the failed marks', cfg: { nslabs: 256 },
    ops: [populate(0, 200), ttBind(0), unpopulate(0), populate(1, 4), ttBind(1), gpuRead(0, 4)],
    expect: { bindFailures: 1, gpuSkippedPages: 0, gpuReads: 4 } },
  { description: 'swiotlb=force: a later bind of 4 pages clears only their failed marks', cfg: force,
    ops: [populate(0, 200), ttBind(0), populate(1, 4), ttBind(1), gpuRead(0, 8)],
    expect: { bindFailures: 1, gpuSkippedPages: 4, gpuReads: 4 } },
  { description: 'xen-pv: a failed populate makes a failed bind', cfg: tight,
    ops: [populate(0, 4, Pool.xenAware, Caching.cached), ttBind(0, 8), gpuRead(8, 4)],
    expect: { bindFailures: 1, gpuSkippedPages: 4, maps: 0 } },
  { description: 'bare metal: a bind past the aperture fails', cfg: { ...bare, gartPages: 16 },
    ops: [populate(0, 4), ttBind(0, 14), gpuRead(14, 2)], expect: { bindFailures: 1, gpuSkippedPages: 2, maps: 0 } },
  { description: 'xen-pv: coherent pages bind with their handles: no map, one flush; TT_SYNC is made but copies nothing', cfg: {},
    ops: [populate(0, 4, Pool.ttmDma), ttBind(0, 0, BindMode.coherent), cpuWrite(0, 0, 4 * PAGE), ttSync(0, 0), gpuRead(0, 4)],
    expect: { maps: 0, gartWrites: 4, tlbFlushes: 1, syncsForDevice: 4, dmaDebugErrors: 0, staleReads: 0 }, kind: ViolationKind.none },
  { description: 'xen-pv: unbind unmaps every page and copies back', cfg: {},
    ops: [populate(0, 4), ttBind(0), ttUnbind(0)], expect: { unmaps: 4, bounceBytes: 8 * PAGE, gartWrites: 8, tlbFlushes: 2 } },
  { description: 'xen-pv: unpopulate of a bound tt unbinds first', cfg: {},
    ops: [populate(0, 4), ttBind(0), unpopulate(0)], expect: { unmaps: 4, gartWrites: 8, swiotlbSlotsInUse: 2 } },
];

for (const engine of ENGINES) {
  describe(`TT_BIND: a failed map unwinds the bind, the GPU skips the range; unbind and sync (engine ${engine})`, () =>
    runCases(engine, bindCases));
}
