// Modern swiotlb (Linux 6.12 kernel/dma/swiotlb.c; docs/ENGINE.md §5) through the op stream, on
// both engines: the behaviours Documentation/core-api/swiotlb.rst states (a mapping is at most
// 256 KiB, slots are never shared, a mapping never crosses a 128-slot segment, a mapping of a page
// or more is page-aligned, a full pool is a mapping error), and the per-CPU areas of
// swiotlb_find_slots / swiotlb_search_pool_area / swiotlb_release_slots. Every expected slot is
// derived by hand in the comment above it.
// As in test/engine-swiotlb.test.ts, slots are read back from dma-debug: an unmap with a wrong
// size (1 byte) reports `unmap-size` at the mapping's bus address, pool phys + slot · 2 KiB on
// swiotlb-force. The device is an AGP bridge (no GART dummy page holds slots at init).
// The machine has SWIOTLB_POSSIBLE_CPUS = 8 possible CPUs and every op runs on CPU 0, so a pool of
// n slots has min(8, n / 128) areas (swiotlb_adjust_nareas, limit_nareas) and every search starts
// in area 0. min_align_mask is 0 here, as for every modelled GPU (no GPU driver sets one):
// swiotlb_align_offset is 0 and the mapping starts at its first slot. --min-align-mask's cases
// are in test/engine-swiotlb-align.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, Kernel, Platform, SWIOTLB_MAX_AREAS } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, POOL_PFN, TO_DEV, alloc, map, runOn, unmap, type OpWords } from './engineHarness.js';
import { SwiotlbPool, swiotlbAreas } from '../src/model/dma/swiotlb.js';

const modern = { platform: Platform['swiotlb-force'], gartFamily: GartFamily.agp, kernel: Kernel.modern };
const slotBus = (slot: number) => BigInt(POOL_PFN * PAGE + slot * 2048);
const SLOT = 2048;

/** Buffer b (one per entry) of ceil(size / PAGE) pages mapped with `size` bytes, BIDIRECTIONAL. */
const mapBuf = (b: number, size: number): OpWords[] => [alloc(b, Math.max(1, Math.ceil(size / PAGE))), map(b, BIDI, 0, size)];
/** Unmap buffer b with a 1-byte size: releases its run and reports its bus address (unmap-size). */
const probe = (b: number): OpWords => unmap(b, BIDI, 1);

async function slotsOf(engine: (typeof ENGINES)[number], cfg: object, ops: OpWords[]) {
  const o = await runOn(engine, { ...modern, ...cfg }, ops);
  return { o, slots: o.dma.filter((_, i) => o.classes[i] === 'unmap-size') };
}

describe('swiotlb areas of the modelled machine (swiotlb_adjust_nareas, limit_nareas; 6.12)', () => {
  it('8 possible CPUs: 8 areas, but never fewer than 128 slots each', () => {
    assert.equal(SWIOTLB_MAX_AREAS, 8); // roundup_pow_of_two(8)
    // 32768 slots (64 MiB): 8 areas of 4096; 2048 slots: 8 of 256; 256 slots: 2 of 128; 384: 3 of 128.
    assert.deepEqual([32768, 2048, 256, 384, 128].map(swiotlbAreas), [8, 8, 2, 3, 1]);
    const pool = new SwiotlbPool(2048);
    assert.deepEqual([pool.nareas, pool.areaNslabs], [8, 256]);
  });
});

for (const engine of ENGINES) {
  describe(`modern swiotlb slot search (kernel/dma/swiotlb.c 6.12) (engine ${engine})`, () => {
    // swiotlb.rst: "the maximum size of a swiotlb mapping is 256 KiB" (IO_TLB_SEGSIZE · IO_TLB_SIZE,
    // swiotlb_max_mapping_size). 129 slots: no slot's free counter exceeds 128, so every area's
    // search fails — "swiotlb buffer is full", DMA_MAPPING_ERROR (swiotlb_tbl_map_single). 128
    // slots: area 0's cursor is 0, slot 0 counts 128 → slot 0.
    it('256 KiB maximum: 129 slots are a mapping error, 128 fit at slot 0', async () => {
      const ops = [alloc(0, 65), map(0, BIDI, 0, 129 * SLOT), ...mapBuf(1, 128 * SLOT), probe(1)];
      const { o, slots } = await slotsOf(engine, {}, ops);
      assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors, o.c.bounces, o.c.swiotlbPeakSlots], [1, 1, 1, 128]);
      assert.deepEqual(slots, [slotBus(0)]);
    });

    // swiotlb_search_pool_area: alloc_size >= PAGE_SIZE with no alloc_align_mask and no
    // min_align_mask → alloc_align_mask = PAGE_SIZE - 1, stride 2. A 1-slot map takes slot 0 and
    // moves area 0's cursor to 1; the page map finds slot 1 misaligned, steps one to slot 2
    // (aligned, counter 126) → 2. (2.6.37 page-aligned only above a page: it gave slot 1.)
    it('a map of exactly one page is page-aligned: after a 1-slot map it starts at slot 2', async () => {
      const { slots } = await slotsOf(engine, {}, [...mapBuf(0, SLOT), ...mapBuf(1, PAGE), probe(0), probe(1)]);
      assert.deepEqual(slots, [slotBus(0), slotBus(2)]);
    });

    // Below PAGE_SIZE only slot alignment (alloc_align_mask IO_TLB_SIZE - 1, stride 1): 3000 bytes
    // are 2 slots, taken at the cursor, slot 1, straddling a page boundary of the pool.
    it('a 2-slot map under a page is not page-aligned: 3000 bytes after a 1-slot map start at slot 1', async () => {
      const { slots } = await slotsOf(engine, {}, [...mapBuf(0, SLOT), ...mapBuf(1, 3000), probe(0), probe(1)]);
      assert.deepEqual(slots, [slotBus(0), slotBus(1)]);
    });

    // swiotlb.rst: slots are never shared. Three page maps: 0 (cursor 2), 2 (cursor 4), 4; then a
    // 1-slot map at the cursor, 6; at the peak 7 slots are in use, each in one run only.
    it('slots are never shared: page maps take 0, 2, 4 and a 1-slot map 6; 7 slots at the peak', async () => {
      const sizes = [PAGE, PAGE, PAGE, SLOT];
      const ops = [...sizes.flatMap((s, b) => mapBuf(b, s)), ...sizes.map((_, b) => probe(b))];
      const { o, slots } = await slotsOf(engine, {}, ops);
      assert.deepEqual(slots, [0, 2, 4, 6].map(slotBus));
      assert.equal(o.c.swiotlbPeakSlots, 7);
      assert.equal(o.invariants, 0, 'every counter back to 128 - i % 128 once all are unmapped');
    });

    // swiotlb.rst: a mapping never crosses a 128-slot segment. 2048 slots: 8 areas of 256, so
    // area 0 holds segments [0, 128) and [128, 256). 100 slots → 0, cursor 100. 64 slots
    // (128 KiB, page-aligned, stride 2): area 0 has 156 unused; slots 100, 102, …, 126 count
    // 28, 26, …, 2 (the segment's end), all < 64; slot 128 counts 128 → 128, not 100.
    it('a run never crosses a 128-slot segment: 64 slots after 100 start at slot 128, in the same area', async () => {
      const { slots } = await slotsOf(engine, { nslabs: 2048 }, [...mapBuf(0, 100 * SLOT), ...mapBuf(1, 64 * SLOT), probe(0), probe(1)]);
      assert.deepEqual(slots, [slotBus(0), slotBus(128)]);
    });
  });

  describe(`modern swiotlb areas (swiotlb_find_slots, swiotlb_release_slots; 6.12) (engine ${engine})`, () => {
    // 2048 slots, 8 areas of 256. A and B (128 slots each) fill area 0: A → 0 (cursor 128),
    // B → 128 (cursor wraps to 0). C (a page): area 0 has 0 unused slots, skipped; area 1's
    // cursor is 0 → slot 256. A is unmapped (area 0 has 128 unused again). D (a page): the search
    // starts in CPU 0's area, area 0, at its cursor 0 → slot 0. The 2.6.37 single cursor (258
    // after C) would give 258.
    it("each area keeps its own cursor: after area 0 fills, a page goes to area 1, and once area 0 frees it gets the next page at slot 0", async () => {
      const ops = [...mapBuf(0, 128 * SLOT), ...mapBuf(1, 128 * SLOT), ...mapBuf(2, PAGE), probe(0), ...mapBuf(3, PAGE), probe(1), probe(2), probe(3)];
      const { o, slots } = await slotsOf(engine, { nslabs: 2048 }, ops);
      assert.deepEqual(slots, [0, 128, 256, 0].map(slotBus));
      assert.equal(o.invariants, 0);
    });

    it('2010 on the same ops: one cursor for the whole pool (lib/swiotlb.c 2.6.37), D at 258', async () => {
      const ops = [...mapBuf(0, 128 * SLOT), ...mapBuf(1, 128 * SLOT), ...mapBuf(2, PAGE), probe(0), ...mapBuf(3, PAGE), probe(1), probe(2), probe(3)];
      const { slots } = await slotsOf(engine, { nslabs: 2048, kernel: Kernel['2010'] }, ops);
      assert.deepEqual(slots, [0, 128, 256, 258].map(slotBus));
    });

    // 256 slots: 2 areas of 128. A (128 slots) → 0 in area 0; B (128) → area 0 full, area 1 at
    // its cursor 0 → 128. B is released: swiotlb_release_slots gives its 128 slots back to area 1
    // (128 / 128). C (128): area 0 still has none unused; area 1 has 128, cursor wrap(0 + 128) = 0
    // → slot 128 again.
    it('release gives the slots back to the area of the run: a freed area-1 run is found again', async () => {
      const ops = [...mapBuf(0, 128 * SLOT), ...mapBuf(1, 128 * SLOT), unmap(1, BIDI, 128 * SLOT), ...mapBuf(2, 128 * SLOT), probe(0), probe(2)];
      const { o, slots } = await slotsOf(engine, { nslabs: 256 }, ops);
      assert.deepEqual(slots, [slotBus(0), slotBus(128)]);
      assert.deepEqual([o.c.swiotlbFull, o.c.bounces], [0, 3]);
    });

    // swiotlb.rst: when no slots are free the map fails; 6.12 returns DMA_MAPPING_ERROR (no
    // overflow buffer). 256 slots, 2 areas: two 64-page maps fill area 0 then area 1; the next
    // page finds no area with 2 unused slots.
    it('a full pool (every area) is DMA_MAPPING_ERROR', async () => {
      const ops = [alloc(0, 64), map(0, TO_DEV, 0, 64 * PAGE), alloc(1, 64), map(1, TO_DEV, 0, 64 * PAGE), alloc(2), map(2, TO_DEV), unmap(2, TO_DEV)];
      const o = await runOn(engine, { ...modern, nslabs: 256 }, ops);
      assert.deepEqual([o.c.bounces, o.c.swiotlbFull, o.c.mappingErrors, o.c.swiotlbPeakSlots], [2, 1, 1, 256]);
      assert.equal(o.dma.at(-1), -1n); // the unmap of the failed handle names DMA_MAPPING_ERROR
    });
  });
}

// 6.12 swiotlb_init_remap → swiotlb_adjust_nareas(num_possible_cpus()) → round_up_default_nslabs:
// default_nslabs is raised to IO_TLB_SEGSIZE × nareas (128 × 8 = 1024 slots = 2 MiB) when smaller,
// and any size that is not a power of two rounds up to one; 2.6.37 keeps the pool as given.
describe('the pool a kernel boots with for --swiotlb (round_up_default_nslabs)', () => {
  it('modern: at least 2 MiB, a power of two; 2010: as given', async () => {
    const { swiotlbPoolBytes } = await import('../src/run/machine.js');
    const K = 1024, M = 1024 * K;
    const cases: [number, number][] = [[256 * K, 2 * M], [768 * K, 2 * M], [2 * M, 2 * M], [3 * M, 4 * M], [64 * M, 64 * M], [96 * M, 128 * M], [1024 * M, 1024 * M]];
    for (const [given, booted] of cases) {
      assert.equal(swiotlbPoolBytes('modern', given), booted, `${given / K}K`);
      assert.equal(swiotlbPoolBytes('2010', given), given);
    }
  });

  it('the CLI records the booted pool, and it has 8 areas', async () => {
    const { cli } = await import('./helpers.js');
    for (const [kernel, want] of [['modern', 2 * 2 ** 20], ['2010', 768 * 1024]] as const) {
      const r = cli('run', '--kernel', kernel, '--platform', 'swiotlb-force', '--swiotlb', '768K', '--pages', '64', '--ram', '512M', '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).machine.swiotlbBytes, want);
    }
    assert.equal(swiotlbAreas(2 * 2 ** 20 / SLOT), SWIOTLB_MAX_AREAS);
  });
});
