// TT_BIND, TT_UNBIND and TT_SYNC (docs/ENGINE.md §10, §11, §15): radeon's pages mapped one by one
// at bind, a failed map unwinding the bind and the GPU skipping the range, coherent handles bound
// as they are, and unbind copying back; nouveau (2.6.37) mapping at populate instead, with the two
// bugs that follow; the TLB flushes each family's hardware gets. Every case runs on both engines
// and checks the invariants. Expected numbers are derived by hand from the kernel functions named.
import { describe } from 'node:test';
import { BindMode, Caching, GartFamily, GattMode, Kernel, Platform, Pool, ViolationKind, type MachineConfig } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, alloc, bind, cpuRead, cpuWrite, gattCreate, gpuRead, gpuWrite, populate, runCases, ttBind, ttSync, ttUnbind,
  unbind, unpopulate, type EngineCase, type OpWords,
} from './engineHarness.js';

// A 256-slot swiotlb pool whose slots 0-1 the GART dummy page holds from init (ENGINE.md §1):
// 127 page maps fit, the 128th fails. On xen-pv (32-bit device, guest frames above 4 GiB) and
// under swiotlb=force every page bounces, so both fail the same way.
const full: [string, Partial<MachineConfig>][] = [
  ['xen-pv', { nslabs: 256 }],
  ['swiotlb=force', { platform: Platform['swiotlb-force'], nslabs: 256 }],
];

const failureCases: EngineCase[] = full.flatMap(([name, cfg]): EngineCase[] => [
  // radeon_gart_bind writes each mapped page's entry before mapping the next; its error path
  // (radeon_gart_unbind) unmaps those 127 and points their entries back at the dummy page; its
  // radeon_gart_tlb_flush reaches r100_pci_gart_tlb_flush, which is empty: no flush.
  { description: `${name}, 2010: the 128th dma_map_page fails: 127 entries written then unmapped and reset to the dummy page, no flush (r100\'s is empty), 200 GPU pages skipped twice`,
    cfg, ops: [populate(0, 200), ttBind(0), gpuRead(0, 200), gpuWrite(0, 200)],
    expect: { maps: 128, unmaps: 127, mappingErrors: 1, swiotlbFull: 1, bindFailures: 1, gartWrites: 2 * 127, tlbFlushes: 0,
      gpuSkippedPages: 400, gpuReads: 0, gpuWrites: 0, foreignReads: 0, dmaDebugErrors: 0, swiotlbSlotsInUse: 2 } },
  // 6.12: ttm_pool_alloc's first block is order fls(200) - 1 = 7 (128 pages), mapped whole at
  // allocation (ttm_pool_map): a 512 KiB bounce is more than one 128-slot segment, so the one map
  // fails (DMA_MAPPING_ERROR), the block goes back (error_free_page) and the populate fails; the
  // bind of a failed tt fails, its GPU pages are skipped. Only the dummy page holds slots.
  { description: `${name}, modern kernel: the populate's first block (order 7) cannot be bounced: the populate fails, so does the bind`,
    cfg: { ...cfg, kernel: Kernel.modern }, ops: [populate(0, 200), ttBind(0), gpuRead(0, 10)],
    expect: { maps: 1, unmaps: 0, mappingErrors: 1, swiotlbFull: 1, allocFailures: 1, pagesAllocated: 128, pagesFreed: 128,
      bindFailures: 1, swiotlbSlotsInUse: 2, gpuSkippedPages: 10 } },
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
  { description: 'xen-pv: coherent pages bind with their handles: no map, no flush on r100; TT_SYNC is made but copies nothing', cfg: {},
    ops: [populate(0, 4, Pool.ttmDma), ttBind(0, 0, BindMode.coherent), cpuWrite(0, 0, 4 * PAGE), ttSync(0, 0), gpuRead(0, 4)],
    expect: { maps: 0, gartWrites: 4, tlbFlushes: 0, syncsForDevice: 4, dmaDebugErrors: 0, staleReads: 0 }, kind: ViolationKind.none },
  { description: 'xen-pv: unbind unmaps every page and copies back', cfg: {},
    ops: [populate(0, 4), ttBind(0), ttUnbind(0)], expect: { unmaps: 4, bounceBytes: 8 * PAGE, gartWrites: 8, tlbFlushes: 0 } },
  { description: 'xen-pv: unpopulate of a bound tt unbinds first', cfg: {},
    ops: [populate(0, 4), ttBind(0), unpopulate(0)], expect: { unmaps: 4, gartWrites: 8, swiotlbSlotsInUse: 2 } },
];

// ---- nouveau (2.6.37): nouveau_sgdma_populate maps, clear unmaps; bind and unbind write entries only ----
// The base machine is xen-pv with a 32-bit mask: every guest frame is above 4 GiB, so every page
// map bounces (2 slots per page) and, BIDIRECTIONAL, copies the page in (bounceBytes += 4096).
const nv04 = { gartFamily: GartFamily.nv04 };
const nv50Force = { gartFamily: GartFamily.nv50, maskBits: 40, platform: Platform['swiotlb-force'] };
const r600Force = { ...nv50Force, gartFamily: GartFamily.r600 };
const four = 4 * PAGE;
/** A CPU write between populate and bind, then the GPU reads (the first nouveau bug). */
const writeThenBind: OpWords[] = [populate(0, 4), cpuWrite(0, 0, four), ttBind(0), gpuRead(0, 4)];
/** The GPU writes, the tt is unbound, then the CPU reads (the second nouveau bug). */
const readAfterUnbind: OpWords[] = [populate(0, 4), ttBind(0), gpuWrite(0, 4), ttUnbind(0), cpuRead(0, 0, four)];

const nouveauCases: EngineCase[] = [
  { description: 'nv04, xen-pv: populate maps every page once; bind, unbind, rebind map nothing; unpopulate unmaps all (copy-back)',
    cfg: nv04, ops: [populate(0, 4), ttBind(0), ttUnbind(0), ttBind(0), unpopulate(0)],
    // 4 maps in (4 pages copied), 4 unmaps at clear (4 copied back); entries: 4 × (bind, unbind, bind, unbind)
    expect: { maps: 4, unmaps: 4, bounces: 4, bounceBytes: 8 * PAGE, gartWrites: 16, tlbFlushes: 0, swiotlbSlotsInUse: 2, dmaDebugErrors: 0 } },
  { description: 'nv04, xen-pv: a populated tt holds its bounce slots before any bind', cfg: nv04, ops: [populate(0, 4)],
    expect: { maps: 4, bounceBytes: four, swiotlbSlotsInUse: 2 + 8, gartWrites: 0 } }, // the dummy page's 2, then 2 per page
  { description: 'nv04, xen-pv: a CPU write between populate and bind is stale (the bounce was filled at populate)',
    cfg: nv04, ops: writeThenBind, expect: { staleReads: 4, maps: 4 }, kind: ViolationKind.stale },
  { description: 'r100, xen-pv: the same ops are clean: radeon_gart_bind maps after the write', cfg: {}, ops: writeThenBind,
    expect: { staleReads: 0, maps: 4 }, kind: ViolationKind.none },
  { description: 'nv50, swiotlb=force: the same stale read', cfg: nv50Force, ops: writeThenBind, expect: { staleReads: 4 }, kind: ViolationKind.stale },
  { description: 'r600, swiotlb=force: clean', cfg: r600Force, ops: writeThenBind, expect: { staleReads: 0 }, kind: ViolationKind.none },
  { description: 'nv04, xen-pv: a CPU read after unbind loses the GPU\'s writes: nouveau unbind unmaps nothing',
    cfg: nv04, ops: readAfterUnbind, expect: { lostWrites: 4, unmaps: 0, bounceBytes: four }, kind: ViolationKind.lost },
  { description: 'r100, xen-pv: clean: radeon_gart_unbind unmaps and copies the GPU\'s writes back', cfg: {}, ops: readAfterUnbind,
    expect: { lostWrites: 0, unmaps: 4, bounceBytes: 8 * PAGE }, kind: ViolationKind.none },
  { description: 'nv50, swiotlb=force: the same lost writes', cfg: nv50Force, ops: readAfterUnbind, expect: { lostWrites: 4 }, kind: ViolationKind.lost },
  { description: 'r600, swiotlb=force: clean', cfg: r600Force, ops: readAfterUnbind, expect: { lostWrites: 0 }, kind: ViolationKind.none },
  { description: 'nv04, xen-pv: TT_SYNC acts on the populate\'s live maps while unbound: the write reaches the bounce',
    cfg: nv04, ops: [populate(0, 4), cpuWrite(0, 0, four), ttSync(0, 0), ttBind(0), gpuRead(0, 4)],
    expect: { staleReads: 0, syncsForDevice: 4, bounceBytes: 8 * PAGE, dmaDebugErrors: 0 }, kind: ViolationKind.none },
  { description: 'nv04, xen-pv: TT_SYNC for the CPU after unbind brings the GPU\'s writes back',
    cfg: nv04, ops: [populate(0, 4), ttBind(0), gpuWrite(0, 4), ttUnbind(0), ttSync(0, 1), cpuRead(0, 0, four)],
    expect: { lostWrites: 0, syncsForCpu: 4, bounceBytes: 8 * PAGE, dmaDebugErrors: 0 }, kind: ViolationKind.none },
  // nouveau_sgdma_populate: with the dummy page in 2 of the 256 slots the 128th map fails; clear
  // unmaps the 127 (in reverse, copying each back) and returns
  // -EFAULT, which ttm_tt_populate ignores: the tt is populated (no allocation failure), the bind
  // succeeds with no entry written (its backend holds no page) and the GPU reads the dummy page.
  { description: 'nv04, xen-pv: a failed populate map is ignored by TTM: the bind writes nothing, the GPU reads the dummy page',
    cfg: { ...nv04, nslabs: 256 }, ops: [populate(0, 200), ttBind(0), gpuRead(0, 200), ttUnbind(0), unpopulate(0)],
    expect: { maps: 128, unmaps: 127, mappingErrors: 1, swiotlbFull: 1, allocFailures: 0, bindFailures: 0, gartWrites: 0, tlbFlushes: 0,
      gpuSkippedPages: 0, gpuReads: 200, foreignReads: 200, swiotlbSlotsInUse: 2, bounceBytes: 2 * 127 * PAGE }, kind: ViolationKind.foreign },
  { description: 'nv50, swiotlb=force: the same, with nv50\'s four TLB flushes and invalid (zero) entries',
    cfg: { ...nv50Force, nslabs: 256 }, ops: [populate(0, 200), ttBind(0), gpuRead(0, 200), ttUnbind(0)],
    expect: { maps: 128, unmaps: 127, bindFailures: 0, gartWrites: 0, tlbFlushes: 4, foreignReads: 200 }, kind: ViolationKind.foreign },
  { description: 'nv04, xen-pv: dma-pool pages bind with their coherent handles in mode 0: nothing mapped, clean',
    cfg: nv04, ops: [populate(0, 4, Pool.ttmDma), ttBind(0), cpuWrite(0, 0, four), gpuRead(0, 4), ttUnbind(0), unpopulate(0)],
    expect: { maps: 0, unmaps: 0, gartWrites: 8, staleReads: 0 }, kind: ViolationKind.none },
  { description: 'nv04 on an AGP device (a GATT exists): ttm_agp_backend, nothing mapped at populate',
    cfg: nv04, ops: [gattCreate(1024, GattMode.phys), populate(0, 4, Pool.agp, Caching.uc)], expect: { maps: 0 } },
  { description: 'nv04, xen-pv: a tt populated before the device became AGP keeps its maps until unpopulate (T23)',
    cfg: nv04, ops: [populate(0, 4), gattCreate(1024, GattMode.phys), ttBind(0), ttUnbind(0), unpopulate(0)],
    expect: { maps: 4, unmaps: 4, tlbFlushes: 2, swiotlbSlotsInUse: 2 } },
  // 6.12: nouveau_ttm_tt_populate is ttm_pool_alloc, which maps the one order-2 block of a 4-page
  // tt at allocation; nouveau binds from the tt's dma_address, so bind and unbind map nothing.
  { description: 'nv04, modern kernel: the pool maps the order-2 block once at populate; bind and unbind map nothing',
    cfg: { ...nv04, kernel: Kernel.modern }, ops: [populate(0, 4), ttBind(0), ttUnbind(0)],
    expect: { maps: 1, unmaps: 0, tlbFlushes: 0 } },
  { description: 'nv04, modern kernel: unpopulate unmaps the block once (ttm_pool_unmap)', cfg: { ...nv04, kernel: Kernel.modern },
    ops: [populate(0, 4), unpopulate(0)], expect: { maps: 1, unmaps: 1 } },
];

// ---- TLB flushes per bind and per unbind (ENGINE.md §10) ----
// radeon_gart_bind/unbind: one radeon_gart_tlb_flush each, which on r100 is r100_pci_gart_tlb_flush,
// an empty function (none), on r600 one; nouveau_sgdma_bind/unbind: nv04 only instmem.flush, which
// is empty (none); nv50 nv50_vm_flush of PFIFO (5) and PGRAPH (0): two each. 6.12: r100's is still
// empty; r600 one; nv04's VMM has no flush function (nv04_vmm), none; nv50 one (standing for
// nv50_vmm_flush's per-engine writes, not modelled).
const FLUSHES: [keyof typeof GartFamily, number, number][] = [['r100', 0, 0], ['r600', 1, 1], ['nv04', 0, 0], ['nv50', 2, 1]];
const flushCases: EngineCase[] = FLUSHES.flatMap(([family, n, modern]): EngineCase[] => [
  { description: `${family}: TT_BIND + TT_UNBIND give ${2 * n} TLB flushes`, cfg: { gartFamily: GartFamily[family] },
    ops: [populate(0, 4), ttBind(0), ttUnbind(0)], expect: { tlbFlushes: 2 * n, gartWrites: 8 } },
  { description: `${family}: gart_bind + gart_unbind give ${2 * n} TLB flushes`, cfg: { gartFamily: GartFamily[family] },
    ops: [alloc(0), bind(0), unbind(0, 1)], expect: { tlbFlushes: 2 * n, gartWrites: 2 } },
  { description: `${family}, modern kernel: ${modern} flush per bind and per unbind`, cfg: { gartFamily: GartFamily[family], kernel: Kernel.modern },
    ops: [populate(0, 4), ttBind(0), ttUnbind(0), alloc(1), bind(1, 8), unbind(8, 1)], expect: { tlbFlushes: 4 * modern } },
]);

for (const engine of ENGINES) {
  describe(`TT_BIND: a failed map unwinds the bind, the GPU skips the range; unbind and sync (engine ${engine})`, () =>
    runCases(engine, bindCases));
  describe(`nouveau maps at populate: bind and unbind write entries only, TT_SYNC on live maps (engine ${engine})`, () =>
    runCases(engine, nouveauCases));
  describe(`TLB flushes per family (engine ${engine})`, () => runCases(engine, flushCases));
}
