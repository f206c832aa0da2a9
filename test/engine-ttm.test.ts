// TTM page pools (docs/ENGINE.md §11, §15 T2-T9; drivers/gpu/drm/ttm/ 2010-2011): the 2010
// pool's refills of 512 and its cap, caching changes in batches of 512, the 2011 dma pool's
// coherent pages, and the xen-aware pool that exchanges every page as it enters. Every case runs
// on both engines and checks that the accounting invariants hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Caching, Platform, Pool, ViolationKind } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, cpuRead, cpuWrite, gpuRead, populate, release, runCases, runModel, ttBind, ttSync, unpopulate, type EngineCase,
} from './engineHarness.js';

const bare = { platform: Platform['bare-metal'] };

const refillCases: EngineCase[] = [
  { description: 'a small request (1 page) from an empty wc pool: one refill of 512, one caching change',
    cfg: bare, ops: [populate(0, 1)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1, cachingChangePages: 512 } },
  { description: '15 pages (below small): the refill serves them all',
    cfg: bare, ops: [populate(0, 15)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1 } },
  { description: '16 pages: the first is allocated directly (16 remaining is not small), then a refill',
    cfg: bare, ops: [populate(0, 16)], expect: { pagesAllocated: 513, poolRefills: 1, cachingChangeCalls: 2, cachingChangePages: 513 } },
  { description: '48 pages: a direct run of 33 while 16 or more remain, then a refill for the last 15',
    cfg: bare, ops: [populate(0, 48)], expect: { pagesAllocated: 545, poolRefills: 1, cachingChangeCalls: 2, cachingChangePages: 545 } },
  { description: 'a second small tt is served from the pool without touching the buddy',
    cfg: bare, ops: [populate(0, 1), populate(1, 8)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1 } },
  { description: 'cached pages are never pooled and never change caching',
    cfg: bare, ops: [populate(0, 48, Pool.ttm, Caching.cached), unpopulate(0)],
    expect: { pagesAllocated: 48, pagesFreed: 48, poolRefills: 0, cachingChangeCalls: 0 } },
  { description: 'wc and uc have separate pools',
    cfg: bare, ops: [populate(0, 1, Pool.ttm, Caching.wc), populate(1, 1, Pool.ttm, Caching.uc)], expect: { poolRefills: 2, pagesAllocated: 1024 } },
  { description: 'unpopulate returns wc pages to the pool: nothing freed, no caching change back',
    cfg: bare, ops: [populate(0, 48), unpopulate(0)], expect: { pagesFreed: 0, cachingChangeCalls: 2 } },
  { description: '1100 pages: a direct run of 1085 takes ceil(1085/512) = 3 caching-change calls, the refill 1',
    cfg: bare, ops: [populate(0, 1100)], expect: { cachingChangeCalls: 4, cachingChangePages: 1085 + 512, pagesAllocated: 1085 + 512 } },
  { description: 'pool pages first, then a direct run of 74, cut by a refill for the last 15',
    // 1 page leaves 511 in the pool; of 600: 511 from the pool, 74 direct (89..16 remaining), refill, 15 from it.
    cfg: bare, ops: [populate(0, 1), populate(1, 600)],
    expect: { cachingChangeCalls: 3, cachingChangePages: 512 + 74 + 512, poolRefills: 2, pagesAllocated: 512 + 74 + 512 } },
];

// The cap is ramPages / 4 = 32768 pages. Populating n >= 16 pages leaves n - 15 direct pages and a
// refill of 512 of which 15 are taken: the pool then holds 497, and unpopulating adds n.
const direct = (n: number) => n - 15;
const capCases: EngineCase[] = [
  { description: 'an excess of 129 (below 512) still frees 512 pages from the tail, with one caching change',
    cfg: bare, ops: [populate(0, 32400), unpopulate(0)],
    expect: { pagesFreed: 512, cachingChangeCalls: Math.ceil(direct(32400) / 512) + 1 + 1 } },
  { description: 'an excess of 729 is freed whole, in two batches (512 + 217)',
    cfg: bare, ops: [populate(0, 33000), unpopulate(0)],
    expect: { pagesFreed: 729, cachingChangeCalls: Math.ceil(direct(33000) / 512) + 1 + 2 } },
  { description: 'an excess of 1113 is freed whole, in three batches of at most 512',
    cfg: bare, ops: [populate(0, 32768 - 497 + 1113), unpopulate(0)],
    expect: { pagesFreed: 1113, cachingChangeCalls: Math.ceil(direct(33384) / 512) + 1 + 3 } },
  { description: 'below the cap nothing is freed', cfg: bare, ops: [populate(0, 20000), unpopulate(0)], expect: { pagesFreed: 0 } },
  { description: 'after the shrink the pool holds exactly the cap: 32768 pages come from it, the next page needs a refill',
    cfg: bare, ops: [populate(0, 33000), unpopulate(0), populate(1, 32768), populate(2, 1)],
    expect: { pagesAllocated: direct(33000) + 512 + 512, poolRefills: 2, pagesFreed: 729 } },
];

const dmaCases: EngineCase[] = [
  { description: '5 pages: two refills of 4 dma_alloc_coherent pages, one caching change each, 5 in use',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma)],
    expect: { poolRefills: 2, coherentAllocs: 8, pagesAllocated: 8, cachingChangeCalls: 2, cachingChangePages: 8, ttmDmaPeakInUse: 5 } },
  { description: 'the next tt takes the 3 left over: no refill; the peak counts both tts',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma), populate(1, 3, Pool.ttmDma)], expect: { poolRefills: 2, ttmDmaPeakInUse: 8 } },
  { description: 'unpopulate keeps the pages pooled; pages in use fall, the peak stays; the pool serves the next tt',
    cfg: bare, ops: [populate(0, 5, Pool.ttmDma), unpopulate(0), populate(1, 2, Pool.ttmDma)],
    expect: { pagesFreed: 0, poolRefills: 2, coherentAllocs: 8, ttmDmaPeakInUse: 5 } },
  { description: 'a cached dma pool changes no caching',
    cfg: bare, ops: [populate(0, 4, Pool.ttmDma, Caching.cached)], expect: { poolRefills: 1, cachingChangeCalls: 0 } },
  { description: 'xen-pv: every coherent page above 4 GiB is exchanged below the mask (order 0)',
    cfg: {}, ops: [populate(0, 5, Pool.ttmDma)], expect: { hypercalls: 8, exchangedFrames: 8, coherentAllocs: 8 } },
  { description: 'internal coherent pages are not dma-debug entries: nothing leaks at release, TT_SYNC on their handles reports nothing',
    // RELEASE tears the tt down and drains the pool: the 8 pages of the two refills go back.
    cfg: {}, ops: [populate(0, 5, Pool.ttmDma), ttSync(0, 1), release()], expect: { dmaDebugErrors: 0, syncsForCpu: 5, bounceBytes: 0, pagesFreed: 8 } },
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
  { description: 'xen-pv, low reserve short: the failed exchange fails the populate; bind and GPU ops are skipped',
    // nslabs 256, 63 frames left below 4 GiB after boot for the refill.
    cfg: { nslabs: 256, xenLowPages: 63 }, ops: [populate(0, 1, Pool.xenAware), ttBind(0), gpuRead(0, 1), cpuRead(0)],
    expect: { hypercalls: 64, exchangedFrames: 63, allocFailures: 2, pagesFreed: 1, bindFailures: 1, gpuSkippedPages: 1, gpuReads: 0, cpuReads: 0, foreignReads: 0 } },
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
  describe(`ttm_page_alloc (2010): refills of 512 for requests below small (16), caching changes batched (engine ${engine})`, () =>
    runCases(engine, refillCases));
  describe(`ttm_page_alloc pool cap (ramPages / 4), shrunk by at least 512 from the tail (engine ${engine})`, () =>
    runCases(engine, capCases));
  describe(`ttm_page_alloc_dma (2011, fix 1): refills of 4 coherent pages, pages in use (engine ${engine})`, () =>
    runCases(engine, dmaCases));
  describe(`xen-aware pool (fix 3): every page exchanged below the mask as it enters (engine ${engine})`, () =>
    runCases(engine, xenAwareCases));
}

describe('ttm_page_alloc pool cap: the pool itself (reference model only, reads model internals)', () => {
  it('after an excess of 729 is shrunk, the wc pool holds exactly the cap', () => {
    const m = runModel(bare, [populate(0, 33000), unpopulate(0)]);
    assert.equal(m.ttmPools.ttm[0].size, 32768);
  });
});
