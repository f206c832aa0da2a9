// RELEASE, teardown and the accounting invariants (docs/ENGINE.md §13, §15 T1), plus op-stream
// hygiene, on both engines. A last part, labelled, looks inside the reference model where the
// Engine interface cannot (pool sizes, slots, Xen's reserve, the zones).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BindMode, Caching, GartFamily, GattMode, Kernel, Op, Platform, Pool } from '../src/engine/abi.js';
import { checkInvariants } from '../src/model/invariants.js';
import {
  BIDI, ENGINES, PAGE, alloc, cpuRead, cpuWrite, free, gattCreate, gpuRead, gpuWrite, map, mappingError, populate, release,
  runModel, runOn, ttBind, ttSync, ttUnbind, unmap, unpopulate, type OpWords,
} from './engineHarness.js';

const PLATFORMS = [Platform['bare-metal'], Platform['swiotlb-force'], Platform['xen-pv'], Platform.iommu];

/** Every pool kind, bound and unbound tts, a pool shrink, a sync and a plain mapping, then RELEASE. */
const everything = (platform: number): OpWords[] => [
  populate(0, 40), ttBind(0, 0), populate(1, 9, Pool.ttmDma), ttBind(1, 64, BindMode.coherent),
  populate(2, 20, Pool.xenAware, Caching.uc), populate(3, 3, Pool.ttm, Caching.cached), ttBind(3, 128),
  populate(4, 5, Pool.ttmDma, Caching.cached), unpopulate(4), cpuWrite(0, 0, 40 * PAGE), ttSync(0, 0), gpuRead(0, 40),
  ...(platform === Platform.iommu ? [] : [alloc(5, 2), map(5), mappingError(5), unmap(5), free(5)]),
  release(),
];
/** After RELEASE: CPU ops on the tt slots 0..4 touch no page (teardown left no tt behind). */
const probeSlots = [0, 1, 2, 3, 4].flatMap((slot) => [cpuRead(slot), cpuWrite(slot)]);

const churn = (pool: number, caching: number, mode: number): OpWords[] => [
  populate(0, 40, pool, caching), ttBind(0, 0, mode), cpuWrite(0, 0, 40 * PAGE),
  populate(1, 5, pool, caching), populate(2, 600, pool, caching), unpopulate(1), ttBind(2, 100, mode),
];
/**
 * Slots the GART dummy page holds for the device's life (ENGINE.md §1): a bounce of one page on
 * swiotlb-force and on xen-pv with the base's 32-bit mask (its frame is above 4 GiB); none on an
 * AGP bridge (no dummy mapping), bare metal (direct) or the iommu (an IOVA).
 */
const dummySlots = (cfg: { platform?: number; gartFamily?: number }): number =>
  cfg.gartFamily === GartFamily.agp ? 0 : cfg.platform === undefined || cfg.platform === Platform['xen-pv'] || cfg.platform === Platform['swiotlb-force'] ? 2 : 0;

// `coherentLive`: the live tts hold dma_alloc_coherent pages, dma-debug entries the release counts (T8, T20).
const churnCases: { description: string; cfg: { platform?: number; gartFamily?: number }; ops: OpWords[]; coherentLive?: boolean }[] = [
  { description: 'xen-pv, 2010 pool, tts left bound', cfg: {}, ops: churn(Pool.ttm, Caching.wc, BindMode.map) },
  { description: 'xen-pv, dma pool', cfg: {}, ops: churn(Pool.ttmDma, Caching.uc, BindMode.coherent), coherentLive: true },
  { description: 'xen-pv, xen-aware pool: exchanged frames go back to Xen', cfg: {}, ops: churn(Pool.xenAware, Caching.wc, BindMode.map) },
  { description: 'xen-pv, cached xen-aware', cfg: {}, ops: churn(Pool.xenAware, Caching.cached, BindMode.map) },
  { description: 'iommu, dma pool', cfg: { platform: Platform.iommu }, ops: churn(Pool.ttmDma, Caching.wc, BindMode.coherent), coherentLive: true },
  { description: 'swiotlb-force, 2010 pool', cfg: { platform: Platform['swiotlb-force'] }, ops: churn(Pool.ttm, Caching.uc, BindMode.map) },
  { description: 'xen-pv agp fsb hooks', cfg: { gartFamily: GartFamily.agp },
    ops: [gattCreate(2048, GattMode.fsbHooks), ...churn(Pool.agpFsb, Caching.uc, BindMode.fsb)] },
  { description: 'xen-pv agp dma-coherent', cfg: { gartFamily: GartFamily.agp },
    ops: [gattCreate(2048, GattMode.dmaCoherent), ...churn(Pool.agpCoherent, Caching.uc, BindMode.coherent)] },
];

/** xorshift32, so the stress is the same every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}
/** 3000 random TTM actions on 8 slots (pools 0-2), every tt unpopulated at the end, then RELEASE. */
function stressOps(seed: number): OpWords[] {
  const r = rng(seed);
  const ops: OpWords[] = [];
  const bound: (number | null)[] = new Array(8).fill(null);
  const held: boolean[] = new Array(8).fill(false);
  for (let k = 0; k < 3000; k++) {
    const slot = r(8);
    switch (r(7)) {
      case 0:
        if (held[slot]) ops.push(unpopulate(slot));
        ops.push(populate(slot, 1 + r(r(4) === 0 ? 600 : 40), [Pool.ttm, Pool.ttmDma, Pool.xenAware][r(3)], r(3)));
        held[slot] = true; bound[slot] = null;
        break;
      case 1:
        if (held[slot] && bound[slot] === null) { bound[slot] = slot * 1024; ops.push(ttBind(slot, slot * 1024, r(2))); }
        break;
      case 2:
        if (held[slot]) ops.push(cpuWrite(slot, 0, PAGE), r(2) ? gpuRead(slot * 1024, 1) : gpuWrite(slot * 1024, 1));
        break;
      case 3:
        if (held[slot]) ops.push(ttSync(slot, r(2)), cpuRead(slot, 0, PAGE));
        break;
      case 4:
        if (bound[slot] !== null) { ops.push(ttUnbind(slot)); bound[slot] = null; }
        break;
      default:
        if (held[slot]) { ops.push(unpopulate(slot)); held[slot] = false; bound[slot] = null; }
    }
  }
  held.forEach((h, slot) => { if (h) ops.push(unpopulate(slot)); });
  ops.push(release());
  return ops;
}
const STRESS = [[Platform['xen-pv'], 1], [Platform['xen-pv'], 7], [Platform['swiotlb-force'], 3], [Platform.iommu, 5], [Platform['bare-metal'], 11]] as const;
const stressCfg = (platform: number) => ({ platform, nslabs: 2048, xenLowPages: 4096, gartPages: 8192 });

for (const engine of ENGINES) {
  describe(`teardown and invariants (§13) (engine ${engine})`, () => {
    for (const platform of PLATFORMS) {
      it(`platform ${platform}: every pool empty (invariant bit 3), every invariant holds, every page back, no tt left`, async () => {
        const o = await runOn(engine, { platform }, [...everything(platform), ...probeSlots]);
        assert.equal(o.invariants, 0);
        assert.equal(o.c.pagesAllocated, o.c.pagesFreed);
        const before = await runOn(engine, { platform }, everything(platform));
        assert.deepEqual([o.c.cpuReads, o.c.cpuWrites], [before.c.cpuReads, before.c.cpuWrites]);
      });
    }
    for (const t of churnCases) {
      it(`${t.description}: everything given back, invariants 0`, async () => {
        const before = await runOn(engine, t.cfg, t.ops);
        assert.equal(before.invariants, 0, 'before release');
        const { c, invariants } = await runOn(engine, t.cfg, [...t.ops, release()]);
        assert.equal(invariants, 0, 'after release');
        assert.equal(c.pagesAllocated, c.pagesFreed, 'every tt and pool page back in the buddy');
        assert.equal(c.swiotlbSlotsInUse, dummySlots(t.cfg), 'only the dummy page\'s slots');
        assert.equal(c.dmaDebugErrors, before.c.dmaDebugErrors + (before.c.maps > before.c.unmaps || t.coherentLive ? 1 : 0), 'only the leak report');
      });
    }
    it('teardown reports nothing to dma-debug but the leak found before it', async () => {
      const o = await runOn(engine, {}, [populate(0, 4), ttBind(0), release()]);
      assert.deepEqual(o.classes, ['leak']);
      assert.equal(o.records[0][8], 4n);
      assert.equal(o.c.unmaps, 4, 'the teardown still unmaps');
    });
    it('TTM\'s coherent pages are dma-debug entries (T8): a live tt\'s leak at release, the pool\'s do not (T20)', async () => {
      // 2010: one entry per page; 5 pages take two refills of 4, so the pool keeps 3.
      const live = await runOn(engine, {}, [populate(0, 5, Pool.ttmDma), release()]);
      assert.deepEqual(live.classes, ['leak']);
      assert.equal(live.records[0]![8], 5n);
      assert.deepEqual((await runOn(engine, {}, [populate(0, 5, Pool.ttmDma), unpopulate(0), release()])).classes, []);
      // 6.12: one entry per dma_alloc_attrs block, 5 pages are an order-2 and an order-0 block.
      const modern = { kernel: Kernel.modern };
      const blocks = await runOn(engine, modern, [populate(0, 5, Pool.ttmDma), release()]);
      assert.deepEqual(blocks.classes, ['leak']);
      assert.equal(blocks.records[0]![8], 2n);
      assert.deepEqual((await runOn(engine, modern, [populate(0, 5, Pool.ttmDma), unpopulate(0), release()])).classes, []);
    });
    it('2010: more than 65536 live TTM coherent pages switch dma-debug off, as its preallocated entries run out (T22)', async () => {
      const big = { platform: Platform['bare-metal'], ramPages: 1 << 19 }; // 2 GiB, all of it DMA32
      // 65,532 pages take 16,384 refills (one whenever fewer than 4 are free): 65,536 entries, 4 of
      // them pooled, so dma-debug stays on and the leak is the tt's 65,532.
      const under = await runOn(engine, big, [populate(0, 65532, Pool.ttmDma, Caching.cached), release()]);
      assert.equal(under.c.coherentAllocs, 65536);
      assert.deepEqual(under.classes, ['leak']);
      assert.equal(under.records[0]![8], 65532n);
      // 65,540 pages take 16,386 refills: the 65,537th allocation finds no free entry.
      const over = await runOn(engine, big, [populate(0, 65540, Pool.ttmDma, Caching.cached), release()]);
      assert.equal(over.c.coherentAllocs, 65544);
      assert.deepEqual(over.classes, [], 'dma-debug is off: no leak check');
      assert.equal(over.c.dmaDebugErrors, 0);
    });
  });

  describe(`randomised TTM stress with a leak check (engine ${engine})`, () => {
    for (const [platform, seed] of STRESS) {
      it(`platform ${platform} seed ${seed}: freeing everything restores the pools, Xen's heap and the buddy`, async () => {
        const o = await runOn(engine, stressCfg(platform), stressOps(seed));
        assert.equal(o.invariants, 0, 'pools drained (bit 3), low range whole (bit 3), buddy accounts (bit 4)');
        assert.equal(o.c.pagesAllocated, o.c.pagesFreed, 'every page back');
        assert.equal(o.c.swiotlbSlotsInUse, dummySlots({ platform }));
        assert.ok(o.c.cachingChangeCalls > 0 && o.c.poolRefills > 0);
      });
    }
  });

  describe(`op stream hygiene (engine ${engine})`, () => {
    it('an unknown op code throws (Wasm: traps), naming the code', async () => {
      await assert.rejects(runOn(engine, {}, [[99, 0]]), /unknown op code 99/);
      await assert.rejects(runOn(engine, {}, [[0]]), /unknown op code 0/);
      await assert.rejects(runOn(engine, { platform: Platform['bare-metal'] }, [alloc(0), [77]]), /unknown op code 77/);
    });
    it('TT ops with fields out of range are no-ops (no id, no counter)', async () => {
      const { c } = await runOn(engine, { platform: Platform['bare-metal'] },
        [[Op.TT_POPULATE, 0, 0, Pool.ttm, 1], [Op.TT_POPULATE, 0, 4, 6, 1], [Op.TT_POPULATE, 0, 4, 0, 3], [Op.GATT_CREATE, 0, 0]]);
      assert.equal(c.pagesAllocated, 0); assert.equal(c.allocFailures, 0);
    });
    it('buffer ops on a tt slot are no-ops; cpu ops walk its page list', async () => {
      const { c } = await runOn(engine, { platform: Platform['bare-metal'] },
        [populate(0, 4), map(0, BIDI, 0, PAGE), free(0), cpuWrite(0, PAGE, 2 * PAGE), cpuRead(0, 0, 4 * PAGE)]);
      assert.equal(c.maps, 0); assert.equal(c.pagesFreed, 0); assert.equal(c.cpuWrites, 2); assert.equal(c.cpuReads, 4); assert.equal(c.staleReads, 0);
    });
  });
}

describe('teardown and stress: what only the reference model shows (model only, reads model internals)', () => {
  for (const platform of PLATFORMS) {
    it(`platform ${platform}: after RELEASE every pool is empty and no slot holds a tt`, () => {
      const m = runModel({ platform }, everything(platform));
      assert.equal(checkInvariants(m), 0);
      assert.ok(m.ttmPools.all().every(({ pool }) => pool.size === 0));
      assert.equal(m.counters.pagesAllocated, m.counters.pagesFreed);
      assert.equal(m.slots.filter((s) => s && s.kind === 'tt').length, 0);
    });
  }
  it('a pool left non-empty is caught before RELEASE only by the buddy accounting, which holds', () => {
    const m = runModel({}, [populate(0, 4), unpopulate(0)]);
    assert.equal(checkInvariants(m), 0);
    m.counters.pagesFreed++; // break the accounting on purpose
    assert.equal(checkInvariants(m) & 16, 16);
  });
  for (const [platform, seed] of STRESS) {
    it(`stress platform ${platform} seed ${seed}: pools, dma pages in use, the zones, Xen's heap and swiotlb back to boot`, () => {
      const fresh = runModel(stressCfg(platform), []);
      const m = runModel(stressCfg(platform), stressOps(seed));
      assert.equal(checkInvariants(m), 0);
      assert.ok(m.ttmPools.all().every(({ pool }) => pool.size === 0), 'pools drained');
      assert.equal(m.ttmPools.dmaInUse, 0);
      assert.equal(m.counters.pagesAllocated, m.counters.pagesFreed, 'every page back');
      assert.equal(m.zones.dma32.freeFrames, fresh.zones.dma32.freeFrames);
      const heapFree = (x: typeof m) => (x.xen ? Array.from(x.xen.heap.avail).reduce((a, b) => a + b, 0) : 0);
      const lowHeld = (x: typeof m) => (x.xen ? Array.from(x.machine.p2m!).filter((mfn) => x.xen!.isLowFrame(mfn)).length : 0);
      assert.equal(heapFree(m), heapFree(fresh), "Xen's heap holds as many free frames as at boot");
      assert.equal(lowHeld(m), lowHeld(fresh), 'the guest holds low frames for its pool only');
      assert.equal(m.swiotlb.slotsInUse, fresh.swiotlb.slotsInUse, 'only the dummy page keeps its slots');
      assert.ok(m.counters.cachingChangeCalls > 0 && m.counters.poolRefills > 0);
    });
  }
});
