// The reference model's own pieces, checked directly (reference model only): the buddy allocator,
// the 2010 swiotlb slot allocator, the GART PTE encoders, Xen's heap and the p2m's boot permutation. Their twins through the op stream,
// on both engines: engine-mm (buddy order and LIFO heads), engine-xen (the low reserve's limit),
// engine-swiotlb (slot search, segments, merging, a full pool) and engine-gart (the raw PTE).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, Kernel, Platform, type MachineConfig } from '../src/engine/abi.js';
import { SwiotlbPool } from '../src/model/dma/swiotlb.js';
import { decodePte, encodePte, pteValid } from '../src/model/drm/gart.js';
import { Buddy } from '../src/model/mm/buddy.js';
import { Permutation, Xorshift32 } from '../src/model/sim/rand.js';
import { XenHeap } from '../src/model/xen/heap.js';
import { P2m } from '../src/model/xen/p2m.js';

const PAGE = 4096;

describe('swiotlb slot allocator (model piece)', () => {
  it('consecutive one-page runs are handed out next-fit', () => {
    const pool = new SwiotlbPool(256);
    assert.deepEqual([pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, PAGE)], [0, 2, 4]);
    assert.equal(pool.slotsInUse, 6);
  });
  it('runs above a page are page-aligned (stride 2)', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.swiotlbTblMapSingle(0, 2048), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 2 * PAGE), 2);
  });
  it('more than 128 slots fail at once', () => {
    const pool = new SwiotlbPool(1024);
    assert.equal(pool.swiotlbTblMapSingle(0, 129 * 2048), -1);
    assert.equal(pool.swiotlbTblMapSingle(0, 128 * 2048), 0);
  });
  it('a run never crosses a 128-slot segment', () => {
    const pool = new SwiotlbPool(256);
    assert.equal(pool.swiotlbTblMapSingle(0, 100 * 2048), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 64 * 2048), 128);
  });
  it('release merges with free neighbours and restores the initial counters', () => {
    const pool = new SwiotlbPool(256);
    const initial = Array.from(pool.list);
    const runs = [pool.swiotlbTblMapSingle(0, PAGE), pool.swiotlbTblMapSingle(0, 3 * PAGE), pool.swiotlbTblMapSingle(0, 2048), pool.swiotlbTblMapSingle(0, PAGE)];
    for (const i of [runs[1], runs[3], runs[0], runs[2]]) pool.swiotlbTblUnmapSingle(i, Kernel['2010'], pool.runSlots[i]!);
    assert.deepEqual(Array.from(pool.list), initial);
    assert.equal(pool.slotsInUse, 0);
  });
  it('full: wraps once and gives up', () => {
    const pool = new SwiotlbPool(128);
    assert.equal(pool.swiotlbTblMapSingle(0, 64 * PAGE), 0);
    assert.equal(pool.swiotlbTblMapSingle(0, 2048), -1);
  });
});

describe('GART PTE formats (model piece)', () => {
  const addr40 = 0x12_3456_7000; // above 4 GiB
  const cases = [
    { family: 'r100', addr: 0x1234_5000, pte: [0, 0x1234_5000], decoded: 0x1234_5000 },
    { family: 'r100', addr: addr40, pte: [0, 0x3456_7000], decoded: 0x3456_7000 }, // silently truncated
    { family: 'r600', addr: addr40 + 0x800, pte: [0x12, 0x3456_7067], decoded: addr40 },
    { family: 'nv04', addr: 0x1234_5000, pte: [0, 0x1234_5003], decoded: 0x1234_5000 },
    { family: 'nv50', addr: addr40, pte: [0x12, 0x3456_7021], decoded: addr40 },
    { family: 'nv50', addr: 0x3f_0000_0000 + 0x1000, pte: [0x3f, 0x0000_1021], decoded: 0x3f_0000_1000 },
  ] as const;
  for (const tc of cases) {
    it(`${tc.family} encodes 0x${tc.addr.toString(16)}`, () => {
      const family = GartFamily[tc.family];
      const pte = encodePte(family, tc.addr);
      assert.deepEqual([pte.hi, pte.lo], tc.pte);
      assert.ok(pteValid(family, pte));
      assert.equal(decodePte(family, pte), tc.decoded);
    });
  }
  it('nv50 unbind writes an invalid zero entry; r600 DMA_MAPPING_ERROR decodes beyond RAM', () => {
    assert.equal(pteValid(GartFamily.nv50, { hi: 0, lo: 0 }), false);
    assert.equal(decodePte(GartFamily.r600, encodePte(GartFamily.r600, -1)), -1);
  });
});

describe('buddy allocator (model piece)', () => {
  it('splits keep the lower half and LIFO heads; freeing everything merges back', () => {
    const zone = new Buddy(4096, 4096 + 5000);
    zone.freeRangeAtInit();
    const initial = zone.freeFrames;
    const a = zone.alloc(0);
    const b = zone.alloc(0);
    assert.equal(a, 9088, 'the smallest free block (9088, order 3, at the ragged end) is split first');
    const c = zone.alloc(0);
    assert.equal(c, b + 1, 'after a split the upper half is the next head');
    const blocks: [number, number][] = [[a, 0], [b, 0], [c, 0]];
    for (const order of [3, 10, 0, 5, 2]) blocks.push([zone.alloc(order), order]);
    assert.ok(blocks.every(([pfn, order]) => pfn >= 0 && pfn % 2 ** order === 0));
    for (const [pfn, order] of blocks.reverse()) zone.free(pfn, order);
    assert.equal(zone.freeFrames, initial);
    assert.equal(zone.alloc(10), blocks.find(([, o]) => o === 10)![0], 'the order-10 block is back at its head');
  });
});

describe("Xen's zone heap (model piece; xen/common/page_alloc.c, Xen 4.0)", () => {
  // A 4 GiB+ host: 4096 free frames at 256 MiB (zone 16: one order-12 block) and zone 20 whole
  // (mfns [2^20, 2^21): one order-20 block, MAX_ORDER).
  const heapOf = () => {
    const heap = new XenHeap(1 << 22);
    heap.addRange(65536, 65536 + 4096);
    heap.addRange(1 << 20, 1 << 21);
    return heap;
  };
  it('a 40-bit request takes the top frame of the highest zone; the split leaves the lower halves in FIFO lists', () => {
    const heap = heapOf();
    assert.equal(heap.allocDomheapPages(0, 40), (1 << 21) - 1, 'twenty halvings keep the top frame');
    assert.equal(heap.allocDomheapPages(0, 40), (1 << 21) - 2, 'the last lower half is the order-0 list');
    assert.equal(heap.allocDomheapPages(1, 40), (1 << 21) - 4, 'then the order-1 half');
    heap.freeHeapPages((1 << 21) - 2, 0);
    heap.freeHeapPages((1 << 21) - 1, 0);
    heap.freeHeapPages((1 << 21) - 4, 1);
    assert.equal(heap.allocDomheapPages(20, 40), 1 << 20, 'freed frames merge back into one order-20 block');
  });
  it('a 32-bit request is served below 4 GiB (zone 19 down), from the top of the order-12 block', () => {
    const heap = heapOf();
    assert.equal(heap.allocDomheapPages(9, 32), 65536 + 4096 - 512);
    assert.equal(heap.allocDomheapPages(9, 32), 65536 + 4096 - 1024, 'the order-9 lower half left by the split');
    assert.equal(heap.allocDomheapPages(0, 13), -1, '13 bits reach only MEMZONE_XEN');
    assert.equal(heap.allocDomheapPages(0, 28), -1, 'zone 15 and below hold nothing');
    assert.equal(heap.allocDomheapPages(0, 0), (1 << 21) - 1, 'no limit: the highest zone first');
  });
});

describe("the p2m's boot permutation (model piece; docs/ENGINE.md §1; the Wasm twin is compared through every differential run)", () => {
  it('is a permutation of [0, n) whose inverse undoes it, for powers of two, their neighbours and odd sizes', () => {
    for (const n of [1, 2, 3, 7, 64, 1000, 65535, 65536, 65537, 786432]) {
      const p = new Permutation(n, new Xorshift32(n));
      const seen = new Uint8Array(n);
      for (let x = 0; x < n; x++) {
        const y = p.of(x);
        assert.ok(y >= 0 && y < n && seen[y] === 0, `n=${n}: x=${x} gives ${y}, out of range or taken twice`);
        seen[y] = 1;
        assert.equal(p.inverse(y), x, `n=${n}: inverse(of(${x}))`);
      }
    }
  });
  it('scatters neighbours like a random permutation: PFN+1 almost never maps to MFN+1', () => {
    const n = 1 << 21; // an 8 GiB guest
    const p = new Permutation(n, new Xorshift32(1));
    let adjacent = 0, sameSuperpage = 0;
    for (let x = 1, prev = p.of(0); x < n; x++) {
      const y = p.of(x);
      if (y === prev + 1) adjacent++;
      if (Math.abs(y - prev) < 512) sameSuperpage++;
      prev = y;
    }
    // a uniform random permutation: ~1 adjacent pair and ~1023 pairs within 512 frames
    assert.ok(adjacent <= 5, `${adjacent} adjacent pairs`);
    assert.ok(sameSuperpage > 800 && sameSuperpage < 1300, `${sameSuperpage} pairs within 512 frames`);
  });
  it('the seed chooses it; the same seed gives the same one', () => {
    const image = (seed: number) => { const p = new Permutation(4096, new Xorshift32(seed)); return Array.from({ length: 4096 }, (_, x) => p.of(x)); };
    assert.deepEqual(image(7), image(7));
    assert.notDeepEqual(image(7), image(8));
  });
  it('places the guest on the host\'s highest frames: p2m = guest base + P(pfn), m2p its inverse', () => {
    const cfg = { platform: Platform['xen-pv'], ramPages: 1 << 16, hostPages: (1 << 20) + (1 << 16), seed: 3 } as MachineConfig;
    const m = new P2m(cfg);
    const p = new Permutation(1 << 16, new Xorshift32(3));
    for (let pfn = 0; pfn < 1 << 16; pfn += 97) {
      assert.equal(m.mfnOf(pfn), (1 << 20) + p.of(pfn));
      assert.equal(m.mfnToPfn(m.mfnOf(pfn)), pfn);
    }
    assert.equal(m.mfnToPfn((1 << 20) - 1), -1, 'a frame below the guest is no guest page');
  });
});
