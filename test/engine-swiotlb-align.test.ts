// --min-align-mask: the device's DMA min_align_mask in Linux 6.12 swiotlb (kernel/dma/swiotlb.c;
// docs/ENGINE.md §5), through the op stream, on both engines. Documentation/core-api/swiotlb.rst:
// a device that sets min_align_mask (NVMe: 4095) gets a bounce address whose bits under the mask
// are the original's. For a streaming map (alloc_align_mask 0) 6.12 keeps them two ways:
// swiotlb_tbl_map_single adds swiotlb_align_offset(dev, 0, orig) — the original's bits under the
// mask below IO_TLB_SIZE (2 KiB) — to the run's first slot, and swiotlb_search_pool_area takes
// only slots whose address matches the original under iotlb_align_mask, the mask less the bits
// the slot alignment (2047) keeps: bit 11 for a mask of 4095, nothing for a mask below 2048. A
// device with a mask loses the page alignment a map of a page or more otherwise gets.
// As in test/engine-swiotlb-modern.test.ts: swiotlb-force, an AGP bridge (no dummy page holds
// slots), a 64 MiB pool (8 areas of 4096 slots; every op on CPU 0, so area 0, cursor 0) at pfn
// 4096; bus addresses are read back from dma-debug's unmap-size record of a 1-byte unmap. Every
// buffer is whole pages, so a map at buffer offset o has page offset o. Each expected address is
// derived by hand above its case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, InitError, Kernel, Platform, Zone, type MachineConfig } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, PAGE, POOL_PFN, TO_DEV, alloc, cpuRead, cpuWrite, devRead, devWrite, initOn, map, mappingError, runOn, syncCpu, syncDev,
  unmap, type OpWords, type Outcome,
} from './engineHarness.js';
import { cli } from './helpers.js';

const SLOT = 2048;
const BASE = POOL_PFN * PAGE;
const modern = { platform: Platform['swiotlb-force'], gartFamily: GartFamily.agp, kernel: Kernel.modern };
const withMask = (minAlignMask: number, over: Partial<MachineConfig> = {}) => ({ ...modern, minAlignMask, ...over });
/** Unmap buffer b with a 1-byte size: releases its run and reports its bus address (unmap-size). */
const probe = (b: number): OpWords => unmap(b, BIDI, 1);
const probed = (o: Outcome) => o.dma.filter((_, i) => o.classes[i] === 'unmap-size').map(Number);
const low12 = (a: number) => a & 0xfff;

/** Runs `ops` on both engines; they must agree on every counter, violation and dma-debug record. */
async function both(cfg: Partial<MachineConfig>, ops: readonly OpWords[]): Promise<Outcome> {
  const [wasm, js] = await Promise.all(ENGINES.map((e) => runOn(e, cfg, ops)));
  assert.deepEqual(wasm!.c, js!.c, 'counters: wasm vs js');
  assert.deepEqual([wasm!.violation, wasm!.records, wasm!.invariants], [js!.violation, js!.records, js!.invariants], 'violation, dma-debug, invariants: wasm vs js');
  return wasm!;
}

// The swiotlb.rst example: maps of 0x100, 0x60 and 0x100 bytes at page offsets 0x6a0, 0xfa0, 0x7a0.
const THREE: OpWords[] = [alloc(0), alloc(1), alloc(2), map(0, BIDI, 0x6a0, 0x100), map(1, BIDI, 0xfa0, 0x60), map(2, BIDI, 0x7a0, 0x100), probe(0), probe(1), probe(2)];

describe('min_align_mask (kernel/dma/swiotlb.c 6.12): the bounce address keeps the bits under the mask', () => {
  // Mask 4095: iotlb_align_mask = 4095 & ~2047 = bit 11, stride get_max_slots(2048) = 2.
  // 0x6a0: offset 0x6a0, 0x7a0 bytes = 1 slot, bit 11 clear → slot 0 (even) → BASE + 0x6a0; cursor 1.
  // 0xfa0: offset 0x7a0, 0x800 bytes = 1 slot, bit 11 set → slot 1 (odd) → BASE + 0x800 + 0x7a0; cursor 2.
  // 0x7a0: offset 0x7a0, 0x8a0 bytes = 2 slots, bit 11 clear → slot 2 → BASE + 0x1000 + 0x7a0.
  it('mask 4095 (NVMe): the low 12 bits of each bounce address are the original\'s', async () => {
    const o = await both(withMask(4095), THREE);
    assert.deepEqual(probed(o), [BASE + 0x6a0, BASE + 0xfa0, BASE + 0x17a0]);
    assert.deepEqual(probed(o).map(low12), [0x6a0, 0xfa0, 0x7a0]);
    assert.deepEqual([o.c.bounces, o.c.swiotlbPeakSlots, o.c.mappingErrors], [3, 4, 0]);
  });

  // Mask 0 (every modelled GPU): no offset, no slot matching; each map is slot-aligned at the cursor: 0, 1, 2.
  it('mask 0: slot-aligned at the cursor, the page offset is lost', async () => {
    const o = await both(modern, THREE);
    assert.deepEqual(probed(o), [BASE, BASE + SLOT, BASE + 2 * SLOT]);
    assert.deepEqual(o.c.swiotlbPeakSlots, 3);
  });

  // Mask 511: offset = orig & 511 (0xa0 for 0x6a0); iotlb_align_mask = 511 & ~2047 = 0, stride 1.
  // Only the 9 bits under the mask are kept: bits 9-11 of 0x6a0 (0x600) are not.
  it('mask 511: only the 9 bits under the mask are kept (0x6a0 → 0x0a0 into slot 0)', async () => {
    const o = await both(withMask(511), [alloc(0), map(0, BIDI, 0x6a0, 0x100), probe(0)]);
    assert.deepEqual(probed(o), [BASE + 0xa0]);
    assert.equal(probed(o)[0]! & 511, 0x6a0 & 511);
  });

  // The zero offset at 0x800: offset 0x800 & 2047 = 0, bit 11 set → the odd slot 1 (cursor 1 after a 1-slot map at 0).
  it('mask 4095: page offset 0x800 is kept by slot choice alone (an odd slot, no offset)', async () => {
    const o = await both(withMask(4095), [alloc(0), alloc(1), map(0, BIDI, 0, SLOT), map(1, BIDI, 0x800, 0x800), probe(0), probe(1)]);
    assert.deepEqual(probed(o), [BASE, BASE + SLOT]);
  });
});

describe('min_align_mask and the page alignment of a map of a page or more (swiotlb_search_pool_area, 6.12)', () => {
  // A 1-slot map takes slot 0 (cursor 1), then a page map from a page-aligned buffer.
  const ops: OpWords[] = [alloc(0), alloc(1), map(0, BIDI, 0, SLOT), map(1, BIDI, 0, PAGE), probe(0), probe(1)];

  // Mask 0: alloc_size >= PAGE_SIZE with no masks → alloc_align_mask PAGE_SIZE - 1, stride 2 → slot 2.
  it('mask 0: the page map is page-aligned (slot 2)', async () => {
    assert.deepEqual(probed(await both(modern, ops)), [BASE, BASE + 2 * SLOT]);
  });

  // Mask 511: iotlb_align_mask is not 0, so no page alignment; alloc_align_mask 2047, stride 1 → slot 1.
  it('mask 511: the page map is only slot-aligned (slot 1: not page-aligned)', async () => {
    const o = await both(withMask(511), ops);
    assert.deepEqual(probed(o), [BASE, BASE + SLOT]);
    assert.notEqual(low12(probed(o)[1]!), 0);
  });

  // Mask 4095: no page rule either, but bit 11 must match the original's (clear) → slot 1 skipped → slot 2.
  it('mask 4095: page-aligned again, because the mask demands bit 11 of a page-aligned original', async () => {
    assert.deepEqual(probed(await both(withMask(4095), ops)), [BASE, BASE + 2 * SLOT]);
  });

  // swiotlb_max_mapping_size shrinks by the offset: 256 KiB - 0x6a0 from 0x6a0 is 128 slots
  // (slot 0, bit 11 clear); one byte more is 129 slots, which no slot's counter reaches → DMA_MAPPING_ERROR.
  it('mask 4095: the offset counts against the 256 KiB maximum', async () => {
    const max = 128 * SLOT - 0x6a0;
    const o = await both(withMask(4095), [alloc(0, 65), alloc(1, 65), map(0, BIDI, 0x6a0, max), map(1, BIDI, 0x6a0, max + 1), probe(0)]);
    assert.deepEqual(probed(o), [BASE + 0x6a0]);
    assert.deepEqual([o.c.bounces, o.c.swiotlbFull, o.c.mappingErrors, o.c.swiotlbPeakSlots], [1, 1, 1, 128]);
  });
});

describe('min_align_mask: the data goes to the bounce address, offset included (payload bytes checked)', () => {
  // payloadBytes 4096: every byte is tracked, so a copy to or from the slot start instead of the
  // slot plus the offset shows as stale reads or lost writes. The device reaches a buffer page
  // through that page's handle (ENGINE.md §3, D10): the mapping's dma address plus the page's
  // distance from the mapping's start — so the device works on the pages after the first, whose
  // handles lie inside the mapping. b0: TO_DEVICE from 0x6a0 to the end of its second page.
  // (4 slots at slot 0, freed at its unmap; cursor 4). b1: BIDIRECTIONAL from 0xfa0 to the end of
  // its third page (0x7a0 + 0x2060 bytes: 5 slots, from odd slot 5), the device reading and
  // writing, syncs both ways on parts of it, the copy back at unmap.
  // Masks of 2047 and more keep the whole offset below a slot, so the bounce's 2 KiB units line
  // up with the original's and every unit's stamp moves whole (below 2047 a copy straddles units
  // and ENGINE.md §2's partial-copy rule makes the stamps approximate).
  const ops: OpWords[] = [
    alloc(0, 2), cpuWrite(0, 0, 2 * PAGE), map(0, TO_DEV, 0x6a0, 0x1960), mappingError(0), devRead(0, PAGE, PAGE), unmap(0, TO_DEV, 0x1960),
    alloc(1, 3), cpuWrite(1, 0, 3 * PAGE), map(1, BIDI, 0xfa0, 0x2060), mappingError(1), devRead(1, PAGE, 2 * PAGE), devWrite(1, PAGE, PAGE),
    syncCpu(1, BIDI, 0xfa0, 0x2060), cpuRead(1, PAGE, PAGE), cpuWrite(1, 2 * PAGE, PAGE), syncDev(1, BIDI, 2 * PAGE, PAGE),
    devRead(1, 2 * PAGE, PAGE), devWrite(1, 2 * PAGE, PAGE), unmap(1, BIDI, 0x2060), cpuRead(1, 0, 3 * PAGE),
  ];
  for (const mask of [2047, 4095]) {
    it(`mask ${mask}: no stale read, no lost write; both engines copy the same bytes`, async () => {
      const o = await both(withMask(mask, { payloadBytes: 4096 }), ops);
      assert.deepEqual([o.c.staleReads, o.c.lostWrites, o.c.foreignReads, o.c.dmaDebugErrors, o.kind], [0, 0, 0, 0, 0]);
      assert.deepEqual([o.c.bounces, o.c.mappingErrors], [2, 0]);
      // b0: the map's 0x1960 (TO_DEVICE: no copy back); b1: the map, the sync for the CPU, the
      // page synced for the device, the copy back
      assert.equal(o.c.bounceBytes, 0x1960 + 0x2060 + 0x2060 + PAGE + 0x2060);
      assert.equal(o.invariants, 0);
    });
  }

  // The same on xen-pv (xen_swiotlb_map_page calls swiotlb_tbl_map_single(dev, phys, size, 0, …)
  // as dma-direct does): a 32-bit device whose buffer sits above 4 GiB in machine memory bounces.
  it('xen-pv: the bounce keeps the page offset too (xen_swiotlb_map_page → swiotlb_tbl_map_single)', async () => {
    const cfg = { kernel: Kernel.modern, gartFamily: GartFamily.agp, nslabs: 1024, minAlignMask: 4095 };
    const o = await both(cfg, [alloc(0), map(0, BIDI, 0x6a0, 0x100), mappingError(0), probe(0)]);
    assert.deepEqual([o.c.bounces, o.c.dmaDebugErrors], [1, 1]); // the probe's unmap-size
    assert.equal(low12(probed(o)[0]!), 0x6a0);
  });
});

describe('min_align_mask with CONFIG_SWIOTLB_DYNAMIC (swiotlb_find_slots, 6.12)', () => {
  // test/engine-swiotlb-dynamic.test.ts's machine: a 128-slot boot pool, buffers from Normal.
  // b0 fills the boot pool (offset 0, bit 11 clear: slot 0). b1 at 0xfa0: 2 slots (0x7a0 + 0x100)
  // on an odd slot. The transient pool is the request's 2 slots: slot 0 is even, slot 1 has 1
  // free slot, so it finds nothing and is freed (swiotlb_dyn_free): a mapping error. The worker
  // still adds its pool (order 6 at pfn 4224, as in that file); b2, the same request, takes its
  // slot 1 → 4224 · 4096 + 0x800 + 0x7a0.
  it('the transient pool is only the request\'s slots, so an odd-slot request fails there; the worker\'s pool serves the next', async () => {
    const dyn = { ...withMask(4095), nslabs: 128, ramPages: (1 << 20) + 65536, swiotlbDynamic: 1 };
    const ops = [alloc(0, 64, Zone.normal), alloc(1, 1, Zone.normal), alloc(2, 1, Zone.normal), map(0, BIDI, 0, 128 * SLOT),
      map(1, BIDI, 0xfa0, 0x60 + SLOT), map(2, BIDI, 0xfa0, 0x60 + SLOT), probe(2)];
    const o = await both(dyn, ops);
    assert.deepEqual(probed(o), [4224 * PAGE + 0xfa0]);
    assert.deepEqual([o.c.mappingErrors, o.c.swiotlbFull, o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded], [1, 1, 0, 1]);
  });
});

describe('min_align_mask: which machines take one', () => {
  for (const engine of ENGINES) {
    it(`init refuses a mask on 2010 and one that is not 2^k - 1 up to 4095 (engine ${engine})`, async () => {
      assert.equal(await initOn(engine, { kernel: Kernel['2010'], minAlignMask: 4095 }), InitError.LAYOUT);
      for (const m of [100, 8191, -1, 4096]) assert.equal(await initOn(engine, { ...modern, minAlignMask: m }), InitError.LAYOUT, String(m));
      for (const m of [0, 1, 2047, 4095]) assert.equal(await initOn(engine, { ...modern, minAlignMask: m }), InitError.OK, String(m));
    });
  }

  it('--min-align-mask is a usage error (exit 2) with --kernel 2010, off 2^k - 1, or above 4095', () => {
    const base = ['run', '--platform', 'swiotlb-force', '--pages', '64', '--ram', '512M'];
    for (const [kernel, mask] of [['2010', '4095'], ['modern', '100'], ['modern', '8191'], ['modern', '0x1ff']] as const) {
      const r = cli(...base, '--kernel', kernel, '--min-align-mask', mask);
      assert.equal(r.code, 2, `${kernel} ${mask}: ${r.stderr}`);
      assert.match(r.stderr, /--min-align-mask/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      if (mask !== '0x1ff') assert.match(r.stderr, /1, 3, 7, .*2047, 4095/);
    }
  });

  it('the scenario records a mask when set and has no key without one; replay and matrix take it', () => {
    const base = ['run', '--platform', 'swiotlb-force', '--pages', '64', '--ram', '512M', '--kernel', 'modern', '--json'];
    const on = cli(...base, '--min-align-mask', '4095');
    assert.equal(on.code, 0, on.stderr);
    assert.equal(JSON.parse(on.stdout).scenario.minAlignMask, 4095);
    const off = cli(...base, '--min-align-mask', '0');
    assert.equal(off.code, 0, off.stderr);
    assert.equal('minAlignMask' in JSON.parse(off.stdout).scenario, false);
    for (const cmd of ['run', 'matrix', 'replay']) assert.match(cli(cmd, '--help').stdout, /--min-align-mask N/);
  });
});
