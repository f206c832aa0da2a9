// Xen PV (docs/ENGINE.md §1, §5, §6): xen-swiotlb's bounce decision and XENMEM_exchange through
// xen_create/destroy_contiguous_region, with Xen's low reserve (a buddy of its own), on both engines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InitError, Platform } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, PAGE, alloc, allocCoherent, cpuRead, cpuWrite, exchange, freeCoherent, initOn, map, oracleOf, runCases,
  runOn, unmap, COHERENT, type EngineCase,
} from './engineHarness.js';

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
];

// Boot takes 2 pieces of 64 (pool), 8 (overflow) and 1 (dummy) of 256 low frames: 119 remain.
const tinyLow = { nslabs: 256, xenLowPages: 256 };

const exchangeCases: EngineCase[] = [
  { description: 'success trades frames and counts a hypercall', cfg: tinyLow,
    ops: [alloc(0), exchange(0)], expect: { hypercalls: 1, exchangedFrames: 1, allocFailures: 0 } },
  { description: 'an order-7 exchange does not fit in 119 scattered low frames: rolled back, contents intact', cfg: tinyLow,
    ops: [alloc(0, 128), cpuWrite(0, 0, 128 * PAGE), exchange(0), cpuRead(0, 0, 128 * PAGE)],
    expect: { hypercalls: 1, exchangedFrames: 0, allocFailures: 1 }, check: (o) => assert.deepEqual(oracleOf(o), COHERENT) },
  { description: 'an order-8 exchange larger than what is left of the low reserve fails and changes nothing: the map still bounces', cfg: tinyLow,
    ops: [alloc(0, 256), exchange(0, 32), map(0, BIDI, 0, PAGE)], expect: { allocFailures: 1, hypercalls: 1, exchangedFrames: 0, bounces: 1 } },
  { description: 'order 10 (above Xen\'s order 9) fails without a hypercall', cfg: {},
    ops: [alloc(0, 1024), exchange(0)], expect: { hypercalls: 0, allocFailures: 1 } },
  { description: 'off xen-pv exchange is a no-op', cfg: { platform: Platform['bare-metal'] },
    ops: [alloc(0), exchange(0)], expect: { hypercalls: 0, allocFailures: 0 } },
  { description: 'alloc_coherent exchanges, free_coherent of the exchanged buffer destroys the region', cfg: {},
    ops: [allocCoherent(0, 4), freeCoherent(0)],
    expect: { coherentAllocs: 1, hypercalls: 2, exchangedFrames: 8, pagesAllocated: 4, pagesFreed: 4 } },
  { description: 'alloc_coherent fails when the low reserve cannot serve it', cfg: tinyLow,
    ops: [allocCoherent(0, 128)], expect: { coherentAllocs: 0, allocFailures: 2, pagesFreed: 128 } },
];

/*
 * The low reserve's address limit (D5), derived for a reserve of 131072 frames, mfns [65536, 196608):
 * 128 order-10 blocks, the highest (195584) at the head. Boot exchanges the 64 MiB pool in 256
 * order-6 pieces, which eat the 16 highest blocks in ascending order within each, [180224, 196608);
 * the overflow buffer (order 3) then splits block 179200 and the dummy page (order 0) takes 179208.
 * An order-9 exchange at 32 bits takes the head of list 9: 179712 (the upper half left by the
 * split). At 29 bits the limit is mfn 2^17 = 131072: 179712 ends above it, so list 10 is walked
 * from its head down to the first block ending at or below the limit, 130048, whose lower half is
 * taken. A 40-bit device maps the machine-contiguous buffer directly: its bus address is mfn << 12.
 */
const limitCases = [
  { bits: 32, mfn: 179712 },
  { bits: 29, mfn: 130048 },
];

for (const engine of ENGINES) {
  describe(`xen-swiotlb bounce decision (engine ${engine})`, () => runCases(engine, bounceCases));

  describe(`XENMEM_exchange (engine ${engine})`, () => {
    runCases(engine, exchangeCases);

    for (const { bits, mfn } of limitCases) {
      it(`a ${bits}-bit exchange takes the first low block ending below 2^${bits} (twin of the Buddy limit piece)`, async () => {
        const o = await runOn(engine, { maskBits: 40, xenLowPages: 131072 },
          [alloc(0, 512), exchange(0, bits), map(0, BIDI, 0, 512 * PAGE), unmap(0, BIDI, 1)]);
        assert.deepEqual([o.c.hypercalls, o.c.exchangedFrames, o.c.allocFailures, o.c.bounces], [1, 512, 0, 0]);
        assert.deepEqual(o.classes, ['unmap-size']); // 2010: no map-error check (ENGINE.md §9)
        assert.equal(o.dma[0], BigInt(mfn * PAGE));
        assert.ok(mfn + 512 <= 2 ** (bits - 12));
        assert.equal(o.invariants, 0);
      });
    }

    it('init fails when the low reserve cannot hold the xen-swiotlb pool', async () => {
      assert.equal(await initOn(engine, { nslabs: 256, xenLowPages: 100 }), InitError.XEN_LOW);
    });
  });
}
