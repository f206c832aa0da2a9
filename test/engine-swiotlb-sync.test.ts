// A sync at a bounce address the driver no longer holds a live mapping for, or past its end
// (docs/ENGINE.md §5). 2.6.37's swiotlb_tbl_sync_single copies between the slot and its
// io_tlb_orig_addr, which unmap never clears, for the whole size asked; 6.12's swiotlb_bounce
// copies nothing once the slot is released (orig_addr INVALID_PHYS_ADDR) and cuts a size past the
// mapping's end to it ("Buffer overflow detected"). swiotlb=force, an AGP bridge (no dummy page).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, Kernel, Platform, ViolationKind } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, TO_DEV, overflowPfn, alloc, cpuRead, cpuWrite, devRead, map, runOn, syncCpu, syncDev, unmap } from './engineHarness.js';

const force = { platform: Platform['swiotlb-force'], gartFamily: GartFamily.agp };
const era = (kernel: number) => ({ ...force, kernel });

// The CPU writes v1, maps (v1 to the slot), unmaps (v1 back), writes v2, then syncs for the CPU at
// the dead mapping's address (D10: the last mapping covers the start), then reads.
const afterUnmap = [alloc(0), cpuWrite(0), map(0, BIDI), unmap(0, BIDI), cpuWrite(0), syncCpu(0, BIDI), cpuRead(0)];
// One page mapped of a two-page buffer; a sync for the device of both pages.
const overrun = [alloc(0, 2), map(0, TO_DEV, 0, PAGE), syncDev(0, TO_DEV, 0, 2 * PAGE)];
// A 128-slot pool: A maps and unmaps at slots 0-1; 63 maps of B move the cursor round, so C's
// map takes slots 0-1; the CPU writes C (after its map: the bounce is stale), then a stray
// sync for the device at A's dead address, then the device reads C.
const reused = [alloc(0), alloc(1), alloc(2), map(0, TO_DEV), unmap(0, TO_DEV),
  ...Array.from({ length: 63 }, () => [map(1, TO_DEV), unmap(1, TO_DEV)]).flat(), map(2, TO_DEV), cpuWrite(2), syncDev(0, TO_DEV), devRead(2)];

// A 128-slot pool: buffer 0's page takes 2 slots, so buffer 1's 64 pages (128 slots) do not fit and its
// map fails; a script or a driver that does not check syncs page 1 of buffer 1 at its handle plus 4096.
const failed = [alloc(0), map(0, BIDI), alloc(1, 64), map(1, BIDI, 0, 64 * PAGE), syncCpu(1, BIDI, PAGE, 16)];

for (const engine of ENGINES) {
  describe(`a sync the mapping does not cover (engine ${engine})`, () => {
    it('a sync inside a map that failed is at its error handle plus the offset (6.12: DMA_MAPPING_ERROR + 4096 wraps to 0xfff)', async () => {
      const m = await runOn(engine, { ...era(Kernel.modern), nslabs: 128 }, failed);
      assert.equal(m.c.mappingErrors, 1);
      assert.deepEqual([m.classes.at(-1), m.dma.at(-1)], ['sync-unknown', 0xfffn]);
      const o = await runOn(engine, { ...era(Kernel['2010']), nslabs: 128 }, failed);
      assert.equal(o.c.mappingErrors, 1);
      assert.deepEqual([o.classes.at(-1), o.dma.at(-1)], ['sync-unknown', BigInt(overflowPfn(128) * PAGE + PAGE)], "2.6.37: the overflow buffer's bus address plus 4096");
    });

    it('2010: a sync for the CPU after unmap copies the slot\'s old contents over the CPU\'s newer write: the CPU reads stale data', async () => {
      const o = await runOn(engine, era(Kernel['2010']), afterUnmap);
      assert.equal(o.c.bounceBytes, 3 * PAGE, 'map, unmap and the sync each copy a page');
      assert.equal(o.kind, ViolationKind.stale);
      assert.ok(o.c.staleReads > 0);
    });
    it('modern: the same sync copies nothing (the released slot\'s orig_addr is invalid): the CPU reads its write', async () => {
      const o = await runOn(engine, era(Kernel.modern), afterUnmap);
      assert.equal(o.c.bounceBytes, 2 * PAGE);
      assert.equal(o.kind, ViolationKind.none);
    });
    for (const kernel of [Kernel['2010'], Kernel.modern]) {
      it(`${kernel ? 'modern' : '2010'}: a stray sync at a dead address copies for whoever holds the slot now: C's own data reaches its bounce`, async () => {
        const o = await runOn(engine, { ...era(kernel), nslabs: 128 }, reused);
        assert.equal(o.c.bounceBytes, 66 * PAGE, 'A, 63 × B and C map one page each (to_device), and the sync copies C\'s page');
        assert.equal(o.kind, ViolationKind.none, 'the device reads what the CPU wrote');
      });
    }
    it('2010: a sync past the mapping\'s end copies the whole size asked (no bounds check)', async () => {
      const o = await runOn(engine, era(Kernel['2010']), overrun);
      assert.equal(o.c.bounceBytes, PAGE + 2 * PAGE);
    });
    it('modern: a sync past the mapping\'s end is cut to the mapping (swiotlb_bounce: size > alloc_size)', async () => {
      const o = await runOn(engine, era(Kernel.modern), overrun);
      assert.equal(o.c.bounceBytes, PAGE + PAGE);
    });
  });
}
