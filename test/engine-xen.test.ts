// Xen PV (docs/ENGINE.md §1, §5, §6, §7): xen-swiotlb's bounce decision, XENMEM_exchange through
// xen_create/destroy_contiguous_region served by Xen's zone heap (xen/common/page_alloc.c, Xen 4.0:
// zones by the frame's top bit, highest allowed zone first, the top piece of a split), the boot
// exchange of the pool (xen_swiotlb_fixup, 2.6.37), the GART dummy page's mapping, and 2.6.37's
// xen-swiotlb when the pool is full, on both engines. Every expected number is derived by hand in
// the comments from the machine the case builds (BASE in test/engineHarness.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, InitError, IOMMU_BASE, Kernel, Platform, Via, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import { Permutation, Xorshift32 } from '../src/model/sim/rand.js';
import {
  BASE, BIDI, ENGINES, PAGE, TO_DEV, alloc, allocCoherent, cpuRead, cpuWrite, devRead, devWrite, exchange, freeCoherent, gpuRead, initOn, map,
  oracleOf, populate, runCases, runModel, runOn, ttBind, unmap, COHERENT, type EngineCase, type OpWords, type Outcome,
} from './engineHarness.js';

const field = (o: Outcome, name: (typeof VIOLATION_FIELDS)[number]): bigint => o.violation![VIOLATION_FIELDS.indexOf(name)]!;
/** The dma address of the first unmap-size report: how a test reads where a map went. */
const unmapSizeDma = (o: Outcome): bigint => {
  const i = o.classes.indexOf('unmap-size');
  assert.ok(i >= 0, 'an unmap-size report');
  return o.dma[i]!;
};
const at = (mfn: number) => BigInt(mfn) * BigInt(PAGE);

const bounceCases: EngineCase[] = [
  { description: '40-bit mask: a single page is reachable, no bounce', cfg: { maskBits: 40 },
    ops: [alloc(0, 1), map(0, BIDI, 0, PAGE)], expect: { bounces: 0 } },
  { description: '40-bit mask: two pages that straddle a p2m discontinuity (scattered machine frames) bounce', cfg: { maskBits: 40 },
    ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE)], expect: { bounces: 1 } },
  { description: '32-bit mask: the guest frames are above 4 GiB, bounce', cfg: {},
    ops: [alloc(0, 1), map(0, BIDI, 0, PAGE)], expect: { bounces: 1 } },
  { description: 'bare metal, 32-bit mask, two pages below 4 GiB: no bounce', cfg: { platform: Platform['bare-metal'] },
    ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE)], expect: { bounces: 0 } },
  { description: 'an exchanged 2-page buffer is contiguous below 4 GiB: no bounce', cfg: {},
    ops: [alloc(0, 2), exchange(0), map(0, BIDI, 0, 2 * PAGE)], expect: { bounces: 0, hypercalls: 1, exchangedFrames: 2 } },
  { description: 'exchange a page below 4 GiB first: the map no longer bounces', cfg: {},
    ops: [alloc(0, 1), exchange(0, 32), map(0, BIDI, 0, PAGE)], expect: { bounces: 0, hypercalls: 1, exchangedFrames: 1 } },
  // BASE's heap holds Xen's free frames [2^20, 2^21 − 2^17) above 4 GiB, in zone 20 with the guest's.
  // With a 256-slot pool the boot exchange frees only 128 scattered guest frames there, none of them
  // an order-3 block, so an order-3 exchange with 40 bits splits a block of Xen's own frames. The
  // Wasm engine keeps those frames' stamps in chunks made at their first write.
  { description: 'an order-3 exchange with 40 bits takes Xen\'s free frames above 4 GiB: the CPU reads back what it wrote, a 40-bit device reads it in place',
    cfg: { maskBits: 40, nslabs: 256 }, ops: [alloc(0, 8), exchange(0, 40), cpuWrite(0, 0, 8 * PAGE), cpuRead(0, 0, 8 * PAGE), map(0, BIDI, 0, 8 * PAGE), devRead(0, 0, 8 * PAGE)],
    expect: { hypercalls: 1, exchangedFrames: 8, bounces: 0, cpuReads: 8, gpuReads: 8, staleReads: 0, foreignReads: 0 } },
  { description: 'the same frames above 4 GiB for a 32-bit device: the map bounces what the CPU wrote there',
    cfg: { nslabs: 256 }, ops: [alloc(0, 8), exchange(0, 40), cpuWrite(0, 0, 8 * PAGE), map(0, BIDI, 0, 8 * PAGE), devRead(0, 0, 8 * PAGE)],
    expect: { hypercalls: 1, exchangedFrames: 8, bounces: 1, bounceBytes: 8 * PAGE, gpuReads: 8, staleReads: 0, foreignReads: 0 } },
];

/*
 * nslabs 256 (a pool of 128 pages, 2 pieces) and 119 free low frames after boot: Xen's low range
 * is [65536, 65536 + 119 + 128) = 247 frames, as blocks o7@65536 o6@65664 o5@65728 o4@65760
 * o2@65776 o1@65780 o0@65782. Boot (29 bits reach zone 16) takes o6@65664, then splits o7 and
 * keeps its top [65600, 65664): 119 frames stay free, the largest an order-6 block.
 */
const tinyLow = { nslabs: 256, xenLowPages: 119 };

const exchangeCases: EngineCase[] = [
  { description: 'success trades frames and counts a hypercall', cfg: tinyLow,
    ops: [alloc(0), exchange(0)], expect: { hypercalls: 1, exchangedFrames: 1, allocFailures: 0 } },
  { description: 'an order-7 exchange finds no order-7 block below 4 GiB: it fails, and the zeroed range reads zero', cfg: tinyLow,
    ops: [alloc(0, 128), cpuWrite(0, 0, 128 * PAGE), exchange(0), cpuRead(0, 0, 128 * PAGE)],
    expect: { hypercalls: 1, exchangedFrames: 0, allocFailures: 1 }, check: (o) => assert.deepEqual(oracleOf(o), COHERENT) },
  { description: 'an order-8 exchange larger than the low memory left fails and changes no frame: the map still bounces', cfg: tinyLow,
    ops: [alloc(0, 256), exchange(0, 32), map(0, BIDI, 0, PAGE)], expect: { allocFailures: 1, hypercalls: 1, exchangedFrames: 0, bounces: 1 } },
  { description: 'order 10 (above Xen\'s order 9) fails without a hypercall', cfg: {},
    ops: [alloc(0, 1024), exchange(0)], expect: { hypercalls: 0, allocFailures: 1 } },
  { description: 'off xen-pv exchange is a no-op', cfg: { platform: Platform['bare-metal'] },
    ops: [alloc(0), exchange(0)], expect: { hypercalls: 0, allocFailures: 0 } },
  { description: 'alloc_coherent exchanges, free_coherent of the exchanged buffer destroys the region', cfg: {},
    ops: [allocCoherent(0, 4), freeCoherent(0)],
    expect: { coherentAllocs: 1, hypercalls: 2, exchangedFrames: 8, pagesAllocated: 4, pagesFreed: 4 } },
  { description: 'alloc_coherent fails when no order-7 block is left below 4 GiB', cfg: tinyLow,
    ops: [allocCoherent(0, 128)], expect: { coherentAllocs: 0, allocFailures: 2, pagesFreed: 128 } },
  // --xen-low-free 0: the pool took all of Xen's memory below 4 GiB at boot.
  { description: 'no low memory left: a 32-bit exchange fails', cfg: { xenLowPages: 0 },
    ops: [alloc(0), exchange(0, 32)], expect: { hypercalls: 1, allocFailures: 1, exchangedFrames: 0 } },
  { description: 'no low memory left: a 40-bit device\'s alloc_coherent is exchanged from above 4 GiB', cfg: { xenLowPages: 0, maskBits: 40 },
    ops: [allocCoherent(0, 4)], expect: { coherentAllocs: 1, hypercalls: 1, exchangedFrames: 4, allocFailures: 0 } },
  { description: 'no low memory left: a 32-bit device\'s alloc_coherent fails', cfg: { xenLowPages: 0 },
    ops: [allocCoherent(0, 4)], expect: { coherentAllocs: 0, hypercalls: 1, allocFailures: 2, pagesFreed: 4 } },
  // 2.6.37 xen_swiotlb_alloc_coherent always exchanges and free_coherent always destroys; from 3.2
  // (modern) a reachable single page is neither.
  { description: '2010: a reachable 40-bit coherent page is still exchanged and destroyed', cfg: { maskBits: 40 },
    ops: [allocCoherent(0, 1), freeCoherent(0)], expect: { coherentAllocs: 1, hypercalls: 2, exchangedFrames: 2 } },
  { description: 'modern: a reachable 40-bit coherent page costs no hypercall', cfg: { maskBits: 40, kernel: Kernel.modern },
    ops: [allocCoherent(0, 1), freeCoherent(0)], expect: { coherentAllocs: 1, hypercalls: 0, exchangedFrames: 0 } },
];

/*
 * xen_swiotlb_map_page with a full pool (nslabs 256: the dummy page holds slots 0-1). A 64-page
 * map takes segment 1 (slots 128..255), a 63-page map slots 2..127: nothing is left.
 */
const fill = [alloc(0, 64), map(0, BIDI, 0, 64 * PAGE), alloc(1, 63), map(1, BIDI, 0, 63 * PAGE)];
const fullCases: EngineCase[] = [
  { description: '2010 Xen: a full pool returns 0 silently, no overflow buffer and no panic even above 32 KiB', cfg: { nslabs: 256 },
    ops: [...fill, alloc(2, 16), map(2, BIDI, 0, 16 * PAGE), devRead(2, 0, PAGE)],
    expect: { bounces: 2, swiotlbFull: 1, mappingErrors: 1, swiotlbPanics: 0 }, kind: ViolationKind.foreign,
    check: (o) => {
      assert.equal(field(o, 'op'), 6n);
      assert.equal(field(o, 'dmaAddr'), 0n, 'the device used the 0 handle');
      assert.equal(field(o, 'via'), BigInt(Via.none), 'DMA_ERROR_CODE names nothing');
    } },
  { description: '2010 swiotlb-force: the same full pool gives the overflow buffer and a panic above 32 KiB', cfg: { nslabs: 256, platform: Platform['swiotlb-force'] },
    ops: [...fill, alloc(2, 16), map(2, BIDI, 0, 16 * PAGE), devRead(2, 0, PAGE)],
    expect: { bounces: 2, swiotlbFull: 1, mappingErrors: 1, swiotlbPanics: 1 }, kind: ViolationKind.foreign,
    check: (o) => assert.equal(field(o, 'via'), BigInt(Via.overflow)) },
  { description: '2010 Xen: a full pool fails a TTM bind (the driver sees the 0 handle as the error)', cfg: { nslabs: 256 },
    ops: [...fill, populate(2, 1), ttBind(2)], expect: { swiotlbFull: 1, mappingErrors: 1, bindFailures: 1, swiotlbPanics: 0 } },
];

for (const engine of ENGINES) {
  describe(`xen-swiotlb bounce decision (engine ${engine})`, () => runCases(engine, bounceCases));

  describe(`XENMEM_exchange (engine ${engine})`, () => {
    runCases(engine, exchangeCases);

    /*
     * BASE after boot: Xen's low range is [65536, 65536 + 65536 + 16384): zone 16 whole (one
     * order-16 block, whose top 16384 frames the pool took) and zone 17's [131072, 147456) (one
     * order-14 block). Above 4 GiB the heap is [2^20, 2^21 - 131072) in zone 20: o19@2^20,
     * o18@1572864, o17@1835008, plus the pool's old frames, scattered single frames.
     */
    it('a 32-bit order-9 exchange takes the top of the highest zone below 4 GiB that has a block (zone 17)', async () => {
      const o = await runOn(engine, { maskBits: 40 }, [alloc(0, 512), exchange(0, 32), map(0, BIDI, 0, 512 * PAGE), unmap(0, BIDI, 1)]);
      assert.deepEqual([o.c.hypercalls, o.c.exchangedFrames, o.c.allocFailures, o.c.bounces], [1, 512, 0, 0]);
      assert.equal(unmapSizeDma(o), at(147456 - 512));
      assert.equal(o.invariants, 0);
    });
    it('a 40-bit order-9 exchange takes the top of the highest free block above 4 GiB (zone 20\'s order 17)', async () => {
      const o = await runOn(engine, { maskBits: 40 }, [alloc(0, 512), exchange(0, 40), map(0, BIDI, 0, 512 * PAGE), unmap(0, BIDI, 1)]);
      assert.deepEqual([o.c.hypercalls, o.c.exchangedFrames, o.c.allocFailures, o.c.bounces], [1, 512, 0, 0]);
      assert.equal(unmapSizeDma(o), at(1835008 + 131072 - 512));
      assert.equal(o.invariants, 0);
    });
    // A host exactly 4 GiB bigger than the guest: above 4 GiB Xen only has the pool's old frames,
    // 16384 single frames scattered among the guest's, so no order-9 block.
    it('a 40-bit exchange reaches below 4 GiB only when no zone above has a block of its order', async () => {
      const cfg = { maskBits: 40, hostPages: 131072 + 2 ** 20 };
      const o = await runOn(engine, cfg, [alloc(0, 512), exchange(0, 40), map(0, BIDI, 0, 512 * PAGE), unmap(0, BIDI, 1)]);
      assert.equal(unmapSizeDma(o), at(147456 - 512), 'order 9: zone 17, as a 32-bit request would');
      const one = await runOn(engine, cfg, [alloc(0, 1), exchange(0, 40), map(0, BIDI, 0, PAGE), unmap(0, BIDI, 1)]);
      assert.ok(unmapSizeDma(one) >= at(2 ** 20), 'order 0: one of the single frames above 4 GiB');
      assert.equal(o.invariants + one.invariants, 0);
    });

    // Exchanges zero the range first (xen_create_contiguous_region's memset), and it stays zero
    // when the exchange fails. The bounce slot keeps the copy the TO_DEVICE map made before.
    it('a failed exchange leaves the range zeroed: the CPU reads zeros as expected, the device\'s bounce copy is now foreign', async () => {
      const o = await runOn(engine, { xenLowPages: 0 },
        [alloc(0, 1), cpuWrite(0), map(0, TO_DEV), exchange(0, 32), cpuRead(0), devRead(0)]);
      assert.deepEqual([o.c.hypercalls, o.c.allocFailures, o.c.exchangedFrames], [1, 1, 0]);
      assert.equal(o.kind, ViolationKind.foreign);
      assert.equal(field(o, 'op'), 5n, 'the CPU read at op 4 saw what it expected');
      assert.deepEqual([field(o, 'seenHi'), field(o, 'seenLo'), field(o, 'expHi'), field(o, 'expLo')], [1n, 2n, 0n, 0n],
        'the slot holds op 1\'s write; the page is expected to read zero');
      assert.equal(o.invariants, 0);
    });

    it('init fails on a low range that does not fit below 4 GiB beside the pool', async () => {
      assert.equal(await initOn(engine, { xenLowPages: 2 ** 20 - 65536 - 16384 + 1 }), InitError.LAYOUT);
      assert.equal(await initOn(engine, { xenLowPages: 0 }), InitError.OK);
    });
  });

  describe(`xen_swiotlb_fixup and the dummy page's mapping (engine ${engine})`, () => {
    // nslabs 256, nothing left below 4 GiB: the low range is one order-7 block at 65536. The first
    // piece splits it and keeps [65600, 65664), the second takes [65536, 65600). The dummy page
    // (pfn 4096 + 128 + 8) bounces into slots 0-1; the next map takes slots 2-3 (pool pfn 4097).
    // The unmap of PAGE − 1 bytes is the probe: dma-debug's unmap-size names the address, and
    // 2.6.37's do_unmap_single, which frees the slots the caller's size names, still frees both.
    it('the pool is exchanged top-down in the lowest zone that has blocks; the dummy page holds slots 0-1', async () => {
      const o = await runOn(engine, { nslabs: 256, xenLowPages: 0 },
        [gpuRead(5, 1), alloc(0, 1), map(0), unmap(0, BIDI, PAGE - 1), alloc(1, 1), exchange(1, 32)]);
      assert.equal(o.kind, ViolationKind.foreign, 'an unbound GART page reads the dummy page');
      assert.deepEqual([field(o, 'dmaAddr'), field(o, 'mfn'), field(o, 'via'), field(o, 'slot'), field(o, 'hopPfn')],
        [at(65600), 65600n, BigInt(Via.swiotlb), 0n, 4096n + 128n + 8n]);
      assert.equal(unmapSizeDma(o), at(65601), 'pool pfn 4097: the second frame of the first piece');
      assert.deepEqual([o.c.maps, o.c.bounces, o.c.allocFailures], [1, 1, 1], 'the dummy map counts nothing');
      assert.equal(o.invariants, 0, 'with no streaming map live only the dummy page\'s two slots are in use');
    });
    const dummyCases = [
      { what: 'swiotlb-force bounces it into slot 0', cfg: { platform: Platform['swiotlb-force'] }, via: Via.swiotlb, dma: at(4096), mapDma: at(4097) },
      { what: 'bare metal maps it directly', cfg: { platform: Platform['bare-metal'] }, via: Via.direct, dma: at(20488), mapDma: null },
    ];
    for (const { what, cfg, via, dma, mapDma } of dummyCases) {
      it(`the dummy page: ${what}`, async () => {
        const o = await runOn(engine, cfg, [gpuRead(0, 1), alloc(0, 1), map(0), unmap(0, BIDI, PAGE - 1)]);
        assert.deepEqual([field(o, 'dmaAddr'), field(o, 'via'), field(o, 'hopPfn')], [dma, BigInt(via), 20488n]);
        if (mapDma !== null) assert.equal(unmapSizeDma(o), mapDma, 'the first streaming bounce takes slots 2-3');
        assert.equal(o.c.bounces, mapDma === null ? 0 : 1);
        assert.equal(o.invariants, 0);
      });
    }
    it('the dummy page: a 40-bit device on Xen reaches its machine frame directly', async () => {
      const o = await runOn(engine, { maskBits: 40, gartFamily: GartFamily.r600 }, [gpuRead(0, 1)]);
      assert.deepEqual([field(o, 'via'), field(o, 'hopPfn')], [BigInt(Via.direct), 20488n]);
      assert.ok(field(o, 'dmaAddr') >= at(2 ** 21 - 131072), 'one of the guest\'s frames');
    });
    it('the dummy page: an AGP bridge maps none, so the first IOVA goes to the first streaming map', async () => {
      const agp = await runOn(engine, { platform: Platform.iommu, gartFamily: GartFamily.agp }, [alloc(0, 1), map(0), unmap(0, BIDI, 1)]);
      const r100 = await runOn(engine, { platform: Platform.iommu }, [alloc(0, 1), map(0), unmap(0, BIDI, 1)]);
      assert.equal(unmapSizeDma(agp), BigInt(IOMMU_BASE));
      assert.equal(unmapSizeDma(r100), BigInt(IOMMU_BASE) + 0x1000n, 'D3: the dummy page holds IOVA entry 0');
    });
  });

  describe(`2.6.37 xen-swiotlb on a full pool (engine ${engine})`, () => runCases(engine, fullCases));
}

// The boot placement (docs/ENGINE.md §1: p2m = guest base + P(pfn)): both engines compute the same
// permutation, read through the bus addresses of pages a 40-bit device reaches without a bounce.
describe('the boot placement of the guest\'s pages is the same on both engines', () => {
  it('eight pages allocated one after another: the same scattered machine frames, each the permutation\'s', async () => {
    const ops = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => [alloc(k, 1), map(k), unmap(k, BIDI, 1)]);
    const [wasm, js] = await Promise.all(ENGINES.map((e) => runOn(e, { maskBits: 40 }, ops)));
    assert.equal(wasm!.dma.length, 8, 'one unmap-size report per page');
    assert.deepEqual(wasm!.dma, js!.dma);
    const m = runModel({ maskBits: 40 }, ops);
    const guestBase = BASE.hostPages - BASE.ramPages;
    const place = new Permutation(BASE.ramPages, new Xorshift32(BASE.seed));
    const frames = wasm!.dma.map((d) => Number(d >> 12n));
    for (const mfn of frames) {
      const pfn = m.machine.mfnToPfn(mfn);
      assert.ok(pfn >= 0, `frame ${mfn} backs a guest page`);
      assert.equal(mfn, guestBase + place.of(pfn), `pfn ${pfn}`);
      assert.equal(place.inverse(mfn - guestBase), pfn);
    }
    assert.ok(frames.every((f, i) => i === 0 || Math.abs(f - frames[i - 1]!) > 1), `scattered: ${frames.join(' ')}`);
  });
});

// Model only (the engines agree through the differential fuzzer): the fixup cursor widens past a
// zone. A pool of 65600 pages with nothing else below 4 GiB: zone 16 (65536 frames) holds its
// first 1024 pieces top-down, the last piece needs 30 bits and zone 17's [131072, 131136).
describe('xen_swiotlb_fixup widens its address bits past a full zone (model)', () => {
  it('piece 0 sits at the top of zone 16, the last piece at the bottom of zone 17', () => {
    const m = runModel({ nslabs: 2 * 65600, xenLowPages: 0 }, []);
    assert.equal(m.machine.mfnOf(4096), 131072 - 64);
    assert.equal(m.machine.mfnOf(4096 + 64 * 1023), 65536);
    assert.equal(m.machine.mfnOf(4096 + 64 * 1024), 131072);
  });
});

// 2.6.37 do_unmap_single (lib/swiotlb.c; xen_unmap_single the same): by the slot at the address,
// live or not — io_tlb_orig_addr is never cleared — it copies `size` bytes back (FROM_DEVICE,
// BIDIRECTIONAL) and frees the slots that size names, whoever holds them. 6.12 goes by the slot's
// own record: a released slot's orig_addr is INVALID_PHYS_ADDR, so a second unmap copies nothing.
for (const engine of ENGINES) {
  describe(`2010 unmap trusts the caller (engine ${engine})`, () => {
    const dbl: OpWords[] = [alloc(0, 1), map(0), devWrite(0), unmap(0), cpuWrite(0), unmap(0), cpuRead(0)];
    it('a double unmap copies the stale bounce over the CPU\'s later write: the read is stale (6.12: coherent)', async () => {
      const old = await runOn(engine, { platform: Platform['swiotlb-force'] }, dbl);
      assert.deepEqual([old.c.staleReads, old.c.bounceBytes], [1, 3 * PAGE], 'the map, the unmap, the second unmap');
      const modern = await runOn(engine, { platform: Platform['swiotlb-force'], kernel: Kernel.modern }, dbl);
      assert.deepEqual([modern.c.staleReads, modern.c.bounceBytes], [0, 2 * PAGE]);
    });
    it('an unmap smaller than its map frees only the slots its size names: the rest stay taken', async () => {
      const o = await runOn(engine, { platform: Platform['swiotlb-force'] }, [alloc(0, 1), map(0), unmap(0, BIDI, 2048)]);
      assert.equal(o.c.swiotlbSlotsInUse, 2 + 1, "the dummy page's two, and the second slot of the map");
    });
  });
}
