// The AGP GATT (docs/ENGINE.md §12, §15; drivers/char/agp/generic.c 2005): the chipset reads
// entries at machine addresses, behind no IOMMU; inserts are -EBUSY over used entries and -EINVAL
// beyond num_entries; AGP pages are set uncached per populate. Both engines, invariants checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindMode, Caching, GartFamily, GattMode, Platform, Pool, ViolationKind, type MachineConfig } from '../src/engine/abi.js';
import {
  COHERENT, ENGINES, PAGE, cpuWrite, gattCreate, gpuRead, oracleOf, populate, release, runCases, runOn, ttBind, ttUnbind, unpopulate,
  type EngineCase, type OpWords,
} from './engineHarness.js';

const agp = (platform: number, over: Partial<MachineConfig> = {}) => ({ platform, gartFamily: GartFamily.agp, ...over });
const GATT_POOL = [Pool.agp, Pool.agpCoherent, Pool.agpFsb];
const GATT_BIND = [BindMode.map, BindMode.coherent, BindMode.fsb];
/** A 64-entry table (one page, order 0), a 4-page uc tt bound at 0, written by the CPU, read by the GPU. */
const agpUpload = (mode: number): OpWords[] => [
  gattCreate(64, mode), populate(0, 4, GATT_POOL[mode], Caching.uc), ttBind(0, 0, GATT_BIND[mode]), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4),
];

const rows: { description: string; platform: number; mode: number; foreign: number; also?: object }[] = [
  { description: 'phys under xen-pv: the bridge base is a pfn, the chipset finds no table there', platform: Platform['xen-pv'], mode: GattMode.phys, foreign: 4 },
  { description: 'phys on bare metal works', platform: Platform['bare-metal'], mode: GattMode.phys, foreign: 0 },
  { description: 'phys under an IOMMU works (the chipset bypasses it, the table is in place)', platform: Platform.iommu, mode: GattMode.phys, foreign: 0 },
  { description: 'dma-coherent under an IOMMU: the base is an IOVA, no machine address', platform: Platform.iommu, mode: GattMode.dmaCoherent, foreign: 4 },
  { description: 'dma-coherent under xen-pv works (exchanged, machine handles)', platform: Platform['xen-pv'], mode: GattMode.dmaCoherent, foreign: 0 },
  { description: 'fsb-hooks under xen-pv works: the table (order 0) and each page are exchanged below 4 GiB (the table uncounted)',
    platform: Platform['xen-pv'], mode: GattMode.fsbHooks, foreign: 0, also: { hypercalls: 4, exchangedFrames: 4 } }, // the table's exchange is the machine's: uncounted
  { description: 'fsb-hooks on bare metal works', platform: Platform['bare-metal'], mode: GattMode.fsbHooks, foreign: 0 },
  { description: 'fsb-hooks under an IOMMU works', platform: Platform.iommu, mode: GattMode.fsbHooks, foreign: 0 },
];

const bareAgp = agp(Platform['bare-metal']);
const insertCases: EngineCase[] = [
  { description: 'a second tt over used entries is -EBUSY: nothing of it is written',
    cfg: bareAgp, ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), populate(1, 2, Pool.agp), ttBind(0, 0), ttBind(1, 2), gpuRead(2, 2)],
    expect: { gattBusy: 1, gartWrites: 4, tlbFlushes: 1, bindFailures: 0, foreignReads: 0 } },
  { description: 'after the first is unbound the second fits',
    cfg: bareAgp, ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), populate(1, 2, Pool.agp), ttBind(0, 0), ttUnbind(0), ttBind(1, 2)],
    expect: { gattBusy: 0, gartWrites: 4 + 4 + 2, tlbFlushes: 3 } },
  { description: 'beyond num_entries (-EINVAL): a bind failure, the GPU skips the range',
    cfg: bareAgp, ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), ttBind(0, 62), gpuRead(62, 4)],
    expect: { bindFailures: 1, gpuSkippedPages: 4, gartWrites: 0 } },
  // INTERFACE.md: what the driver does once when the device comes up (the GATT) belongs to the
  // machine and is not counted, though it holds what it holds; nor is its teardown (RELEASE).
  ...[GattMode.phys, GattMode.dmaCoherent, GattMode.fsbHooks].flatMap((mode) => [Platform['xen-pv'], Platform.iommu].map((platform): EngineCase => ({
    description: `the GATT's table (mode ${mode}, platform ${platform}) counts nothing, made or freed, but holds its pages`,
    cfg: agp(platform), ops: [gattCreate(4096, mode), populate(0, 4, GATT_POOL[mode], Caching.uc), ttBind(0, 0, GATT_BIND[mode]), ttUnbind(0), unpopulate(0), release()],
    expect: { pagesAllocated: 4, pagesFreed: 4, coherentAllocs: mode === GattMode.dmaCoherent ? 4 : 0, allocFailures: 0, bindFailures: 0,
      hypercalls: platform === Platform['xen-pv'] && mode !== GattMode.phys ? 8 : 0, exchangedFrames: platform === Platform['xen-pv'] && mode !== GattMode.phys ? 8 : 0,
      iommuPagesMapped: platform === Platform.iommu && mode === GattMode.dmaCoherent ? 4 : 0 },
  }))),
  { description: 'no table yet: the bind fails',
    cfg: bareAgp, ops: [populate(0, 4, Pool.agp), ttBind(0, 0)], expect: { bindFailures: 1 } },
  { description: 'no DMA API call for AGP binds',
    cfg: agp(Platform['xen-pv']), ops: [gattCreate(64, GattMode.fsbHooks), populate(0, 4, Pool.agpFsb), ttBind(0, 0, BindMode.fsb), ttUnbind(0)],
    expect: { maps: 0, unmaps: 0 } },
  { description: 'agp pages are set uc once per populate and back to wb once per unpopulate',
    cfg: bareAgp, ops: [populate(0, 4, Pool.agp), unpopulate(0)], expect: { cachingChangeCalls: 2, cachingChangePages: 8, pagesFreed: 4 } },
  // agp_generic_alloc_pages / agp_generic_destroy_pages: one set_pages_array_uc and one _wb over the
  // whole array, however long (agpgart does not batch by 512 as TTM's pools do).
  { description: 'agp pages: one change per populate and one back per unpopulate, one call each however many pages',
    cfg: bareAgp, ops: [populate(0, 600, Pool.agp), unpopulate(0)],
    expect: { cachingChangeCalls: 2, cachingChangePages: 1200, pagesAllocated: 600, pagesFreed: 600 } },
  // The proposal's dma_alloc_coherent pages are write-back on x86 too: agp_generic_alloc_pages still
  // makes them uncached, and agp_generic_destroy_pages write-back again.
  { description: 'dma-coherent agp pages on x86 are set uc and back to wb too',
    cfg: bareAgp, ops: [populate(0, 4, Pool.agpCoherent), unpopulate(0)], expect: { cachingChangeCalls: 2, cachingChangePages: 8, coherentAllocs: 4 } },
  // set_pages_array_uc/_wb are CONFIG_X86 only; 2010's iommu is ppc64 (map_page_into_agp: nothing), 6.12's x86.
  ...[Pool.agp, Pool.agpCoherent, Pool.agpFsb].flatMap((pool) => [0, 1].map((kernel): EngineCase => ({
    description: `agp pages (pool ${pool}) on ${kernel === 0 ? "2010's iommu, ppc64: no caching change" : "6.12's iommu, x86: uc and back to wb"}`,
    cfg: agp(Platform.iommu, { kernel }), ops: [populate(0, 4, pool), unpopulate(0)],
    expect: kernel === 0 ? { cachingChangeCalls: 0, cachingChangePages: 0, pagesFreed: 4 } : { cachingChangeCalls: 2, cachingChangePages: 8, pagesFreed: 4 },
  }))),
  // A failed alloc jumps past set_pages_array_uc; agp_free_memory's destroy sets the pages it got back to wb.
  { description: 'agp pages: a populate the DMA32 zone cannot fill changes nothing to uc; its pages go back to wb in one call',
    cfg: bareAgp, ops: [populate(0, 200_000, Pool.agp), unpopulate(0)],
    check: (o) => {
      assert.equal(o.c.allocFailures, 1);
      assert.ok(o.c.pagesAllocated > 0 && o.c.pagesAllocated < 200_000);
      assert.deepEqual([o.c.cachingChangeCalls, o.c.cachingChangePages], [1, o.c.pagesAllocated]);
      assert.equal(o.c.pagesFreed, o.c.pagesAllocated);
    } },
];

for (const engine of ENGINES) {
  describe(`the AGP GATT: the chipset reads entries at machine addresses, behind no IOMMU (engine ${engine})`, () => {
    for (const tc of rows) {
      it(tc.description, async () => {
        const o = await runOn(engine, agp(tc.platform), agpUpload(tc.mode));
        assert.deepEqual(oracleOf(o), { ...COHERENT, foreign: tc.foreign });
        assert.equal(o.c.gpuReads, 4);
        assert.equal(o.c.maps, 0, 'no DMA API on the AGP path');
        for (const [k, want] of Object.entries(tc.also ?? {})) assert.equal(o.c[k as keyof typeof o.c], want, k);
        assert.equal(o.invariants, 0);
      });
    }
    it('the xen-pv phys violation: the entry the chipset found is invalid (0)', async () => {
      const { violation } = await runOn(engine, agp(Platform['xen-pv']), agpUpload(GattMode.phys));
      const [kind, , reader, , mfn, dmaAddr, gpuPage, pte] = violation!;
      assert.deepEqual([kind, reader, mfn, dmaAddr, gpuPage, pte], [BigInt(ViolationKind.foreign), 2n, -1n, -1n, 0n, 0n]);
    });
    it('GATT_CREATE also turns a gartFamily-0 (r100) device into the AGP device (T16)', async () => {
      const phys = await runOn(engine, {}, agpUpload(GattMode.phys));
      assert.equal(oracleOf(phys).foreign, 4);
      assert.equal(phys.c.maps, 0);
      assert.equal(oracleOf(await runOn(engine, {}, agpUpload(GattMode.fsbHooks))).foreign, 0);
    });
  });

  describe(`GATT insert: -EBUSY over a used entry, -EINVAL beyond num_entries; AGP caching (engine ${engine})`, () =>
    runCases(engine, insertCases));
}
