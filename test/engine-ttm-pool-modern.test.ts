// The modern (Linux 6.12) TTM path: drivers/gpu/drm/ttm/ttm_pool.c re-expressed through the KUnit
// cases of drivers/gpu/drm/ttm/tests/ttm_pool_test.c (order blocks, exact caching/order reuse, no
// splitting, per-device DMA pools, teardown empties) plus the 6.12 rules they rest on (fallback to
// a lower order, map per block, the page_pool_size shrink), and `--strategy auto`, which is
// drm_need_swiotlb's answer (drivers/gpu/drm/drm_cache.c, 6.12) as radeon_device_init and
// nouveau_ttm_init pass it to ttm_device_init as use_dma_alloc. Each expectation is derived by hand
// from the rule in the comment beside it; every case runs on both engines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindMode, Caching, GartFamily, InitError, Kernel, Platform, Pool, TTM_POOLS, VIOLATION_FIELDS, Via, ViolationKind } from '../src/engine/abi.js';
import { runCell } from '../src/run/cell.js';
import { autoStrategy, drmNeedSwiotlb } from '../src/run/needSwiotlb.js';
import { cellsOf, planWorkload } from '../src/run/plan.js';
import type { DeviceName, StrategyName, WorkloadScenario } from '../src/source/scenario.js';
import { cli, scratch, script } from './helpers.js';
import {
  ENGINES, PAGE, cpuWrite, createEngine, gpuRead, machineConfig, opWords, outcomeOf, poolsByName, populate, release, runCases, ttBind, ttSync,
  ttUnbind, unpopulate, type EngineCase, type EngineName, type OpWords, type Outcome,
} from './engineHarness.js';

type PoolName = (typeof TTM_POOLS)[number];

/** Runs `ops` on the base machine with `over`; the outcome and the free pages per pool name. */
async function withPools(engine: EngineName, over: object, ops: OpWords[]): Promise<{ o: Outcome; pools: Record<PoolName, number> }> {
  const e = await createEngine(engine);
  assert.equal(e.init(machineConfig(over)), InitError.OK);
  e.run(opWords(ops), ops.length, 0);
  const pools = poolsByName(e);
  return { o: outcomeOf(e), pools };
}

/** Only the named pools hold pages, exactly these many. */
function onlyPools(pools: Record<PoolName, number>, want: Partial<Record<PoolName, number>>): void {
  assert.deepEqual(Object.fromEntries(Object.entries(pools).filter(([, n]) => n !== 0)), want);
}

// Bare metal, 512 MiB, a 32-bit r100, kernel 6.12: the mask reaches all RAM, so radeon's use_dma32
// (dma_addressing_limited) is false and wc/uc pages take the normal global types.
const bare = { platform: Platform['bare-metal'], kernel: Kernel.modern };
// 32 MiB: the buddy holds pfns [4233, 8192), 3959 pages: three order-10 blocks [5120, 8192) and
// below them one block each of orders 9, 8, 6, 5, 4, 2, 1, 0 (887 pages; 4233 = 4096 + 128 + 8 + 1).
const small = { ...bare, ramPages: 8192, nslabs: 256 };
// The base xen-pv guest (frames above 4 GiB, 32-bit device), kernel 6.12: every map bounces.
const xen = { kernel: Kernel.modern };

// ttm_pool_alloc: order = min(MAX_PAGE_ORDER (10), fls(n) - 1), lowered to fls(remaining) - 1 as
// pages come; each block is one alloc_pages (pagesAllocated += 2^order) and one dma_map_page of the
// whole block (ttm_pool_map); the fresh run gets one set_pages_array_wc at the end
// (ttm_pool_apply_caching), whatever its length.
const allocCases: EngineCase[] = [
  { description: 'ttm_pool_alloc_basic "One page": one order-0 block, one map, one caching call',
    cfg: bare, ops: [populate(0, 1)], expect: { pagesAllocated: 1, maps: 1, cachingChangeCalls: 1, cachingChangePages: 1 } },
  { description: 'ttm_pool_alloc_basic "More than one page" (order 2): one block of 4 pages, mapped once',
    cfg: bare, ops: [populate(0, 4)], expect: { pagesAllocated: 4, maps: 1, cachingChangeCalls: 1, cachingChangePages: 4 } },
  { description: 'ttm_pool_alloc_basic "Above the allocation limit" (2^11 pages): two blocks of MAX_PAGE_ORDER (10)',
    cfg: bare, ops: [populate(0, 2048)], expect: { pagesAllocated: 2048, maps: 2, cachingChangeCalls: 1, cachingChangePages: 2048 } },
  { description: 'largest order that fits first: 7 pages are blocks of order 2, 1 and 0 (three maps)',
    cfg: bare, ops: [populate(0, 7)], expect: { pagesAllocated: 7, maps: 3, cachingChangeCalls: 1 } },
  { description: 'ttm_pool_alloc_basic with coherent DMA mappings: one dma_alloc_attrs per block, no dma_map_page',
    cfg: bare, ops: [populate(0, 1, Pool.ttmDma), populate(1, 2048, Pool.ttmDma)],
    expect: { pagesAllocated: 2049, coherentAllocs: 3, maps: 0, cachingChangeCalls: 2 } },
  { description: 'cached pages: no caching call at allocation, none at free, never pooled without DMA allocation',
    cfg: bare, ops: [populate(0, 4, Pool.ttm, Caching.cached), unpopulate(0)],
    expect: { pagesAllocated: 4, pagesFreed: 4, maps: 1, unmaps: 1, cachingChangeCalls: 0 } },
  // small: 3072 pages take the three order-10 blocks; 1024 more then find no order-10 block, and each
  // failed order drops to the next: 512, 256, (no 128) 64, 32, 16, (no 8) 4, 2, 1 = 887 pages got,
  // then order 0 fails: -ENOMEM. error_free_all gives the 8 blocks back as cached (their caching
  // was never applied): 8 unmaps, no set_pages_wb, 887 pages freed.
  { description: 'a higher order that fails falls back to the next lower one; at order 0 the populate fails and frees what it got',
    cfg: small, ops: [populate(0, 3072, Pool.ttm, Caching.cached), populate(1, 1024)],
    expect: { pagesAllocated: 3072 + 887, pagesFreed: 887, maps: 3 + 8, unmaps: 8, allocFailures: 1, cachingChangeCalls: 0 } },
];

// Reuse (ttm_pool_type_take / ttm_pool_type_give): the pool id a page of caching c and order o
// goes back to is the one a later request of c and o takes from; pooled pages keep their caching
// (no caching call) and are mapped again when taken (ttm_pool_page_allocated maps every block).

const GiB = 2 ** 30;

describe('drm_need_swiotlb(dma_bits) (drm_cache.c, 6.12)', () => {
  it('is true in a Xen PV domain whatever the mask and RAM (xen_pv_domain())', () => {
    assert.equal(drmNeedSwiotlb('xen-pv', 40, GiB), true);
    assert.equal(drmNeedSwiotlb('xen-pv', 32, GiB), true);
  });
  it('is true when memory encryption is active (cc_platform_has(CC_ATTR_MEM_ENCRYPT): the coco guest)', () => {
    assert.equal(drmNeedSwiotlb('coco', 40, GiB), true);
  });
  it('otherwise compares the highest iomem end (inclusive) with 1 << dma_bits, strictly', () => {
    // 4 GiB of RAM ends at 0xFFFF_FFFF, which is not above 1 << 32: false for a 32-bit mask.
    assert.equal(drmNeedSwiotlb('bare-metal', 32, 4 * GiB), false);
    // 4 GiB + 2 MiB ends at 0x1_001F_FFFF > 0x1_0000_0000: true.
    assert.equal(drmNeedSwiotlb('bare-metal', 32, 4 * GiB + 2 ** 21), true);
    // The same RAM is far below 1 << 40: false for a 40-bit mask.
    assert.equal(drmNeedSwiotlb('bare-metal', 40, 4 * GiB + 2 ** 21), false);
    // Neither a forced swiotlb nor an IOMMU enters the test: only the RAM's reach.
    assert.equal(drmNeedSwiotlb('swiotlb-force', 32, 2 * GiB), false);
    assert.equal(drmNeedSwiotlb('iommu', 32, 8 * GiB), true);
  });
});

describe('--strategy auto picks what the kernel\'s own driver does', () => {
  it('2010: always legacy (2.6.37 radeon and nouveau know only ttm_page_alloc + map)', () => {
    for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']) {
      assert.equal(autoStrategy('2010', platform, 32, 8 * GiB), 'legacy');
    }
  });
  it('modern: coherent exactly where drm_need_swiotlb is true, legacy elsewhere, per platform and device', () => {
    // r100/nv04 have a 32-bit mask, r600/nv50 a 40-bit one (run/machine.ts DEVICE_INFO).
    const want: Record<string, Record<string, [string, string]>> = {
      // [2 GiB of RAM, 6 GiB of RAM]
      'bare-metal': { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
      'swiotlb-force': { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
      'xen-pv': { 32: ['coherent', 'coherent'], 40: ['coherent', 'coherent'] },
      iommu: { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
    };
    for (const [platform, byBits] of Object.entries(want)) {
      for (const [bits, [at2, at6]] of Object.entries(byBits)) {
        assert.equal(autoStrategy('modern', platform, Number(bits), 2 * GiB), at2, `${platform} ${bits}-bit 2G`);
        assert.equal(autoStrategy('modern', platform, Number(bits), 6 * GiB), at6, `${platform} ${bits}-bit 6G`);
      }
    }
  });
});

const SIZES = { ram: 6 * GiB, hostRam: 16 * GiB, xenLowFree: 256 * 2 ** 20, swiotlb: 8 * 2 ** 20 };

function scenario(strategy: StrategyName, device: DeviceName, platform: 'bare-metal' | 'xen-pv', engine: 'wasm' | 'js'): WorkloadScenario {
  return {
    platform, device, strategy, gatt: null, workload: 'upload', pages: 128, boPages: 32, rounds: 1, seed: 3,
    kernel: 'modern', replicas: 1, payloadBytes: 0, engine,
  };
}

for (const engine of ENGINES) {
  describe(`auto runs as the strategy it resolves to (engine ${engine})`, () => {
    const cases: [DeviceName, 'bare-metal' | 'xen-pv', StrategyName][] = [
      ['r100', 'bare-metal', 'coherent'], // 6 GiB of RAM past a 32-bit mask
      ['r600', 'bare-metal', 'legacy'], // 6 GiB well inside 40 bits
      ['nv50', 'xen-pv', 'coherent'], // Xen PV: always
    ];
    for (const [device, platform, chosen] of cases) {
      it(`${device} on ${platform} with 6 GiB: auto is ${chosen}, counter for counter`, async () => {
        const auto = planWorkload(scenario('auto', device, platform, engine), SIZES);
        assert.equal(auto.scenario.strategy, chosen, 'the plan records the strategy auto chose');
        const same = planWorkload(scenario(chosen, device, platform, engine), SIZES);
        const a = await runCell(cellsOf(auto)[0]!);
        const b = await runCell(cellsOf(same)[0]!);
        assert.deepEqual(a.raw.counters, b.raw.counters);
      });
    }
  });
}

for (const engine of ENGINES) {
  describe(`ttm_pool_alloc (6.12): blocks of the largest order that fits, mapped once (engine ${engine})`, () => runCases(engine, allocCases));

  describe(`ttm_pool_test.c reuse cases, re-expressed on 6.12's pool types (engine ${engine})`, () => {
    it('ttm_pool_alloc_order_caching_match: a uc page of order 0 comes back and the next 1-page uc tt takes it', async () => {
      const { o, pools } = await withPools(engine, bare, [populate(0, 1, Pool.ttm, Caching.uc), unpopulate(0), populate(1, 1, Pool.ttm, Caching.uc)]);
      // one page from the buddy, one caching call (the pooled page keeps uc), mapped twice
      assert.deepEqual([o.c.pagesAllocated, o.c.cachingChangeCalls, o.c.maps, o.c.unmaps], [1, 1, 2, 1]);
      onlyPools(pools, {});
    });
    it('ttm_pool_alloc_caching_mismatch: cached pages in the DMA pool never serve uc; each goes back to its own type', async () => {
      const { o, pools } = await withPools(engine, bare, [
        populate(0, 4, Pool.ttmDma, Caching.cached), unpopulate(0), populate(1, 4, Pool.ttmDma, Caching.uc), unpopulate(1)]);
      assert.equal(o.c.coherentAllocs, 2);
      onlyPools(pools, { 'dma cached': 4, 'dma uc': 4 });
    });
    it('ttm_pool_alloc_order_mismatch: an order-2 block never serves a 1-page tt (no splitting); both come back', async () => {
      const { o, pools } = await withPools(engine, bare, [populate(0, 4), unpopulate(0), populate(1, 1), unpopulate(1)]);
      assert.equal(o.c.pagesAllocated, 5);
      onlyPools(pools, { 'wc normal': 5 });
    });
    it('no merging either: four order-0 pages pooled do not serve a 4-page tt, which takes a fresh order-2 block', async () => {
      const four = [0, 1, 2, 3].map((i) => populate(i, 1));
      const { o, pools } = await withPools(engine, bare, [...four, ...[0, 1, 2, 3].map((i) => unpopulate(i)), populate(4, 4)]);
      assert.equal(o.c.pagesAllocated, 8);
      onlyPools(pools, { 'wc normal': 4 });
    });
    it('ttm_pool_free_dma_alloc: a DMA pool\'s uc order-2 type is empty while the tt holds it, pooled after the free', async () => {
      const held = await withPools(engine, bare, [populate(0, 4, Pool.ttmDma, Caching.uc)]);
      onlyPools(held.pools, {});
      const freed = await withPools(engine, bare, [populate(0, 4, Pool.ttmDma, Caching.uc), unpopulate(0)]);
      onlyPools(freed.pools, { 'dma uc': 4 });
      assert.equal(freed.o.c.pagesFreed, 0);
    });
    it('per-device DMA pools apart from the global ones: pooled wc pages without DMA allocation never serve the DMA pool', async () => {
      const { o, pools } = await withPools(engine, bare, [populate(0, 4), unpopulate(0), populate(1, 4, Pool.ttmDma)]);
      assert.deepEqual([o.c.pagesAllocated, o.c.coherentAllocs], [8, 1]);
      onlyPools(pools, { 'wc normal': 4 });
    });
    it('ttm_pool_fini_basic: the release empties every type, one set_pages_wb per wc/uc block, all pages freed', async () => {
      // pooled: wc order 2 (global), uc order 0 (global), dma wc order 1; the release frees 3 blocks
      // with a caching call each, 7 pages in all.
      const { o, pools } = await withPools(engine, bare, [
        populate(0, 4), unpopulate(0), populate(1, 1, Pool.ttm, Caching.uc), unpopulate(1), populate(2, 2, Pool.ttmDma), unpopulate(2), release()]);
      onlyPools(pools, {});
      assert.deepEqual([o.c.pagesFreed, o.c.cachingChangeCalls - 3], [7, 3]);
      assert.equal(o.invariants, 0);
    });
    it('ttm_pool_free past page_pool_size (half of RAM, 65536 pages) shrinks round-robin, one block per type visited', async () => {
      // 66000 = 64 blocks of order 10 + orders 8, 7, 6, 4 (464 pages). Back in 'wc normal', 464 over the
      // size: the shrinker list (order by order: wc, uc, dma32 wc, dma32 uc) first reaches a non-empty
      // type at order 4, then 6, 7, 8: 16 + 64 + 128 + 256 = 464 pages freed, one set_pages_wb each.
      const { o, pools } = await withPools(engine, bare, [populate(0, 66000), unpopulate(0)]);
      assert.deepEqual([o.c.pagesFreed, o.c.maps, o.c.unmaps, o.c.cachingChangeCalls], [464, 68, 68, 1 + 4]);
      onlyPools(pools, { 'wc normal': 65536 });
    });
    it('the device\'s own (use_dma_alloc) types join the shrinker list in enum ttm_caching\'s order: uncached before cached', async () => {
      // Pooled: dma cached order 1 (2 pages), dma uc order 1 (2), dma wc 64 × order 10: 65540, 4 over.
      // ttm_pool_init adds the device's types uc 0..10, wc 0..10, cached 0..10 after the 88 empty
      // global ones: the shrink frees the uc block (2 pages, still 2 over), then a wc order-10 one.
      const { pools } = await withPools(engine, bare, [populate(0, 2, Pool.ttmDma, Caching.cached), populate(1, 2, Pool.ttmDma, Caching.uc),
        populate(2, 65536, Pool.ttmDma, Caching.wc), unpopulate(0), unpopulate(1), unpopulate(2)]);
      onlyPools(pools, { 'dma cached': 2, 'dma wc': 65536 - 1024 });
    });
  });

  // use_dma32 as ttm_device_init gets it: radeon_ttm_init passes dma_addressing_limited(), the mask
  // below dma_get_required_mask (kernel/dma/mapping.c); nouveau_ttm_init passes dmabits <= 32. A
  // wc tt of 4 pages goes back to the global wc type that use_dma32 picks.
  describe(`use_dma32: radeon asks dma_addressing_limited(), nouveau its mask (engine ${engine})`, () => {
    const GiB8 = { ramPages: 2 ** 21, hostPages: 2 ** 22 };
    const cases: [string, object, 'wc normal' | 'wc dma32'][] = [
      ['bare metal, r100, 512 MiB: the 32-bit mask covers the last RAM page (dma_direct_get_required_mask)', bare, 'wc normal'],
      ['bare metal, r100, 8 GiB: RAM ends above the mask', { ...bare, ...GiB8 }, 'wc dma32'],
      ['coco, r100, 8 GiB: dma-direct, the same test', { ...bare, ...GiB8, platform: Platform.coco }, 'wc dma32'],
      ['iommu, r100, 8 GiB: use_dma_iommu, the required mask is 32 bits', { ...bare, ...GiB8, platform: Platform.iommu }, 'wc normal'],
      ['xen-pv, r100, 8 GiB: xen_swiotlb_dma_ops has no get_required_mask (32 bits)', { ...xen, ...GiB8 }, 'wc normal'],
      ['bare metal, r600 (40-bit), 8 GiB', { ...bare, ...GiB8, maskBits: 40, gartFamily: GartFamily.r600 }, 'wc normal'],
      ['bare metal, nv04 (32-bit), 512 MiB: nouveau passes dmabits <= 32', { ...bare, gartFamily: GartFamily.nv04 }, 'wc dma32'],
    ];
    for (const [what, cfg, want] of cases) {
      it(what, async () => {
        const { o, pools } = await withPools(engine, cfg, [populate(0, 4), unpopulate(0)]);
        assert.equal(o.c.pagesAllocated, 4);
        onlyPools(pools, { [want]: 4 });
      });
    }
  });

  describe(`6.12 drivers bind the pool's dma addresses (engine ${engine})`, () => {
    it('radeon_gart_bind takes the tt\'s dma_address: the bind maps nothing, the unbind unmaps nothing; the free unmaps the block', async () => {
      const { o } = await withPools(engine, xen, [populate(0, 4), ttBind(0), ttUnbind(0), unpopulate(0)]);
      // r100: radeon_gart_tlb_flush reaches r100_pci_gart_tlb_flush, still empty in 6.12
      assert.deepEqual([o.c.maps, o.c.unmaps, o.c.gartWrites, o.c.tlbFlushes], [1, 1, 8, 0]);
    });
    it('xen-pv: the block is bounced at allocation, after it came zeroed and before the CPU writes: the GPU reads stale zeros', async () => {
      // ttm_pool_alloc: alloc_pages(__GFP_ZERO) zeroes the order-2 block, then ttm_pool_map copies
      // those zeros (this tt's, op 0) into the bounce (16 KiB); the CPU writes the pages (op 2), the
      // GPU reads the bounce: all 4 pages hold an older version of this buffer — stale, none foreign.
      const { o } = await withPools(engine, xen, [populate(0, 4), ttBind(0), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4)]);
      assert.deepEqual([o.c.bounceBytes, o.c.staleReads, o.c.foreignReads, o.kind], [4 * PAGE, 4, 0, ViolationKind.stale]);
    });
    it('swiotlb-force: a legacy upload reads through the bounce slot the zeros the block was allocated with (stale)', async () => {
      // 6.12 ttm_pool_alloc (drivers/gpu/drm/ttm/ttm_pool.c): __GFP_ZERO for a TTM_TT_FLAG_ZERO_ALLOC
      // tt, then ttm_pool_map → dma_map_page(BIDIRECTIONAL) of the block, which swiotlb_tbl_map_single
      // bounces to the slot. The tt is buffer 1; its zeros carry version 1 (op 0), the CPU's upload
      // version 3 (op 2). The GPU's first page read sees (1, 1) where (1, 3) is expected, via swiotlb.
      const { o } = await withPools(engine, { ...bare, platform: Platform['swiotlb-force'] },
        [populate(0, 4), ttBind(0), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4)]);
      const v = (f: string) => Number(o.violation![VIOLATION_FIELDS.indexOf(f as (typeof VIOLATION_FIELDS)[number])]);
      assert.deepEqual([o.c.bounceBytes, o.c.staleReads, o.c.foreignReads, o.kind], [4 * PAGE, 4, 0, ViolationKind.stale]);
      assert.deepEqual(['seenHi', 'seenLo', 'expHi', 'expLo', 'bufId', 'via'].map(v), [1, 1, 1, 3, 1, Via.swiotlb]);
    });
    it('xen-pv, sync: a sync for the device per page copies each page\'s slot of the block\'s bounce: coherent', async () => {
      const { o } = await withPools(engine, xen, [populate(0, 4), ttBind(0), cpuWrite(0, 0, 4 * PAGE), ttSync(0, 0), gpuRead(0, 4)]);
      assert.deepEqual([o.c.syncsForDevice, o.c.bounceBytes, o.c.staleReads + o.c.foreignReads, o.c.dmaDebugErrors], [4, 8 * PAGE, 0, 0]);
    });
    it('the coherent pool binds its dma_alloc_attrs handles: no map at all, the upload is coherent', async () => {
      const { o } = await withPools(engine, xen, [populate(0, 4, Pool.ttmDma), ttBind(0, 0, BindMode.coherent), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4)]);
      assert.deepEqual([o.c.maps, o.c.coherentAllocs, o.c.staleReads + o.c.foreignReads], [0, 1, 0]);
    });
  });
}

describe('ttm_pool_alloc\'s error path gives every block back (error_free_all), on both engines', () => {
  // Churn on a Xen guest with 2 MiB free below 4 GiB: DMA-pool allocations fail part way while the
  // pool types already hold blocks. The committed pages go back in the tt's caching, the rest as
  // cached; the Wasm engine once lost the second range (its walk restarted at a list the first had
  // relinked), leaking blocks and their dma-debug entries.
  it('a populate that fails part way leaks nothing, and the engines agree', () => {
    const args = ['run', '--kernel', 'modern', '--platform', 'xen-pv', '--device', 'r100', '--strategy', 'auto', '--workload', 'churn',
      '--pages', '8192', '--bo-pages', '96', '--rounds', '4', '--xen-low-free', '2M', '--json'];
    const [w, j] = ['wasm', 'js'].map((engine) => {
      const r = cli(...args, '--engine', engine);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { counters: Record<string, number>; dmaDebug: { class: string }[] };
    });
    assert.ok(w!.counters.allocFailures > 0, 'some populates failed part way');
    assert.deepEqual(w!.counters, j!.counters);
    assert.deepEqual(w!.dmaDebug, [], 'no leaked DMA-pool block');
    assert.deepEqual(j!.dmaDebug, []);
  });
});

describe('ttm_tt_unpopulate of a tt whose populate failed does nothing (it was never marked populated)', () => {
  it('no shrink: the blocks the failed populate gave back stay pooled, on both engines', () => {
    // 256 MiB: a 40,000-page tt fills the DMA pool types when it is unpopulated (page_pool_size is
    // 32,768, so ttm_pool_free shrinks to it); a 60,000-page populate then fails and gives its
    // blocks back to the pool; its unpopulate must not shrink them.
    const path = script(scratch(), 'failed-unpopulate.jsonl', [
      { op: 'tt_populate', buf: 'a', pages: 40000 }, { op: 'tt_unpopulate', buf: 'a' },
      { op: 'tt_populate', buf: 'b', pages: 60000 }, { op: 'tt_unpopulate', buf: 'b' },
    ]);
    for (const engine of ['wasm', 'js']) {
      const r = cli('replay', path, '--kernel', 'modern', '--ram', '256M', '--strategy', 'coherent', '--engine', engine, '--json');
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { counters: Record<string, number>; pools: { pages: number }[] };
      assert.ok(res.counters.allocFailures > 0, 'the second populate failed');
      const pooled = res.pools.reduce((a, p) => a + p.pages, 0);
      assert.ok(pooled > 32768, `${engine}: ${pooled} pages pooled, more than page_pool_size: no shrink at the failed tt's unpopulate`);
    }
  });
});

describe('6.12 nouveau syncs its own pages (nouveau_bo_sync_for_device / _for_cpu), on both engines', () => {
  const run = (args: string[]) => ['wasm', 'js'].map((engine) => {
    const r = cli('run', '--kernel', 'modern', ...args, '--engine', engine, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { verdict: string; counters: Record<string, number>; dmaDebug: { class: string; message: string }[] };
  });
  it('legacy upload and readback under forced bouncing are coherent: one sync per run of consecutive pages, per hand-over', () => {
    for (const workload of ['upload', 'readback']) {
      const [w, j] = run(['--platform', 'swiotlb-force', '--device', 'nv50', '--strategy', 'legacy', '--workload', workload, '--pages', '1024', '--bo-pages', '32']);
      assert.deepEqual(w!.counters, j!.counters);
      assert.equal(w!.verdict, 'coherent', workload);
      // 32 BOs of one order-5 block each: one run per BO before each GPU use, and before the CPU
      // touches it (cpu_prep: before an upload's writes, before a readback's reads).
      assert.equal(w!.counters.syncsForDevice, 32, workload);
      assert.equal(w!.counters.syncsForCpu, 32, workload);
      assert.deepEqual(w!.dmaDebug, []);
    }
    // radeon has no such syncs: the same upload on r100 reads the bounce's zeros.
    const [r100] = run(['--platform', 'swiotlb-force', '--device', 'r100', '--strategy', 'legacy', '--pages', '1024', '--bo-pages', '32']);
    assert.equal(r100!.verdict, 'corrupt');
    assert.equal(r100!.counters.syncsForDevice, 0);
  });
  it('a run across two blocks mapped apart: dma-debug finds no mapping holding it and the later block stays stale', () => {
    const [w, j] = run(['--platform', 'swiotlb-force', '--device', 'nv50', '--strategy', 'legacy', '--workload', 'churn', '--pages', '4096', '--bo-pages', '64']);
    assert.deepEqual(w!.counters, j!.counters);
    assert.deepEqual(w!.dmaDebug, j!.dmaDebug);
    assert.equal(w!.verdict, 'corrupt');
    assert.ok(w!.counters.staleReads > 0);
    const unknown = w!.dmaDebug.filter((d) => d.class === 'sync-unknown');
    assert.ok(unknown.length > 0, 'a sync no single mapping holds');
    // The same churn synced page by page (strategy sync) reaches every block: coherent.
    const [perPage] = run(['--platform', 'swiotlb-force', '--device', 'nv50', '--strategy', 'sync', '--workload', 'churn', '--pages', '4096', '--bo-pages', '64']);
    assert.equal(perPage!.counters.staleReads, 0);
  });
});
