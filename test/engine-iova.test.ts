// 6.12's IOVA allocator on the modern iommu platform (docs/ENGINE.md §8; src/model/dma/iova.ts and
// assembly/dma/iova.ts), on both engines, against numbers derived by hand from drivers/iommu/iova.c:
// alloc_iova_fast rounds a size under 32 pages up to a power of two, takes the IOVA of its size
// class freed last from the rcache, else the highest free block aligned to its size below the
// cached node; free_iova_fast keeps a run of a cacheable class in the rcache (loaded magazine,
// then prev, then the depot). A mapping's IOVA is read back with a wrong-size unmap (dma-debug
// reports its address); on a run of several pages that unmap is partial (it unmaps the pages its
// size covers: the last describe block), which the tests before it never look past. The dummy page
// (D3) takes the window's top entry, TOP − 1.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IOMMU_BASE, IOMMU_WINDOW_PAGES, IOVA_MAG_SIZE, IommuMode, Kernel, OP_DIR_BITS, Op, Platform, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, alloc, allocCoherent, cpuWrite, devRead, map, mappingError, runOn, unmap, type OpWords, type Outcome } from './engineHarness.js';

const modern = { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.strict };
const TOP = IOMMU_WINDOW_PAGES;
const iova = (entry: number): number => IOMMU_BASE + entry * PAGE;
const probed = (o: Outcome): number[] => o.dma.filter((_, i) => o.classes[i] === 'unmap-size').map(Number);
const field = (o: Outcome, name: (typeof VIOLATION_FIELDS)[number]): bigint => o.violation![VIOLATION_FIELDS.indexOf(name)]!;

for (const engine of ENGINES) {
  describe(`6.12 IOVA allocation (engine ${engine})`, () => {
    it('top down, each run aligned to its power of two, a size under 32 pages rounded up to one', async () => {
      // 1 page: TOP − 2. 3 pages take 4, aligned to 4, ending at or below TOP − 2: TOP − 8.
      // 1 page below that: TOP − 9. 40 pages (not rounded) aligned to 64: TOP − 64.
      const sizes = [1, 3, 1, 40];
      const ops: OpWords[] = [
        ...sizes.flatMap((n, slot) => [alloc(slot, n), map(slot, BIDI, 0, n * PAGE)]),
        ...sizes.map((_, slot) => unmap(slot, BIDI, 1)),
      ];
      const o = await runOn(engine, modern, ops);
      assert.deepEqual(probed(o), [iova(TOP - 2), iova(TOP - 8), iova(TOP - 9), iova(TOP - 64)]);
      assert.equal(o.c.iommuPagesMapped, 1 + 3 + 1 + 40, 'only the pages asked for are mapped (the dummy page is not counted)');
    });

    it('2.6.37 keeps ppc64 next fit: the first streaming map follows the dummy page', async () => {
      const o = await runOn(engine, { ...modern, kernel: Kernel['2010'] }, [alloc(0), map(0), alloc(1, 3), map(1, BIDI, 0, 3 * PAGE), unmap(0, BIDI, 1), unmap(1, BIDI, 1)]);
      assert.deepEqual(probed(o), [iova(1), iova(2)]);
    });

    it('a stale handle after a strict unmap reaches the next mapping of its size class (the rcache hands the IOVA out again); 2.6.37 faults', async () => {
      const ops = [alloc(0), cpuWrite(0), map(0), unmap(0), alloc(1), cpuWrite(1), map(1), devRead(0)];
      const o = await runOn(engine, modern, ops);
      assert.equal(o.kind, ViolationKind.foreign);
      assert.equal(field(o, 'dmaAddr'), BigInt(iova(TOP - 2)));
      assert.notEqual(field(o, 'hopPfn'), -1n, 'the IOVA translates: to buffer 1\'s page');
      assert.equal(field(o, 'seenHi'), 2n, "buffer 1's (#2) data");
      const old = await runOn(engine, { ...modern, kernel: Kernel['2010'] }, ops);
      assert.deepEqual([old.kind, field(old, 'hopPfn')], [ViolationKind.foreign, -1n], 'next fit gave buffer 1 another IOVA: the stale one faults');
    });

    it('the rcache\'s magazines: 300 one-page IOVAs freed in order come back newest first, then from the older magazine, then the depot', async () => {
      // Frees 1..127 fill the loaded magazine; the 128th swaps in the empty prev and fills it; the
      // 255th finds both full, so the loaded one (frees 128..254) goes to the depot and frees
      // 255..300 start a new one. Gets: 300 down to 255 (46), then prev swaps in: free 127 down to
      // 1 (127), then the depot's magazine is loaded: free 254, 253.
      assert.equal(IOVA_MAG_SIZE, 127);
      const N = 300;
      const ops: OpWords[] = [];
      // Each map is checked (dma_mapping_error), so dma-debug's 100 records are the probes'.
      for (let b = 0; b < N; b++) ops.push(alloc(b), map(b), mappingError(b));
      for (let b = 0; b < N; b++) ops.push(unmap(b));
      for (let b = 0; b < 175; b++) ops.push(map(b), mappingError(b));
      for (const b of [0, 45, 46, 47, 172, 173, 174]) ops.push(unmap(b, BIDI, 1));
      const o = await runOn(engine, { ...modern, maxBuffers: N + 1 }, ops);
      const freed = (k: number) => iova(TOP - 2 - (k - 1)); // the k-th free (1-based) was buffer k − 1's IOVA
      assert.deepEqual(probed(o), [freed(300), freed(255), freed(127), freed(126), freed(1), freed(254), freed(253)]);
    });

    it('a full window empties the rcaches into the tree and tries again before a map fails (alloc_iova_fast, flush_rcache)', async () => {
      // The dummy page takes TOP − 1 and a one-page map TOP − 2; 511 maps of 1024 pages take every
      // 1024-aligned block below the top one; maps of 512, 256, …, 2 pages then fill that block up
      // to TOP − 2 (each from the retry above the cached node). Unmapping the 32- and 16-page runs
      // (TOP − 64 and TOP − 32) puts them in the rcache, still taken; a 48-page map (not cacheable,
      // aligned to 64) finds no room until the rcaches are emptied, then takes TOP − 64.
      const ops: OpWords[] = [alloc(0), map(0), mappingError(0), alloc(1, 1024)];
      for (let i = 0; i < 511; i++) ops.push(map(1, BIDI, 0, 1024 * PAGE), mappingError(1));
      const halves = [512, 256, 128, 64, 32, 16, 8, 4, 2];
      halves.forEach((n, k) => ops.push(alloc(2 + k, n), map(2 + k, BIDI, 0, n * PAGE), mappingError(2 + k)));
      const full = [...ops, alloc(11, 48), map(11, BIDI, 0, 48 * PAGE), mappingError(11)];
      const f = await runOn(engine, modern, full);
      assert.equal(f.c.mappingErrors, 1, 'nothing freed: the window is full');
      // Its IOVA read back: unmapped (not cacheable: out of the tree), the device's read through it faults there.
      ops.push(unmap(6, BIDI, 32 * PAGE), unmap(7, BIDI, 16 * PAGE), alloc(11, 48), map(11, BIDI, 0, 48 * PAGE), mappingError(11),
        unmap(11, BIDI, 48 * PAGE), devRead(11));
      const o = await runOn(engine, modern, ops);
      assert.equal(o.c.mappingErrors, 0);
      assert.deepEqual([o.kind, field(o, 'dmaAddr')], [ViolationKind.foreign, BigInt(iova(TOP - 64))]);
    });
  });

  describe(`An unmap of fewer pages than the mapping (engine ${engine})`, () => {
    // A 4-page map, then an unmap of 1 page at its handle (dma-debug: a different size). 6.12
    // __iommu_dma_unmap clears and frees by the caller's size: the page table loses page 0 only,
    // and free_iova_fast puts the IOVA in the 1-page class's rcache, so the next 1-page map gets
    // it while pages 1-3 still translate. 2.6.37 ppc64 __iommu_free clears 1 TCE and 1 bitmap bit.
    const partial = (more: OpWords[] = []): OpWords[] => [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0, 4 * PAGE), unmap(0, BIDI, PAGE), ...more];

    it('6.12 strict: the tail still translates to the page it mapped, and the IOVA goes to the smaller class', async () => {
      const o = await runOn(engine, modern, partial([devRead(0, 2 * PAGE, PAGE), alloc(1), map(1), unmap(1, BIDI, 1)]));
      assert.equal(o.c.iommuPagesUnmapped, 1 + 1, "one page unmapped, as asked (and the probe's own)");
      assert.equal(o.kind, ViolationKind.none, "the device read the unmapped buffer's page 2 through its stale handle, and saw its data");
      assert.deepEqual(probed(o), [iova(TOP - 8), iova(TOP - 8)], "the 1-page map got the 4-page run's IOVA from the 1-page rcache");
      // Page 0 was overwritten by buffer 1's mapping; a read of the old handle's page 0 sees buffer 1's page.
      const p0 = await runOn(engine, modern, partial([alloc(1), cpuWrite(1), map(1), devRead(0, 0, PAGE)]));
      assert.deepEqual([p0.kind, field(p0, 'seenHi')], [ViolationKind.foreign, 2n]);
    });

    it('6.12 lazy: one page queued, the tail still reachable', async () => {
      const o = await runOn(engine, { ...modern, iommuMode: IommuMode.lazy }, partial([devRead(0, 3 * PAGE, PAGE)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.c.iommuPagesQueued, o.kind], [1, 1, ViolationKind.none]);
    });

    it('2.6.37: one entry cleared; the tail stays mapped and taken (next fit steps over it)', async () => {
      const old = { ...modern, kernel: Kernel['2010'] };
      const o = await runOn(engine, old, partial([devRead(0, PAGE, 3 * PAGE), alloc(1), map(1), unmap(1, BIDI, 1)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind], [1 + 1, ViolationKind.none], "one page unmapped, as asked (and the probe's own)");
      assert.deepEqual(probed(o), [iova(1), iova(5)]);
      // Next fit to the window's end (511 runs of 1024 and one of 1019 after entry 4), then a wrap:
      // a 2-page map finds only entry 1 free below the hint (2–4 are the tail's), so it fails.
      const fill: OpWords[] = [alloc(1, 1024), ...Array.from({ length: 511 }, () => map(1, BIDI, 0, 1024 * PAGE)), alloc(2, 1019), map(2, BIDI, 0, 1019 * PAGE)];
      const full = await runOn(engine, old, partial([...fill, alloc(3, 2), map(3, BIDI, 0, 2 * PAGE)]));
      assert.equal(full.c.mappingErrors, 1, 'the tail stays taken: no 2-page room after the wrap');
      const p0 = await runOn(engine, old, partial([devRead(0, 0, PAGE)]));
      assert.deepEqual([p0.kind, field(p0, 'hopPfn')], [ViolationKind.foreign, -1n], 'page 0 was unmapped: the read faults');
    });

    it('dma_free_coherent with a smaller size unmaps that many IOVA pages, on both eras', async () => {
      for (const kernel of [Kernel.modern, Kernel['2010']]) {
        const o = await runOn(engine, { ...modern, kernel }, [allocCoherent(0, 4), [Op.FREE_COHERENT, 0, 2 * PAGE]]);
        assert.deepEqual([o.c.iommuPagesMapped, o.c.iommuPagesUnmapped], [4, 2], `kernel ${kernel}`);
      }
    });
  });

  describe(`An unmap inside a mapping, behind an IOMMU (engine ${engine})`, () => {
    // A kernel trace's dma_unmap_page at handle + offset (Op.UNMAP_AT: slot, size, offset, form 0,
    // dir). The kernel does not look for the mapping: from the address's IOVA page, 6.12 clears the
    // pages that translate, up to the size, and frees that IOVA (free_iova_fast); 2.6.37 ppc64
    // __iommu_free clears the entries asked. A driver unmapping a 4-page mapping in two pieces:
    const unmapAt = (slot: number, size: number, offset: number): OpWords => [Op.UNMAP_AT, slot, size, offset, 0, BIDI];
    const split = (more: OpWords[] = []): OpWords[] => [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0, 4 * PAGE),
      unmap(0, BIDI, 2 * PAGE), unmapAt(0, 2 * PAGE, 2 * PAGE), ...more];

    it('6.12 strict: both pieces unmapped, the tail\'s IOVA (inside the run) handed to the next map of its class first', async () => {
      const o = await runOn(engine, modern, split([devRead(0, 3 * PAGE, PAGE)]));
      assert.equal(o.c.iommuPagesUnmapped, 4);
      assert.deepEqual([o.kind, field(o, 'hopPfn')], [ViolationKind.foreign, -1n], 'page 3 no longer translates: the read faults');
      const two = (slot: number): OpWords[] => [alloc(slot, 2), map(slot, BIDI, 0, 2 * PAGE), unmap(slot, BIDI, 1)];
      const r = await runOn(engine, modern, split([...two(1), ...two(2)]));
      assert.deepEqual(probed(r), [iova(TOP - 8), iova(TOP - 6), iova(TOP - 8)], 'the head, then the two 2-page maps: the tail\'s IOVA, then the head\'s');
    });

    it('6.12 lazy: both pieces queued; a second unmap of the same pages finds nothing in the page table', async () => {
      const o = await runOn(engine, { ...modern, iommuMode: IommuMode.lazy }, split([unmapAt(0, 2 * PAGE, 2 * PAGE)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.c.iommuPagesQueued, o.c.unmaps], [4, 4, 3]);
    });

    it('2.6.37: every entry asked is cleared', async () => {
      const o = await runOn(engine, { ...modern, kernel: Kernel['2010'] }, split([devRead(0, 3 * PAGE, PAGE)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind, field(o, 'hopPfn')], [4, ViolationKind.foreign, -1n]);
    });

    it('6.12: an inside free of a class too large for the rcache takes the whole run out of the tree (free_iova), head still mapped', async () => {
      const o = await runOn(engine, modern, [alloc(0, 128), map(0, BIDI, 0, 128 * PAGE), unmapAt(0, 64 * PAGE, 64 * PAGE),
        devRead(0, 0, PAGE), alloc(1, 128), map(1, BIDI, 0, 128 * PAGE), unmap(1, BIDI, 1)]);
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind], [64 + 1, ViolationKind.none], "buffer 0's head still translates");
      // dma-debug: the inside unmap (nothing starts there), then buffer 1's probe, which finds buffer
      // 0's entry beside its own at the same address (two entries, neither a perfect fit).
      assert.deepEqual([o.classes, o.dma.map(Number)], [['unmap-unknown', 'unmap-unknown'], [iova(TOP - 192), iova(TOP - 256)]],
        "buffer 1 was given buffer 0's IOVA range");
    });
  });

  describe(`The platform's unmap works from the address, not the mapping (engine ${engine})`, () => {
    // 6.12 __iommu_dma_unmap: iommu_unmap_fast clears the pages the size covers from the handle's
    // IOVA page (x86's page tables go on over empty entries), past the mapping's end; the IOVA is
    // freed under the size asked; iommu_dma_unmap_page does nothing when the first page does not
    // translate, iommu_dma_free has no such check. 2.6.37 ppc64 __iommu_free: the entries asked.
    const unmapAt = (slot: number, size: number, offset: number): OpWords => [Op.UNMAP_AT, slot, size, offset, 0, BIDI];
    // Buffer 1 (2 pages) mapped first takes TOP − 4; buffer 0 (2 pages) below it, TOP − 6. Buffer 0
    // is then unmapped with a 4-page size: its pages and buffer 1's.
    const over = (more: OpWords[] = []): OpWords[] => [alloc(1, 2), cpuWrite(1, 0, 2 * PAGE), map(1, BIDI, 0, 2 * PAGE),
      alloc(0, 2), cpuWrite(0, 0, 2 * PAGE), map(0, BIDI, 0, 2 * PAGE), unmap(0, BIDI, 4 * PAGE), ...more];

    it('6.12 strict: an unmap larger than its mapping clears the next mapping\'s pages, and that mapping\'s own unmap then does nothing', async () => {
      const o = await runOn(engine, modern, over([devRead(1, 0, PAGE)]));
      assert.equal(o.c.iommuPagesUnmapped, 4, "buffer 0's two pages and buffer 1's");
      assert.deepEqual([o.kind, field(o, 'hopPfn')], [ViolationKind.foreign, -1n], "buffer 1's page no longer translates: the read faults");
      assert.deepEqual(probed(o), [iova(TOP - 6)]);
      // Buffer 1's unmap finds its first page untranslated (the WARN): nothing unmapped, its IOVA
      // stays taken, so the next 2-page map comes from the tree below, not from the 2-page rcache.
      const r = await runOn(engine, modern, over([unmap(1, BIDI, 2 * PAGE), alloc(2, 2), map(2, BIDI, 0, 2 * PAGE), unmap(2, BIDI, 1)]));
      assert.equal(r.c.iommuPagesUnmapped, 4 + 0 + 1);
      assert.deepEqual(probed(r), [iova(TOP - 6), iova(TOP - 8)], "buffer 0's 4-page free went to the 4-page class; buffer 1's IOVA was never freed");
    });

    it('6.12 lazy: the same pages are queued, and the next mapping is out of reach', async () => {
      const o = await runOn(engine, { ...modern, iommuMode: IommuMode.lazy }, over([devRead(1, 0, PAGE)]));
      assert.deepEqual([o.c.iommuPagesUnmapped, o.c.iommuPagesQueued, o.kind, field(o, 'hopPfn')], [4, 4, ViolationKind.foreign, -1n]);
    });

    it('6.12: an sg entry\'s unmap has no such check (iommu_dma_unmap_sg): it clears and frees its IOVA though its pages no longer translate', async () => {
      // Buffer 1 mapped as a one-entry sg list (call 1), then unmapped by dma_unmap_sg after buffer 0's large unmap.
      const sgMap = (slot: number, pages: number): OpWords => [Op.MAP, slot, BIDI | (1 << OP_DIR_BITS), 0, pages * PAGE, 1];
      const sgUnmap = (slot: number, pages: number): OpWords => [Op.UNMAP, slot, BIDI | (1 << OP_DIR_BITS), pages * PAGE];
      const ops: OpWords[] = [alloc(1, 2), sgMap(1, 2), alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), unmap(0, BIDI, 4 * PAGE), sgUnmap(1, 2),
        alloc(2, 2), map(2, BIDI, 0, 2 * PAGE), unmap(2, BIDI, 1)];
      const o = await runOn(engine, modern, ops);
      assert.equal(o.c.iommuPagesUnmapped, 4 + 2 + 1, "the entry's two (empty) entries cleared again");
      assert.deepEqual(probed(o), [iova(TOP - 6), iova(TOP - 4)], "the entry's IOVA went to the 2-page rcache, and the next 2-page map got it");
    });

    it('6.12: dma_free_coherent frees its IOVA even when its pages no longer translate', async () => {
      const ops: OpWords[] = [allocCoherent(1, 2), alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), unmap(0, BIDI, 4 * PAGE),
        [Op.FREE_COHERENT, 1, 2 * PAGE], alloc(2, 2), map(2, BIDI, 0, 2 * PAGE), unmap(2, BIDI, 1)];
      const cut = await runOn(engine, modern, [...ops.slice(0, 4), devRead(1, PAGE, PAGE)]);
      assert.deepEqual([cut.kind, field(cut, 'hopPfn')], [ViolationKind.foreign, -1n], "the allocation's pages no longer translate before its free");
      const o = await runOn(engine, modern, ops);
      assert.equal(o.c.iommuPagesUnmapped, 4 + 2 + 1, "buffer 0's unmap took the allocation's two pages; its free clears their empty entries again (x86 counts them)");
      assert.deepEqual(probed(o), [iova(TOP - 6), iova(TOP - 4)], "the coherent allocation's IOVA went to the 2-page rcache, and the next 2-page map got it");
    });

    it('6.12 strict: an unmap at a mapping\'s handle after an unmap inside it clears every page asked, past the hole', async () => {
      const ops: OpWords[] = [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0, 4 * PAGE), unmapAt(0, PAGE, PAGE), unmap(0, BIDI, 4 * PAGE)];
      const o = await runOn(engine, modern, [...ops, devRead(0, 3 * PAGE, PAGE)]);
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind, field(o, 'hopPfn')], [1 + 4, ViolationKind.foreign, -1n], 'page 3 no longer translates');
      // Its first page cleared, the same unmap does nothing (iommu_dma_unmap_page's WARN).
      const u = await runOn(engine, modern, [alloc(0, 4), cpuWrite(0, 0, 4 * PAGE), map(0, BIDI, 0, 4 * PAGE), unmapAt(0, PAGE, 0)]);
      assert.equal(u.c.iommuPagesUnmapped, 1, 'an unmap of one page at the handle');
    });

    it('6.12: the rcache hands out a run only where it fits under the window\'s top (iova_magazine_pop)', async () => {
      // A 1-page map at TOP − 2, unmapped with a 3-page size: TOP − 2 and the dummy page's TOP − 1
      // are cleared (the window ends there), and TOP − 2 is filed in the 4-page class, where it
      // does not fit: the next 4-page map comes from the tree.
      const o = await runOn(engine, modern, [alloc(0), map(0), unmap(0, BIDI, 3 * PAGE), alloc(1, 4), map(1, BIDI, 0, 4 * PAGE), unmap(1, BIDI, 1)]);
      assert.equal(o.c.iommuPagesUnmapped, 2 + 1);
      assert.deepEqual(probed(o), [iova(TOP - 2), iova(TOP - 8)]);
    });

    it('2.6.37: an unmap larger than its mapping clears the entries after it, another mapping\'s', async () => {
      // Next fit: buffer 0 at entries 1-2 (after the dummy page), buffer 1 at 3-4.
      const ops: OpWords[] = [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), alloc(1, 2), cpuWrite(1, 0, 2 * PAGE), map(1, BIDI, 0, 2 * PAGE),
        unmap(0, BIDI, 4 * PAGE), devRead(1, PAGE, PAGE)];
      const o = await runOn(engine, { ...modern, kernel: Kernel['2010'] }, ops);
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind, field(o, 'hopPfn')], [4, ViolationKind.foreign, -1n]);
    });

    it('a kernel trace\'s unmap inside a coherent allocation is the platform\'s unmap there too', async () => {
      const o = await runOn(engine, modern, [allocCoherent(0, 4), cpuWrite(0, 0, 4 * PAGE), unmapAt(0, PAGE, 2 * PAGE), devRead(0, 2 * PAGE, PAGE)]);
      assert.deepEqual([o.c.iommuPagesUnmapped, o.kind, field(o, 'hopPfn')], [1, ViolationKind.foreign, -1n]);
    });
  });
}
