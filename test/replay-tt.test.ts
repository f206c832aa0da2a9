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

  it("a CPU write while the device owns the page, then the unmap: the slot's older copy comes back over it, and the explanation says so (no device write is blamed)", () => {
    const ops = [{ op: 'tt_populate', buf: 't', pages: 1, caching: 'wc' }, { op: 'tt_bind', buf: 't', gpuPage: 0 }, { op: 'cpu_write', buf: 't' }, { op: 'tt_unbind', buf: 't' }, { op: 'cpu_read', buf: 't' }];
    const r = replay('tt-unmap-back', ops, '--platform', 'xen-pv');
    assert.deepEqual([r.verdict, r.firstViolation.kind, r.firstViolation.reader], ['corrupt', 'stale', 'cpu']);
    assert.match(r.firstViolation.detail, /a copy from the bounce slot \(the unmap's, which bounces a FROM_DEVICE or BIDIRECTIONAL mapping back whatever the device did, or a sync for the CPU after it\) brought back an older copy of the page over the CPU's later write/);
    assert.doesNotMatch(r.firstViolation.detail, /the device's write in it never came back/);
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

  // The agp device comes up with its GATT (--gatt, as run's): a script's gart_bind writes its buffer's
  // page handles into it (agp_generic_insert_memory), which the chipset reads as machine addresses.
  const seed = (sync: boolean) => [
    { op: 'alloc', buf: 'a', pages: 2, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'to_device' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
    { op: 'cpu_write', buf: 'a' }, ...(sync ? [{ op: 'sync_for_device', buf: 'a', dir: 'to_device' }] : []),
    { op: 'gpu_read', gpuPage: 0, pages: 2 }, { op: 'gart_unbind', gpuPage: 0, pages: 2 }, { op: 'unmap', buf: 'a', dir: 'to_device' }, { op: 'free', buf: 'a' },
  ];
  const agpRows: [string, string, boolean, { stale: number; foreign: number }][] = [
    ['phys', 'bare-metal', false, { stale: 0, foreign: 0 }],
    ['phys', 'xen-pv', false, { stale: 0, foreign: 2 }], // the bridge gets a pfn: no table there
    ['dma-coherent', 'iommu', false, { stale: 0, foreign: 2 }], // the bridge gets an IOVA
    ['fsb-hooks', 'iommu', false, { stale: 0, foreign: 2 }], // the table is right; its entries are IOVAs
    ['fsb-hooks', 'xen-pv', false, { stale: 2, foreign: 0 }], // the entries are xen-swiotlb's bounce slots: the seed's bug
    ['fsb-hooks', 'xen-pv', true, { stale: 0, foreign: 0 }], // and its sync fixes it
  ];
  for (const [gatt, platform, sync, want] of agpRows) {
    it(`agp, --gatt ${gatt} on ${platform}${sync ? ', synced' : ''}: ${want.stale + want.foreign > 0 ? `${want.stale} stale, ${want.foreign} foreign` : 'coherent'}, both engines alike`, () => {
      const [wasm, js] = ['wasm', 'js'].map((engine) => replay(`agp-${gatt}-${platform}-${sync}-${engine}`, seed(sync), '--device', 'agp', '--gatt', gatt, '--platform', platform, '--engine', engine));
      assert.deepEqual(js.counters, wasm.counters);
      assert.deepEqual([wasm.counters.staleReads, wasm.counters.foreignReads], [want.stale, want.foreign]);
      assert.deepEqual([wasm.counters.gartWrites, wasm.counters.tlbFlushes, wasm.counters.gpuReads, wasm.scenario.gatt], [4, 2, 2, gatt]);
      if (want.stale + want.foreign > 0) assert.equal(wasm.firstViolation.via, 'gatt');
      if (want.stale > 0) assert.match(wasm.firstViolation.detail, /the entry holds the bounce slot the map returned/);
    });
  }
  it('agp, --gatt fsb-hooks on xen-pv: a page neither mapped nor coherent goes in as its machine address (virt_to_fsb), so a page exchanged below 4 GiB is reached, and one above is cut to 32 bits', () => {
    const ops = (exchange: boolean) => [{ op: 'alloc', buf: 'a', pages: 2, zone: 'dma32' }, ...(exchange ? [{ op: 'exchange', buf: 'a', addressBits: 32 }] : []),
      { op: 'cpu_write', buf: 'a' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 }, { op: 'gpu_read', gpuPage: 0, pages: 2 }, { op: 'gart_unbind', gpuPage: 0, pages: 2 }, { op: 'free', buf: 'a' }];
    for (const engine of ['wasm', 'js']) {
      const low = replay(`agp-fsb-low-${engine}`, ops(true), '--device', 'agp', '--gatt', 'fsb-hooks', '--platform', 'xen-pv', '--engine', engine);
      assert.equal(low.verdict, 'coherent', engine);
      assert.equal(low.counters.gpuReads, 2);
      // phys: the same page's entry is page_to_phys, a pseudo-physical address (and so is the table's base).
      assert.equal(replay(`agp-phys-low-${engine}`, ops(true), '--device', 'agp', '--gatt', 'phys', '--platform', 'xen-pv', '--engine', engine).verdict, 'corrupt');
      const high = replay(`agp-fsb-high-${engine}`, ops(false), '--device', 'agp', '--gatt', 'fsb-hooks', '--platform', 'xen-pv', '--engine', engine);
      assert.equal(high.counters.foreignReads, 2, engine);
      assert.match(high.firstViolation.detail, /the page's machine address 0x[0-9a-f]{9,} does not fit the 32-bit GATT entry \(agp_generic_insert_memory writes each entry with writel\), so the entry names a frame below 4 GiB/);
    }
  });
  it('agp, --gatt phys on xen-pv in replay: a coherent page\'s entry is its handle, so the reason names the table alone', () => {
    const r = replay('agp-phys-coh', [{ op: 'alloc_coherent', buf: 'c', pages: 1 }, { op: 'cpu_write', buf: 'c' }, { op: 'gart_bind', buf: 'c', gpuPage: 0 }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
      '--device', 'agp', '--gatt', 'phys', '--platform', 'xen-pv');
    assert.match(r.firstViolation.detail, /the bridge was given an address that is not the machine address of the table, so the chipset reads its entries from another frame$/);
  });
  it('agp: with no table (fsb-hooks could not exchange one: --xen-low-free 0) a gart_bind is a bind failure; an unmapped bounce slot is not called a missing sync', () => {
    const none = replay('agp-none', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'gart_bind', buf: 'a', gpuPage: 0 }], '--device', 'agp', '--gatt', 'fsb-hooks', '--platform', 'xen-pv', '--xen-low-free', '0');
    assert.deepEqual([none.extra.bindFailures, none.counters.gartWrites], [1, 0]);
    const late = replay('agp-unmapped', [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'to_device' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
      { op: 'unmap', buf: 'a', dir: 'to_device' }, { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }], '--device', 'agp', '--gatt', 'fsb-hooks', '--platform', 'swiotlb-force');
    assert.equal(late.counters.staleReads, 1);
    assert.match(late.firstViolation.detail, /after the unmap none does/);
  });

  // A map that fails (the 256 KiB pool is full) leaves its error handle for gart_bind to write into
  // the GATT (D24): the explanation names that value, as it does for a GART PTE.
  const failing = [
    { op: 'alloc', buf: 'a', pages: 64, zone: 'dma32' }, { op: 'alloc', buf: 'b', pages: 1, zone: 'dma32' },
    { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'map', buf: 'b', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'b', gpuPage: 0 },
    { op: 'cpu_write', buf: 'b' }, { op: 'gpu_read', gpuPage: 0, pages: 1 },
  ];
  // 6.12: a map larger than one 256 KiB segment fails whatever the pool holds.
  const tooBig = [{ op: 'alloc', buf: 'b', pages: 128, zone: 'dma32' }, { op: 'map', buf: 'b', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'b', gpuPage: 0 },
    { op: 'cpu_write', buf: 'b' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }];
  const failedRows: [string, string, object[], RegExp][] = [
    ['2010', 'swiotlb-force', failing, /the map failed and gart_bind wrote the handle it returned into the GATT entry.*2\.6\.37 swiotlb's overflow buffer/],
    ['2010', 'xen-pv', failing, /the map failed and gart_bind wrote the handle it returned into the GATT entry.*2\.6\.37 xen-swiotlb's DMA_ERROR_CODE, 0/],
    ['modern', 'swiotlb-force', tooBig, /the map failed and gart_bind wrote the handle it returned into the GATT entry.*6\.12's DMA_MAPPING_ERROR, ~0, cut to the entry's address bits/],
  ];
  for (const [kernel, platform, ops, text] of failedRows) {
    it(`agp, ${kernel} ${platform}: a failed map's handle in a GATT entry is named as the error value it is, both engines alike`, () => {
      const [wasm, js] = ['wasm', 'js'].map((engine) => replay(`agp-failed-${kernel}-${platform}-${engine}`, ops, '--device', 'agp', '--gatt', 'fsb-hooks', '--platform', platform, '--swiotlb', '256K', '--kernel', kernel, '--engine', engine));
      assert.deepEqual(js.counters, wasm.counters);
      assert.deepEqual(js.firstViolation, wasm.firstViolation);
      assert.deepEqual([wasm.counters.mappingErrors, wasm.extra.failedMapPages, wasm.counters.foreignReads, wasm.firstViolation.via], [1, 1, 1, 'gatt']);
      assert.match(wasm.firstViolation.detail, text);
    });
  }

  // 6.12 r600 entries come from rs600_gart_get_page_entry: snoop only for a cached tt, the dummy
  // entry (RADEON_GART_PAGE_DUMMY) without the valid bit; 2.6.37 wrote 0x67 for all of them.
  it('r600: a wc tt is bound without the snoop bit on 6.12 (0x63), with it on 2.6.37 (0x67); 6.12\'s dummy entry is not valid yet lands on the dummy page', () => {
    const wc = [{ op: 'tt_populate', buf: 'w', pages: 1, caching: 'wc' }, { op: 'tt_bind', buf: 'w', gpuPage: 0 }, { op: 'cpu_write', buf: 'w' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }];
    for (const [kernel, flags] of [['modern', 0x63n], ['2010', 0x67n]] as const) {
      const [w, j] = ['wasm', 'js'].map((engine) => replay(`r600-wc-${kernel}-${engine}`, wc, '--device', 'r600', '--platform', 'swiotlb-force', '--kernel', kernel, '--engine', engine));
      assert.deepEqual(w.counters, j.counters);
      assert.equal(w.firstViolation.pte, j.firstViolation.pte);
      assert.equal(BigInt(w.firstViolation.pte) & 0xfffn, flags, kernel);
    }
    const unbound = [{ op: 'tt_populate', buf: 't', pages: 1, caching: 'cached' }, { op: 'tt_bind', buf: 't', gpuPage: 0 }, { op: 'tt_unbind', buf: 't' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }];
    const [w, j] = ['wasm', 'js'].map((engine) => replay(`r600-dummy-${engine}`, unbound, '--device', 'r600', '--platform', 'bare-metal', '--kernel', 'modern', '--engine', engine));
    assert.deepEqual(w.firstViolation, j.firstViolation);
    assert.equal(BigInt(w.firstViolation.pte) & 0xfffn, 0x2n, 'the system bit alone');
    assert.equal(w.firstViolation.kind, 'foreign');
    assert.notEqual(w.firstViolation.mfn, null, 'the read reaches a frame: the dummy page');
    assert.match(w.firstViolation.detail, /not valid \(6\.12's dummy entry, RADEON_GART_PAGE_DUMMY\).*radeon's GART dummy page/);
  });

  it('agp: a gart_bind over used GATT entries is -EBUSY (gattBusy, nothing written)', () => {
    const r = replay('agp-busy', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'alloc', buf: 'b', pages: 1 }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
      { op: 'gart_bind', buf: 'b', gpuPage: 0 }], '--device', 'agp', '--platform', 'bare-metal');
    assert.deepEqual([r.extra.gattBusy, r.counters.gartWrites, r.counters.tlbFlushes], [1, 1, 1]);
  });

  const bad: [string, object[], string[], RegExp][] = [
    ['a tt op on a buffer from alloc', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'tt_bind', buf: 'a', gpuPage: 0 }], [], /:2: tt_bind needs a TTM tt; 'a' was allocated with alloc/],
    ['a buffer op on a tt', [{ op: 'tt_populate', buf: 't', pages: 1 }, { op: 'map', buf: 't', dir: 'bidirectional' }], [], /:2: map on 't', a TTM tt \(use tt_bind, tt_unbind, tt_sync, tt_unpopulate, cpu_write, cpu_read\)/],
    ['tt ops on the agp device', [{ op: 'tt_populate', buf: 't', pages: 1 }], ['--device', 'agp'], /:1: tt_\* ops need a TTM device/],
    ['--gatt without the agp device', [{ op: 'alloc', buf: 'a', pages: 1 }], ['--gatt', 'phys'], /--gatt: only with --device agp/],
    ['a GPU page past the AGP GATT (2^19 entries)', [{ op: 'gpu_read', gpuPage: 524288, pages: 1 }], ['--device', 'agp'], /:1: "gpuPage" 524288 is outside 0\.\.524287/],
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
