// dma-debug's containing-lookup index (src/model/dma/debugIndex.ts, assembly/dma/debug_index.ts):
// for a sync at any page it offers every live entry that can hold the page, each once — the same
// set a scan of every entry finds (docs/ENGINE.md D21) — whether the entry is narrow, wide at any
// level, crossing a granule boundary, or empty. Then the same through both engines: syncs deep
// inside long mappings find their entry (no report), and one past a mapping's end finds none.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ContainIndex, type Spanned } from '../src/model/dma/debugIndex.js';
import { Kernel, Platform, type MachineConfig } from '../src/engine/abi.js';
import { BIDI, ENGINES, PAGE, alloc, map, mappingError, runOn, syncCpu } from './engineHarness.js';

const holds = (e: Spanned, page: number): boolean => e.size > 0 && e.dmaAddr <= (page + 1) * PAGE - 1 && e.dmaAddr + e.size > page * PAGE;

describe('the containing-lookup index (model)', () => {
  it('offers every entry that holds the page, each once', () => {
    const entry = fc.record({
      dmaAddr: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      size: fc.oneof(fc.integer({ min: 0, max: 70 * PAGE }), fc.integer({ min: 70 * PAGE, max: 2 ** 31 }), fc.constant(0)),
    });
    fc.assert(fc.property(fc.array(entry, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 20 }), fc.integer({ min: 0, max: 2 ** 20 - 1 }), (entries, drop, page) => {
      const index = new ContainIndex<Spanned>();
      const live = new Set<Spanned>(entries.map((e) => ({ ...e })));
      for (const e of live) index.add(e);
      for (const k of drop) {
        const e = [...live][k];
        if (e) { index.remove(e); live.delete(e); }
      }
      // Pages near the entries' own, and an arbitrary one.
      const pages = [page, ...[...live].flatMap((e) => [Math.floor(e.dmaAddr / PAGE), Math.floor((e.dmaAddr + Math.max(0, e.size - 1)) / PAGE)])];
      for (const p of pages) {
        const seen: Spanned[] = [];
        index.forEachCandidate(p, (e) => seen.push(e));
        assert.equal(new Set(seen).size, seen.length, 'no entry twice');
        for (const e of seen) assert.ok(live.has(e), 'only live entries');
        for (const e of live) if (holds(e, p)) assert.ok(seen.includes(e), `entry ${e.dmaAddr}+${e.size} holds page ${p}`);
      }
    }), { seed: 7, numRuns: 300 });
  });
});

const modern: Partial<MachineConfig> = { platform: Platform['bare-metal'], kernel: Kernel.modern, maxBuffers: 16 };

for (const engine of ENGINES) {
  describe(`containing syncs inside long mappings (engine ${engine})`, () => {
    it('a sync at any page of a mapping of 1 to 1024 pages (an allocation\'s most) finds its entry; one past the end does not', async () => {
      const sizes = [1, 17, 40, 300, 1024];
      const ops = sizes.flatMap((n, slot) => [alloc(slot, n), map(slot, BIDI, 0, n * PAGE), mappingError(slot)]);
      for (const [slot, n] of sizes.entries()) for (const at of [0, Math.floor(n / 2), n - 1]) ops.push(syncCpu(slot, BIDI, at * PAGE + 100, 200));
      const clean = await runOn(engine, modern, ops);
      assert.equal(clean.total, 0, `no report: ${clean.classes.join(' ')}`);
      const past = await runOn(engine, modern, [...ops, syncCpu(4, BIDI, 1024 * PAGE - 100, 200)]);
      assert.equal(past.total, 1);
    });

    it('a zero-byte sync at a mapping\'s end is held by it (containing_match), however far back it starts', async () => {
      // 33 pages from page 31 end on page 64: a sync of 0 bytes there lies on a page no chain of
      // the entry's level reaches; and a one-page mapping's end on the next page (a reviewer's cases).
      for (const ops of [
        [alloc(0, 65), map(0, BIDI, 31 * PAGE, 33 * PAGE), mappingError(0), syncCpu(0, BIDI, 64 * PAGE, 0)],
        [alloc(0, 2), map(0, BIDI, 0, PAGE), mappingError(0), syncCpu(0, BIDI, PAGE, 0)],
      ]) {
        const o = await runOn(engine, modern, ops);
        assert.equal(o.total, 0, o.classes.join(' '));
      }
    });
  });
}
