// swiotlb through the op stream (docs/ENGINE.md §5, lib/swiotlb.c 2010): the slot search, a full
// pool in both eras, freeing and merging runs, and which way the bounce copies go per era.
// Slot numbers are read back from dma-debug: an unmap with a wrong size (1 byte) reports
// `unmap-size` at the mapping's bus address, which on bare metal is the pool's phys + slot·2 KiB.
// The device is an AGP bridge, which maps no GART dummy page at init, so the search starts from an
// empty pool (a radeon or nouveau dummy page holds slots 0-1 on swiotlb-force: test/engine-xen.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dir, GartFamily, InitError, Kernel, Platform } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, PAGE, POOL_PFN, TO_DEV, alloc, cpuRead, cpuWrite, devRead, devWrite, map, mappingError,
  initOn, overflowPfn, runCases, runOn, unmap, type OpWords,
} from './engineHarness.js';

const force = { platform: Platform['swiotlb-force'], gartFamily: GartFamily.agp };
const POOL_BUS = POOL_PFN * PAGE;
const slotBus = (slot: number) => BigInt(POOL_BUS + slot * 2048);

/** Maps one buffer per size (slot i), then unmaps each with a wrong size to read its address back. */
const mapThenProbe = (sizes: number[]): OpWords[] => [
  ...sizes.flatMap((size, slot) => [alloc(slot, Math.max(1, Math.ceil(size / PAGE))), map(slot, BIDI, 0, size)]),
  ...sizes.map((_, slot) => unmap(slot, BIDI, 1)),
];

const searchCases: { description: string; cfg?: object; sizes: number[]; slots: number[]; peak?: number }[] = [
  { description: 'two 1-page maps take consecutive 2-slot runs', sizes: [PAGE, PAGE], slots: [0, 2] },
  { description: 'three 1-page runs are handed out next-fit; 6 slots at the peak (twin of the SwiotlbPool piece)',
    sizes: [PAGE, PAGE, PAGE], slots: [0, 2, 4], peak: 6 },
  { description: 'after a 1-slot map a 1-page map starts at slot 1 (stride 1)', sizes: [2048, PAGE], slots: [0, 1] },
  { description: 'after a 1-slot map a 3-page map is page-aligned (stride 2)', sizes: [2048, 3 * PAGE], slots: [0, 2] },
  { description: 'after a 1-slot map a 2-page map is page-aligned (stride 2; twin of the SwiotlbPool piece)',
    sizes: [2048, 2 * PAGE], slots: [0, 2] },
  { description: 'a run never crosses a 128-slot segment: 64 slots after 100 start at slot 128 (256-slot pool)',
    cfg: { nslabs: 256 }, sizes: [100 * 2048, 64 * 2048], slots: [0, 128] },
];

for (const engine of ENGINES) {
  describe(`swiotlb slot search (lib/swiotlb.c 2010) (engine ${engine})`, () => {
    for (const t of searchCases) {
      it(t.description, async () => {
        const { dma, classes, c } = await runOn(engine, { ...force, ...t.cfg }, mapThenProbe(t.sizes));
        assert.deepEqual(dma.filter((_, i) => classes[i] === 'unmap-size'), t.slots.map(slotBus));
        if (t.peak !== undefined) assert.equal(c.swiotlbPeakSlots, t.peak);
      });
    }

    it('a map of more than 128 slots fails at once: 2010 overflow buffer and panic counter', async () => {
      const { c, dma } = await runOn(engine, force, [alloc(0, 65), map(0, BIDI, 0, 129 * 2048), unmap(0, BIDI, 129 * 2048)]);
      assert.equal(c.swiotlbFull, 1); assert.equal(c.mappingErrors, 1); assert.equal(c.swiotlbPanics, 1); assert.equal(c.bounces, 0);
      assert.deepEqual(dma, [BigInt(overflowPfn(32768) * PAGE)]); // the invalid-address report at the overflow buffer (§9)
    });

    it('129 slots fail at once, but 128 fit at slot 0 (twin of the SwiotlbPool piece)', async () => {
      const { c, dma, classes } = await runOn(engine, force,
        [alloc(0, 65), map(0, BIDI, 0, 129 * 2048), alloc(1, 64), map(1, BIDI, 0, 128 * 2048), unmap(1, BIDI, 1)]);
      assert.deepEqual([c.swiotlbFull, c.bounces, c.swiotlbPeakSlots], [1, 1, 128]);
      assert.deepEqual(classes, ['unmap-size']); // 2010: no map-error check in 2.6.37's check_unmap (§9)
      assert.deepEqual(dma, [slotBus(0)]);
    });

    for (const [era, overflow] of [['2010', BigInt((POOL_PFN + 128) * PAGE)], ['modern', -1n]] as const) {
      it(`a 256-slot pool is full after 128 page maps (${era}: ${era === '2010' ? 'overflow address' : 'DMA_MAPPING_ERROR'})`, async () => {
        const ops: OpWords[] = [];
        for (let i = 0; i < 129; i++) ops.push(alloc(i), map(i, TO_DEV));
        ops.push(unmap(128, TO_DEV));
        const { c, dma } = await runOn(engine, { ...force, nslabs: 256, maxBuffers: 130, kernel: Kernel[era] }, ops);
        assert.equal(c.bounces, 128); assert.equal(c.swiotlbFull, 1); assert.equal(c.mappingErrors, 1);
        assert.equal(c.swiotlbPeakSlots, 256); assert.equal(c.swiotlbPanics, 0);
        assert.deepEqual(dma, [overflow]);
      });
    }

    it('unmap merges freed runs: after unmapping everything two full 128-slot segments fit again', async () => {
      const ops: OpWords[] = [];
      for (let i = 0; i < 128; i++) ops.push(alloc(i), map(i, TO_DEV));
      for (let i = 127; i >= 0; i -= 2) ops.push(unmap(i, TO_DEV));
      for (let i = 0; i < 128; i += 2) ops.push(unmap(i, TO_DEV));
      ops.push(alloc(128, 64), map(128, TO_DEV, 0, 64 * PAGE), alloc(129, 64), map(129, TO_DEV, 0, 64 * PAGE));
      const { c } = await runOn(engine, { ...force, nslabs: 256, maxBuffers: 130 }, ops);
      assert.equal(c.swiotlbFull, 0); assert.equal(c.bounces, 130); assert.equal(c.swiotlbSlotsInUse, 256);
    });

    it('release merges with free neighbours: out-of-order unmaps restore the boot slot lists (twin of the SwiotlbPool piece)', async () => {
      const sizes = [PAGE, 3 * PAGE, 2048, PAGE];
      const ops: OpWords[] = sizes.flatMap((size, slot) => [alloc(slot, Math.ceil(size / PAGE)), map(slot, BIDI, 0, size), mappingError(slot)]);
      for (const slot of [1, 3, 0, 2]) ops.push(unmap(slot, BIDI, sizes[slot]));
      const o = await runOn(engine, { ...force, nslabs: 256 }, ops);
      assert.deepEqual([o.c.swiotlbPeakSlots, o.c.swiotlbSlotsInUse, o.total], [2 + 6 + 1 + 2, 0, 0]);
      assert.equal(o.invariants, 0, 'bit 2: no mapping live, every list[i] back to 128 - i % 128');
    });
  });

  describe(`swiotlb exhaustion per era (engine ${engine})`, () => {
    const tiny = { ...force, nslabs: 128 };
    const fill = [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), alloc(1), map(1, TO_DEV), unmap(1, TO_DEV)];
    it('2010: exhaustion (a full pool wraps once and gives up) returns the overflow buffer address; only mapping_error tells', async () => {
      const o = await runOn(engine, { ...tiny, kernel: Kernel['2010'] }, fill);
      assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors, o.c.bounces, o.c.swiotlbPeakSlots], [1, 1, 1, 128]);
      // The failed map is untracked; dma_mapping_error is true for the overflow address, so its
      // unmap is the invalid-address report (class unmap-unknown, count -1: ENGINE.md §9, D13).
      assert.deepEqual(o.classes, ['unmap-unknown']);
      assert.equal(o.records[0][2], BigInt(overflowPfn(128) * PAGE));
      assert.equal(o.records[0][8], -1n);
    });
    it('modern: exhaustion returns DMA_MAPPING_ERROR', async () => {
      const o = await runOn(engine, { ...tiny, kernel: Kernel.modern }, fill);
      assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors], [1, 1]);
      assert.equal(o.records[0][2], -1n);
    });
    it('2010: a failed map over 32 KiB is the kernel panic (counted)', async () => {
      const o = await runOn(engine, tiny, [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), alloc(1, 16), map(1, TO_DEV, 0, 16 * PAGE)]);
      assert.equal(o.c.swiotlbPanics, 1);
    });
    runCases(engine, [
      { description: 'unmap frees the run: the next map fits again', cfg: tiny,
        ops: [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), unmap(0, TO_DEV, 64 * PAGE), alloc(1, 64), map(1, TO_DEV, 0, 64 * PAGE)],
        expect: { swiotlbFull: 0, bounces: 2, swiotlbSlotsInUse: 128 } },
    ]);
  });

  describe(`bounce copy directions per era (engine ${engine})`, () => {
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
      const cfg = { ...force, kernel: Kernel[tc.kernel] };
      it(`${tc.kernel} ${tc.dir}: map ${tc.mapCopies ? 'copies' : 'does not copy'}, unmap ${tc.unmapCopies ? 'copies back' : 'does not copy back'}`, async () => {
        const dir = Dir[tc.dir];
        const up = await runOn(engine, cfg, upload(dir));
        assert.equal(up.c.bounceBytes, tc.mapCopies ? PAGE : 0);
        // Without the copy the device sees a slot nobody wrote: another buffer's (here no one's) data.
        assert.equal(up.c.foreignReads, tc.mapCopies ? 0 : 1);
        const back = await runOn(engine, cfg, readback(dir));
        assert.equal(back.c.lostWrites, tc.unmapCopies ? 0 : 1);
        // The bytes each step copies: at map, then at unmap.
        const atMap = (await runOn(engine, cfg, [alloc(0), map(0, dir)])).c.bounceBytes;
        const total = (await runOn(engine, cfg, [alloc(0), map(0, dir), unmap(0, dir)])).c.bounceBytes;
        assert.equal(atMap, tc.mapCopies ? PAGE : 0);
        assert.equal(total - atMap, tc.unmapCopies ? PAGE : 0);
      });
    }
  });
}

describe('a pool is whole 128-slot segments', () => {
  // Both eras' kernels align the slot count to IO_TLB_SEGSIZE (2.6.37 setup_io_tlb_npages;
  // 6.12 setup_io_tlb_npages, swiotlb_adjust_size), so neither engine builds any other pool: a
  // segment's free count would reach past the pool's end (an audit found the engines disagreeing there).
  for (const engine of ENGINES) {
    it(`init refuses nslabs that is not a multiple of 128, either kernel (engine ${engine})`, async () => {
      for (const kernel of [Kernel['2010'], Kernel.modern]) {
        for (const nslabs of [200, 4097, 64]) assert.equal(await initOn(engine, { platform: Platform['swiotlb-force'], kernel, nslabs }), InitError.LAYOUT, `${kernel} ${nslabs}`);
        for (const nslabs of [128, 256, 4096]) assert.equal(await initOn(engine, { platform: Platform['swiotlb-force'], kernel, nslabs }), InitError.OK, `${kernel} ${nslabs}`);
      }
    });
  }
});
