// The Wasm engine against hand-checked kernel arithmetic: each case states one mechanism
// (swiotlb slot math, xen-swiotlb's bounce decision, XENMEM_exchange, copy directions per era,
// GART PTE formats, dma-debug classes) and checks it through the op stream only.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEngineModule, createWasmEngine } from '../src/engine/wasm.js';
import { BindMode, COUNTERS, Caching, DEBUG_CLASSES, Dir, GattMode, Op, Platform, Pool, Kernel, GartFamily, InitError,
  ViolationKind } from '../src/engine/abi.js';
import type { CounterName, MachineConfig } from '../src/engine/abi.js';

let module: WebAssembly.Module;
before(async () => { module = await loadEngineModule(); });

const BASE: MachineConfig = {
  platform: Platform['xen-pv'], maskBits: 32, kernel: Kernel['2010'], ramPages: 262144,
  hostPages: 4194304, xenLowPages: 65536, nslabs: 32768, payloadBytes: 0, seed: 1,
  maxBuffers: 16, gartPages: 4096, gartFamily: GartFamily.r100,
};
type OpTuple = readonly number[];
const PAGE = 4096;
const POOL_BUS = 4096 * PAGE; // io_tlb_start on bare metal: pfn 4096
const ALL_ONES = -1n;
const { bidirectional: BIDI, to_device: TO_DEV, from_device: FROM_DEV } = Dir;

function machine(cfg: Partial<MachineConfig>, ops: OpTuple[]) {
  const e = createWasmEngine(module);
  const full = { ...BASE, ...cfg };
  if (full.platform !== Platform['xen-pv']) full.hostPages = full.ramPages;
  assert.equal(e.init(full), InitError.OK);
  const buf = new Int32Array(ops.length * 8);
  ops.forEach((o, i) => buf.set(o, i * 8));
  e.run(buf, ops.length, 0);
  const values = e.counters();
  const c = Object.fromEntries(COUNTERS.map((n, i) => [n, values[i]])) as Record<CounterName, number>;
  const dbg = e.debug();
  return { c, v: e.violation(), dbg, invariants: e.checkInvariants(), classes: dbg.records.map((r) => DEBUG_CLASSES[Number(r[0])]), dma: dbg.records.map((r) => r[2]) };
}

const upload = (extra: OpTuple[] = []): OpTuple[] => [
  [Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.GART_BIND, 0, 0], [Op.CPU_WRITE, 0, 0, PAGE], ...extra, [Op.GPU_READ, 0, 1],
];

describe('the seed bug (RFC: GART programmed with the bounce address)', () => {
  const cases: { description: string; cfg: Partial<MachineConfig>; ops: OpTuple[]; want: Partial<Record<CounterName, number>>; kind?: number }[] = [
    { description: 'xen-pv, 32-bit r100, no sync: the GPU reads the stale bounce copy', cfg: {}, ops: upload(), want: { staleReads: 1, bounces: 1, bounceBytes: PAGE }, kind: ViolationKind.stale },
    { description: 'xen-pv with sync_for_device before the GPU reads: coherent', cfg: {}, ops: upload([[Op.SYNC_FOR_DEVICE, 0, TO_DEV, 0, PAGE]]), want: { staleReads: 0, bounces: 1, syncsForDevice: 1 } },
    { description: 'bare metal: DMA32 page under the mask, no bounce, coherent', cfg: { platform: Platform['bare-metal'] }, ops: upload(), want: { staleReads: 0, bounces: 0 } },
    { description: 'swiotlb=force reproduces it without Xen', cfg: { platform: Platform['swiotlb-force'] }, ops: upload(), want: { staleReads: 1, bounces: 1 }, kind: ViolationKind.stale },
    { description: 'readback on xen-pv: the GPU write never reaches the page the CPU reads', cfg: {},
      ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.GART_BIND, 0, 0], [Op.GPU_WRITE, 0, 1], [Op.CPU_READ, 0, 0, PAGE]],
      want: { lostWrites: 1, staleReads: 0 }, kind: ViolationKind.lost },
    { description: 'coherent memory on xen-pv: exchanged below 4 GiB, no bounce, coherent', cfg: {},
      ops: [[Op.ALLOC_COHERENT, 0, 1], [Op.GART_BIND, 0, 0], [Op.CPU_WRITE, 0, 0, PAGE], [Op.GPU_READ, 0, 1]],
      want: { coherentAllocs: 1, hypercalls: 1, exchangedFrames: 1, bounces: 0, staleReads: 0 } },
  ];
  for (const t of cases) it(t.description, () => {
    const { c, v } = machine(t.cfg, t.ops);
    for (const [k, want] of Object.entries(t.want)) assert.equal(c[k as CounterName], want, k);
    assert.equal(v === null ? 0 : Number(v[0]), t.kind ?? 0);
  });
});

describe('swiotlb slot search (lib/swiotlb.c 2010)', () => {
  const force = { platform: Platform['swiotlb-force'] };
  const mapThenProbe = (sizes: number[]): OpTuple[] => sizes.flatMap((size, slot) => [
    [Op.ALLOC, slot, Math.max(1, Math.ceil(size / PAGE)), 0], [Op.MAP, slot, BIDI, 0, size],
  ] as OpTuple[]).concat(sizes.map((_, slot) => [Op.UNMAP, slot, BIDI, 1] as OpTuple));
  const cases: { description: string; sizes: number[]; slots: number[] }[] = [
    { description: 'two 1-page maps take consecutive 2-slot runs', sizes: [PAGE, PAGE], slots: [0, 2] },
    { description: 'after a 1-slot map a 1-page map starts at slot 1 (stride 1)', sizes: [2048, PAGE], slots: [0, 1] },
    { description: 'after a 1-slot map a 3-page map is page-aligned (stride 2)', sizes: [2048, 3 * PAGE], slots: [0, 2] },
  ];
  for (const t of cases) it(t.description, () => {
    const { dma, classes } = machine(force, mapThenProbe(t.sizes));
    assert.deepEqual(dma.filter((_, i) => classes[i] === 'unmap-size'), t.slots.map((s) => BigInt(POOL_BUS + s * 2048)));
  });

  it('a map of more than 128 slots fails at once: 2010 overflow buffer and panic counter', () => {
    const { c, dma } = machine(force, [[Op.ALLOC, 0, 65, 0], [Op.MAP, 0, BIDI, 0, 129 * 2048], [Op.UNMAP, 0, BIDI, 129 * 2048]]);
    assert.equal(c.swiotlbFull, 1); assert.equal(c.mappingErrors, 1); assert.equal(c.swiotlbPanics, 1); assert.equal(c.bounces, 0);
    assert.deepEqual(dma, [BigInt((4096 + 32768 / 2) * PAGE)]); // unmap-unknown at the overflow buffer
  });

  for (const [era, overflow] of [['2010', BigInt((4096 + 128) * PAGE)], ['modern', ALL_ONES]] as const) {
    it(`a 256-slot pool is full after 128 page maps (${era}: ${era === '2010' ? 'overflow address' : 'DMA_MAPPING_ERROR'})`, () => {
      const ops: OpTuple[] = [];
      for (let i = 0; i < 129; i++) ops.push([Op.ALLOC, i, 1, 0], [Op.MAP, i, TO_DEV, 0, PAGE]);
      ops.push([Op.UNMAP, 128, TO_DEV, PAGE]);
      const { c, dma } = machine({ ...force, nslabs: 256, maxBuffers: 130, kernel: Kernel[era] }, ops);
      assert.equal(c.bounces, 128); assert.equal(c.swiotlbFull, 1); assert.equal(c.mappingErrors, 1);
      assert.equal(c.swiotlbPeakSlots, 256); assert.equal(c.swiotlbPanics, 0);
      assert.deepEqual(dma, [overflow]);
    });
  }

  it('unmap merges freed runs: after unmapping everything two full 128-slot segments fit again', () => {
    const ops: OpTuple[] = [];
    for (let i = 0; i < 128; i++) ops.push([Op.ALLOC, i, 1, 0], [Op.MAP, i, TO_DEV, 0, PAGE]);
    for (let i = 127; i >= 0; i -= 2) ops.push([Op.UNMAP, i, TO_DEV, PAGE]);
    for (let i = 0; i < 128; i += 2) ops.push([Op.UNMAP, i, TO_DEV, PAGE]);
    ops.push([Op.ALLOC, 128, 64, 0], [Op.MAP, 128, TO_DEV, 0, 64 * PAGE], [Op.ALLOC, 129, 64, 0], [Op.MAP, 129, TO_DEV, 0, 64 * PAGE]);
    const { c } = machine({ ...force, nslabs: 256, maxBuffers: 130 }, ops);
    assert.equal(c.swiotlbFull, 0); assert.equal(c.bounces, 130); assert.equal(c.swiotlbSlotsInUse, 256);
  });
});

describe('xen-swiotlb bounce decision and XENMEM_exchange', () => {
  const cases: { description: string; cfg: Partial<MachineConfig>; ops: OpTuple[]; want: Partial<Record<CounterName, number>> }[] = [
    { description: '40-bit mask: a single page is reachable, no bounce', cfg: { maskBits: 40 }, ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE]], want: { bounces: 0 } },
    { description: '40-bit mask: two pages that straddle a p2m discontinuity bounce', cfg: { maskBits: 40 }, ops: [[Op.ALLOC, 0, 2, 0], [Op.MAP, 0, BIDI, 0, 2 * PAGE]], want: { bounces: 1 } },
    { description: 'exchange below 4 GiB first: the map no longer bounces', cfg: {}, ops: [[Op.ALLOC, 0, 1, 0], [Op.EXCHANGE, 0, 32], [Op.MAP, 0, BIDI, 0, PAGE]], want: { bounces: 0, hypercalls: 1, exchangedFrames: 1 } },
    { description: 'exchange larger than the low reserve fails and changes nothing', cfg: { xenLowPages: 256, nslabs: 256 },
      ops: [[Op.ALLOC, 0, 256, 0], [Op.EXCHANGE, 0, 32], [Op.MAP, 0, BIDI, 0, PAGE]], want: { allocFailures: 1, hypercalls: 1, exchangedFrames: 0, bounces: 1 } },
    { description: 'exchange above order 9 fails without a hypercall', cfg: {}, ops: [[Op.ALLOC, 0, 1024, 0], [Op.EXCHANGE, 0, 32]], want: { allocFailures: 1, hypercalls: 0 } },
    { description: 'exchange is a no-op off Xen', cfg: { platform: Platform['bare-metal'] }, ops: [[Op.ALLOC, 0, 1, 0], [Op.EXCHANGE, 0, 32]], want: { hypercalls: 0, allocFailures: 0 } },
    { description: 'free_coherent of an exchanged buffer destroys the region', cfg: {}, ops: [[Op.ALLOC_COHERENT, 0, 4], [Op.FREE_COHERENT, 0]], want: { hypercalls: 2, exchangedFrames: 8, pagesAllocated: 4, pagesFreed: 4 } },
  ];
  for (const t of cases) it(t.description, () => {
    const { c } = machine(t.cfg, t.ops);
    for (const [k, want] of Object.entries(t.want)) assert.equal(c[k as CounterName], want, k);
  });
});

describe('bounce copy directions per era', () => {
  const rows: { dir: number; era: string; mapBytes: number; unmapBytes: number }[] = [
    { dir: TO_DEV, era: '2010', mapBytes: PAGE, unmapBytes: 0 },
    { dir: FROM_DEV, era: '2010', mapBytes: 0, unmapBytes: PAGE },
    { dir: BIDI, era: '2010', mapBytes: PAGE, unmapBytes: PAGE },
    { dir: TO_DEV, era: 'modern', mapBytes: PAGE, unmapBytes: 0 },
    { dir: FROM_DEV, era: 'modern', mapBytes: PAGE, unmapBytes: PAGE },
    { dir: BIDI, era: 'modern', mapBytes: PAGE, unmapBytes: PAGE },
  ];
  for (const r of rows) it(`${r.era} ${Object.keys(Dir)[r.dir]}: map copies ${r.mapBytes}, unmap copies ${r.unmapBytes}`, () => {
    const cfg = { platform: Platform['swiotlb-force'], kernel: Kernel[r.era as '2010' | 'modern'] };
    const atMap = machine(cfg, [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, r.dir, 0, PAGE]]).c.bounceBytes;
    const total = machine(cfg, [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, r.dir, 0, PAGE], [Op.UNMAP, 0, r.dir, PAGE]]).c.bounceBytes;
    assert.equal(atMap, r.mapBytes); assert.equal(total - atMap, r.unmapBytes);
  });
});

describe('GART PTE formats (xen-pv, 40-bit mask: bus addresses above 4 GiB)', () => {
  const rows: { family: keyof typeof GartFamily; foreign: number }[] = [
    { family: 'r100', foreign: 1 }, // low 32 bits only: the GPU reads some other frame
    { family: 'r600', foreign: 0 },
    { family: 'nv04', foreign: 1 },
    { family: 'nv50', foreign: 0 }, // 8 high bits kept
  ];
  for (const r of rows) it(`${r.family}: ${r.foreign ? 'truncates' : 'keeps'} a 40-bit address`, () => {
    const { c, v } = machine({ maskBits: 40, gartFamily: GartFamily[r.family] }, upload());
    assert.equal(c.bounces, 0); assert.equal(c.foreignReads, r.foreign);
    if (r.foreign) assert.equal(v?.[0], BigInt(ViolationKind.foreign));
  });
  it('nv50: an unbound page is invalid and a GPU read of it is foreign', () => {
    const { c } = machine({ maskBits: 40, gartFamily: GartFamily.nv50 }, [...upload(), [Op.GART_UNBIND, 0, 1], [Op.GPU_READ, 0, 1]]);
    assert.equal(c.foreignReads, 1); assert.equal(c.tlbFlushes, 2); assert.equal(c.gartWrites, 2);
  });
});

describe('DMA-API debug classes (kernel/dma/debug.c)', () => {
  const bm = { platform: Platform['bare-metal'] };
  const cases: { description: string; ops: OpTuple[]; want: string[] }[] = [
    { description: 'unmap of a never-mapped buffer', ops: [[Op.ALLOC, 0, 1, 0], [Op.UNMAP, 0, BIDI, PAGE]], want: ['unmap-unknown'] },
    { description: 'unmap with the wrong size', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.MAPPING_ERROR, 0], [Op.UNMAP, 0, BIDI, 2048]], want: ['unmap-size'] },
    { description: 'unmap with the wrong direction', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, TO_DEV, 0, PAGE], [Op.MAPPING_ERROR, 0], [Op.UNMAP, 0, FROM_DEV, PAGE]], want: ['unmap-direction'] },
    { description: 'dma_unmap_page on coherent memory', ops: [[Op.ALLOC_COHERENT, 0, 1], [Op.UNMAP, 0, BIDI, PAGE]], want: ['unmap-wrong-function'] },
    { description: 'unmap without dma_mapping_error', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.UNMAP, 0, BIDI, PAGE]], want: ['map-error-unchecked'] },
    { description: 'sync of a never-mapped buffer', ops: [[Op.ALLOC, 0, 1, 0], [Op.SYNC_FOR_CPU, 0, BIDI, 0, PAGE]], want: ['sync-unknown'] },
    { description: 'sync beyond the mapping', ops: [[Op.ALLOC, 0, 2, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.SYNC_FOR_DEVICE, 0, BIDI, 0, 2 * PAGE]], want: ['sync-outside'] },
    { description: 'sync_for_cpu of a TO_DEVICE mapping as FROM_DEVICE', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, TO_DEV, 0, PAGE], [Op.SYNC_FOR_CPU, 0, FROM_DEV, 0, PAGE]], want: ['sync-direction', 'sync-cpu-readonly'] },
    { description: 'sync_for_device of a FROM_DEVICE mapping as TO_DEVICE', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, FROM_DEV, 0, PAGE], [Op.SYNC_FOR_DEVICE, 0, TO_DEV, 0, PAGE]], want: ['sync-direction', 'sync-device-writeonly'] },
    { description: 'sync in the mapping\'s own direction is fine', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, FROM_DEV, 0, PAGE], [Op.SYNC_FOR_CPU, 0, FROM_DEV, 0, PAGE]], want: [] },
    { description: 'a mapping live at release leaks', ops: [[Op.ALLOC, 0, 1, 0], [Op.MAP, 0, BIDI, 0, PAGE], [Op.RELEASE]], want: ['leak'] },
    { description: 'a failed map is not tracked', ops: [[Op.ALLOC, 0, 65, 0], [Op.MAP, 0, BIDI, 0, 129 * 2048], [Op.RELEASE]], want: [] },
  ];
  for (const t of cases) it(t.description, () => {
    const cfg = t.description.startsWith('a failed') ? { platform: Platform['swiotlb-force'] } : bm;
    const { classes, dbg, c } = machine(cfg, t.ops);
    assert.deepEqual(classes, t.want);
    assert.equal(dbg.total, t.want.length); assert.equal(c.dmaDebugErrors, t.want.length);
  });
});

describe('allocator, init and payload', () => {
  it('alloc/free round trip returns the same block (LIFO buddy)', () => {
    const { c, dbg } = machine({ platform: Platform['bare-metal'] }, [[Op.ALLOC, 0, 3, 0], [Op.FREE, 0], [Op.ALLOC, 1, 3, 0], [Op.UNMAP, 1, BIDI, PAGE]]);
    assert.equal(c.pagesAllocated, 8); assert.equal(c.pagesFreed, 4);
    const again = machine({ platform: Platform['bare-metal'] }, [[Op.ALLOC, 1, 3, 0], [Op.UNMAP, 1, BIDI, PAGE]]);
    assert.deepEqual(dbg.records[0]![2], again.dbg.records[0]![2]);
  });
  it('RAM too small for the fixed layout is INIT_LAYOUT', () => {
    const e = createWasmEngine(module);
    assert.equal(e.init({ ...BASE, platform: 0, ramPages: 4096, hostPages: 4096 }), InitError.LAYOUT);
  });
  it('payload bytes: a stale bounce copy is caught with 4096 payload bytes too', () => {
    const { c } = machine({ payloadBytes: 4096 }, upload());
    assert.equal(c.staleReads, 1);
    const synced = machine({ payloadBytes: 64 }, upload([[Op.SYNC_FOR_DEVICE, 0, TO_DEV, 0, PAGE]]));
    assert.equal(synced.c.staleReads, 0);
  });
});

// ---- TTM page pools, tt binds and the AGP GATT (docs/ENGINE.md §11-13, §15) ------------------

const BM = { platform: Platform['bare-metal'] };
type Want = Partial<Record<CounterName, number>>;
interface TtCase { description: string; cfg: Partial<MachineConfig>; ops: OpTuple[]; want: Want; kind?: number }

function runCases(cases: TtCase[]) {
  for (const t of cases) it(t.description, () => {
    const { c, v, invariants } = machine(t.cfg, t.ops);
    for (const [k, want] of Object.entries(t.want)) assert.equal(c[k as CounterName], want, k);
    if (t.kind !== undefined) assert.equal(v === null ? 0 : Number(v[0]), t.kind);
    assert.equal(invariants, 0, 'invariants');
  });
}

const populate = (slot: number, pages: number, pool: number, caching: number = Caching.wc): OpTuple => [Op.TT_POPULATE, slot, pages, pool, caching];

describe('ttm_page_alloc pools (2010): refill 512 for small requests, caching changes batched', () => {
  runCases([
    { description: 'a small request on an empty pool refills 512 pages with one caching change', cfg: BM,
      ops: [populate(0, 8, Pool.ttm)], want: { poolRefills: 1, pagesAllocated: 512, cachingChangeCalls: 1, cachingChangePages: 512 } },
    { description: 'a request of 20: 5 direct pages while 16 or more remain, then a refill for the last 15', cfg: BM,
      ops: [populate(0, 20, Pool.ttm)], want: { poolRefills: 1, pagesAllocated: 517, cachingChangeCalls: 2, cachingChangePages: 517 } },
    { description: 'the pool serves the next small request without touching the buddy', cfg: BM,
      ops: [populate(0, 8, Pool.ttm), populate(1, 8, Pool.ttm)], want: { poolRefills: 1, pagesAllocated: 512, cachingChangeCalls: 1 } },
    { description: 'a run of 1285 direct pages takes ceil(1285/512) = 3 caching-change calls, plus 1 for the refill', cfg: BM,
      ops: [populate(0, 1300, Pool.ttm)], want: { cachingChangeCalls: 4, cachingChangePages: 1797, pagesAllocated: 1797 } },
    { description: 'cached pages are never pooled and never change caching', cfg: BM,
      ops: [populate(0, 8, Pool.ttm, Caching.cached), [Op.TT_UNPOPULATE, 0]], want: { poolRefills: 0, pagesAllocated: 8, pagesFreed: 8, cachingChangeCalls: 0 } },
    { description: 'wc pages go back to the pool, not the buddy', cfg: BM,
      ops: [populate(0, 8, Pool.ttm), [Op.TT_UNPOPULATE, 0]], want: { pagesFreed: 0, cachingChangeCalls: 1 } },
  ]);
});

describe('ttm_page_alloc pool cap: half the kernel zone, shrunk by at least 512 from the tail', () => {
  // 256 MiB of RAM: max = 65536 / 4 = 16384 pooled pages.
  const small = { ...BM, ramPages: 65536, nslabs: 256 };
  runCases([
    { description: 'an excess of 113 pages still frees 512 (one wb change)', cfg: small,
      ops: [populate(0, 16000, Pool.ttm), [Op.TT_UNPOPULATE, 0]], want: { pagesFreed: 512, cachingChangeCalls: 32 + 1 + 1 } },
    { description: 'an excess of 1113 pages frees all 1113 (three wb changes of at most 512)', cfg: small,
      ops: [populate(0, 17000, Pool.ttm), [Op.TT_UNPOPULATE, 0]], want: { pagesFreed: 1113, cachingChangeCalls: 34 + 1 + 3 } },
  ]);
});

describe('ttm_page_alloc_dma pools (2011, fix 1): refill 4 coherent pages, pages in use', () => {
  runCases([
    { description: 'six pages take two refills of 4 dma_alloc_coherent pages each', cfg: BM,
      ops: [populate(0, 6, Pool.ttmDma)], want: { poolRefills: 2, coherentAllocs: 8, pagesAllocated: 8, ttmDmaPeakInUse: 6, cachingChangeCalls: 2, cachingChangePages: 8 } },
    { description: 'pages in use fall at unpopulate; the peak stays; the pool serves the next tt', cfg: BM,
      ops: [populate(0, 6, Pool.ttmDma), [Op.TT_UNPOPULATE, 0], populate(1, 3, Pool.ttmDma)], want: { poolRefills: 2, coherentAllocs: 8, ttmDmaPeakInUse: 6 } },
    { description: 'a cached dma pool changes no caching', cfg: BM,
      ops: [populate(0, 6, Pool.ttmDma, Caching.cached)], want: { poolRefills: 2, cachingChangeCalls: 0 } },
    { description: 'internal coherent pages are not dma-debug entries: no leak at release', cfg: BM,
      ops: [populate(0, 6, Pool.ttmDma), [Op.RELEASE]], want: { dmaDebugErrors: 0, pagesFreed: 8 } },
    { description: 'xen-pv: each dma pool page above 4 GiB is exchanged (order 0)', cfg: {},
      ops: [populate(0, 4, Pool.ttmDma)], want: { hypercalls: 4, exchangedFrames: 4, coherentAllocs: 4 } },
  ]);
});

describe('xen-aware pool (fix 3): every page exchanged below the mask as it enters', () => {
  // Low reserve: pool (128 pages) + overflow (8) + dummy (1) + 2 spare frames.
  const tight = { nslabs: 256, xenLowPages: 139 };
  runCases([
    { description: 'a refill exchanges each of its 512 pages', cfg: {}, ops: [populate(0, 4, Pool.xenAware)],
      want: { hypercalls: 512, exchangedFrames: 512, poolRefills: 1 } },
    { description: 'cached pages are exchanged one by one, direct', cfg: {}, ops: [populate(0, 3, Pool.xenAware, Caching.cached)],
      want: { hypercalls: 3, exchangedFrames: 3, poolRefills: 0 } },
    { description: 'the 2010 pool exchanges nothing', cfg: {}, ops: [populate(0, 4, Pool.ttm)], want: { hypercalls: 0 } },
    { description: 'off Xen it is exactly the 2010 pool', cfg: BM, ops: [populate(0, 4, Pool.xenAware)], want: { hypercalls: 0, poolRefills: 1 } },
    { description: 'a 40-bit device needs no exchange', cfg: { maskBits: 40 }, ops: [populate(0, 4, Pool.xenAware)], want: { hypercalls: 0 } },
    { description: 'low memory runs out: the third exchange fails, the page goes back, the populate fails', cfg: tight,
      ops: [populate(0, 4, Pool.xenAware, Caching.cached)], want: { hypercalls: 3, exchangedFrames: 2, allocFailures: 2, pagesAllocated: 3, pagesFreed: 1 } },
    { description: 'bound and read by the GPU with no bounce: coherent', cfg: {},
      ops: [populate(0, 4, Pool.xenAware), [Op.TT_BIND, 0, 0, BindMode.map], [Op.CPU_WRITE, 0, 0, 4 * PAGE], [Op.GPU_READ, 0, 4]],
      want: { bounces: 0, maps: 4, staleReads: 0, gpuReads: 4 }, kind: 0 },
    { description: 'the 2010 pool under the same binds bounces and the GPU reads stale copies', cfg: {},
      ops: [populate(0, 4, Pool.ttm), [Op.TT_BIND, 0, 0, BindMode.map], [Op.CPU_WRITE, 0, 0, 4 * PAGE], [Op.GPU_READ, 0, 4]],
      want: { bounces: 4, staleReads: 4 }, kind: ViolationKind.stale },
  ]);
});

describe('TT_BIND failures: nothing written, the range skipped by the GPU', () => {
  const force = { platform: Platform['swiotlb-force'], nslabs: 256 }; // 128 page maps fit
  runCases([
    { description: 'the 129th dma_map_page fails: 128 unmapped again, bindFailures, 200 GPU pages skipped', cfg: force,
      ops: [populate(0, 200, Pool.ttm), [Op.TT_BIND, 0, 0, BindMode.map], [Op.GPU_READ, 0, 200], [Op.GPU_WRITE, 0, 200]],
      want: { maps: 129, unmaps: 128, swiotlbFull: 1, mappingErrors: 1, bindFailures: 1, gpuSkippedPages: 400, gpuReads: 0, gpuWrites: 0, gartWrites: 0, tlbFlushes: 0, swiotlbSlotsInUse: 0 } },
    { description: 'modern era: the same failure through DMA_MAPPING_ERROR', cfg: { ...force, kernel: Kernel.modern },
      ops: [populate(0, 200, Pool.ttm), [Op.TT_BIND, 0, 0, BindMode.map], [Op.GPU_READ, 0, 10]],
      want: { bindFailures: 1, gpuSkippedPages: 10, unmaps: 128 } },
    { description: 'a later successful bind clears the failed marks', cfg: force,
      ops: [populate(0, 200, Pool.ttm), [Op.TT_BIND, 0, 0, BindMode.map], populate(1, 4, Pool.ttm), [Op.TT_BIND, 1, 0, BindMode.map], [Op.GPU_READ, 0, 8]],
      want: { bindFailures: 1, gpuSkippedPages: 4, gpuReads: 4 } },
    { description: 'a failed populate makes a failed bind', cfg: { nslabs: 256, xenLowPages: 139 },
      ops: [populate(0, 4, Pool.xenAware, Caching.cached), [Op.TT_BIND, 0, 8, BindMode.map], [Op.GPU_READ, 8, 4]],
      want: { bindFailures: 1, gpuSkippedPages: 4, maps: 0 } },
    { description: 'a bind past the aperture fails', cfg: { ...BM, gartPages: 16 },
      ops: [populate(0, 4, Pool.ttm), [Op.TT_BIND, 0, 14, BindMode.map], [Op.GPU_READ, 14, 2]],
      want: { bindFailures: 1, gpuSkippedPages: 2, maps: 0 } },
    { description: 'coherent pages bind with their handles: no map, one flush', cfg: {},
      ops: [populate(0, 4, Pool.ttmDma), [Op.TT_BIND, 0, 0, BindMode.coherent], [Op.CPU_WRITE, 0, 0, 4 * PAGE], [Op.TT_SYNC, 0, 0], [Op.GPU_READ, 0, 4]],
      want: { maps: 0, gartWrites: 4, tlbFlushes: 1, syncsForDevice: 4, dmaDebugErrors: 0, staleReads: 0 }, kind: 0 },
    { description: 'TT_SYNC after the CPU writes fixes the bounce (fix 2)', cfg: {},
      ops: [populate(0, 4, Pool.ttm), [Op.TT_BIND, 0, 0, BindMode.map], [Op.CPU_WRITE, 0, 0, 4 * PAGE], [Op.TT_SYNC, 0, 0], [Op.GPU_READ, 0, 4]],
      want: { syncsForDevice: 4, bounceBytes: 8 * PAGE, staleReads: 0 }, kind: 0 },
  ]);
});

describe('the AGP GATT (drivers/char/agp/generic.c 2005): -EBUSY and the chipset reading through m2p', () => {
  const agp = { gartFamily: GartFamily.agp };
  const gattRun = (mode: number, pool: number, bind: number): OpTuple[] => [
    [Op.GATT_CREATE, 1024, mode], populate(0, 4, pool, Caching.uc), [Op.TT_BIND, 0, 0, bind], [Op.CPU_WRITE, 0, 0, 4 * PAGE], [Op.GPU_READ, 0, 4],
  ];
  const rows: { platform: keyof typeof Platform; gatt: keyof typeof GattMode; foreign: number }[] = [
    { platform: 'bare-metal', gatt: 'phys', foreign: 0 },
    { platform: 'xen-pv', gatt: 'phys', foreign: 4 }, // the bridge got a pfn: the chipset finds no table there
    { platform: 'xen-pv', gatt: 'dmaCoherent', foreign: 0 },
    { platform: 'xen-pv', gatt: 'fsbHooks', foreign: 0 },
    { platform: 'iommu', gatt: 'phys', foreign: 0 },
    { platform: 'iommu', gatt: 'dmaCoherent', foreign: 4 }, // an IOVA is no machine address
    { platform: 'iommu', gatt: 'fsbHooks', foreign: 0 },
  ];
  const poolOf = { phys: Pool.agp, dmaCoherent: Pool.agpCoherent, fsbHooks: Pool.agpFsb };
  const bindOf = { phys: BindMode.map, dmaCoherent: BindMode.coherent, fsbHooks: BindMode.fsb };
  for (const r of rows) it(`${r.platform} ${r.gatt}: ${r.foreign} foreign pages`, () => {
    const { c, invariants } = machine({ ...agp, platform: Platform[r.platform] }, gattRun(GattMode[r.gatt], poolOf[r.gatt], bindOf[r.gatt]));
    assert.equal(c.foreignReads, r.foreign); assert.equal(c.staleReads, 0); assert.equal(c.gpuReads, 4);
    assert.equal(c.maps, 0, 'no DMA API on the AGP path'); assert.equal(invariants, 0);
  });
  runCases([
    { description: 'inserting over used entries is -EBUSY: nothing of the second tt is written', cfg: { ...agp, ...BM },
      ops: [[Op.GATT_CREATE, 1024, GattMode.phys], populate(0, 4, Pool.agp), populate(1, 4, Pool.agp), [Op.TT_BIND, 0, 0, BindMode.map], [Op.TT_BIND, 1, 2, BindMode.map]],
      want: { gattBusy: 1, gartWrites: 4, tlbFlushes: 1, bindFailures: 0 } },
    { description: 'after an unbind the entries are free again', cfg: { ...agp, ...BM },
      ops: [[Op.GATT_CREATE, 1024, GattMode.phys], populate(0, 4, Pool.agp), populate(1, 4, Pool.agp), [Op.TT_BIND, 0, 0, BindMode.map], [Op.TT_UNBIND, 0], [Op.TT_BIND, 1, 2, BindMode.map]],
      want: { gattBusy: 0, gartWrites: 12, tlbFlushes: 3 } },
    { description: 'no table: an AGP bind fails', cfg: { ...agp, ...BM }, ops: [populate(0, 4, Pool.agp), [Op.TT_BIND, 0, 0, BindMode.map]], want: { bindFailures: 1 } },
    { description: 'a bind beyond the GATT entries is -EINVAL', cfg: { ...agp, ...BM },
      ops: [[Op.GATT_CREATE, 16, GattMode.phys], populate(0, 4, Pool.agp), [Op.TT_BIND, 0, 14, BindMode.map]], want: { bindFailures: 1 } },
    { description: 'agp pages are set uc once per populate and back to wb once per unpopulate', cfg: { ...agp, ...BM },
      ops: [populate(0, 4, Pool.agp), [Op.TT_UNPOPULATE, 0]], want: { cachingChangeCalls: 2, cachingChangePages: 8, pagesFreed: 4 } },
    { description: 'fsb-hooks on xen: the table is exchanged machine-contiguous (order 0 here) and each page below 4 GiB', cfg: agp,
      ops: [[Op.GATT_CREATE, 1024, GattMode.fsbHooks], populate(0, 4, Pool.agpFsb)], want: { hypercalls: 5, exchangedFrames: 5 } },
    { description: 'GATT_CREATE makes an r100-configured device an AGP bridge (T16)', cfg: { platform: Platform['xen-pv'] },
      ops: gattRun(GattMode.phys, Pool.agp, BindMode.map), want: { foreignReads: 4, maps: 0 } },
  ]);
});

describe('RELEASE teardown and checkInvariants', () => {
  const churn = (pool: number, caching: number, bind: number): OpTuple[] => [
    populate(0, 40, pool, caching), [Op.TT_BIND, 0, 0, bind], [Op.CPU_WRITE, 0, 0, 40 * PAGE],
    populate(1, 5, pool, caching), populate(2, 600, pool, caching), [Op.TT_UNPOPULATE, 1], [Op.TT_BIND, 2, 100, bind],
  ];
  const cases: { description: string; cfg: Partial<MachineConfig>; ops: OpTuple[] }[] = [
    { description: 'xen-pv, 2010 pool, tts left bound', cfg: {}, ops: churn(Pool.ttm, Caching.wc, BindMode.map) },
    { description: 'xen-pv, dma pool', cfg: {}, ops: churn(Pool.ttmDma, Caching.uc, BindMode.coherent) },
    { description: 'xen-pv, xen-aware pool: exchanged frames go back to Xen', cfg: {}, ops: churn(Pool.xenAware, Caching.wc, BindMode.map) },
    { description: 'xen-pv, cached xen-aware', cfg: {}, ops: churn(Pool.xenAware, Caching.cached, BindMode.map) },
    { description: 'iommu, dma pool', cfg: { platform: Platform.iommu }, ops: churn(Pool.ttmDma, Caching.wc, BindMode.coherent) },
    { description: 'swiotlb-force, 2010 pool', cfg: { platform: Platform['swiotlb-force'] }, ops: churn(Pool.ttm, Caching.uc, BindMode.map) },
    { description: 'xen-pv agp fsb hooks', cfg: { gartFamily: GartFamily.agp }, ops: [[Op.GATT_CREATE, 2048, GattMode.fsbHooks], ...churn(Pool.agpFsb, Caching.uc, BindMode.fsb)] },
    { description: 'xen-pv agp dma-coherent', cfg: { gartFamily: GartFamily.agp }, ops: [[Op.GATT_CREATE, 2048, GattMode.dmaCoherent], ...churn(Pool.agpCoherent, Caching.uc, BindMode.coherent)] },
  ];
  for (const t of cases) it(`${t.description}: everything given back, invariants 0`, () => {
    const before = machine(t.cfg, t.ops);
    assert.equal(before.invariants, 0, 'before release');
    const { c, invariants } = machine(t.cfg, [...t.ops, [Op.RELEASE]]);
    assert.equal(invariants, 0, 'after release');
    assert.equal(c.pagesAllocated, c.pagesFreed, 'every tt and pool page back in the buddy');
    assert.equal(c.swiotlbSlotsInUse, 0);
    assert.equal(c.dmaDebugErrors, before.c.dmaDebugErrors + (before.c.maps > before.c.unmaps ? 1 : 0), 'only the leak report');
  });
});

describe('op stream hygiene', () => {
  it('an unknown op code traps, naming the code', () => {
    assert.throws(() => machine(BM, [[Op.ALLOC, 0, 1, 0], [77]]), /unknown op code 77/);
  });
  it('TT ops with fields out of range are no-ops (no id, no counter)', () => {
    const { c } = machine(BM, [[Op.TT_POPULATE, 0, 0, Pool.ttm, 1], [Op.TT_POPULATE, 0, 4, 6, 1], [Op.TT_POPULATE, 0, 4, 0, 3], [Op.GATT_CREATE, 0, 0]]);
    assert.equal(c.pagesAllocated, 0); assert.equal(c.allocFailures, 0);
  });
  it('buffer ops on a tt slot are no-ops; cpu ops walk its page list', () => {
    const { c } = machine(BM, [populate(0, 4, Pool.ttm), [Op.MAP, 0, BIDI, 0, PAGE], [Op.FREE, 0], [Op.CPU_WRITE, 0, PAGE, 2 * PAGE], [Op.CPU_READ, 0, 0, 4 * PAGE]]);
    assert.equal(c.maps, 0); assert.equal(c.pagesFreed, 0); assert.equal(c.cpuWrites, 2); assert.equal(c.cpuReads, 4); assert.equal(c.staleReads, 0);
  });
});
