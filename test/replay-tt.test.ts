// TTM from replay (INTERFACE.md: tt_* ops, replay --strategy, "pools"): a script drives the TTM
// pool of the chosen strategy directly, and the result says what every pool holds at the end of
// the script and after the device's release.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TTM_POOLS } from '../src/engine/abi.js';
import { SMALL, cli, scratch, script } from './helpers.js';

const dir = scratch();

function replay(name: string, ops: object[], ...args: string[]) {
  const r = cli('replay', script(dir, `${name}.jsonl`, ops), '--json', ...SMALL, ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const pool = (res: { pools: { pool: string; pages: number }[] }, name: string) => res.pools.find((p) => p.pool === name)!.pages;

describe('tt_* ops in a replay script', () => {
  it("the seed's bug through TTM: populate, bind, CPU write, GPU read is stale under Xen; tt_sync for the device fixes it", () => {
    const ops = (sync: boolean) => [
      { op: 'tt_populate', buf: 't', pages: 4, caching: 'wc' }, { op: 'tt_bind', buf: 't', gpuPage: 0 },
      { op: 'cpu_write', buf: 't' }, ...(sync ? [{ op: 'tt_sync', buf: 't', for: 'device' }] : []),
      { op: 'gpu_read', gpuPage: 0, pages: 4 }, { op: 'tt_unbind', buf: 't' }, { op: 'tt_unpopulate', buf: 't' },
    ];
    const broken = replay('tt-seed', ops(false), '--platform', 'xen-pv');
    assert.equal(broken.verdict, 'corrupt');
    assert.equal(broken.counters.staleReads, 4);
    assert.equal(broken.firstViolation.via, 'swiotlb');
    assert.equal(broken.scenario.strategy, 'legacy');
    const fixed = replay('tt-seed-sync', ops(true), '--platform', 'xen-pv');
    assert.equal(fixed.verdict, 'coherent');
    assert.equal(fixed.counters.syncsForDevice, 4);
  });

  it('pools: every pool by name, what it holds at the end of the script, and empty after the release', () => {
    const r = replay('tt-pools', [{ op: 'tt_populate', buf: 't', pages: 1, caching: 'wc' }, { op: 'tt_unpopulate', buf: 't' }], '--platform', 'bare-metal');
    assert.deepEqual(r.pools.map((p: { pool: string; order: number }) => `${p.pool} ${p.order}`), TTM_POOLS.map((p) => `${p} 0`));
    assert.ok(pool(r, 'wc dma32') > 0, 'the page went back to the wc dma32 pool (2.6.37: a 32-bit device is need_dma32)');
    assert.equal(pool(r, 'uc dma32'), 0);
    assert.ok(r.poolsAfterRelease.every((p: { pages: number }) => p.pages === 0), 'the release drains every pool');
  });

  // 6.12 ttm_pool_alloc: 5 pages are an order-2 block (__fls(5) = 2) and an order-0 page; at
  // unpopulate each block goes back to the wc type of its own order (ttm_pool_type_give): the normal
  // one, as a 32-bit r100 reaches all of this small machine's RAM (radeon's use_dma32 is dma_addressing_limited).
  it('--kernel modern: pools list every pool at order 0, then each order above 0 that holds pages', () => {
    const r = replay('tt-orders', [{ op: 'tt_populate', buf: 't', pages: 5, caching: 'wc' }, { op: 'tt_unpopulate', buf: 't' }],
      '--platform', 'bare-metal', '--kernel', 'modern');
    const held = r.pools.filter((p: { pages: number }) => p.pages > 0);
    assert.deepEqual(held, [{ pool: 'wc normal', order: 0, pages: 1 }, { pool: 'wc normal', order: 2, pages: 4 }]);
    assert.equal(r.pools.length, TTM_POOLS.length + 1);
    assert.ok(r.poolsAfterRelease.every((p: { pages: number }) => p.pages === 0));
  });

  it('cached pages are never pooled (ttm_get_pool has no pool for them)', () => {
    const r = replay('tt-cached', [{ op: 'tt_populate', buf: 't', pages: 8, caching: 'cached' }, { op: 'tt_unpopulate', buf: 't' }], '--platform', 'bare-metal');
    assert.ok(r.pools.every((p: { pages: number }) => p.pages === 0));
    assert.equal(r.counters.pagesAllocated, r.counters.pagesFreed);
  });

  it('--strategy coherent takes pages from the dma pools', () => {
    const r = replay('tt-coherent', [{ op: 'tt_populate', buf: 't', pages: 2, caching: 'wc' }, { op: 'tt_unpopulate', buf: 't' }], '--platform', 'bare-metal', '--strategy', 'coherent');
    assert.ok(pool(r, 'dma wc') >= 2);
    assert.equal(pool(r, 'wc dma32'), 0);
    assert.ok(r.counters.coherentAllocs >= 2);
  });

  const bad: [string, object[], string[], RegExp][] = [
    ['a tt op on a buffer from alloc', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'tt_bind', buf: 'a', gpuPage: 0 }], [], /:2: tt_bind needs a TTM tt; 'a' was allocated with alloc/],
    ['a buffer op on a tt', [{ op: 'tt_populate', buf: 't', pages: 1 }, { op: 'map', buf: 't', dir: 'bidirectional' }], [], /:2: map on 't', a TTM tt \(use tt_bind, tt_unbind, tt_sync, tt_unpopulate, cpu_write, cpu_read\)/],
    ['tt ops on the agp device', [{ op: 'tt_populate', buf: 't', pages: 1 }], ['--device', 'agp'], /:1: tt_\* ops need a TTM device/],
    // Replay builds no GATT: on the agp device these ops would reach no entry and read foreign.
    ['gart_bind on the agp device', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'gart_bind', buf: 'a', gpuPage: 0 }], ['--device', 'agp'], /:2: gart_bind needs a TTM device's GART \(r100, r600, nv04, nv50\): replay builds no AGP GATT/],
    ['gpu_read on the agp device', [{ op: 'gpu_read', gpuPage: 0, pages: 1 }], ['--device', 'agp'], /:1: gpu_read needs a TTM device's GART/],
    ['gart_unbind on the agp device', [{ op: 'gart_unbind', gpuPage: 0, pages: 1 }], ['--device', 'agp'], /:1: gart_unbind needs a TTM device's GART/],
    ['gpu_write on the agp device', [{ op: 'gpu_write', gpuPage: 0, pages: 1 }], ['--device', 'agp'], /:1: gpu_write needs a TTM device's GART/],
    ['a caching that does not exist', [{ op: 'tt_populate', buf: 't', pages: 1, caching: 'wb' }], [], /:1: "caching" must be one of cached, wc, uc/],
    ['--strategy with the agp device', [{ op: 'alloc', buf: 'a', pages: 1 }], ['--device', 'agp', '--strategy', 'sync'], /--strategy: not with --device agp/],
  ];
  for (const [description, ops, args, pattern] of bad) {
    it(`usage error: ${description}`, () => {
      const r = cli('replay', script(dir, `bad-${bad.findIndex((b) => b[0] === description)}.jsonl`, ops), ...SMALL, ...args);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }
});
