// A kernel trace's dma_unmap_page inside a live bounced mapping (Op.UNMAP_AT of a live buffer):
// the kernel does not look the mapping up, so its swiotlb acts at that address. 2.6.37
// do_unmap_single copies `size` bytes from the address back to the slot's io_tlb_orig_addr (the
// slot's own original, not plus the offset into the slot) and frees the slots the size spans,
// whoever holds them. 6.12 __swiotlb_tbl_unmap_single copies `size` bytes from there (swiotlb_bounce,
// by that slot's own orig_addr and alloc_size) and swiotlb_release_slots frees nr_slots(alloc_size)
// from there: the rest of the run. The mapping's own unmap later goes by its first slot: 6.12
// releases the whole run again. Numbers derived by hand: the GART dummy page holds 2 slots; a page is 2 slots.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kernel, OP_ATTR_SKIP_CPU_SYNC, Op, Platform, Pool, ViolationKind } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, alloc, cpuRead, cpuWrite, devWrite, map, populate, runOn, syncCpu, ttSync, unmap, type OpWords } from './engineHarness.js';

const modern = { platform: Platform['swiotlb-force'], kernel: Kernel.modern };
const old = { ...modern, kernel: Kernel['2010'] };
const DUMMY = 2;
/** The trace's dma_unmap_page at buffer `slot`'s handle plus `offset`, `size` bytes. */
const inside = (slot: number, size: number, offset: number, attrs = 0): OpWords => [Op.UNMAP_AT, slot, size, offset, 0, BIDI, attrs];
/** Buffer 0: 8 pages written by the CPU and mapped both ways (16 slots). */
const mapped = (more: OpWords[] = []): OpWords[] => [alloc(0, 8), cpuWrite(0, 0, 8 * PAGE), map(0, BIDI, 0, 8 * PAGE), ...more];

for (const engine of ENGINES) {
  describe(`A trace's unmap inside a live bounced mapping (engine ${engine})`, () => {
    it('6.12: copies the size asked back and releases the rest of the run from there; the mapping\'s own unmap releases the whole run again', async () => {
      const o = await runOn(engine, modern, mapped([inside(0, PAGE, 4 * PAGE)]));
      assert.equal(o.c.swiotlbSlotsInUse, DUMMY + 8, 'the 8 slots from page 4 on are free (alloc_size there: 4 pages)');
      assert.equal(o.c.bounceBytes, 8 * PAGE + PAGE, 'the map\'s copy in, then swiotlb_bounce of the size asked');
      const w = await runOn(engine, modern, mapped([inside(0, PAGE, 4 * PAGE), unmap(0, BIDI, 8 * PAGE)]));
      assert.equal(w.c.swiotlbSlotsInUse, DUMMY, 'only the 8 still taken count as freed');
      assert.equal(w.c.bounceBytes, 8 * PAGE + PAGE + 8 * PAGE, 'the first slot\'s alloc_size is still the whole mapping');
      const skip = await runOn(engine, modern, mapped([inside(0, PAGE, 4 * PAGE, OP_ATTR_SKIP_CPU_SYNC)]));
      assert.deepEqual([skip.c.swiotlbSlotsInUse, skip.c.bounceBytes], [DUMMY + 8, 8 * PAGE], 'DMA_ATTR_SKIP_CPU_SYNC: released, nothing copied');
    });

    it('6.12: a sync through a released slot copies nothing, so the device\'s write never reaches the CPU (2.6.37 copies it)', async () => {
      const ops = mapped([inside(0, PAGE, 4 * PAGE), devWrite(0, 5 * PAGE, PAGE), syncCpu(0, BIDI, 5 * PAGE, PAGE), cpuRead(0, 5 * PAGE, PAGE)]);
      const m = await runOn(engine, modern, ops);
      assert.equal(m.kind, ViolationKind.lost, 'the released slot\'s orig_addr is INVALID_PHYS_ADDR: the device\'s write is lost');
      const o = await runOn(engine, old, ops);
      assert.equal(o.kind, ViolationKind.none, 'io_tlb_orig_addr is never cleared');
    });

    it('2.6.37: copies `size` bytes from the address to the slot\'s own original and frees the slots they span', async () => {
      const o = await runOn(engine, old, mapped([inside(0, PAGE, 4 * PAGE)]));
      assert.deepEqual([o.c.swiotlbSlotsInUse, o.c.bounceBytes], [DUMMY + 14, 8 * PAGE + PAGE]);
      const w = await runOn(engine, old, mapped([inside(0, PAGE, 4 * PAGE), unmap(0, BIDI, 8 * PAGE)]));
      assert.deepEqual([w.c.swiotlbSlotsInUse, w.c.bounceBytes], [DUMMY, 8 * PAGE + PAGE + 8 * PAGE], 'the whole size: all 16, 14 still taken');
      // 256 bytes at page 4 + 0x100 land at the start of page 4 (io_tlb_orig_addr of the slot, without the offset):
      // the device's bytes overwrite the CPU's, which the CPU then reads as not its own.
      const ops = mapped([devWrite(0, 4 * PAGE + 0x100, 0x100), inside(0, 0x100, 4 * PAGE + 0x100), cpuRead(0, 4 * PAGE, 0x100)]);
      const bytes = { ...old, payloadBytes: PAGE }; // byte contents, not a stamp per 2 KiB unit
      const q = await runOn(engine, bytes, ops);
      assert.notEqual(q.kind, ViolationKind.none, 'bytes 0–255 of page 4 hold the device\'s bytes 256–511');
      const n = await runOn(engine, { ...bytes, kernel: Kernel.modern }, ops);
      assert.equal(n.kind, ViolationKind.none, '6.12 copies to the original plus tlb_offset');
    });

    it('6.12: a run that took released slots loses them at the first mapping\'s own unmap, and keeps the rest of itself', async () => {
      // One area of 128 slots: the dummy page at 0–1, buffer 0 (A) at 2–9, buffer 1 at 10–17, buffer 2 at 18–127.
      // A's unmap inside at page 2 frees 6–9; buffer 1's unmap frees 10–17; buffer 3 (C) then takes 6–13. A's own
      // unmap frees 2–9 by its first slot's alloc_size, C's first 4 slots too: C's slots 10–13 keep their own records.
      const cfg = { ...modern, nslabs: 128 };
      const base: OpWords[] = [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0, 4 * PAGE), alloc(1, 4), map(1, BIDI, 0, 4 * PAGE),
        alloc(2, 55), map(2, BIDI, 0, 55 * PAGE), inside(0, PAGE, 2 * PAGE), unmap(1, BIDI, 4 * PAGE),
        alloc(3, 4), cpuWrite(3, 0, 4 * PAGE), map(3, BIDI, 0, 4 * PAGE), unmap(0, BIDI, 4 * PAGE)];
      const b = await runOn(engine, cfg, base);
      assert.equal(b.c.swiotlbSlotsInUse, DUMMY + 110 + 4, 'buffer 2 and the 4 slots of C past A\'s run');
      const through = (page: number): OpWords[] => [devWrite(3, page * PAGE, PAGE), syncCpu(3, BIDI, page * PAGE, PAGE), cpuRead(3, page * PAGE, PAGE)];
      const kept = await runOn(engine, cfg, [...base, ...through(2)]);
      assert.equal(kept.kind, ViolationKind.none, 'slot 10 still bounces C\'s page 2 (its own orig_addr and alloc_size)');
      const lost = await runOn(engine, cfg, [...base, ...through(0)]);
      assert.equal(lost.kind, ViolationKind.lost, 'slot 6 was released under C');
      const c = await runOn(engine, cfg, [...base, unmap(3, BIDI, 4 * PAGE), unmap(2, BIDI, 55 * PAGE)]);
      assert.equal(c.c.swiotlbSlotsInUse, DUMMY + 4, 'C\'s own unmap finds its first slot released (alloc_size 0): its last 4 slots leak');
    });

    it('6.12 with a min_align_mask: each slot has its own alloc_size, 0 or below in a last slot the align offset fills', async () => {
      // 14000 bytes from 0x400 into the buffer: align offset 0x400, 8 slots (2–9); slot i's alloc_size is 14000 − i·2048.
      const cfg = { ...modern, nslabs: 128, minAlignMask: 4095 };
      const base: OpWords[] = [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0x400, 14000)];
      // Slot 9's alloc_size is 14000 − 7·2048 = −336: nr_slots(−336 + the address's offset in the slot) frees it only
      // past 336 (below, the size_t wraps and DIV_ROUND_UP gives 0).
      const at = (inSlot: number) => runOn(engine, cfg, [...base, inside(0, 1, 0x400 + 7 * 2048 - 0x400 + inSlot)]);
      assert.deepEqual([(await at(336)).c.swiotlbSlotsInUse, (await at(337)).c.swiotlbSlotsInUse], [DUMMY + 8, DUMMY + 7]);
      // From page 2 (slot 6, alloc_size 5808): 3 slots, 6–8; slot 9 stays taken. Buffer 2 then takes 6–7, and a sync
      // through slot 9 still goes by slot 9's own orig_addr and alloc_size: the device's 688 bytes reach the CPU.
      const ops = [...base, alloc(1, 59), map(1, BIDI, 0, 59 * PAGE), inside(0, PAGE, 2 * PAGE), alloc(2, 1), map(2, BIDI, 0, PAGE),
        devWrite(0, 14336, 688), syncCpu(0, BIDI, 14336, 688), cpuRead(0, 14336, 688)];
      const o = await runOn(engine, cfg, ops);
      assert.deepEqual([o.c.swiotlbSlotsInUse, o.kind], [DUMMY + 8 + 118 - 3 + 2, ViolationKind.none]);
      // A map of 0 bytes at 0x100 takes a slot (alloc_size 0); its unmap frees nr_slots(0 + 0x100): that slot.
      const z = await runOn(engine, cfg, [alloc(3, 1), map(3, BIDI, 0x100, 0), unmap(3, BIDI, 100)]);
      assert.equal(z.c.swiotlbSlotsInUse, DUMMY);
    });

    it('6.12: a TTM pool page\'s sync goes by its slot\'s own alloc_size too, once another mapping holds the slot', async () => {
      // Buffer 0's unmap at its handle + a page releases the tt block's slots (4–5); buffer 3 fills the pool, and
      // buffer 2's 100-byte map takes slot 4. The tt's sync for the CPU copies what slot 4 bounces: 100 bytes, not a page.
      const cfg = { ...modern, nslabs: 128 };
      const ops: OpWords[] = [alloc(0, 2), map(0, BIDI, 0, PAGE), populate(1, 1, Pool.ttm), inside(0, 1, PAGE), alloc(3, 61), map(3, BIDI, 0, 61 * PAGE),
        alloc(2, 2), cpuWrite(2, 0, 2 * PAGE), map(2, BIDI, 0x100, 100)];
      const [a, b] = [await runOn(engine, cfg, ops), await runOn(engine, cfg, [...ops, ttSync(1, 1)])];
      assert.equal(b.c.bounceBytes - a.c.bounceBytes, 100);
    });
  });
}
