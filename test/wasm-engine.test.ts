// The Wasm engine against hand-checked kernel arithmetic: each case states one mechanism
// (swiotlb slot math, xen-swiotlb's bounce decision, XENMEM_exchange, copy directions per era,
// GART PTE formats, dma-debug classes) and checks it through the op stream only.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEngineModule, createWasmEngine } from '../src/engine/wasm.js';
import { COUNTERS, DEBUG_CLASSES, Dir, Op, Platform, Kernel, GartFamily, InitError, ViolationKind } from '../src/engine/abi.js';
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
  return { c, v: e.violation(), dbg, classes: dbg.records.map((r) => DEBUG_CLASSES[Number(r[0])]), dma: dbg.records.map((r) => r[2]) };
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
