// The guest page allocator and the script's buffers (docs/ENGINE.md §1, §3, §4): buddy order and
// LIFO heads, failed buffers, buffer ids, and init's layout check, on both engines. A buffer's
// pfn is read back from dma-debug: on bare metal an unmap of a never-mapped buffer reports
// `unmap-unknown` at pfn << 12 (D10).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InitError, Kernel, Platform, Zone } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, alloc, allocCoherent, cpuRead, cpuWrite, firstFreePfn, free, initOn, map, runOn, unmap, type OpWords,
} from './engineHarness.js';

const bare = { platform: Platform['bare-metal'] };

for (const engine of ENGINES) {
  describe(`page allocator and buffers (engine ${engine})`, () => {
    it('alloc then free restores the counters; buffer ids count failures too', async () => {
      const o = await runOn(engine, bare, [alloc(0, 3), free(0), alloc(1, 1024, Zone.normal), alloc(2, 1)]);
      assert.deepEqual([o.c.pagesAllocated, o.c.pagesFreed, o.c.allocFailures], [4 + 1024 + 1, 4, 0]);
      assert.equal(o.invariants, 0);
    });

    it('a failed buffer ignores every op until it is freed', async () => {
      // 64 MiB guest, 16 MiB pool: the buddy gets [8201, 16384), seven order-10 blocks; slot 15's alloc fails.
      const ops: OpWords[] = [];
      for (let i = 0; i < 16; i++) ops.push(alloc(i, 1024));
      ops.push(map(15), cpuWrite(15), cpuRead(15), free(15));
      const o = await runOn(engine, { ...bare, ramPages: 8192 + 4096 + 4096, nslabs: 8192 }, ops);
      assert.ok(o.c.allocFailures > 0);
      assert.equal(o.c.maps, 0);
      assert.equal(o.c.cpuWrites, 0);
      assert.equal(o.invariants, 0);
    });

    it('alloc/free round trip returns the same block (LIFO buddy)', async () => {
      const { c, records } = await runOn(engine, bare, [alloc(0, 3), free(0), alloc(1, 3), unmap(1)]);
      assert.equal(c.pagesAllocated, 8); assert.equal(c.pagesFreed, 4);
      const again = await runOn(engine, bare, [alloc(1, 3), unmap(1)]);
      assert.deepEqual(records[0]![2], again.records[0]![2]);
    });

    it('splits keep the lower half and LIFO heads: the smallest free block at the ragged start goes first (twin of the Buddy piece)', async () => {
      // The buddy gets pfns [20489, 131072): 20489 is a lone order-0 block, 20490 an order-1 block.
      // The first order-0 alloc takes 20489; the second splits 20490 and keeps its lower half; the
      // third takes the upper half, now the head of order 0.
      const first = firstFreePfn(32768);
      assert.equal(first, 20489);
      const o = await runOn(engine, bare, [alloc(0), alloc(1), alloc(2), unmap(0), unmap(1), unmap(2)]);
      assert.deepEqual(o.classes, ['unmap-unknown', 'unmap-unknown', 'unmap-unknown']);
      assert.deepEqual(o.dma, [first, first + 1, first + 2].map((pfn) => BigInt(pfn * PAGE)));
    });

    it('freeing everything merges back: the order-10 block is again the head (twin of the Buddy piece)', async () => {
      // The highest order-10 block, 130048, is the head of list 10; small allocations in between
      // take the ragged start, and once all is freed (merging) the same block comes back first.
      const probe = [alloc(9, 1024), unmap(9)];
      const ops = [alloc(0), alloc(1, 4), alloc(2, 1024), alloc(3, 32), alloc(4, 2), free(2), free(0), free(4), free(3), free(1)];
      const o = await runOn(engine, bare, [...ops, ...probe]);
      assert.deepEqual(o.dma, [BigInt(130048 * PAGE)]);
      assert.equal(o.c.pagesAllocated - 1024, o.c.pagesFreed);
      assert.equal(o.invariants, 0);
    });

    it('RAM too small for the fixed layout is INIT_LAYOUT', async () => {
      assert.equal(await initOn(engine, { platform: Platform['bare-metal'], ramPages: 4096 }), InitError.LAYOUT);
    });
  });
}

// dma_alloc_coherent's zone for a 32-bit device: dma-direct needs DMA32 (GFP_DMA32 from the
// coherent mask); behind an IOMMU the IOVA brings the block within the mask, so no zone is
// asked (2.6.37 ppc64 iommu_alloc_coherent: the caller's flags; 6.12 dma_alloc_attrs clears the
// zone flags and iommu_dma_alloc adds none): Normal first. A 4 GiB + 4 MiB machine whose swiotlb
// pool fills DMA32 up to 4087 free pages; the allocations below take them all (the 8-page one and
// each second try fail), then a one-page coherent allocation.
const bigPool = { ramPages: 2 ** 20 + 1024, nslabs: 2 * (2 ** 20 - 8192), maxBuffers: 32 };
const fillDma32: OpWords[] = [
  ...[0, 1, 2, 3].map((s) => alloc(s, 1024)),
  ...Array.from({ length: 20 }, (_, i) => alloc(4 + i, 2 ** (9 - (i >> 1)))),
];
for (const engine of ENGINES) {
  describe(`coherent memory's zone (engine ${engine})`, () => {
    for (const kernel of [Kernel['2010'], Kernel.modern]) {
      it(`kernel ${kernel ? 'modern' : '2010'}: DMA32 is full after the fill; iommu takes the coherent page from Normal, dma-direct fails`, async () => {
        const iommu = { ...bigPool, platform: Platform.iommu, kernel };
        const base = await runOn(engine, iommu, fillDma32);
        const probe = await runOn(engine, iommu, [...fillDma32, alloc(24, 1, Zone.dma32)]);
        assert.equal(probe.c.allocFailures, base.c.allocFailures + 1, 'DMA32 has no page left');
        const onIommu = await runOn(engine, iommu, [...fillDma32, allocCoherent(24, 1)]);
        assert.deepEqual([onIommu.c.coherentAllocs, onIommu.c.allocFailures], [1, base.c.allocFailures]);
        const direct = await runOn(engine, { ...iommu, platform: Platform['bare-metal'] }, [...fillDma32, allocCoherent(24, 1)]);
        assert.deepEqual([direct.c.coherentAllocs, direct.c.allocFailures], [0, base.c.allocFailures + 1]);
      });
    }
  });
}
