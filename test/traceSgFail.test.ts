// A dma_map_sg whose entry fails to map on the simulated platform (a full swiotlb) fails as a
// whole, as the kernel's does (6.12 dma_direct_map_sg, xen_swiotlb_map_sg; 2.6.37
// swiotlb_map_sg_attrs, xen_swiotlb_map_sg_attrs): the entries mapped before it are unmapped at
// once — 6.12 without a copy back (DMA_ATTR_SKIP_CPU_SYNC), 2.6.37 copying back — the entries after
// it are never mapped, and dma-debug files none of them. On both engines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ev, replayJson, traceFile } from './traceLines.js';

const K = 1024;
const single = (i: number) => 0x2000_0000 + i * 0x10_0000;
const sgPhys = [0, 1, 2, 3, 4].map((i) => 0x3000_0000 + i * 0x10_0000);
const late = 0x5000_0000;

/**
 * A 2 MiB swiotlb (1,024 slots of 2 KiB): six 256 KiB maps leave 254 slots (the run each takes is
 * 128 slots and one of the pool's runs is short), so of a list of five 128 KiB (64-slot) entries
 * three map and the fourth finds the pool full. The list is unmapped at once; then a 256 KiB map
 * needs 128 free slots: there only if the failed list gave back what its entries took.
 */
function trace(dir: string): string {
  return traceFile(`sg-fail-${dir}.trace`, [
    ...[0, 1, 2, 3, 4, 5].map((i) => ev.mapPhys('TO_DEVICE', single(i), 256 * K, single(i))),
    ev.mapSg(dir, sgPhys, sgPhys.map((p) => p + 0x1000_0000), sgPhys.map(() => 128 * K)),
    ev.unmapSg(dir, sgPhys),
    ev.mapPhys('TO_DEVICE', late, 256 * K, late),
    ev.unmapPhys('TO_DEVICE', late, 256 * K),
    ...[0, 1, 2, 3, 4, 5].map((i) => ev.unmapPhys('TO_DEVICE', single(i), 256 * K)),
  ]);
}

type Run = { counters: Record<string, number>; dmaDebug: { class: string; op: number; message: string }[] };
const run = (path: string, platform: string, kernel: string, engine: string): Run =>
  replayJson(path, '--platform', platform, '--kernel', kernel, '--swiotlb', '2M', '--engine', engine, '--ram', '512M', '--host-ram', '6G', '--xen-low-free', '128M');

describe('trace: an sg list whose entry finds the pool full fails as a whole', () => {
  for (const kernel of ['modern', '2010']) {
    for (const platform of kernel === 'modern' ? ['swiotlb-force', 'xen-pv', 'coco'] : ['swiotlb-force', 'xen-pv']) {
      it(`${kernel} ${platform}: the entries mapped before it give their slots back, the ones after it are never mapped, dma-debug filed none`, () => {
        const path = trace('FROM_DEVICE');
        const [w, j] = ['wasm', 'js'].map((e) => run(path, platform, kernel, e));
        assert.deepEqual(w!.counters, j!.counters, 'the engines agree');
        assert.deepEqual(w!.dmaDebug, j!.dmaDebug, 'the engines agree on dma-debug');
        const c = w!.counters;
        // 6 + 4 (the fifth entry is never tried) + the late map, which found its slots.
        assert.equal(c.maps, 11);
        assert.equal(c.swiotlbFull, 1, 'only the fourth entry found the pool full');
        assert.equal(c.mappingErrors, 1);
        assert.equal(c.bounces, 10);
        // The list's unmap (after traceFile's 4 header lines, the six maps and the list's map): every
        // entry is "not allocated" — none was ever filed.
        const atUnmap = w!.dmaDebug.filter((d) => d.op === 4 + 6 + 2);
        assert.equal(atUnmap.length, 5, JSON.stringify(atUnmap));
        assert.ok(atUnmap.every((d) => d.class === 'unmap-unknown'), JSON.stringify(atUnmap));
        assert.equal(w!.dmaDebug.length, 5, 'nothing else: the late map and the singles unmap cleanly');
        if (!(kernel === '2010' && platform === 'xen-pv')) {
          // The entry after the failed one never got an address (0); 2.6.37 Xen's error code is 0 too.
          assert.match(atUnmap.at(-1)!.message, /\[device address=0x0000000000000000\]/);
        }
      });
    }
  }

  it('behind an IOMMU (lazy, 6.12\'s default) the call frees its IOVAs at once and leaves every entry an invalid address, both eras', () => {
    // The IOVA window holds 2 GiB: 510 maps of 4 MiB leave under 2 MiB beyond two 3 MiB entries, so
    // the third fails; the late 4 MiB map then fits only if the first two gave their IOVAs back at
    // once (iommu_dma_map_sg frees with no gather, not through the flush queue).
    const M = 2 ** 20;
    const big = (i: number) => 0x1000_0000 + i * 4 * M;
    const phys = [0, 1, 2].map((i) => 0x1_1000_0000 + i * 3 * M);
    const path = traceFile('sg-fail-iommu.trace', [
      ...Array.from({ length: 510 }, (_, i) => ev.mapPhys('TO_DEVICE', 0x1_0000_0000 + i * 4 * M, 4 * M, big(i))),
      ev.mapSg('FROM_DEVICE', phys, phys.map((p) => p + 0x1_0000_0000), phys.map(() => 3 * M)),
      ev.unmapSg('FROM_DEVICE', phys),
      ev.mapPhys('TO_DEVICE', 0x3_0000_0000, 4 * M, 0x1_2000_0000),
      ev.unmapPhys('TO_DEVICE', 0x3_0000_0000, 4 * M),
      ...Array.from({ length: 510 }, (_, i) => ev.unmapPhys('TO_DEVICE', 0x1_0000_0000 + i * 4 * M, 4 * M)),
    ]);
    for (const kernel of ['modern', '2010']) {
      const [w, j] = ['wasm', 'js'].map((e) => replayJson(path, '--platform', 'iommu', '--kernel', kernel, '--ram', '8G', '--engine', e) as Run);
      assert.deepEqual(w!.counters, j!.counters, `${kernel}: the engines agree`);
      assert.deepEqual(w!.dmaDebug, j!.dmaDebug, `${kernel}: the engines agree on dma-debug`);
      assert.equal(w!.counters.mappingErrors, 1, `${kernel}: only the third entry failed; the late map found IOVAs`);
      const atUnmap = w!.dmaDebug.filter((d) => d.op === 4 + 510 + 2);
      assert.equal(atUnmap.length, 3, JSON.stringify(w!.dmaDebug));
      // 6.12 __invalidate_sg marks every entry DMA_MAPPING_ERROR; 2.6.37 ppc64 iommu_map_sg marks
      // the two it undid DMA_ERROR_CODE and never set the failed one (0).
      if (kernel === 'modern') for (const d of atUnmap) assert.match(d.message, /invalid DMA memory address/);
      else {
        for (const d of atUnmap.slice(0, 2)) assert.match(d.message, /invalid DMA memory address/);
        assert.match(atUnmap[2]!.message, /not allocated \[device address=0x0000000000000000\]/);
      }
      assert.equal(w!.dmaDebug.length, 3, `${kernel}: every other unmap is clean, nothing leaks`);
      // 6.12 takes one IOVA for the list and fails before mapping anything; 2.6.37 mapped the two
      // entries and unmapped them (768 pages each).
      const c = (w as unknown as { extra: Record<string, number> }).extra;
      assert.deepEqual((j as unknown as { extra: unknown }).extra, c, `${kernel}: the engines agree on the IOMMU's counts`);
      assert.equal(c.iommuPagesMapped, 511 * 1024 + (kernel === 'modern' ? 0 : 2 * 768));
      assert.equal(c.iommuPagesUnmapped, 511 * 1024 + (kernel === 'modern' ? 0 : 2 * 768));
    }
  });

  it('6.12 unmaps the mapped entries without a copy back (DMA_ATTR_SKIP_CPU_SYNC); 2.6.37 copies each back', () => {
    const path = trace('FROM_DEVICE');
    const modern = run(path, 'swiotlb-force', 'modern', 'wasm').counters;
    const old = run(path, 'swiotlb-force', '2010', 'wasm').counters;
    // 6.12 copies in at every map: the seven 256 KiB maps and the three entries that mapped.
    assert.equal(modern.bounceBytes, 7 * 256 * K + 3 * 128 * K);
    // 2.6.37 copies in only for the device (the seven TO_DEVICE maps), copies the three FROM_DEVICE
    // entries back when the call fails, and again when the trace unmaps the list: do_unmap_single
    // copies by the slot at the address, whose io_tlb_orig_addr an unmap never clears.
    assert.equal(old.bounceBytes, 7 * 256 * K + 3 * 128 * K + 3 * 128 * K);
  });
});
