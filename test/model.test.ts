// The TypeScript reference model, case by case through the op stream (ENGINE.md), plus the
// pure pieces (swiotlb slot math, PTE formats) checked directly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COUNTERS, DEBUG_CLASSES, Dir, GartFamily, InitError, Kernel, Op, OP_WORDS, Platform, Zone,
  type CounterName, type DebugClass, type MachineConfig,
} from '../src/engine/abi.js';
import { createJsEngine } from '../src/engine/js.js';
import { Buddy } from '../src/model/buddy.js';
import { decodePte, encodePte, pteValid } from '../src/model/gart.js';
import { SwiotlbPool } from '../src/model/swiotlb.js';

const PAGE = 4096;
const { bidirectional: BIDI, to_device: TO_DEV, from_device: FROM_DEV } = Dir;

/** A small machine: 512 MiB guest, 8 GiB host, 32-bit device, 2010 kernel. */
function config(over: Partial<MachineConfig> = {}): MachineConfig {
  return {
    platform: Platform['xen-pv'], maskBits: 32, kernel: Kernel['2010'], ramPages: 131072, hostPages: 2097152,
    xenLowPages: 65536, nslabs: 32768, payloadBytes: 0, seed: 1, maxBuffers: 16, gartPages: 1024,
    gartFamily: GartFamily.r100, ...over,
  };
}

type OpWords = number[];
const alloc = (slot: number, pages = 1, zone: number = Zone.dma32): OpWords => [Op.ALLOC, slot, pages, zone];
const free = (slot: number): OpWords => [Op.FREE, slot];
const allocCoherent = (slot: number, pages = 1): OpWords => [Op.ALLOC_COHERENT, slot, pages];
const freeCoherent = (slot: number): OpWords => [Op.FREE_COHERENT, slot];
const exchange = (slot: number, bits = 32): OpWords => [Op.EXCHANGE, slot, bits];
const map = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.MAP, slot, dir, offset, size];
const mappingError = (slot: number): OpWords => [Op.MAPPING_ERROR, slot];
const syncDev = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.SYNC_FOR_DEVICE, slot, dir, offset, size];
const syncCpu = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.SYNC_FOR_CPU, slot, dir, offset, size];
const unmap = (slot: number, dir: number = BIDI, size = PAGE): OpWords => [Op.UNMAP, slot, dir, size];
const cpuWrite = (slot: number, offset = 0, size = PAGE): OpWords => [Op.CPU_WRITE, slot, offset, size];
const cpuRead = (slot: number, offset = 0, size = PAGE): OpWords => [Op.CPU_READ, slot, offset, size];
const devWrite = (slot: number, offset = 0, size = PAGE): OpWords => [Op.DEV_WRITE, slot, offset, size];
const devRead = (slot: number, offset = 0, size = PAGE): OpWords => [Op.DEV_READ, slot, offset, size];
const bind = (slot: number, gpuPage = 0): OpWords => [Op.GART_BIND, slot, gpuPage];
const unbind = (gpuPage = 0, pages = 1): OpWords => [Op.GART_UNBIND, gpuPage, pages];
const gpuWrite = (gpuPage = 0, pages = 1): OpWords => [Op.GPU_WRITE, gpuPage, pages];
const gpuRead = (gpuPage = 0, pages = 1): OpWords => [Op.GPU_READ, gpuPage, pages];
const release = (): OpWords => [Op.RELEASE];

interface Outcome {
  c: Record<CounterName, number>;
  violation: bigint[] | null;
  debugClasses: DebugClass[];
  records: bigint[][];
}

function run(cfg: MachineConfig, list: OpWords[]): Outcome {
  const engine = createJsEngine();
  assert.equal(engine.init(cfg), InitError.OK);
  const ops = new Int32Array(list.length * OP_WORDS);
  list.forEach((words, i) => ops.set(words, i * OP_WORDS));
  engine.run(ops, list.length, 0);
  const values = engine.counters();
  const c = Object.fromEntries(COUNTERS.map((name, i) => [name, values[i]])) as Record<CounterName, number>;
  const { records } = engine.debug();
  return { c, violation: engine.violation(), records, debugClasses: records.map((r) => DEBUG_CLASSES[Number(r[0])]) };
}

const oracleOf = (o: Outcome) => ({ stale: o.c.staleReads, lost: o.c.lostWrites, foreign: o.c.foreignReads });
const coherent = { stale: 0, lost: 0, foreign: 0 };

interface OracleCase {
  description: string;
  cfg: Partial<MachineConfig>;
  ops: OpWords[];
  expect: { stale: number; lost: number; foreign: number };
}

const seedUpload = [alloc(0), map(0), bind(0), cpuWrite(0)];
const seedReadback = [alloc(0), map(0), bind(0), gpuWrite()];

const oracleCases: OracleCase[] = [
  { description: 'xen-pv, 32-bit device: the GPU reads the bounce copy made at map time (the seed bug)',
    cfg: {}, ops: [...seedUpload, gpuRead()], expect: { ...coherent, stale: 1 } },
  { description: 'xen-pv: sync_for_device after the CPU write fixes the upload',
    cfg: {}, ops: [...seedUpload, syncDev(0), gpuRead()], expect: coherent },
  { description: 'xen-pv: dma_alloc_coherent pages need no sync',
    cfg: {}, ops: [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()], expect: coherent },
  { description: 'swiotlb=force reproduces the Xen bug on bare metal',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [...seedUpload, gpuRead()], expect: { ...coherent, stale: 1 } },
  { description: 'bare metal, page below 4 GiB: no bounce, coherent',
    cfg: { platform: Platform['bare-metal'] }, ops: [...seedUpload, gpuRead()], expect: coherent },
  { description: 'iommu: IOVA translation, no bounce, coherent',
    cfg: { platform: Platform.iommu }, ops: [...seedUpload, gpuRead()], expect: coherent },
  { description: 'readback: a GPU write to the bounce slot never reaches the page the CPU reads',
    cfg: {}, ops: [...seedReadback, cpuRead(0)], expect: { ...coherent, lost: 1 } },
  { description: 'readback: sync_for_cpu copies the bounce slot back',
    cfg: {}, ops: [...seedReadback, syncCpu(0), cpuRead(0)], expect: coherent },
  { description: 'readback: unmap (bidirectional) copies the bounce slot back',
    cfg: {}, ops: [...seedReadback, unmap(0), cpuRead(0)], expect: coherent },
  { description: 'the device writing through the handle then the CPU reading: lost without a sync',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [alloc(0), map(0), devWrite(0), cpuRead(0)], expect: { ...coherent, lost: 1 } },
  { description: 'a GPU read of an unbound GART page is foreign',
    cfg: {}, ops: [gpuRead(3)], expect: { ...coherent, foreign: 1 } },
  { description: 'a GPU read of a page whose buffer was freed is foreign',
    cfg: { platform: Platform['bare-metal'] }, ops: [alloc(0), bind(0), free(0), gpuRead()], expect: { ...coherent, foreign: 1 } },
  { description: 'unbind points at the dummy page: reading it is foreign',
    cfg: {}, ops: [allocCoherent(0), bind(0), unbind(0), gpuRead()], expect: { ...coherent, foreign: 1 } },
  { description: 'payload bytes: a stale copy with matching stamps cannot happen, full-page bytes agree',
    cfg: { payloadBytes: 4096 }, ops: [...seedUpload, syncDev(0), gpuRead()], expect: coherent },
  { description: 'payload bytes: partial (1 KiB) CPU write not synced is stale on the GPU side',
    cfg: { payloadBytes: 4096 }, ops: [...seedUpload, syncDev(0), cpuWrite(0, 100, 1024), gpuRead()], expect: { ...coherent, stale: 1 } },
];

describe('oracle through the op stream', () => {
  for (const tc of oracleCases) {
    it(tc.description, () => {
      assert.deepEqual(oracleOf(run(config(tc.cfg), tc.ops)), tc.expect);
    });
  }

  it('the seed bug: the first violation names the stale unit, the bounce frame and the PTE', () => {
    const o = run(config(), [...seedUpload, gpuRead()]);
    assert.ok(o.violation);
    const [kind, op, reader, , mfn, dmaAddr, gpuPage, pte, unit, seenHi, , expHi] = o.violation;
    assert.deepEqual([kind, op, reader, gpuPage, unit, seenHi, expHi], [1n, 4n, 2n, 0n, 0n, 1n, 1n]);
    assert.equal(dmaAddr, pte); // r100: the PTE is the bare 32-bit bus address
    assert.equal(mfn, dmaAddr / 4096n);
    assert.ok(mfn < 1n << 20n, 'the bounce slot lies below 4 GiB');
  });
});

describe('swiotlb slot allocator', () => {
  it('consecutive one-page runs are handed out next-fit', () => {
    const pool = new SwiotlbPool(256);
    assert.deepEqual([pool.allocate(0, PAGE), pool.allocate(0, PAGE), pool.allocate(0, PAGE)], [0, 2, 4]);
    assert.equal(pool.slotsInUse, 6);
  });
  it('runs above a page are page-aligned (stride 2)', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.allocate(0, 2048), 0);
    assert.equal(pool.allocate(0, 2 * PAGE), 2);
  });
  it('more than 128 slots fail at once', () => {
    const pool = new SwiotlbPool(1024);
    assert.equal(pool.allocate(0, 129 * 2048), -1);
    assert.equal(pool.allocate(0, 128 * 2048), 0);
  });
  it('a run never crosses a 128-slot segment', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.allocate(0, 100 * 2048), 0);
    assert.equal(pool.allocate(0, 64 * 2048), 128);
  });
  it('release merges with free neighbours and restores the initial counters', () => {
    const pool = new SwiotlbPool(256);
    const initial = Array.from(pool.list);
    const runs = [pool.allocate(0, PAGE), pool.allocate(0, 3 * PAGE), pool.allocate(0, 2048), pool.allocate(0, PAGE)];
    for (const i of [runs[1], runs[3], runs[0], runs[2]]) pool.release(i);
    assert.deepEqual(Array.from(pool.list), initial);
    assert.equal(pool.slotsInUse, 0);
  });
  it('full: wraps once and gives up', () => {
    const pool = new SwiotlbPool(128);
    assert.equal(pool.allocate(0, 64 * PAGE), 0);
    assert.equal(pool.allocate(0, 2048), -1);
  });
});

describe('swiotlb through the op stream', () => {
  const tiny = { platform: Platform['swiotlb-force'], nslabs: 128 };
  const fill = [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), alloc(1), map(1, TO_DEV), unmap(1, TO_DEV)];
  it('2010: exhaustion returns the overflow buffer address; only mapping_error tells', () => {
    const o = run(config({ ...tiny, kernel: Kernel['2010'] }), fill);
    assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors, o.c.bounces, o.c.swiotlbPeakSlots], [1, 1, 1, 128]);
    // The failed map is untracked: its unmap is unknown to dma-debug, at the overflow address.
    assert.deepEqual(o.debugClasses, ['unmap-unknown']);
    const overflowPhys = (4096 + 64) * PAGE;
    assert.equal(o.records[0][2], BigInt(overflowPhys));
  });
  it('modern: exhaustion returns DMA_MAPPING_ERROR', () => {
    const o = run(config({ ...tiny, kernel: Kernel.modern }), fill);
    assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors], [1, 1]);
    assert.equal(o.records[0][2], -1n);
  });
  it('2010: a failed map over 32 KiB is the kernel panic (counted)', () => {
    const o = run(config(tiny), [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), alloc(1, 16), map(1, TO_DEV, 0, 16 * PAGE)]);
    assert.equal(o.c.swiotlbPanics, 1);
  });
  it('unmap frees the run: the next map fits again', () => {
    const o = run(config(tiny), [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), unmap(0, TO_DEV, 64 * PAGE), alloc(1, 64), map(1, TO_DEV, 0, 64 * PAGE)]);
    assert.deepEqual([o.c.swiotlbFull, o.c.bounces, o.c.swiotlbSlotsInUse], [0, 2, 128]);
  });
});

describe('xen-swiotlb bounce decision', () => {
  const cases = [
    { description: '40-bit mask: a single page is reachable, no bounce', cfg: { maskBits: 40 }, pages: 1, bounces: 0 },
    { description: '40-bit mask: a 2-page map over scattered machine frames bounces', cfg: { maskBits: 40 }, pages: 2, bounces: 1 },
    { description: '32-bit mask: the guest frames are above 4 GiB, bounce', cfg: {}, pages: 1, bounces: 1 },
    { description: 'bare metal, 32-bit mask, page below 4 GiB: no bounce', cfg: { platform: Platform['bare-metal'] }, pages: 2, bounces: 0 },
  ];
  for (const tc of cases) {
    it(tc.description, () => {
      const o = run(config(tc.cfg), [alloc(0, tc.pages), map(0, BIDI, 0, tc.pages * PAGE)]);
      assert.equal(o.c.bounces, tc.bounces);
    });
  }
  it('an exchanged 2-page buffer is contiguous below 4 GiB: no bounce', () => {
    const o = run(config(), [alloc(0, 2), exchange(0), map(0, BIDI, 0, 2 * PAGE)]);
    assert.deepEqual([o.c.bounces, o.c.hypercalls, o.c.exchangedFrames], [0, 1, 2]);
  });
});

describe('XENMEM_exchange', () => {
  // Boot takes 2 pieces of 64 (pool), 8 (overflow) and 1 (dummy) of 256 low frames: 119 remain.
  const tinyLow = { nslabs: 256, xenLowPages: 256 };
  it('success trades frames and counts a hypercall', () => {
    const o = run(config(tinyLow), [alloc(0), exchange(0)]);
    assert.deepEqual([o.c.hypercalls, o.c.exchangedFrames, o.c.allocFailures], [1, 1, 0]);
  });
  it('an order-7 exchange does not fit in 119 scattered low frames: rolled back, contents intact', () => {
    const o = run(config(tinyLow), [alloc(0, 128), cpuWrite(0, 0, 128 * PAGE), exchange(0), cpuRead(0, 0, 128 * PAGE)]);
    assert.deepEqual([o.c.hypercalls, o.c.exchangedFrames, o.c.allocFailures], [1, 0, 1]);
    assert.deepEqual(oracleOf(o), coherent);
  });
  it('order 10 fails without a hypercall', () => {
    const o = run(config(), [alloc(0, 1024), exchange(0)]);
    assert.deepEqual([o.c.hypercalls, o.c.allocFailures], [0, 1]);
  });
  it('off xen-pv exchange is a no-op', () => {
    const o = run(config({ platform: Platform['bare-metal'] }), [alloc(0), exchange(0)]);
    assert.deepEqual([o.c.hypercalls, o.c.allocFailures], [0, 0]);
  });
  it('alloc_coherent exchanges, free_coherent destroys the region', () => {
    const o = run(config(), [allocCoherent(0, 4), freeCoherent(0)]);
    assert.deepEqual([o.c.coherentAllocs, o.c.hypercalls, o.c.exchangedFrames, o.c.pagesAllocated, o.c.pagesFreed], [1, 2, 8, 4, 4]);
  });
  it('alloc_coherent fails when the low reserve cannot serve it', () => {
    const o = run(config(tinyLow), [allocCoherent(0, 128)]);
    assert.deepEqual([o.c.coherentAllocs, o.c.allocFailures, o.c.pagesFreed], [0, 2, 128]);
  });
  it('init fails when the low reserve cannot hold the xen-swiotlb pool', () => {
    assert.equal(createJsEngine().init(config({ nslabs: 256, xenLowPages: 100 })), InitError.XEN_LOW);
  });
});

describe('bounce copy directions per era', () => {
  // Upload: the CPU writes, then maps; the device reads the bounce copy made at map time.
  const upload = (dir: number) => [alloc(0), cpuWrite(0), map(0, dir), devRead(0)];
  // Readback: the device writes the bounce slot, the driver unmaps, the CPU reads.
  const readback = (dir: number) => [alloc(0), map(0, dir), devWrite(0), unmap(0, dir), cpuRead(0)];
  const matrix = [
    { kernel: '2010', dir: 'to_device', mapCopies: true, unmapCopies: false },
    { kernel: '2010', dir: 'from_device', mapCopies: false, unmapCopies: true },
    { kernel: '2010', dir: 'bidirectional', mapCopies: true, unmapCopies: true },
    { kernel: 'modern', dir: 'to_device', mapCopies: true, unmapCopies: false },
    { kernel: 'modern', dir: 'from_device', mapCopies: true, unmapCopies: true },
    { kernel: 'modern', dir: 'bidirectional', mapCopies: true, unmapCopies: true },
  ] as const;
  for (const tc of matrix) {
    const cfg = config({ platform: Platform['swiotlb-force'], kernel: Kernel[tc.kernel] });
    it(`${tc.kernel} ${tc.dir}: map ${tc.mapCopies ? 'copies' : 'does not copy'}, unmap ${tc.unmapCopies ? 'copies back' : 'does not copy back'}`, () => {
      const up = run(cfg, upload(Dir[tc.dir]));
      assert.equal(up.c.bounceBytes, tc.mapCopies ? PAGE : 0);
      // Without the copy the device sees a slot nobody wrote: another buffer's (here no one's) data.
      assert.equal(up.c.foreignReads, tc.mapCopies ? 0 : 1);
      const back = run(cfg, readback(Dir[tc.dir]));
      assert.equal(back.c.lostWrites, tc.unmapCopies ? 0 : 1);
    });
  }
});

describe('GART PTE formats', () => {
  const addr40 = 0x12_3456_7000; // above 4 GiB
  const cases = [
    { family: 'r100', addr: 0x1234_5000, pte: [0, 0x1234_5000], decoded: 0x1234_5000 },
    { family: 'r100', addr: addr40, pte: [0, 0x3456_7000], decoded: 0x3456_7000 }, // silently truncated
    { family: 'r600', addr: addr40 + 0x800, pte: [0x12, 0x3456_7067], decoded: addr40 },
    { family: 'nv04', addr: 0x1234_5000, pte: [0, 0x1234_5003], decoded: 0x1234_5000 },
    { family: 'nv50', addr: addr40, pte: [0x12, 0x3456_7021], decoded: addr40 },
    { family: 'nv50', addr: 0x3f_0000_0000 + 0x1000, pte: [0x3f, 0x0000_1021], decoded: 0x3f_0000_1000 },
  ] as const;
  for (const tc of cases) {
    it(`${tc.family} encodes 0x${tc.addr.toString(16)}`, () => {
      const family = GartFamily[tc.family];
      const pte = encodePte(family, tc.addr);
      assert.deepEqual([pte.hi, pte.lo], tc.pte);
      assert.ok(pteValid(family, pte));
      assert.equal(decodePte(family, pte), tc.decoded);
    });
  }
  it('nv50 unbind writes an invalid zero entry; r600 DMA_MAPPING_ERROR decodes beyond RAM', () => {
    assert.equal(pteValid(GartFamily.nv50, { hi: 0, lo: 0 }), false);
    assert.equal(decodePte(GartFamily.r600, encodePte(GartFamily.r600, -1)), -1);
  });
  it('40-bit device + r100 on xen: truncated PTE, the GPU reads the wrong frame', () => {
    const o = run(config({ maskBits: 40 }), [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()]);
    assert.equal(o.c.foreignReads, 1);
  });
  it('40-bit device + r600 on xen: exact PTE, coherent', () => {
    const o = run(config({ maskBits: 40, gartFamily: GartFamily.r600 }), [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()]);
    assert.deepEqual(oracleOf(o), coherent);
  });
});

describe('DMA-API debug', () => {
  const bare = config({ platform: Platform['bare-metal'] });
  const cases: { description: string; ops: OpWords[]; classes: DebugClass[] }[] = [
    { description: 'checked map, matching unmap: nothing', ops: [alloc(0), map(0), mappingError(0), unmap(0)], classes: [] },
    { description: 'unmap without dma_mapping_error', ops: [alloc(0), map(0), unmap(0)], classes: ['map-error-unchecked'] },
    { description: 'unmap of a never-mapped buffer', ops: [alloc(0), unmap(0)], classes: ['unmap-unknown'] },
    { description: 'unmap twice', ops: [alloc(0), map(0), mappingError(0), unmap(0), unmap(0)], classes: ['unmap-unknown'] },
    { description: 'unmap with a different size', ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), mappingError(0), unmap(0, BIDI, PAGE)], classes: ['unmap-size'] },
    { description: 'unmap with a different direction', ops: [alloc(0), map(0, TO_DEV), mappingError(0), unmap(0, FROM_DEV)], classes: ['unmap-direction'] },
    { description: 'dma_unmap of coherent memory', ops: [allocCoherent(0), unmap(0)], classes: ['unmap-wrong-function'] },
    { description: 'sync of a never-mapped buffer', ops: [alloc(0), syncCpu(0)], classes: ['sync-unknown'] },
    { description: 'sync past the end of the mapping', ops: [alloc(0, 2), map(0, TO_DEV), syncDev(0, TO_DEV, 0, 2 * PAGE)], classes: ['sync-outside'] },
    { description: 'sync in the mapping direction is fine', ops: [alloc(0), map(0, FROM_DEV), syncCpu(0, FROM_DEV)], classes: [] },
    { description: 'any sync of a bidirectional mapping is fine', ops: [alloc(0), map(0), syncCpu(0, TO_DEV), syncDev(0, FROM_DEV)], classes: [] },
    { description: 'sync_for_cpu of a to_device mapping with from_device', ops: [alloc(0), map(0, TO_DEV), syncCpu(0, FROM_DEV)], classes: ['sync-direction', 'sync-cpu-readonly'] },
    { description: 'sync_for_device of a from_device mapping with to_device', ops: [alloc(0), map(0, FROM_DEV), syncDev(0, TO_DEV)], classes: ['sync-direction', 'sync-device-writeonly'] },
    { description: 'mappings live at release: one leak', ops: [alloc(0), map(0), alloc(1), map(1), release()], classes: ['leak'] },
    { description: 'free_coherent with matching handle and size: nothing', ops: [allocCoherent(0, 2), freeCoherent(0), release()], classes: [] },
  ];
  for (const tc of cases) {
    it(tc.description, () => {
      const o = run(bare, tc.ops);
      assert.deepEqual(o.debugClasses, tc.classes);
      assert.equal(o.c.dmaDebugErrors, tc.classes.length);
    });
  }
  it('the leak record carries the count', () => {
    const o = run(bare, [alloc(0), map(0), alloc(1), map(1), release()]);
    assert.equal(o.records[0][8], 2n);
  });
});

describe('page allocator and buffers', () => {
  it('alloc then free restores the counters; buffer ids count failures too', () => {
    const o = run(config({ platform: Platform['bare-metal'] }), [alloc(0, 3), free(0), alloc(1, 1024, Zone.normal), alloc(2, 1)]);
    assert.deepEqual([o.c.pagesAllocated, o.c.pagesFreed, o.c.allocFailures], [4 + 1024 + 1, 4, 0]);
  });
  it('a failed buffer ignores every op until it is freed', () => {
    // 2 GiB guest with a 64 MiB pool: DMA32 runs out of order-10 blocks eventually.
    const ops: OpWords[] = [];
    for (let i = 0; i < 16; i++) ops.push(alloc(i, 1024));
    ops.push(map(15), cpuWrite(15), cpuRead(15), free(15));
    const o = run(config({ platform: Platform['bare-metal'], ramPages: 8192 + 4096 + 4096, nslabs: 8192 }), ops);
    assert.ok(o.c.allocFailures > 0);
    assert.equal(o.c.maps, 0);
    assert.equal(o.c.cpuWrites, 0);
  });
});

describe('buddy allocator', () => {
  it('splits keep the lower half and LIFO heads; freeing everything merges back', () => {
    const zone = new Buddy(4096, 4096 + 5000);
    zone.freeRangeAtInit();
    const initial = zone.freeFrames;
    const a = zone.alloc(0);
    const b = zone.alloc(0);
    assert.equal(a, 9088, 'the smallest free block (9088, order 3, at the ragged end) is split first');
    const c = zone.alloc(0);
    assert.equal(c, b + 1, 'after a split the upper half is the next head');
    const blocks: [number, number][] = [[a, 0], [b, 0], [c, 0]];
    for (const order of [3, 10, 0, 5, 2]) blocks.push([zone.alloc(order), order]);
    assert.ok(blocks.every(([pfn, order]) => pfn >= 0 && pfn % 2 ** order === 0));
    for (const [pfn, order] of blocks.reverse()) zone.free(pfn, order);
    assert.equal(zone.freeFrames, initial);
    assert.equal(zone.alloc(10), blocks.find(([, o]) => o === 10)![0], 'the order-10 block is back at its head');
  });
  it('a limit makes the low reserve skip blocks ending above it', () => {
    const low = new Buddy(65536, 65536 + 4096);
    low.freeRangeAtInit();
    assert.equal(low.alloc(10), 65536 + 3072, 'the highest block is taken first');
    assert.equal(low.alloc(10, 65536 + 2048), 65536 + 1024);
  });
});
