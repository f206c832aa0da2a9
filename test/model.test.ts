// The TypeScript reference model, case by case through the op stream (ENGINE.md), plus the
// pure pieces (swiotlb slot math, PTE formats) checked directly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COUNTERS, DEBUG_CLASSES, Dir, GartFamily, InitError, Kernel, Op, OP_WORDS, Platform, Zone,
  type CounterName, type DebugClass, type MachineConfig,
} from '../src/engine/abi.js';
import { createJsEngine } from '../src/engine/js.js';
import { Buddy } from '../src/model/mm/buddy.js';
import { decodePte, encodePte, pteValid } from '../src/model/drm/gart.js';
import { SwiotlbPool } from '../src/model/dma/swiotlb.js';

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
    assert.deepEqual([pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, PAGE)], [0, 2, 4]);
    assert.equal(pool.slotsInUse, 6);
  });
  it('runs above a page are page-aligned (stride 2)', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.swiotlbTblMapSingle(0, 2048), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 2 * PAGE), 2);
  });
  it('more than 128 slots fail at once', () => {
    const pool = new SwiotlbPool(1024);
    assert.equal(pool.swiotlbTblMapSingle(0, 129 * 2048), -1);
    assert.equal(pool.swiotlbTblMapSingle(0, 128 * 2048), 0);
  });
  it('a run never crosses a 128-slot segment', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.swiotlbTblMapSingle(0, 100 * 2048), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 64 * 2048), 128);
  });
  it('release merges with free neighbours and restores the initial counters', () => {
    const pool = new SwiotlbPool(256);
    const initial = Array.from(pool.list);
    const runs = [pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, 3 * PAGE), pool.swiotlbTblMapSingle(0, 2048), pool.swiotlbTblMapSingle(0, PAGE)];
    for (const i of [runs[1], runs[3], runs[0], runs[2]]) pool.swiotlbTblUnmapSingle(i);
    assert.deepEqual(Array.from(pool.list), initial);
    assert.equal(pool.slotsInUse, 0);
  });
  it('full: wraps once and gives up', () => {
    const pool = new SwiotlbPool(128);
    assert.equal(pool.swiotlbTblMapSingle(0, 64 * PAGE), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 2048), -1);
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

// ---- the TTM and AGP layer (ENGINE.md §11-13, §15 T1-T21) -------------------------------------
import { BindMode, Caching, GattMode, Pool } from '../src/engine/abi.js';
import { Model } from '../src/model/index.js';
import { checkInvariants } from '../src/model/invariants.js';

const populate = (slot: number, pages: number, pool: number = Pool.ttm, caching: number = Caching.wc): OpWords =>
  [Op.TT_POPULATE, slot, pages, pool, caching];
const unpopulate = (slot: number): OpWords => [Op.TT_UNPOPULATE, slot];
const ttBind = (slot: number, gpuPage = 0, mode: number = BindMode.map): OpWords => [Op.TT_BIND, slot, gpuPage, mode];
const ttUnbind = (slot: number): OpWords => [Op.TT_UNBIND, slot];
const ttSync = (slot: number, toCpu: number): OpWords => [Op.TT_SYNC, slot, toCpu];
const gattCreate = (entries: number, mode: number): OpWords => [Op.GATT_CREATE, entries, mode];

/** Runs ops on a model built directly, so tests can look inside (pools, Xen's reserve). */
function runModel(cfg: MachineConfig, list: OpWords[]): Model {
  const model = Model.create(cfg);
  assert.ok(model instanceof Model);
  const ops = new Int32Array(list.length * OP_WORDS);
  list.forEach((words, i) => ops.set(words, i * OP_WORDS));
  model.run(ops, list.length, 0);
  return model;
}

const bareTt = config({ platform: Platform['bare-metal'] });

interface CounterCase {
  description: string;
  cfg: MachineConfig;
  ops: OpWords[];
  expect: Partial<Record<CounterName, number>>;
}

const pick = (c: Record<CounterName, number>, keys: Partial<Record<CounterName, number>>) =>
  Object.fromEntries(Object.keys(keys).map((k) => [k, c[k as CounterName]]));

function counterCases(title: string, cases: CounterCase[]): void {
  describe(title, () => {
    for (const tc of cases) {
      it(tc.description, () => {
        assert.deepEqual(pick(run(tc.cfg, tc.ops).c, tc.expect), tc.expect);
      });
    }
  });
}

counterCases('ttm_page_alloc: refills of 512 for requests below small (16)', [
  { description: 'one page from an empty wc pool: one refill of 512, one caching change',
    cfg: bareTt, ops: [populate(0, 1)],
    expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1, cachingChangePages: 512 } },
  { description: '15 pages (below small): the refill serves them all',
    cfg: bareTt, ops: [populate(0, 15)], expect: { pagesAllocated: 512, poolRefills: 1, cachingChangeCalls: 1 } },
  { description: '16 pages: the first is allocated directly (16 remaining is not small), then a refill',
    cfg: bareTt, ops: [populate(0, 16)],
    expect: { pagesAllocated: 513, poolRefills: 1, cachingChangeCalls: 2, cachingChangePages: 513 } },
  { description: '48 pages: a direct run of 33, then a refill for the last 15',
    cfg: bareTt, ops: [populate(0, 48)],
    expect: { pagesAllocated: 545, poolRefills: 1, cachingChangeCalls: 2, cachingChangePages: 545 } },
  { description: 'a second small tt is served from the pool: nothing new from the buddy',
    cfg: bareTt, ops: [populate(0, 1), populate(1, 8)], expect: { pagesAllocated: 512, poolRefills: 1 } },
  { description: 'cached pages are never pooled and never change caching',
    cfg: bareTt, ops: [populate(0, 48, Pool.ttm, Caching.cached), unpopulate(0)],
    expect: { pagesAllocated: 48, pagesFreed: 48, poolRefills: 0, cachingChangeCalls: 0 } },
  { description: 'wc and uc have separate pools',
    cfg: bareTt, ops: [populate(0, 1, Pool.ttm, Caching.wc), populate(1, 1, Pool.ttm, Caching.uc)], expect: { poolRefills: 2, pagesAllocated: 1024 } },
  { description: 'unpopulate returns wc pages to the pool: nothing freed, nothing changes caching',
    cfg: bareTt, ops: [populate(0, 48), unpopulate(0)], expect: { pagesFreed: 0, cachingChangeCalls: 2 } },
]);

counterCases('caching changes are batched, at most 512 pages per call', [
  { description: '1100 pages: a direct run of 1085 (3 calls) and a refill (1 call)',
    cfg: bareTt, ops: [populate(0, 1100)], expect: { cachingChangeCalls: 4, cachingChangePages: 1085 + 512 } },
  { description: 'pool pages first, then a direct run of 74, cut by a refill for the last 15',
    // 1 page leaves 511 in the pool; of 600: 511 from the pool, 74 direct (89..16 remaining), refill, 15 from it.
    cfg: bareTt, ops: [populate(0, 1), populate(1, 600)],
    expect: { cachingChangeCalls: 3, cachingChangePages: 512 + 74 + 512, poolRefills: 2, pagesAllocated: 512 + 74 + 512 } },
  { description: 'agp pages: one change per populate and one back per unpopulate, each up to 512 pages',
    cfg: { ...bareTt, gartFamily: GartFamily.agp }, ops: [populate(0, 600, Pool.agp), unpopulate(0)],
    expect: { cachingChangeCalls: 4, cachingChangePages: 1200, pagesAllocated: 600, pagesFreed: 600 } },
]);

describe('pool cap (ramPages / 4) and shrink', () => {
  // 512 MiB guest: the cap is 32768 pages.
  it('an excess below 512 still frees 512 pages from the tail, with one caching change', () => {
    // 32400 pages: 32385 direct + a refill of 512 (15 taken): the pool holds 497, then 32897 > 32768.
    const o = run(bareTt, [populate(0, 32400), unpopulate(0)]);
    assert.equal(o.c.pagesFreed, 512);
    assert.equal(o.c.cachingChangeCalls, Math.ceil(32385 / 512) + 1 + 1);
  });
  it('a larger excess is freed whole, in batches of 512', () => {
    // 33000 pages: pool 497 + 33000 = 33497, excess 729: two batches (512 + 217).
    const o = run(bareTt, [populate(0, 33000), unpopulate(0)]);
    assert.equal(o.c.pagesFreed, 729);
    assert.equal(o.c.cachingChangeCalls, Math.ceil(32985 / 512) + 1 + 2);
    const m = runModel(bareTt, [populate(0, 33000), unpopulate(0)]);
    assert.equal(m.ttmPools.ttm[0].size, 32768);
  });
  it('below the cap nothing is freed', () => {
    assert.equal(run(bareTt, [populate(0, 20000), unpopulate(0)]).c.pagesFreed, 0);
  });
});

counterCases('ttm_page_alloc_dma: refills of 4 coherent pages, pages in use', [
  { description: '5 pages: two refills of 4, one caching change each, 5 in use',
    cfg: bareTt, ops: [populate(0, 5, Pool.ttmDma)],
    expect: { poolRefills: 2, coherentAllocs: 8, pagesAllocated: 8, cachingChangeCalls: 2, cachingChangePages: 8, ttmDmaPeakInUse: 5 } },
  { description: 'the next tt takes the 3 left over: no refill; the peak counts both tts',
    cfg: bareTt, ops: [populate(0, 5, Pool.ttmDma), populate(1, 3, Pool.ttmDma)], expect: { poolRefills: 2, ttmDmaPeakInUse: 8 } },
  { description: 'unpopulate keeps the pages pooled; the peak stays',
    cfg: bareTt, ops: [populate(0, 5, Pool.ttmDma), unpopulate(0), populate(1, 2, Pool.ttmDma)],
    expect: { pagesFreed: 0, poolRefills: 2, ttmDmaPeakInUse: 5 } },
  { description: 'cached dma pool: no caching change',
    cfg: bareTt, ops: [populate(0, 4, Pool.ttmDma, Caching.cached)], expect: { poolRefills: 1, cachingChangeCalls: 0 } },
  { description: 'xen-pv: every coherent page is exchanged below the mask',
    cfg: config(), ops: [populate(0, 5, Pool.ttmDma)], expect: { hypercalls: 8, exchangedFrames: 8 } },
  { description: 'not tracked by dma-debug: nothing leaks at release, TT_SYNC on coherent handles reports nothing',
    cfg: config(), ops: [populate(0, 5, Pool.ttmDma), ttSync(0, 1), release()], expect: { dmaDebugErrors: 0, syncsForCpu: 5, bounceBytes: 0 } },
]);

counterCases('xen-aware pool: each page exchanged as it enters', [
  { description: 'xen-pv: a refill exchanges each of its 512 pages',
    cfg: config(), ops: [populate(0, 1, Pool.xenAware)], expect: { hypercalls: 512, exchangedFrames: 512, poolRefills: 1 } },
  { description: 'xen-pv: mapping the exchanged pages needs no bounce, the upload is coherent',
    cfg: config(), ops: [populate(0, 4, Pool.xenAware), ttBind(0), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4)],
    expect: { bounces: 0, maps: 4, staleReads: 0, foreignReads: 0 } },
  { description: 'off xen-pv it is the plain pool',
    cfg: bareTt, ops: [populate(0, 1, Pool.xenAware)], expect: { hypercalls: 0, poolRefills: 1 } },
  { description: 'xen-pv, low reserve short: the failed exchange fails the populate; bind and GPU ops are skipped',
    // nslabs 256: boot takes 128 + 8 + 1 low frames; 200 leave 63 for the refill.
    cfg: config({ nslabs: 256, xenLowPages: 200 }), ops: [populate(0, 1, Pool.xenAware), ttBind(0), gpuRead(0, 1), cpuRead(0)],
    expect: { hypercalls: 64, exchangedFrames: 63, allocFailures: 2, pagesFreed: 1, bindFailures: 1, gpuSkippedPages: 1, gpuReads: 0, cpuReads: 0, foreignReads: 0 } },
  { description: 'the legacy pool under xen-pv bounces every page and the upload is stale',
    cfg: config(), ops: [populate(0, 4), ttBind(0), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4)], expect: { bounces: 4, staleReads: 4 } },
  { description: 'TT_SYNC for the device fixes the legacy upload',
    cfg: config(), ops: [populate(0, 4), ttBind(0), cpuWrite(0, 0, 4 * PAGE), ttSync(0, 0), gpuRead(0, 4)],
    expect: { syncsForDevice: 4, staleReads: 0, dmaDebugErrors: 0 } },
]);

counterCases('bind failures: a failed map unwinds the bind; the GPU skips the range', [
  { description: 'swiotlb full at page 128 (2010): 128 maps undone, nothing written, 200 gpu pages skipped',
    cfg: config({ nslabs: 256 }), ops: [populate(0, 200), ttBind(0), gpuRead(0, 200), gpuWrite(0, 200)],
    expect: { maps: 129, unmaps: 128, mappingErrors: 1, swiotlbFull: 1, bindFailures: 1, gartWrites: 0, tlbFlushes: 0,
      gpuSkippedPages: 400, gpuReads: 0, gpuWrites: 0, foreignReads: 0, dmaDebugErrors: 0, swiotlbSlotsInUse: 0 } },
  { description: 'modern kernel: DMA_MAPPING_ERROR, same unwinding',
    cfg: config({ nslabs: 256, kernel: Kernel.modern }), ops: [populate(0, 200), ttBind(0)],
    expect: { maps: 129, unmaps: 128, bindFailures: 1, swiotlbSlotsInUse: 0 } },
  { description: 'a later successful bind over the range clears the failed marks',
    cfg: config({ nslabs: 256 }), ops: [populate(0, 200), ttBind(0), unpopulate(0), populate(1, 4), ttBind(1), gpuRead(0, 4)],
    expect: { bindFailures: 1, gpuSkippedPages: 0, gpuReads: 4 } },
  { description: 'unbind unmaps every page and copies back',
    cfg: config(), ops: [populate(0, 4), ttBind(0), ttUnbind(0)], expect: { unmaps: 4, bounceBytes: 8 * PAGE, gartWrites: 8, tlbFlushes: 2 } },
  { description: 'unpopulate of a bound tt unbinds first',
    cfg: config(), ops: [populate(0, 4), ttBind(0), unpopulate(0)], expect: { unmaps: 4, gartWrites: 8, swiotlbSlotsInUse: 0 } },
]);

const agp = (platform: number, over: Partial<MachineConfig> = {}) => config({ platform, gartFamily: GartFamily.agp, ...over });
const GATT_POOL = [Pool.agp, Pool.agpCoherent, Pool.agpFsb];
const GATT_BIND = [BindMode.map, BindMode.coherent, BindMode.fsb];
const agpUpload = (mode: number): OpWords[] => [
  gattCreate(64, mode), populate(0, 4, GATT_POOL[mode], Caching.uc), ttBind(0, 0, GATT_BIND[mode]), cpuWrite(0, 0, 4 * PAGE), gpuRead(0, 4),
];

describe('the AGP GATT: the chipset reads entries at machine addresses, behind no IOMMU', () => {
  const cases: { description: string; platform: number; mode: number; foreign: number }[] = [
    { description: 'phys under xen-pv: the bridge base is a pfn, the chipset reads another frame', platform: Platform['xen-pv'], mode: GattMode.phys, foreign: 4 },
    { description: 'phys on bare metal works', platform: Platform['bare-metal'], mode: GattMode.phys, foreign: 0 },
    { description: 'phys under an IOMMU works (the chipset bypasses it, the table is in place)', platform: Platform.iommu, mode: GattMode.phys, foreign: 0 },
    { description: 'dma-coherent under an IOMMU: the base is an IOVA the chipset cannot translate', platform: Platform.iommu, mode: GattMode.dmaCoherent, foreign: 4 },
    { description: 'dma-coherent under xen-pv works (exchanged, machine handles)', platform: Platform['xen-pv'], mode: GattMode.dmaCoherent, foreign: 0 },
    { description: 'fsb-hooks under xen-pv works', platform: Platform['xen-pv'], mode: GattMode.fsbHooks, foreign: 0 },
    { description: 'fsb-hooks on bare metal works', platform: Platform['bare-metal'], mode: GattMode.fsbHooks, foreign: 0 },
    { description: 'fsb-hooks under an IOMMU works', platform: Platform.iommu, mode: GattMode.fsbHooks, foreign: 0 },
  ];
  for (const tc of cases) {
    it(tc.description, () => {
      const o = run(agp(tc.platform), agpUpload(tc.mode));
      assert.deepEqual(oracleOf(o), { ...coherent, foreign: tc.foreign });
      assert.equal(o.c.gpuReads, 4);
    });
  }
  it('the xen-pv phys violation: the entry the chipset found is invalid (0)', () => {
    const o = run(agp(Platform['xen-pv']), agpUpload(GattMode.phys));
    const [kind, , reader, , mfn, dmaAddr, gpuPage, pte] = o.violation!;
    assert.deepEqual([kind, reader, mfn, dmaAddr, gpuPage, pte], [3n, 2n, -1n, -1n, 0n, 0n]);
  });
  it('fsb-hooks under xen-pv exchanges the table and every page below 4 GiB', () => {
    const o = run(agp(Platform['xen-pv']), agpUpload(GattMode.fsbHooks));
    assert.equal(o.c.exchangedFrames, 1 + 4);
  });
  it('GATT_CREATE also turns a gartFamily-0 device (--device agp) into the AGP device', () => {
    assert.equal(oracleOf(run(config(), agpUpload(GattMode.phys))).foreign, 4);
    assert.equal(oracleOf(run(config(), agpUpload(GattMode.fsbHooks))).foreign, 0);
  });
});

counterCases('GATT insert: -EBUSY over a used entry, -EINVAL beyond num_entries', [
  { description: 'a second tt over the same entries is -EBUSY: nothing of it is written',
    cfg: agp(Platform['bare-metal']), ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), populate(1, 2, Pool.agp),
      ttBind(0, 0), ttBind(1, 2), gpuRead(2, 2)],
    expect: { gattBusy: 1, gartWrites: 4, tlbFlushes: 1, bindFailures: 0, foreignReads: 0 } },
  { description: 'after the first is unbound the second fits',
    cfg: agp(Platform['bare-metal']), ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), populate(1, 2, Pool.agp),
      ttBind(0, 0), ttUnbind(0), ttBind(1, 2)],
    expect: { gattBusy: 0, gartWrites: 4 + 4 + 2, tlbFlushes: 3 } },
  { description: 'beyond num_entries: a bind failure, the GPU skips the range',
    cfg: agp(Platform['bare-metal']), ops: [gattCreate(64, GattMode.phys), populate(0, 4, Pool.agp), ttBind(0, 62), gpuRead(62, 4)],
    expect: { bindFailures: 1, gpuSkippedPages: 4, gartWrites: 0 } },
  { description: 'no table yet: the bind fails',
    cfg: agp(Platform['bare-metal']), ops: [populate(0, 4, Pool.agp), ttBind(0, 0)], expect: { bindFailures: 1 } },
  { description: 'no DMA API call for AGP binds',
    cfg: agp(Platform['xen-pv']), ops: [gattCreate(64, GattMode.fsbHooks), populate(0, 4, Pool.agpFsb), ttBind(0, 0, BindMode.fsb), ttUnbind(0)],
    expect: { maps: 0, unmaps: 0 } },
]);

describe('teardown and invariants (§13)', () => {
  const everything = (platform: number): OpWords[] => [
    populate(0, 40), ttBind(0, 0), populate(1, 9, Pool.ttmDma), ttBind(1, 64, BindMode.coherent),
    populate(2, 20, Pool.xenAware, Caching.uc), populate(3, 3, Pool.ttm, Caching.cached), ttBind(3, 128),
    populate(4, 5, Pool.ttmDma, Caching.cached), unpopulate(4), cpuWrite(0, 0, 40 * PAGE), ttSync(0, 0), gpuRead(0, 40),
    ...(platform === Platform.iommu ? [] : [alloc(5, 2), map(5), mappingError(5), unmap(5), free(5)]),
    release(),
  ];
  for (const platform of [Platform['bare-metal'], Platform['swiotlb-force'], Platform['xen-pv'], Platform.iommu]) {
    it(`platform ${platform}: every pool empty, every invariant holds, every page back`, () => {
      const m = runModel(config({ platform }), everything(platform));
      assert.equal(checkInvariants(m), 0);
      assert.ok(m.ttmPools.all().every(({ pool }) => pool.size === 0));
      assert.equal(m.counters.pagesAllocated, m.counters.pagesFreed);
      assert.equal(m.slots.filter((s) => s && s.kind === 'tt').length, 0);
    });
  }
  it('teardown reports nothing to dma-debug but the leak found before it', () => {
    const o = run(config(), [populate(0, 4), ttBind(0), release()]);
    assert.deepEqual(o.debugClasses, ['leak']);
    assert.equal(o.records[0][8], 4n);
    assert.equal(o.c.unmaps, 4, 'the teardown still unmaps');
  });
  it('a pool left non-empty is caught before RELEASE only by the buddy accounting, which holds', () => {
    const m = runModel(config(), [populate(0, 4), unpopulate(0)]);
    assert.equal(checkInvariants(m), 0);
    m.counters.pagesFreed++; // break the accounting on purpose
    assert.equal(checkInvariants(m) & 16, 16);
  });
  it('an unknown op code throws', () => {
    assert.throws(() => run(config(), [[99, 0]]), /unknown op code 99/);
    assert.throws(() => run(config(), [[0]]), /unknown op code 0/);
  });
});

describe('randomised TTM stress with a leak check', () => {
  /** xorshift32, so the stress is the same every run. */
  function rng(seed: number) {
    let x = seed >>> 0 || 1;
    return (n: number) => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x % n;
    };
  }
  for (const [platform, seed] of [[Platform['xen-pv'], 1], [Platform['xen-pv'], 7], [Platform['swiotlb-force'], 3], [Platform.iommu, 5], [Platform['bare-metal'], 11]] as const) {
    it(`platform ${platform} seed ${seed}: freeing everything restores the pools, Xen's reserve and the buddy`, () => {
      const cfg = config({ platform, nslabs: 2048, xenLowPages: 4096 });
      const fresh = runModel(cfg, []);
      const lowFree0 = fresh.xen?.low.freeFrames ?? 0;
      const buddyFree0 = fresh.zones.dma32.freeFrames;
      const r = rng(seed);
      const ops: OpWords[] = [];
      const bound: (number | null)[] = new Array(8).fill(null);
      const held: boolean[] = new Array(8).fill(false);
      for (let k = 0; k < 3000; k++) {
        const slot = r(8);
        switch (r(7)) {
          case 0:
            if (held[slot]) ops.push(unpopulate(slot));
            ops.push(populate(slot, 1 + r(r(4) === 0 ? 600 : 40), [Pool.ttm, Pool.ttmDma, Pool.xenAware][r(3)], r(3)));
            held[slot] = true; bound[slot] = null;
            break;
          case 1:
            if (held[slot] && bound[slot] === null) { bound[slot] = slot * 1024; ops.push(ttBind(slot, slot * 1024, r(2))); }
            break;
          case 2:
            if (held[slot]) ops.push(cpuWrite(slot, 0, PAGE), r(2) ? gpuRead(slot * 1024, 1) : gpuWrite(slot * 1024, 1));
            break;
          case 3:
            if (held[slot]) ops.push(ttSync(slot, r(2)), cpuRead(slot, 0, PAGE));
            break;
          case 4:
            if (bound[slot] !== null) { ops.push(ttUnbind(slot)); bound[slot] = null; }
            break;
          default:
            if (held[slot]) { ops.push(unpopulate(slot)); held[slot] = false; bound[slot] = null; }
        }
      }
      held.forEach((h, slot) => { if (h) ops.push(unpopulate(slot)); });
      ops.push(release());
      const m = runModel({ ...cfg, gartPages: 8192 }, ops);
      assert.equal(checkInvariants(m), 0);
      assert.ok(m.ttmPools.all().every(({ pool }) => pool.size === 0), 'pools drained');
      assert.equal(m.ttmPools.dmaInUse, 0);
      assert.equal(m.counters.pagesAllocated, m.counters.pagesFreed, 'every page back');
      assert.equal(m.zones.dma32.freeFrames, buddyFree0);
      assert.equal(m.xen?.low.freeFrames ?? 0, lowFree0, "Xen's low reserve back to its boot state");
      assert.equal(m.swiotlb.slotsInUse, 0);
      assert.ok(m.counters.cachingChangeCalls > 0 && m.counters.poolRefills > 0);
    });
  }
});
