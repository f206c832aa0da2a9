// A kernel trace's unmap after its mapping's own unmap, at the handle again or inside the mapping
// (Op.UNMAP with OP_ATTR_AFTER_UNMAP; Op.UNMAP_AT of a dead mapping: the piece a smaller unmap at
// the handle left). The platform's unmap is replayed where it acts on the recording machine, which
// had not given the address to anything since: unless the simulation has (dma_handle_retaken). A
// page or slot still the mapping's own — the tail its smaller unmap left — is not "given again".
// Numbers derived by hand from 6.12 dma-iommu.c/iova.c, 2.6.37 ppc64 __iommu_free, 2.6.37
// swiotlb do_unmap_single (frees the caller's size) and 6.12 swiotlb_release_slots (the
// mapping's alloc_size). The dummy page takes the IOVA window's top entry (6.12) or entry 0 (2.6.37).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOMMU_WINDOW_PAGES, IommuMode, Kernel, OP_ATTR_AFTER_UNMAP, OP_DIR_BITS, Op, Platform, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, alloc, cpuWrite, devRead, map, runOn, unmap, type OpWords, type Outcome } from './engineHarness.js';

const modern = { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.strict };
const old = { ...modern, kernel: Kernel['2010'] };
const TOP = IOMMU_WINDOW_PAGES;
const hop = (o: Outcome): bigint => o.violation![VIOLATION_FIELDS.indexOf('hopPfn')]!;
/** The trace's dma_unmap_page inside buffer `slot`'s dead mapping, `offset` bytes in. */
const piece = (slot: number, size: number, offset: number): OpWords => [Op.UNMAP_AT, slot, size, offset, 0, BIDI, 0];
/** The trace's dma_unmap_page at the dead mapping's handle again. */
const again = (slot: number, size: number): OpWords => [Op.UNMAP, slot, BIDI, size, OP_ATTR_AFTER_UNMAP];
/** Buffer 0, 8 pages written and mapped, then unmapped at its handle with 4 pages' size (a partial unmap). */
const head = (more: OpWords[] = []): OpWords[] => [alloc(0, 8), cpuWrite(0, 0, 8 * PAGE), map(0, BIDI, 0, 8 * PAGE), unmap(0, BIDI, 4 * PAGE), ...more];

for (const engine of ENGINES) {
  describe(`A trace's unmap inside a mapping it had unmapped in part (engine ${engine})`, () => {
    it('6.12 strict: the tail the head\'s unmap left translating is cleared by the piece\'s unmap', async () => {
      const kept = await runOn(engine, modern, head([devRead(0, 4 * PAGE, PAGE)]));
      assert.deepEqual([kept.c.iommuPagesUnmapped, kept.kind], [4, ViolationKind.none], 'without it the tail still translates to its page');
      const o = await runOn(engine, modern, head([piece(0, 4 * PAGE, 4 * PAGE), devRead(0, 4 * PAGE, PAGE)]));
      assert.equal(o.c.iommuPagesUnmapped, 4 + 4);
      assert.equal(o.c.unmaps, 2);
      assert.deepEqual([o.kind, hop(o)], [ViolationKind.foreign, -1n], 'the tail no longer translates');
      assert.deepEqual(o.classes.filter((c) => c.startsWith('unmap')), ['unmap-size', 'unmap-unknown'], 'dma-debug: the head\'s different size, then "has not allocated"');
    });

    it('6.12 strict: where the simulation gave the tail\'s IOVA to another mapping since, the piece\'s unmap leaves it alone', async () => {
      // Buffer 0 at [TOP − 16, TOP − 8); its head's IOVA goes to the 4-page rcache, and buffer 1
      // gets it; buffer 1's unmap with an 8-page size clears buffer 0's tail too and files TOP − 16
      // in the 8-page class, which buffer 2 gets: TOP − 12 now translates to buffer 2's page 4.
      const ops = head([alloc(1, 4), map(1, BIDI, 0, 4 * PAGE), unmap(1, BIDI, 8 * PAGE), alloc(2, 8), cpuWrite(2, 0, 8 * PAGE), map(2, BIDI, 0, 8 * PAGE),
        piece(0, 4 * PAGE, 4 * PAGE), devRead(2, 4 * PAGE, 4 * PAGE)]);
      const o = await runOn(engine, modern, ops);
      assert.equal(o.c.iommuPagesUnmapped, 4 + 8, "no page of buffer 2's cleared");
      assert.equal(o.kind, ViolationKind.none, 'buffer 2 reads its own pages');
      assert.equal(o.c.unmaps, 3, 'the piece is still an unmap call');
    });

    it('6.12: a list unmapped again (dma_unmap_sg, unchecked) is skipped where any page it would clear went to another mapping', async () => {
      // Buffer 0, a 2-page sg entry at TOP − 4, unmapped; buffer 1 gets TOP − 4 from the rcache, and
      // its 1-byte unmap leaves its second page mapped. The list's second unmap would clear it.
      const sgUnmap = (attrs: number): OpWords => [Op.UNMAP, 0, BIDI | (1 << OP_DIR_BITS), 2 * PAGE, attrs];
      const ops: OpWords[] = [alloc(0, 2), [Op.MAP, 0, BIDI | (1 << OP_DIR_BITS), 0, 2 * PAGE, 1], sgUnmap(0),
        alloc(1, 2), cpuWrite(1, 0, 2 * PAGE), map(1, BIDI, 0, 2 * PAGE), unmap(1, BIDI, 1), sgUnmap(OP_ATTR_AFTER_UNMAP), devRead(1, PAGE, PAGE)];
      const o = await runOn(engine, modern, ops);
      assert.equal(o.c.iommuPagesUnmapped, 2 + 1);
      assert.equal(o.kind, ViolationKind.none, "buffer 1's second page still translates");
    });

    it('6.12 lazy: the piece\'s pages are queued', async () => {
      const o = await runOn(engine, { ...modern, iommuMode: IommuMode.lazy }, head([piece(0, 4 * PAGE, 4 * PAGE)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.c.iommuPagesQueued], [8, 8]);
    });

    it('2.6.37: the piece clears the tail\'s entries; so does an unmap at the handle again with the whole size (the tail is its own)', async () => {
      const p = await runOn(engine, old, head([piece(0, 4 * PAGE, 4 * PAGE), devRead(0, 4 * PAGE, PAGE)]));
      assert.deepEqual([p.c.iommuPagesUnmapped, p.kind, hop(p)], [4 + 4, ViolationKind.foreign, -1n]);
      // __iommu_free clears the 8 entries from the handle: the head's 4 again (empty) and the tail's.
      const a = await runOn(engine, old, head([again(0, 8 * PAGE), devRead(0, 7 * PAGE, PAGE)]));
      assert.deepEqual([a.c.iommuPagesUnmapped, a.kind, hop(a)], [4 + 8, ViolationKind.foreign, -1n]);
    });

    it('2.6.37 swiotlb: the piece copies the tail back and frees its slots, which the head\'s unmap left (do_unmap_single frees the size asked)', async () => {
      const cfg = { platform: Platform['swiotlb-force'], kernel: Kernel['2010'] };
      const h = await runOn(engine, cfg, head());
      assert.equal(h.c.bounceBytes, 8 * PAGE + 4 * PAGE, "the map's copy in, the head's copy back");
      const p = await runOn(engine, cfg, head([piece(0, 4 * PAGE, 4 * PAGE)]));
      assert.equal(p.c.bounceBytes, 8 * PAGE + 4 * PAGE + 4 * PAGE, "and the tail's, from the slots still holding buffer 0's original");
      const a = await runOn(engine, cfg, head([again(0, 8 * PAGE)]));
      assert.equal(a.c.bounceBytes, 8 * PAGE + 4 * PAGE + 8 * PAGE, 'again at the handle with the whole size: all 8 pages back');
    });

    it('6.12 swiotlb: the head\'s unmap released every slot of the mapping (its alloc_size), so the piece finds nothing to copy', async () => {
      const o = await runOn(engine, { platform: Platform['swiotlb-force'], kernel: Kernel.modern }, head([piece(0, 4 * PAGE, 4 * PAGE)]));
      assert.equal(o.c.bounceBytes, 8 * PAGE + 4 * PAGE);
      assert.equal(o.c.unmaps, 2);
    });
  });
}
