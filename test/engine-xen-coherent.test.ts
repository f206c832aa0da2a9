// Xen PV dma_alloc_coherent on the modern kernel, as Linux 6.12.0 (docs/ENGINE.md §7), on both
// engines: dma_alloc_attrs (kernel/dma/mapping.c) clears the zone flags before ops->alloc, so
// xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c) takes Normal then DMA32 whatever the mask;
// it tests only the requested pages (ALIGN(size, XEN_PAGE_SIZE), "xen/swiotlb: fix allocated
// size") and exchanges when the first machine frame is not aligned to the block's order
// ("xen/swiotlb: add alignment check for dma buffers"). 2.6.37 (2010) stays as it was: DMA32 for a
// 32-bit mask and always an exchange. Machine frames are derived by hand from BASE
// (test/engineHarness.ts): the buddy hands out the lowest free block of the order asked, from
// pfn 20489; a 32-bit exchange takes the top of Xen's zone 17 ([131072, 147456)) downwards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DMA32_LIMIT_PFN, Kernel, Platform } from '../src/engine/abi.js';
import type { Model } from '../src/model/index.js';
import type { Buffer } from '../src/model/driver/buffers.js';
import {
  BIDI, ENGINES, PAGE, alloc, allocCoherent, firstFreePfn, free, freeCoherent, exchange, map, runModel, runCases, type EngineCase,
} from './engineHarness.js';

const modern = { kernel: Kernel.modern };
const old = { kernel: Kernel['2010'] };

/*
 * A guest of 4.25 GiB (the Normal zone is pfns [2^20, 2^20 + 2^16)) on a host of 9 GiB. Every
 * order-9 block of DMA32 is taken first: the buddy's DMA32 pages are [20489, 2^20), whose aligned
 * order-9 blocks start at 20992, so 2007 of them; only smaller blocks are left there.
 */
const big = { ramPages: DMA32_LIMIT_PFN + 2 ** 16, hostPages: 2 ** 21 + 2 ** 18, maxBuffers: 4096 };
const dma32Blocks = (DMA32_LIMIT_PFN - Math.ceil(firstFreePfn(32768) / 512) * 512) / 512;
const fillDma32 = Array.from({ length: dma32Blocks }, (_, i) => alloc(i + 1, 512));

/*
 * Size. alloc(0, 4) takes the order-2 block at 20492 and its exchange makes it machine frames
 * 147452..147455 (aligned, below 4 GiB); freed, it stays so. Seven single pages then take 20489,
 * 20490, 20491 and the four pages of that block; the one at 20495 is exchanged alone (147451) and
 * the four go back, merging the block again: pages 0-2 contiguous at 147452, page 3 elsewhere.
 */
const scatterFourth = [
  alloc(0, 4), exchange(0), free(0), ...[1, 2, 3, 4, 5, 6, 7].map((s) => alloc(s, 1)), exchange(7),
  free(4), free(5), free(6), free(7),
];

/*
 * Alignment. Single pages at 20489, 20490, 20491; exchanged one by one, 20489 gets 147455, then
 * 20491 147454, then 20490 147453: pfns 20490-20491 are machine-contiguous at an odd frame, below
 * 4 GiB. Freed, they merge into the order-1 block at 20490, the one allocCoherent(3, 2) gets.
 */
const misalignPair = [alloc(0, 1), alloc(1, 1), alloc(2, 1), exchange(0), exchange(2), exchange(1), free(1), free(2)];

const cases: EngineCase[] = [
  // 6.12 dma_alloc_attrs + xen_swiotlb_alloc_coherent: no zone modifier, so Normal serves the
  // block and the exchange (fls64(mask) = 32 bits) brings it below 4 GiB.
  { description: 'modern: a 32-bit coherent block comes from Normal when DMA32 has none of its order, and is exchanged',
    cfg: { ...big, ...modern }, ops: [...fillDma32, allocCoherent(0, 512)],
    expect: { allocFailures: 0, coherentAllocs: 1, hypercalls: 1, exchangedFrames: 512 } },
  // 2.6.37 dma_alloc_coherent added GFP_DMA32 for the 32-bit mask: the same request fails.
  { description: '2010: the same request asks DMA32 only and fails, with no exchange',
    cfg: { ...big, ...old }, ops: [...fillDma32, allocCoherent(0, 512)],
    expect: { allocFailures: 1, coherentAllocs: 0, hypercalls: 0, exchangedFrames: 0 } },
  // 6.12.0 xen_swiotlb_alloc_coherent: size = ALIGN(size, XEN_PAGE_SIZE), so three pages are tested.
  { description: 'modern: a 3-page request whose unused 4th page is scattered is reachable as it is: no exchange',
    cfg: modern, ops: [...scatterFourth, allocCoherent(8, 3)],
    expect: { coherentAllocs: 1, hypercalls: 2, exchangedFrames: 5 } },
  { description: 'modern: a 4-page request on the same block straddles the discontinuity: exchanged',
    cfg: modern, ops: [...scatterFourth, allocCoherent(8, 4)],
    expect: { coherentAllocs: 1, hypercalls: 3, exchangedFrames: 9 } },
  { description: '2010: the 3-page request is exchanged anyway (2.6.37 always exchanges)',
    cfg: old, ops: [...scatterFourth, allocCoherent(8, 3)],
    expect: { coherentAllocs: 1, hypercalls: 3, exchangedFrames: 9 } },
  // 6.12.0 range_straddles_page_boundary's alignment test (later 6.12.y: range_requires_alignment).
  { description: 'modern: a contiguous 2-page block below 4 GiB whose first machine frame is odd is exchanged, and destroyed at free',
    cfg: modern, ops: [...misalignPair, allocCoherent(3, 2), freeCoherent(3)],
    expect: { coherentAllocs: 1, hypercalls: 5, exchangedFrames: 7 } },
  // 6.12.0 xen_swiotlb_map_page: the same test sat in range_straddles_page_boundary, so a streaming
  // map of that guest-aligned, machine-misaligned pair bounces; 2.6.37 (and later 6.12.y) maps it.
  { description: 'modern: a 2-page map of a contiguous pair whose first machine frame is odd bounces (6.12.0 map path)',
    cfg: modern, ops: [...misalignPair, alloc(3, 2), map(3, BIDI, 0, 2 * PAGE)],
    expect: { maps: 1, bounces: 1 } },
  { description: 'modern: a map of its first page alone (order 0) does not',
    cfg: modern, ops: [...misalignPair, alloc(3, 2), map(3, BIDI, 0, PAGE)],
    expect: { maps: 1, bounces: 0 } },
  { description: 'modern: a map starting inside the page is not guest-aligned: no bounce',
    cfg: modern, ops: [...misalignPair, alloc(3, 2), map(3, BIDI, 2048, PAGE)],
    expect: { maps: 1, bounces: 0 } },
  { description: '2010: the 2-page map of the pair goes straight to the device (no alignment test in 2.6.37)',
    cfg: old, ops: [...misalignPair, alloc(3, 2), map(3, BIDI, 0, 2 * PAGE)],
    expect: { maps: 1, bounces: 0 } },
  { description: 'modern: a single page is never misaligned: reachable, no exchange',
    cfg: modern, ops: [alloc(0, 1), exchange(0), free(0), allocCoherent(1, 1)],
    expect: { coherentAllocs: 1, hypercalls: 1, exchangedFrames: 1 } },
];

for (const engine of ENGINES) {
  describe(`6.12.0 xen_swiotlb_alloc_coherent (engine ${engine})`, () => runCases(engine, cases));
}

/** A slot's buffer in the model. */
const buf = (m: Model, slot: number): Buffer => m.slots[slot] as Buffer;

// Model only (the engines agree through the cases above and the differential fuzzer): where the
// blocks are, which the Engine interface does not show.
describe('6.12.0 xen_swiotlb_alloc_coherent: where the block is (model)', () => {
  it('modern: a 32-bit coherent page is a Normal pfn with a handle below 4 GiB; 2010: a DMA32 pfn', () => {
    const m = runModel({ ...big, ...modern }, [allocCoherent(0, 1)]);
    const slot = buf(m, 0);
    assert.ok(slot.pfn >= DMA32_LIMIT_PFN, `pfn ${slot.pfn} is above the DMA32 zone`);
    assert.ok(slot.handle < 2 ** 32, 'exchanged below 4 GiB');
    assert.equal(slot.exchangedOrder, 0);
    const o = runModel({ ...big, ...old }, [allocCoherent(0, 1)]);
    assert.ok(buf(o, 0).pfn < DMA32_LIMIT_PFN, '2.6.37: GFP_DMA32');
  });
  it('a 40-bit device on bare metal still gets Normal, a 32-bit one DMA32 (dma-direct is unchanged)', () => {
    const bare = { ...big, ...modern, platform: Platform['bare-metal'], hostPages: big.ramPages };
    assert.ok(buf(runModel({ ...bare, maskBits: 40 }, [allocCoherent(0, 1)]), 0).pfn >= DMA32_LIMIT_PFN);
    assert.ok(buf(runModel(bare, [allocCoherent(0, 1)]), 0).pfn < DMA32_LIMIT_PFN);
  });
  it('the size case: the 3-page block keeps its frames, handle = its first machine frame', () => {
    const m = runModel(modern, [...scatterFourth, allocCoherent(8, 3)]);
    assert.deepEqual([0, 1, 2, 3].map((k) => m.machine.mfnOf(20492 + k)), [147452, 147453, 147454, 147451]);
    assert.deepEqual([buf(m, 8).pfn, buf(m, 8).handle, buf(m, 8).exchangedOrder], [20492, 147452 * PAGE, -1]);
  });
  it('the alignment case: the pair starts at odd frame 147453 and is exchanged to an aligned one', () => {
    const before = runModel(modern, misalignPair);
    assert.deepEqual([before.machine.mfnOf(20490), before.machine.mfnOf(20491)], [147453, 147454]);
    const m = runModel(modern, [...misalignPair, allocCoherent(3, 2)]);
    const slot = buf(m, 3);
    assert.equal(slot.pfn, 20490);
    assert.equal(slot.exchangedOrder, 1);
    assert.equal((slot.handle / PAGE) % 2, 0, 'Xen hands out an order-1 block aligned to its order');
  });
});
