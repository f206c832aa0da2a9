// TTM page pools (docs/ENGINE.md §11, §15 T2-T9; drivers/gpu/drm/ttm/): on the 2010 kernel the
// 2.6.37 pool's refills of 512 whenever it is empty and its cap, caching changes in batches of
// 512, 3.3's dma pool of coherent pages topped up below 4 free, and the xen-aware pool that
// exchanges every page as it enters (the modern kernel's 6.12 ttm_pool: engine-ttm-pool-modern.test.ts).
// Every case runs on both engines and checks that the accounting invariants hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Caching, Kernel, Platform, Pool, ViolationKind } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, cpuRead, cpuWrite, gpuRead, populate, release, runCases, runModel, ttBind, ttSync, unpopulate, type EngineCase,
} from './engineHarness.js';

const bare = { platform: Platform['bare-metal'] };
/** A small bare-metal machine: the buddy gets pfns [4233, 8192) = 3959 pages; the pool cap is 2048. */
const small = { platform: Platform['bare-metal'], ramPages: 8192, nslabs: 256 };
const SMALL_BUDDY = 8192 - (4096 + 128 + 8 + 1);

// 2010 (2.6.37): ttm_tt_populate asks for one page at a time, so the wc/uc pool refills 512 exactly
// when it is empty, whatever the size of the tt; pages come back to the head; cached pages have no pool.
const refillCases: EngineCase[] = [
  { description: 'a small request (1 page) from an empty wc pool: one refill of 512, one caching change',
    cfg: bare, ops: [populate(0, 1)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1, cachingChangePages: 512 } },
  { description: '15 pages: the refill serves them all',
    cfg: bare, ops: [populate(0, 15)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1 } },
  { description: '16 pages: still one refill (one page per ttm_get_pages call: count 1 is always small), no direct page',
    cfg: bare, ops: [populate(0, 16)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1, cachingChangePages: 512 } },
  { description: '512 pages take exactly one refill; the 513th page needs a second',
    cfg: bare, ops: [populate(0, 512), populate(1, 1)], expect: { pagesAllocated: 1024, poolRefills: 2, cachingChangeCalls: 2 } },
  { description: 'a second small tt is served from the pool without touching the buddy',
    cfg: bare, ops: [populate(0, 1), populate(1, 8)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1 } },
  { description: 'cached pages are never pooled and never change caching',
    cfg: bare, ops: [populate(0, 48, Pool.ttm, Caching.cached), unpopulate(0)],
    expect: { pagesAllocated: 48, pagesFreed: 48, poolRefills: 0, cachingChangeCalls: 0 } },
  { description: 'wc and uc have separate pools',
    cfg: bare, ops: [populate(0, 1, Pool.ttm, Caching.wc), populate(1, 1, Pool.ttm, Caching.uc)], expect: { poolRefills: 2, pagesAllocated: 1024 } },
  { description: 'unpopulate returns wc pages to the pool: nothing freed, no caching change back',
    cfg: bare, ops: [populate(0, 48), unpopulate(0)], expect: { pagesFreed: 0, cachingChangeCalls: 1 } },
  { description: '1100 pages: ceil(1100 / 512) = 3 refills of 512, one caching change each',
    cfg: bare, ops: [populate(0, 1100)], expect: { poolRefills: 3, cachingChangeCalls: 3, cachingChangePages: 1536, pagesAllocated: 1536 } },
  { description: '600 pages after a 1-page tt: 511 from the pool, then one refill for the other 89',
    cfg: bare, ops: [populate(0, 1), populate(1, 600)],
    expect: { cachingChangeCalls: 2, cachingChangePages: 1024, poolRefills: 2, pagesAllocated: 1024 } },
  { description: 'a fill cut short by the buddy (375 of 512): the 2.6.37 miscount sends the page to the direct path, which fails too; the 375 go back, the populate fails',
    // 7 full refills serve pages 0..3583; the 8th gets the buddy's last 375 pages (one caching change) and no nrefills.
    cfg: small, ops: [populate(0, 4000)],
    expect: { pagesAllocated: SMALL_BUDDY, poolRefills: 7, cachingChangeCalls: 8, cachingChangePages: SMALL_BUDDY, allocFailures: 1, pagesFreed: 0 } },
  { description: 'the failed tt gives back its 3584 pages: the pool (375 + 3584) is 1911 over the cap, freed in 4 batches',
    cfg: small, ops: [populate(0, 4000), unpopulate(0)],
    expect: { pagesFreed: 3959 - 2048, cachingChangeCalls: 8 + 4, allocFailures: 1 } },
];

// The cap is ramPages / 4 = 32768 pages. Populating n pages from an empty pool takes ceil(n / 512)
// refills and leaves 512·ceil(n / 512) − n (at most 511) in the pool; a tt of 32768 pages empties
// it exactly, so the pool a later unpopulate(0) lands on is built from other tts.
/** Slot 0 holds 32768 pages and the wc pool 729 (nothing freed yet). */
const pool729 = [populate(0, 32768), populate(1, 512), populate(2, 295), unpopulate(1)];
const capCases: EngineCase[] = [
  { description: 'an excess of 412 (below 512) still frees 512 pages from the tail, with one caching change',
    // 32768 pages: 64 refills, pool empty; 100 pages: a 65th refill leaves 412; unpopulate(0) makes 412 + 32768.
    cfg: bare, ops: [populate(0, 32768), populate(1, 100), unpopulate(0)],
    expect: { pagesFreed: 512, poolRefills: 65, cachingChangeCalls: 65 + 1 } },
  { description: 'an excess of 729 is freed whole, in two batches (512 + 217)',
    // 512 pages: one refill, pool empty; 295: one more, 217 left; unpopulate(1) makes 729.
    cfg: bare, ops: [...pool729, unpopulate(0)], expect: { pagesFreed: 729, poolRefills: 66, cachingChangeCalls: 66 + 2 } },
  { description: 'an excess of 1113 is freed whole, in three batches of at most 512',
    // 1024 pages: two refills; 423: one more, 89 left; unpopulate(1) makes 1113.
    cfg: bare, ops: [populate(0, 32768), populate(1, 1024), populate(2, 423), unpopulate(1), unpopulate(0)],
    expect: { pagesFreed: 1113, poolRefills: 67, cachingChangeCalls: 67 + 3 } },
  { description: 'exactly at the cap nothing is freed', cfg: bare, ops: [populate(0, 32768), unpopulate(0)], expect: { pagesFreed: 0 } },
  { description: 'after the shrink the pool holds exactly the cap: 32768 pages come from it, the next page needs a refill',
    cfg: bare, ops: [...pool729, unpopulate(0), populate(3, 32768), populate(4, 1)],
    expect: { pagesAllocated: 32768 + 1024 + 512, poolRefills: 67, pagesFreed: 729 } },
];

// 3.3's ttm_page_alloc_dma (the `coherent` strategy on 2010): before each page, a refill of 4
// dma_alloc_coherent pages whenever fewer than 4 are free, so the free count cycles 3..7.
const dmaCases: EngineCase[] = [
  { description: '5 pages: refills before page 0 (0 free) and page 1 (3 free), one caching change each; 3 left over',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma)],
    expect: { poolRefills: 2, coherentAllocs: 8, pagesAllocated: 8, cachingChangeCalls: 2, cachingChangePages: 8, ttmDmaPeakInUse: 5 } },
  { description: 'the next tt starts with 3 free: fewer than 4, so it refills first; the peak counts both tts',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma), populate(1, 3, Pool.ttmDma)], expect: { poolRefills: 3, coherentAllocs: 12, ttmDmaPeakInUse: 8 } },
  { description: 'unpopulate (wc): the 5 pages go to the head, then 5 of the oldest are freed (the 3.3 quirk), one wb call',
    // free after the unpopulate: 3 + 5 − 5 = 3, so the next 2-page tt refills once more.
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma), unpopulate(0), populate(1, 2, Pool.ttmDma)],
    expect: { pagesFreed: 5, poolRefills: 3, coherentAllocs: 12, ttmDmaPeakInUse: 5, cachingChangeCalls: 4, cachingChangePages: 8 + 5 + 4 } },
  { description: 'a cached dma pool changes no caching; its pages are freed at unpopulate, the 3 of the refill residue stay',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma, Caching.cached), unpopulate(0)],
    expect: { poolRefills: 2, coherentAllocs: 8, pagesFreed: 5, cachingChangeCalls: 0 } },
  { description: 'from an empty pool a populate of 256 pages allocates 260 (2 + 63 refills)',
    cfg: bare, ops: [populate(0, 256, Pool.ttmDma, Caching.cached)], expect: { poolRefills: 65, coherentAllocs: 260 } },
  { description: 'the buddy runs dry: a refill gets 3 (no nrefills), then one gets none and the populate fails; ttm_dma_unpopulate gives all back',
    // 989 full refills and a partial one of 3 serve pages 0..3955; at page 3956 (3 free) the refill gets nothing.
    cfg: small, ops: [populate(0, 4000, Pool.ttmDma, Caching.cached)],
    expect: { coherentAllocs: SMALL_BUDDY, poolRefills: 989, allocFailures: 1, pagesFreed: 3956, ttmDmaPeakInUse: 3956, cachingChangeCalls: 0 } },
  { description: 'the same with wc: the failed populate returns 3956 pages to the head; 3959 free is 1911 over the cap (not count: the cap wins)',
    cfg: small, ops: [populate(0, 4000, Pool.ttmDma)],
    expect: { coherentAllocs: SMALL_BUDDY, allocFailures: 1, pagesFreed: 1911, cachingChangeCalls: 989 + 1 + 4, cachingChangePages: 3956 + 3 + 1911 } },
  { description: 'xen-pv: every coherent page above 4 GiB is exchanged below the mask (order 0)',
    cfg: {}, ops: [populate(0, 5, Pool.ttmDma)], expect: { hypercalls: 8, exchangedFrames: 8, coherentAllocs: 8 } },
  { description: 'TTM\'s coherent pages are dma-debug entries: TT_SYNC on their handles finds them and reports nothing; the live tt leaks at release',
    // RELEASE tears the tt down (5 freed by the quirk) and drains the pool (3): the 8 pages of the two refills go back.
    cfg: {}, ops: [populate(0, 5, Pool.ttmDma), ttSync(0, 1), release()], expect: { dmaDebugErrors: 1, syncsForCpu: 5, bounceBytes: 0, pagesFreed: 8 } },
];

// nslabs 256 with 2 frames left below 4 GiB after boot (xenLowPages counts what the booted guest
// leaves Xen; the pool's 128 frames come on top, ENGINE.md §1).
const tight = { nslabs: 256, xenLowPages: 2 };
const upload4 = (pool: number) => [populate(0, 4, pool), ttBind(0), cpuWrite(0, 0, 4 * PAGE)];

const xenAwareCases: EngineCase[] = [
  { description: 'xen-pv: a refill exchanges each of its 512 pages', cfg: {},
    ops: [populate(0, 1, Pool.xenAware)], expect: { hypercalls: 512, exchangedFrames: 512, poolRefills: 1 } },
  { description: 'cached pages are exchanged one by one, direct', cfg: {},
    ops: [populate(0, 3, Pool.xenAware, Caching.cached)], expect: { hypercalls: 3, exchangedFrames: 3, poolRefills: 0 } },
  { description: 'the 2010 pool exchanges nothing', cfg: {}, ops: [populate(0, 4, Pool.ttm)], expect: { hypercalls: 0 } },
  { description: 'off xen-pv it is exactly the 2010 pool', cfg: bare,
    ops: [populate(0, 1, Pool.xenAware)], expect: { hypercalls: 0, poolRefills: 1 } },
  { description: 'a 40-bit device needs no exchange', cfg: { maskBits: 40 }, ops: [populate(0, 4, Pool.xenAware)], expect: { hypercalls: 0 } },
  { description: 'low memory runs out: the third exchange fails, the page goes back, the populate fails', cfg: tight,
    ops: [populate(0, 4, Pool.xenAware, Caching.cached)],
    expect: { hypercalls: 3, exchangedFrames: 2, allocFailures: 2, pagesAllocated: 3, pagesFreed: 1 } },
  { description: 'xen-pv, low reserve short: a failed exchange ends the fill like a failed alloc_page; the direct page fails too; bind and GPU ops are skipped',
    // nslabs 256, 63 frames left below 4 GiB after boot for the refill. The 64th exchange fails (its page
    // goes back), the direct page's exchange fails again, the 63 go back to the pool and the populate fails.
    cfg: { nslabs: 256, xenLowPages: 63 }, ops: [populate(0, 1, Pool.xenAware), ttBind(0), gpuRead(0, 1), cpuRead(0)],
    expect: { hypercalls: 65, exchangedFrames: 63, allocFailures: 3, pagesFreed: 2, bindFailures: 1, gpuSkippedPages: 1, gpuReads: 0, cpuReads: 0, foreignReads: 0 } },
  { description: 'xen-pv: mapping the exchanged pages needs no bounce, the upload is coherent', cfg: {},
    ops: [...upload4(Pool.xenAware), gpuRead(0, 4)],
    expect: { bounces: 0, maps: 4, staleReads: 0, foreignReads: 0, gpuReads: 4 }, kind: ViolationKind.none },
  { description: 'the 2010 pool under the same binds bounces every page and the GPU reads stale copies', cfg: {},
    ops: [...upload4(Pool.ttm), gpuRead(0, 4)], expect: { bounces: 4, staleReads: 4 }, kind: ViolationKind.stale },
  { description: 'TT_SYNC for the device after the CPU writes fixes the 2010 pool\'s upload (fix 2)', cfg: {},
    ops: [...upload4(Pool.ttm), ttSync(0, 0), gpuRead(0, 4)],
    expect: { syncsForDevice: 4, bounceBytes: 8 * PAGE, staleReads: 0, dmaDebugErrors: 0 }, kind: ViolationKind.none },
];

for (const engine of ENGINES) {
  describe(`ttm_page_alloc (2.6.37): one page per call, a refill of 512 whenever the pool is empty (engine ${engine})`, () =>
    runCases(engine, refillCases));
  describe(`ttm_page_alloc pool cap (ramPages / 4), shrunk by at least 512 from the tail (engine ${engine})`, () =>
    runCases(engine, capCases));
  describe(`ttm_page_alloc_dma (3.3, fix 1): 4 coherent pages whenever fewer than 4 are free, pages in use (engine ${engine})`, () =>
    runCases(engine, dmaCases));
  describe(`xen-aware pool (fix 3): every page exchanged below the mask as it enters (engine ${engine})`, () =>
    runCases(engine, xenAwareCases));
}

describe('ttm_page_alloc pool cap: the pool itself (reference model only, reads model internals)', () => {
  it('after an excess of 729 is shrunk, the wc pool holds exactly the cap', () => {
    const m = runModel(bare, [...pool729, unpopulate(0)]);
    assert.equal(m.ttmPools.ttm[0].size, 32768);
  });
});
