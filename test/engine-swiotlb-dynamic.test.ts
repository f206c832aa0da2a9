// --swiotlb-dynamic: Linux 6.12 CONFIG_SWIOTLB_DYNAMIC (kernel/dma/swiotlb.c swiotlb_find_slots,
// swiotlb_search_area, swiotlb_alloc_pool, swiotlb_alloc_tlb, swiotlb_dyn_alloc,
// swiotlb_del_transient; docs/ENGINE.md §5) through the op stream, on both engines. Every bus
// address is derived by hand in the comment above its case.
// The machine: swiotlb-force, a 32-bit AGP bridge (no dummy page holds slots), a 256 KiB boot pool
// (128 slots, one area; pfns [4096, 4160)), 4.25 GiB of RAM so that the buffers come from the
// Normal zone and leave DMA32 to swiotlb's pools. Every buffer is allocated before the first map.
// DMA32's buddy (ENGINE.md §4) starts after the overflow buffer and the dummy page at pfn 4169:
// free blocks 4169 (order 0), 4170 (1), 4172 (2), 4176 (4), 4192 (5), 4224 (7), 4352 (8),
// 4608 (9), then order-10 blocks; an allocation takes the head of the first list with a block,
// splitting off upper halves. The slot arrays (sizeof(struct io_tlb_slot) 24 bytes per slot: one
// page for up to 170 slots) ask for no zone, so they come from Normal and touch no DMA32 block.
// A transient pool's limit is the device's 32-bit mask → __GFP_DMA32; the worker's is
// ARCH_LOW_ADDRESS_LIMIT, 4 GiB on x86 → __GFP_DMA32. The worker asks for default_nslabs, the
// boot pool's 128 slots (under the 2048-slot cap): one order-6 block.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GartFamily, InitError, Kernel, Platform, Zone } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, alloc, initOn, map, runOn, unmap, type OpWords } from './engineHarness.js';
import { cli, scratch, script } from './helpers.js';

const SLOT = 2048;
const RAM = (1 << 20) + 65536;
const dynamic = {
  platform: Platform['swiotlb-force'], gartFamily: GartFamily.agp, kernel: Kernel.modern, nslabs: 128,
  ramPages: RAM, swiotlbDynamic: 1,
};
const bus = (pfn: number) => BigInt(pfn * PAGE);
/** Buffer b of `pages` pages from the Normal zone. */
const buf = (b: number, pages: number): OpWords => alloc(b, pages, Zone.normal);
/** Unmap buffer b with a 1-byte size: releases its run and reports its bus address (unmap-size). */
const probe = (b: number): OpWords => unmap(b, BIDI, 1);
const FULL = 128 * SLOT; // 256 KiB: a whole 128-slot pool
/** The bus addresses the probes reported (unmap-size records). */
const probed = (o: { dma: bigint[]; classes: string[] }) => o.dma.filter((_, i) => o.classes[i] === 'unmap-size');

for (const engine of ENGINES) {
  describe(`CONFIG_SWIOTLB_DYNAMIC (kernel/dma/swiotlb.c 6.12) (engine ${engine})`, () => {
    // b0 fills the boot pool (slot 0). b1's page finds no room in any pool (swiotlb_search_area
    // for every area offset), so swiotlb_find_slots makes a transient pool of its 2 slots: order
    // 0 from DMA32 → pfn 4169, slot 0. Then the worker (schedule_work, run once the map is done):
    // 128 slots, order 6 → the first list with a block is order 7, 4224: split, 4288 goes to
    // list 6, the pool starts at 4224, added at the list's head. b2's page: offset 0, the newest
    // pool first → 4224's slot 0. No mapping error; 128 + 2 + 2 slots at the peak. Pages: the
    // buffers' 66, the transient 1 + its slot array 1, the worker's 64 + 1: 133.
    it('a full pool grows instead of failing: a transient pool, then the worker\'s pool', async () => {
      const ops = [buf(0, 64), buf(1, 1), buf(2, 1), map(0, BIDI, 0, FULL), map(1), map(2), probe(1), probe(2)];
      const o = await runOn(engine, dynamic, ops);
      assert.deepEqual(probed(o), [bus(4169), bus(4224)]);
      assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors, o.c.bounces, o.c.swiotlbPeakSlots], [0, 0, 3, 132]);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded, o.c.pagesAllocated], [1, 1, 133]);
    });

    // alloc_dma_pages: the block's order is get_order(bytes) of the pool's slots: a transient pool of
    // 3 slots (6 KiB) takes an order-1 block (2 pages), not 1 page with its last slot past it. With
    // the boot pool full, a 6 KiB map makes one: 64 + 2 buffer pages, 2 for the pool, 1 for its slot
    // array, and the worker's 64 + 1.
    it('an odd-sized transient pool gets a block of get_order(bytes): 3 slots take 2 pages', async () => {
      const ops = [buf(0, 64), buf(1, 2), map(0, BIDI, 0, FULL), map(1, BIDI, 0, 3 * SLOT)];
      const o = await runOn(engine, dynamic, ops);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.mappingErrors], [1, 0]);
      assert.equal(o.c.pagesAllocated, 64 + 2 + 2 + 1 + 64 + 1);
    });

    // On coco the worker's pool is decrypted (alloc_dma_pages → set_memory_decrypted over its 64
    // pages: one conversion); the transient pool comes from the atomic pool, already shared
    // (swiotlb_alloc_tlb → dma_alloc_from_pool under force_dma_unencrypted): none.
    it('coco: the worker\'s pool is converted to shared, the transient one is not', async () => {
      const ops = [buf(0, 64), buf(1, 1), buf(2, 1), map(0, BIDI, 0, FULL), map(1), map(2)];
      const o = await runOn(engine, { ...dynamic, platform: Platform.coco }, ops);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded, o.c.mappingErrors], [1, 1, 0]);
      assert.deepEqual([o.c.ccConversions, o.c.ccConvertedPages], [1, 64]);
      const plain = await runOn(engine, dynamic, ops);
      assert.deepEqual([plain.c.ccConversions, plain.c.ccConvertedPages], [0, 0], 'swiotlb=force converts nothing');
    });

    // swiotlb_tbl_unmap_single → swiotlb_del_transient: the transient pool goes at its unmap,
    // its slot array then its buffer (swiotlb_dyn_free): 2 pages freed, 4169 back at the head of
    // DMA32's order-0 list. b2 (128 slots) takes the worker's pool at 4224 whole; b3's page then
    // fails everywhere again and its transient pool is 4169 once more; the second worker's pool
    // is 4288 (list 6). Two transient pools, two added; 4 pages freed after b3's unmap.
    it('the transient pool is freed at unmap, and its page serves the next one', async () => {
      const ops = [buf(0, 64), buf(1, 1), buf(2, 64), buf(3, 1), map(0, BIDI, 0, FULL), map(1), probe(1)];
      const first = await runOn(engine, dynamic, ops);
      assert.deepEqual([probed(first), first.c.pagesFreed, first.c.swiotlbSlotsInUse], [[bus(4169)], 2, 128]);
      const o = await runOn(engine, dynamic, [...ops, map(2, BIDI, 0, FULL), map(3), probe(2), probe(3)]);
      assert.deepEqual(probed(o), [bus(4169), bus(4224), bus(4169)]);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded, o.c.pagesFreed, o.c.swiotlbFull], [2, 2, 4, 0]);
    });

    // Newest first (add_mem_pool's list_add_rcu; swiotlb_search_area walks the list from its
    // head). b1 (128 slots): transient order 6 → list 7's 4224 split, 4224; the worker's A →
    // list 6's 4288. b2 fills A (4288). b3: transient → list 8's 4352 split (4480 to list 7,
    // 4416 to list 6), 4352; the worker's B → 4416. b2's unmap empties A; b4 (128 slots) could
    // go to A or B: B, the newer, is searched first → 4416.
    it('new pools are searched newest first', async () => {
      const ops = [...[0, 1, 2, 3, 4].map((b) => buf(b, 64)), map(0, BIDI, 0, FULL), map(1, BIDI, 0, FULL),
        map(2, BIDI, 0, FULL), map(3, BIDI, 0, FULL), probe(2), map(4, BIDI, 0, FULL), probe(4), probe(1), probe(3)];
      const o = await runOn(engine, dynamic, ops);
      assert.deepEqual(probed(o), [bus(4288), bus(4416), bus(4224), bus(4352)]);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded, o.c.swiotlbFull], [2, 2, 0]);
      assert.equal(o.invariants, 0); // every pool page is accounted for (ENGINE.md §13 bit 4)
    });

    // CONFIG_SWIOTLB_DYNAMIC came with 6.6; the 2010 kernel (2.6.37 lib/swiotlb.c) has one pool.
    it('2010 + dynamic is an init error', async () => {
      assert.equal(await initOn(engine, { ...dynamic, kernel: Kernel['2010'] }), InitError.LAYOUT);
    });

    // Xen PV: pci_xen_swiotlb_init boots the pool with swiotlb_init_remap(.., xen_swiotlb_fixup),
    // and swiotlb_init_remap sets can_grow only without a remap function, so a full pool stays
    // full: swiotlb_find_slots returns -1 before any pool is made, "swiotlb buffer is full",
    // DMA_MAPPING_ERROR. A 40-bit device (r600): a 32-bit one never gets a DMA mask there with
    // CONFIG_SWIOTLB_DYNAMIC (xen_swiotlb_dma_supported; its cell starts with DEVICE_DOWN). Both maps are of
    // scattered guest frames (several pages each), so both bounce.
    it('under Xen PV the pool does not grow', async () => {
      const xen = { platform: Platform['xen-pv'], maskBits: 40, gartFamily: GartFamily.r600, kernel: Kernel.modern, nslabs: 128, swiotlbDynamic: 1 };
      const o = await runOn(engine, xen, [alloc(0, 64), alloc(1, 2), map(0, BIDI, 0, FULL), map(1, BIDI, 0, 2 * PAGE)]);
      assert.deepEqual([o.c.swiotlbFull, o.c.mappingErrors, o.c.bounces], [1, 1, 1]);
      assert.deepEqual([o.c.swiotlbTransientPools, o.c.swiotlbPoolsAdded, o.c.pagesAllocated], [0, 0, 66]);
    });

    // With room in the boot pool the dynamic search is the static one (one pool: offset i is area
    // i, as swiotlb_find_slots without CONFIG_SWIOTLB_DYNAMIC from CPU 0): page maps take 0, 2.
    it('with room in the boot pool nothing changes', async () => {
      const o = await runOn(engine, dynamic, [buf(0, 1), buf(1, 1), map(0), map(1), probe(0), probe(1)]);
      assert.deepEqual(probed(o), [bus(4096), bus(4096 + 1)]);
      assert.equal(o.invariants, 0);
    });
  });
}

describe('--swiotlb-dynamic (CLI)', () => {
  const dir = scratch();
  // --swiotlb 256K boots as 2 MiB on modern (round_up_default_nslabs: 1024 slots, 8 areas of 128):
  // eight 256 KiB maps fill it, one area each; a ninth map then needs a new pool.
  const fill = Array.from({ length: 8 }, (_, i) => [{ op: 'alloc', buf: `a${i}`, pages: 64, zone: 'dma32' },
    { op: 'map', buf: `a${i}`, dir: 'bidirectional', size: FULL }]).flat();
  const ops = script(dir, 'grow.jsonl', [
    ...fill, { op: 'alloc', buf: 'b', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'b', dir: 'bidirectional' },
  ]);
  const replay = (...args: string[]) => cli('replay', ops, '--platform', 'swiotlb-force', '--device', 'agp', '--ram', '512M', '--swiotlb', '256K', '--json', ...args);

  it('with --kernel 2010 it is a usage error naming both options', () => {
    const r = replay('--kernel', '2010', '--swiotlb-dynamic');
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim(), /^gartbench: --swiotlb-dynamic: .*--kernel modern/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  // 6.12 xen_swiotlb_dma_supported: xen_phys_to_dma(default_swiotlb_limit()) <= mask, and with
  // CONFIG_SWIOTLB_DYNAMIC default_swiotlb_limit() is the SWIOTLB_ANY pool's phys_limit, the guest's
  // last page, whose machine frame is above 4 GiB: a 32-bit dma_set_mask fails (-EIO).
  // radeon_device_init gives up on the failed mask; nouveau's nvkm_device_pci_new ignores it for 32
  // bits and runs on the default 32-bit mask, as without the option.
  // The result is a machine whose driver never came up: every op is dropped (DEVICE_DOWN), each page
  // the GPU or the device was to reach counts skipped, and completion says why (exit 0, both engines).
  for (const engine of ENGINES) {
    it(`xen-pv with a 32-bit radeon: the driver does not come up, nothing moves, and completion names xen_swiotlb_dma_supported; nouveau (nv04) and a 40-bit device run (engine ${engine})`, () => {
      const run = (...args: string[]) => cli('run', '--kernel', 'modern', '--platform', 'xen-pv', '--swiotlb-dynamic', '--pages', '64', '--bo-pages', '16', '--engine', engine, '--json', ...args);
      for (const device of ['r100', 'agp']) {
        const r = run('--device', device);
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.match(j.completion.deviceDown, /^the driver did not come up: radeon_device_init's dma_set_mask\(DMA_BIT_MASK\(32\)\) failed \(-EIO\).*xen_swiotlb_dma_supported checks default_swiotlb_limit\(\)/);
        assert.deepEqual([j.completion.pagesRequested, j.completion.pagesMoved, j.verdict], [64, 0, 'coherent'], device);
        const { swiotlbPeakSlots, ...rest } = j.counters as Record<string, number>; // the boot pool's dummy page is the machine's
        assert.ok(Object.values(rest).every((v) => v === 0), `${device}: ${JSON.stringify(rest)}`);
        assert.ok(swiotlbPeakSlots >= 0);
        assert.equal(j.extra.gpuSkippedPages, 64);
      }
      for (const device of ['r600', 'nv04']) {
        const r = run('--device', device);
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.scenario.swiotlbDynamic, true);
        assert.equal('deviceDown' in j.completion, false);
        assert.equal(j.completion.pagesMoved, 64, device);
      }
    });
  }

  it('a replay on such a machine drops its DMA-API calls: the device access counts skipped', () => {
    const ops = script(dir, 'down.jsonl', [{ op: 'alloc', buf: 'a', pages: 2 }, { op: 'map', buf: 'a', dir: 'to_device' }, { op: 'dev_read', buf: 'a' }, { op: 'unmap', buf: 'a', dir: 'to_device' }]);
    const r = cli('replay', ops, '--kernel', 'modern', '--platform', 'xen-pv', '--device', 'r100', '--swiotlb-dynamic', '--json');
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.counters.pagesAllocated, j.counters.maps, j.counters.unmaps, j.extra.gpuSkippedPages, j.completion.pagesMoved], [0, 0, 0, 2, 0]);
    assert.match(j.completion.deviceDown, /^the driver did not come up/);
  });

  it('a matrix\'s header names the options that change its machines\' rules, as run\'s does', () => {
    const r = cli('matrix', '--kernel', 'modern', '--swiotlb-dynamic', '--device', 'nv50', '--pages', '64', '--iommu-mode', 'strict');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0]!, /, kernel modern, iommu strict, swiotlb dynamic, seed 1,/);
  });

  it('a replay there says nothing ran, even when it asked no page to move (a trace; --platform all); a trace with no call to replay is still a usage error', () => {
    const down = ['--kernel', 'modern', '--swiotlb-dynamic', '--device', 'r100'];
    const trace = cli('replay', 'examples/gpu-upload.trace', '--format', 'ftrace', '--platform', 'xen-pv', ...down);
    assert.equal(trace.code, 0, trace.stderr);
    assert.match(trace.stdout, /^verdict: COHERENT, vacuously — nothing ran on this machine/m);
    assert.match(trace.stdout, /^completion: NOTHING RAN — the driver did not come up: radeon_device_init's dma_set_mask/m);
    const all = cli('replay', 'examples/misuse.jsonl', '--platform', 'all', ...down);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^xen-pv +no driver /m);
    assert.match(all.stdout, /^xen-pv: nothing ran, the driver did not come up/m);
    assert.doesNotMatch(all.stdout, /^iommu +no driver/m);
    // An unmap of nothing mapped and a swiotlb_bounced line: no call the replay makes.
    const empty = script(dir, 'empty.trace', readFileSync('examples/gpu-upload.trace', 'utf8').split('\n').slice(60, 62).join('\n') + '\n');
    const r = cli('replay', empty, '--format', 'ftrace', '--platform', 'xen-pv', ...down);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /no dma calls of '0000:00:1f\.6' to replay/);
  });

  it('matrix --swiotlb-dynamic with r100: its xen-pv cells move nothing and say why; the other platforms run', () => {
    const r = cli('matrix', '--kernel', 'modern', '--swiotlb-dynamic', '--device', 'r100', '--pages', '64', '--bo-pages', '16', '--json');
    assert.equal(r.code, 0, r.stderr);
    const cells = JSON.parse(r.stdout).cells as { scenario: { platform: string }; completion: { pagesMoved: number; deviceDown?: string } }[];
    const xen = cells.filter((c) => c.scenario.platform === 'xen-pv');
    assert.equal(xen.length, 5);
    for (const c of xen) assert.deepEqual([c.completion.pagesMoved, /did not come up/.test(c.completion.deviceDown ?? '')], [0, true]);
    assert.ok(cells.filter((c) => c.scenario.platform === 'bare-metal').every((c) => c.completion.pagesMoved === 64 && !('deviceDown' in c.completion)));
    const text = cli('matrix', '--kernel', 'modern', '--swiotlb-dynamic', '--device', 'r100', '--pages', '64', '--bo-pages', '16');
    assert.match(text.stdout, /xen-pv legacy .* 0% moved \(0 of 64 page moves\): the driver did not come up/);
    assert.match(text.stdout, /^xen-pv +no driver +no driver /m, 'the grid says so too, not a vacuous "coherent"');
    assert.doesNotMatch(text.stdout, /^xen-pv .*coherent/m);
  });

  for (const engine of ENGINES) {
    it(`modern: the second map gets a transient pool, and the dynamic counters appear only with the option (engine ${engine})`, () => {
      const on = JSON.parse(replay('--kernel', 'modern', '--swiotlb-dynamic', '--engine', engine).stdout);
      assert.deepEqual([on.counters.mappingErrors, on.extra.swiotlbTransientPools, on.extra.swiotlbPoolsAdded, on.scenario.swiotlbDynamic], [0, 1, 1, true]);
      const off = JSON.parse(replay('--kernel', 'modern', '--engine', engine).stdout);
      assert.deepEqual([off.counters.mappingErrors, 'swiotlbPoolsAdded' in off.extra, 'swiotlbDynamic' in off.scenario], [1, false, false]);
    });
  }
});
