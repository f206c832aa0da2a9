// Both engines, random DMA-API sequences behind an IOMMU and through a small swiotlb pool: maps,
// unmaps smaller than, equal to and larger than their buffer, unmaps inside a mapping or a coherent
// allocation (a kernel trace's Op.UNMAP_AT; inside a dead mapping, the piece a smaller unmap left;
// inside a live run of bounce slots), one-entry sg lists and their unchecked unmaps, a trace's
// unmaps after unmap (at the handle again, unless retaken), syncs anywhere in a buffer, device
// reads and writes, coherent frees with odd sizes; 6.12 lazy and strict and 2.6.37, and swiotlb=force
// on both kernels. Every outcome (counters, first violation's words, dma-debug reports) must be the
// same on the Wasm engine and the reference model, also at cut points where a device read probes a
// slot the last unmap named, and in long sequences whose flush queue fills (docs/ENGINE.md §8
// "Unmap", §5). The general differential fuzz (differential.test.ts) never unmaps past a buffer or inside one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IommuMode, Kernel, OP_ATTR_AFTER_UNMAP, OP_DIR_BITS, Op, Platform } from '../src/engine/abi.js';
import { XorShift32 } from '../src/rand.js';
import { type OpWords, PAGE, alloc, allocCoherent, cpuWrite, devRead, devWrite, free, map, runOn, unmap } from './engineHarness.js';

const PAGES = [1, 1, 2, 3, 4, 8, 16];
/** `len` ops over 6 buffer slots: each allocated (a sixth coherent) and written, then mapped (or as an sg entry),
 * unmapped with any size (or as an sg entry, or after its unmap), unmapped inside, read and written by the device, or freed. */
function genOps(seed: number, len: number): OpWords[] {
  const r = new XorShift32(seed);
  const ri = (n: number) => r.int(0, n - 1);
  const slots: ({ pages: number; coh: boolean } | null)[] = Array(6).fill(null);
  const out: OpWords[] = [];
  let calls = 0;
  while (out.length < len) {
    const s = ri(slots.length);
    const b = slots[s];
    const dir = ri(3);
    if (!b) {
      const pages = PAGES[ri(PAGES.length)]!;
      const coh = ri(6) === 0;
      out.push(coh ? allocCoherent(s, pages) : alloc(s, pages));
      if (!coh) out.push(cpuWrite(s, 0, pages * PAGE));
      slots[s] = { pages, coh };
      continue;
    }
    const bytes = b.pages * PAGE;
    const k = ri(100);
    if (k < 40 && !b.coh) {
      const off = ri(3) === 0 ? ri(bytes) : 0;
      // a quarter as a one-entry dma_map_sg call (its own call number)
      out.push(ri(4) === 0 ? [Op.MAP, s, dir | (1 << OP_DIR_BITS), off, 1 + ri(bytes - off), ++calls] : map(s, dir, off, 1 + ri(bytes - off)));
    } else if (k < 65) {
      // wrong-size unmap: smaller, exact or larger than the buffer; a quarter as dma_unmap_sg's entry
      // (unchecked on 6.12), a sixth as a kernel trace's unmap at the handle after its unmap (and a
      // twelfth as a trace's dma_unmap_sg after its unmap)
      const size = ri(3) === 0 ? bytes : 1 + ri(bytes + 8 * PAGE);
      const how = ri(12);
      out.push(how < 3 ? [Op.UNMAP, s, dir | (1 << OP_DIR_BITS), size, how === 0 ? OP_ATTR_AFTER_UNMAP : 0] : how < 5 ? [Op.UNMAP, s, dir, size, OP_ATTR_AFTER_UNMAP] : unmap(s, dir, size));
    } else if (k < 73) {
      const off = ri(bytes);
      out.push([Op.UNMAP_AT, s, 1 + ri(bytes + 4 * PAGE), off, 0, dir]);
    } else if (k < 81) {
      const off = ri(bytes);
      out.push(devRead(s, off, 1 + ri(bytes - off)));
    } else if (k < 88) {
      // a sync anywhere in the buffer, a sixth as a trace's after its unmap
      const off = ri(bytes);
      out.push([ri(2) ? Op.SYNC_FOR_CPU : Op.SYNC_FOR_DEVICE, s, dir, off, 1 + ri(bytes - off), 0, ri(6) === 0 ? OP_ATTR_AFTER_UNMAP : 0]);
    } else if (k < 93) {
      const off = ri(bytes);
      out.push(devWrite(s, off, 1 + ri(bytes - off)));
    } else if (k < 97) {
      out.push(b.coh ? [Op.FREE_COHERENT, s, ri(2) ? 0 : 1 + ri(bytes + 2 * PAGE)] : free(s));
      slots[s] = null;
    } else {
      out.push(cpuWrite(s, 0, bytes));
    }
  }
  return out;
}

const CONFIGS = [
  { name: '6.12 lazy', cfg: { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.lazy } },
  { name: '6.12 strict', cfg: { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.strict } },
  { name: '2.6.37', cfg: { platform: Platform.iommu, kernel: Kernel['2010'], iommuMode: IommuMode.strict } },
  // one 6.12 area of 128 slots: runs wrap, fail when full, and take slots an unmap inside another run released
  { name: 'swiotlb=force 6.12', cfg: { platform: Platform['swiotlb-force'], kernel: Kernel.modern, nslabs: 128 } },
  { name: 'swiotlb=force 2.6.37', cfg: { platform: Platform['swiotlb-force'], kernel: Kernel['2010'], nslabs: 128 } },
  { name: 'swiotlb=force 6.12, min_align_mask 4095', cfg: { platform: Platform['swiotlb-force'], kernel: Kernel.modern, nslabs: 128, minAlignMask: 4095 } },
];

async function same(cfg: object, ops: OpWords[], what: string): Promise<void> {
  assert.deepEqual(await runOn('js', cfg, ops), await runOn('wasm', cfg, ops), what);
}

for (const { name, cfg } of CONFIGS) {
  describe(`Unmaps of every size and place, engine against model (${name})`, () => {
    it('40 sequences of 80 ops, each probed after every 7th op by a device read of the last unmapped slot', async () => {
      for (let seed = 1; seed <= 40; seed++) {
        const ops = genOps(seed, 80);
        await same(cfg, ops, `seed ${seed}`);
        for (let cut = 5; cut < ops.length; cut += 7) {
          const last = ops.slice(0, cut).reverse().find((o) => o[0] === Op.UNMAP || o[0] === Op.UNMAP_AT);
          if (last) await same(cfg, [...ops.slice(0, cut), devRead(last[1]!, 0, PAGE)], `seed ${seed} cut ${cut}`);
        }
      }
    });

    it('2 sequences of 4000 ops (the lazy flush queue fills), probed every 331 ops', async () => {
      for (let seed = 1000; seed < 1002; seed++) {
        const ops = genOps(seed, 4000);
        const w = await runOn('wasm', cfg, ops);
        assert.deepEqual(await runOn('js', cfg, ops), w, `seed ${seed}`);
        if ('iommuMode' in cfg && cfg.iommuMode === IommuMode.lazy) assert.ok(w.c.iommuFlushes > 0, `seed ${seed}: the queue flushed (${w.c.iommuFlushes})`);
        for (let cut = 300; cut < ops.length; cut += 331) await same(cfg, [...ops.slice(0, cut), devRead(ops[cut - 1]![1]!, 0, PAGE)], `seed ${seed} cut ${cut}`);
      }
    });
  });
}
