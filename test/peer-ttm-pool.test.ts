// Peer tests, re-expressed: the KUnit cases of drivers/gpu/drm/ttm/tests/ttm_pool_test.c that apply
// to the 2010 pools (2.6.37's ttm_page_alloc.c: order 0 only, no dma addresses in the pool, cached
// pages never pooled), each named after the kernel case, plus the 2.6.37 numbers (a refill of 512
// only when empty, LIFO reuse, the cap shrunk from the tail, cached requests never touching a pool)
// and 3.3's ttm_page_alloc_dma (4 more whenever fewer than 4 are free, cached pages freed at
// unpopulate, the wc/uc "free as many of the oldest" quirk). Every number is derived by hand from
// the kernel rule in the comment beside it; every case runs on both engines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Caching, InitError, Platform, Pool, TTM_POOLS } from '../src/engine/abi.js';
import {
  ENGINES, createEngine, machineConfig, opWords, outcomeOf, poolsByName, populate, release, runModel, ttBind, ttSync, ttUnbind, unpopulate,
  type EngineName, type OpWords, type Outcome,
} from './engineHarness.js';

type PoolName = (typeof TTM_POOLS)[number];
type Pools = Record<PoolName, number>;

const bare = { platform: Platform['bare-metal'] };
/** Bare metal, 32 MiB: the buddy has 8192 − (4096 + 128 + 8 + 1) = 3959 pages, the pool cap is 2048. */
const small = { platform: Platform['bare-metal'], ramPages: 8192, nslabs: 256, gartPages: 4096 };

/** Runs `stages` one after the other on one machine; the pools' free pages after each, then the outcome. */
async function stages(engine: EngineName, over: object, ...list: OpWords[][]): Promise<{ pools: Pools[]; o: Outcome }> {
  const e = await createEngine(engine);
  assert.equal(e.init(machineConfig(over)), InitError.OK);
  const pools: Pools[] = [];
  let origin = 0;
  for (const ops of list) {
    e.run(opWords(ops), ops.length, origin);
    origin += ops.length;
    pools.push(poolsByName(e));
  }
  return { pools, o: outcomeOf(e) };
}

/**
 * The pages of the tt in `slot` after `ops`, as bus addresses (bare metal: pfn << 12): a probe
 * binds it (dma_map_page per page), unbinds it and syncs the dead handles, so dma-debug reports
 * each page's address in tt order. Binding on bare metal allocates nothing, so a probe in one
 * run sees what the same ops left in another. `ops` must report nothing themselves.
 */
async function pagesOf(engine: EngineName, over: object, ops: OpWords[], slot: number): Promise<bigint[]> {
  const o = (await stages(engine, over, [...ops, ttBind(slot, 0), ttUnbind(slot), ttSync(slot, 1)])).o;
  return o.dma;
}

const empty = (p: Pools) => Object.values(p).every((n) => n === 0);

for (const engine of ENGINES) {
  describe(`ttm_pool_test.c re-expressed on the 2.6.37 pools (engine ${engine})`, () => {
    it('ttm_pool_alloc_order_caching_match: a uc request takes from the uc pool and can drain it', async () => {
      // Pre-populated: a 1-page uc tt refills 512 and gives its page back: the uc pool holds 512.
      // A 512-page uc tt then takes exactly those (no second refill, no new page): the pool is empty.
      const { pools, o } = await stages(engine, bare, [populate(0, 1, Pool.ttm, Caching.uc), unpopulate(0)], [populate(1, 512, Pool.ttm, Caching.uc)]);
      assert.equal(pools[0]!['uc dma32'], 512);
      assert.equal(pools[1]!['uc dma32'], 0);
      assert.deepEqual([o.c.poolRefills, o.c.pagesAllocated], [1, 512]);
    });

    it('ttm_pool_alloc_caching_mismatch: a uc request never takes wc pages; each caching gets its own pages back', async () => {
      const { pools, o } = await stages(engine, bare, [populate(0, 1, Pool.ttm, Caching.wc), unpopulate(0)],
        [populate(1, 1, Pool.ttm, Caching.uc)], [unpopulate(1)]);
      assert.deepEqual([pools[0]!['wc dma32'], pools[0]!['uc dma32']], [512, 0]);
      assert.deepEqual([pools[1]!['wc dma32'], pools[1]!['uc dma32']], [512, 511], 'the uc tt refilled its own pool');
      assert.deepEqual([pools[2]!['wc dma32'], pools[2]!['uc dma32']], [512, 512]);
      assert.equal(o.c.poolRefills, 2);
    });

    it('ttm_pool_alloc_caching_mismatch, cached pre-population: 2.6.37 has no cached pool, so nothing was there to use', async () => {
      const { pools } = await stages(engine, bare, [populate(0, 8, Pool.ttm, Caching.cached), unpopulate(0)],
        [populate(1, 1, Pool.ttm, Caching.uc), unpopulate(1)]);
      assert.ok(empty(pools[0]!), 'cached pages are freed, not pooled');
      assert.deepEqual({ ...pools[1]! }, { ...pools[0]!, 'uc dma32': 512 });
    });

    it('ttm_pool_free_no_dma_alloc: freeing a tt repopulates its pool', async () => {
      const { pools, o } = await stages(engine, bare, [populate(0, 4, Pool.ttm, Caching.uc)], [unpopulate(0)]);
      assert.deepEqual([pools[0]!['uc dma32'], pools[1]!['uc dma32']], [508, 512]);
      assert.equal(o.c.pagesFreed, 0);
    });

    it('ttm_pool_fini_basic: the release empties every pool of every kind, every page goes back', async () => {
      const { pools, o } = await stages(engine, {}, [
        populate(0, 3, Pool.ttm, Caching.wc), populate(1, 3, Pool.ttm, Caching.uc), populate(2, 5, Pool.ttmDma, Caching.wc),
        populate(3, 5, Pool.ttmDma, Caching.cached), populate(4, 2, Pool.xenAware, Caching.uc), unpopulate(0), unpopulate(3),
      ], [release()]);
      assert.deepEqual([pools[0]!['wc dma32'], pools[0]!['uc dma32'], pools[0]!['dma wc'], pools[0]!['dma cached'], pools[0]!['xen-aware uc dma32']],
        [512, 509, 3, 3, 510]);
      assert.ok(empty(pools[1]!));
      assert.equal(o.c.pagesAllocated, o.c.pagesFreed);
    });
  });

  describe(`2.6.37 ttm_page_alloc: one page per call, LIFO, the cap from the tail (engine ${engine})`, () => {
    it('refills 512 only when the pool is empty: 511 + 1 pages take one refill, the next page a second', async () => {
      const { pools, o } = await stages(engine, bare, [populate(0, 511)], [populate(1, 1)], [populate(2, 1)]);
      assert.deepEqual(pools.map((p) => p['wc dma32']), [1, 0, 511]);
      assert.deepEqual([o.c.poolRefills, o.c.pagesAllocated, o.c.cachingChangeCalls], [2, 1024, 2]);
    });

    it('a 40-bit device fills the normal pools', async () => {
      const { pools } = await stages(engine, { ...bare, maskBits: 40 }, [populate(0, 1)]);
      assert.deepEqual([pools[0]!['wc normal'], pools[0]!['wc dma32']], [511, 0]);
    });

    it('LIFO: the pages a tt gives back are the next tt\'s, last page first (list_add, then a splice onto the head)', async () => {
      const first = [populate(0, 4)];
      const a = await pagesOf(engine, bare, first, 0);
      const b = await pagesOf(engine, bare, [...first, unpopulate(0), populate(1, 4)], 1);
      assert.equal(a.length, 4);
      assert.deepEqual(b, [...a].reverse());
    });

    it('the cap is shrunk from the tail: max(excess, 512) of the oldest go, the pages given back last stay', async () => {
      // 2049 pages from an empty pool: 5 refills, 511 left. Given back: 511 + 2049 = 2560, 512 over the
      // cap: the 511 left over and the tt's page 0 leave from the tail (set_pages_array_wb once),
      // pages 2048..1 stay. Taking 2046 of them leaves pages 2 and 1, which the next 2-page tt gets.
      const r = [populate(0, 2049)];
      const { pools, o } = await stages(engine, small, [...r, unpopulate(0)], [populate(1, 2046)]);
      assert.deepEqual(pools.map((p) => p['wc dma32']), [2048, 2]);
      assert.deepEqual([o.c.pagesFreed, o.c.poolRefills, o.c.cachingChangeCalls], [512, 5, 6]);
      const pages = await pagesOf(engine, small, r, 0);
      const last = await pagesOf(engine, small, [...r, unpopulate(0), populate(1, 2046), populate(2, 2)], 2);
      assert.deepEqual(last, [pages[2], pages[1]]);
    });

    it('cached requests never touch a pool: no refill, no caching change, freed at once', async () => {
      const { pools, o } = await stages(engine, bare, [populate(0, 1)],
        [populate(1, 600, Pool.ttm, Caching.cached), populate(2, 7, Pool.xenAware, Caching.cached), unpopulate(1), unpopulate(2)]);
      assert.deepEqual(pools[1], pools[0]);
      assert.deepEqual([o.c.poolRefills, o.c.cachingChangeCalls, o.c.pagesAllocated, o.c.pagesFreed], [1, 1, 512 + 607, 607]);
    });
  });

  describe(`3.3 ttm_page_alloc_dma: 4 more whenever fewer than 4 are free; the unpopulate quirk (engine ${engine})`, () => {
    // From an empty pool the refills come before page 0 (0 free) and before pages 1, 5, 9, … (3 free):
    // 2 + floor((N − 2) / 4) refills of 4 for N ≥ 2, one for N = 1; the free count cycles 3..7.
    const expected: [number, number][] = [[1, 4], [2, 8], [3, 8], [4, 8], [5, 8], [6, 12], [9, 12], [10, 16], [256, 260]];
    for (const [n, allocs] of expected) {
      it(`a populate of ${n} from an empty pool allocates ${allocs} coherent pages (N + ${allocs - n})`, async () => {
        const { pools, o } = await stages(engine, bare, [populate(0, n, Pool.ttmDma)]);
        assert.deepEqual([o.c.coherentAllocs, o.c.poolRefills, o.c.cachingChangeCalls, pools[0]!['dma wc']], [allocs, allocs / 4, allocs / 4, allocs - n]);
      });
    }

    it('a tt that starts with 4 free takes one before the first refill', async () => {
      // 4 pages leave 4 free (8 allocated); the next tt's first page needs no refill, its second does.
      const { o } = await stages(engine, bare, [populate(0, 4, Pool.ttmDma), populate(1, 2, Pool.ttmDma)]);
      assert.equal(o.c.coherentAllocs, 12);
    });

    it('cached pages are freed at unpopulate (no caching change), never pooled: the pool keeps its refill residue', async () => {
      const { pools, o } = await stages(engine, bare, [populate(0, 5, Pool.ttmDma, Caching.cached)], [unpopulate(0)]);
      assert.deepEqual(pools.map((p) => p['dma cached']), [3, 3]);
      assert.deepEqual([o.c.pagesFreed, o.c.cachingChangeCalls], [5, 0]);
    });

    it('the wc/uc quirk: an unpopulate of n pages frees n of the oldest, with one wb call per 512', async () => {
      // 600 uc pages leave 4 free (604 allocated); back to the head, then 600 of the 604 leave: 512 + 88.
      const { pools, o } = await stages(engine, bare, [populate(0, 600, Pool.ttmDma, Caching.uc)], [unpopulate(0)]);
      assert.deepEqual(pools.map((p) => p['dma uc']), [4, 4]);
      assert.deepEqual([o.c.pagesFreed, o.c.cachingChangeCalls], [600, 604 / 4 + 2]);
    });

    it('a failed populate gives back every page it got (ttm_dma_unpopulate): the tt holds nothing', async () => {
      // The buddy's 3959 pages: 989 refills and a short one of 3 serve pages 0..3955; at page 3956 (3 free)
      // the refill gets nothing and returns 0. The 3956 come back to the head: 3959 free, 1911 over the
      // cap: 1911 of the oldest leave.
      const { pools, o } = await stages(engine, small, [populate(0, 4000, Pool.ttmDma)], [unpopulate(0)]);
      assert.deepEqual(pools.map((p) => p['dma wc']), [2048, 2048], 'unpopulating the failed tt gives nothing back');
      assert.deepEqual([o.c.allocFailures, o.c.coherentAllocs, o.c.pagesFreed], [1, 3959, 1911]);
    });
  });
}

describe('3.3 ttm_page_alloc_dma: which pages the quirk keeps (reference model only, reads the pool)', () => {
  it('after populate 5 and unpopulate, the 3 kept are the tt\'s pages 0, 1, 2; the residue and pages 3, 4 went', () => {
    const tt = runModel(bare, [populate(0, 5, Pool.ttmDma)]).slots[0] as unknown as { pfn: Int32Array };
    const m = runModel(bare, [populate(0, 5, Pool.ttmDma), unpopulate(0)]);
    const pool = m.ttmPools.dma[Caching.wc]!;
    const kept = [pool.popHead(), pool.popHead(), pool.popHead()];
    assert.deepEqual(kept, [tt.pfn[0], tt.pfn[1], tt.pfn[2]]);
  });
});
