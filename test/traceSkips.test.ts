// The trace replay's memory of mappings it did not replay (src/source/traceSkips.ts): found by
// start or by a byte inside, forgotten at their unmap, the oldest forgotten first past the limit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SkippedMappings } from '../src/source/traceSkips.js';
import { XorShift32 } from '../src/rand.js';

const MiB = 1 << 20;

describe('SkippedMappings', () => {
  it('finds a mapping by its start or a byte inside, the latest first, and forgets it at its unmap', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x1000, size: 8192, reason: 'ccShared' }], 1);
    s.add([{ dma: 0x1000, size: 4096, reason: 'mmio' }], 2);
    assert.equal(s.findStart(0x1000)?.reason, 'mmio');
    assert.equal(s.holding(0x2800)?.reason, 'ccShared', 'only the first one holds 0x2800');
    assert.equal(s.holding(0x3000), undefined, 'the end is not inside');
    s.forget(s.findStart(0x1000)!);
    assert.equal(s.findStart(0x1000)?.reason, 'ccShared');
    assert.equal(s.size, 1);
  });

  it('a zero-length mapping is found by its start only; one over 1 GiB by any byte', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x5000, size: 0, reason: 'zeroLength' }], 1);
    s.add([{ dma: 4096 * MiB, size: 3072 * MiB, reason: 'tooLarge' }], 2);
    assert.equal(s.findStart(0x5000)?.reason, 'zeroLength');
    assert.equal(s.holding(0x5001), undefined);
    assert.equal(s.holding(4096 * MiB + 3000 * MiB)?.reason, 'tooLarge');
    assert.equal(s.holding(7168 * MiB), undefined);
  });

  it('an sg list\'s skipped entries go together at its dma_unmap_sg, the latest list at that address first', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x10000, size: 4096, reason: 'ccShared' }, { dma: 0x20000, size: 4096, reason: 'ccShared' }], 1, 0x9000);
    s.add([{ dma: 0x30000, size: 16 * MiB, reason: 'tooLarge' }], 2, 0x9000);
    assert.equal(s.takeSg(0x9000), 'tooLarge');
    assert.equal(s.holding(0x30000 + MiB), undefined);
    assert.equal(s.holding(0x20010)?.reason, 'ccShared');
    assert.equal(s.takeSg(0x9000), 'ccShared');
    assert.equal(s.takeSg(0x9000), undefined);
    assert.equal(s.size, 0);
  });

  it('past the limit the oldest calls are forgotten whole, and nothing else', () => {
    const s = new SkippedMappings(4);
    s.add([{ dma: 0x1000, size: 4096, reason: 'mmio' }], 1);
    s.add([{ dma: 0x2000, size: 4096, reason: 'mmio' }, { dma: 0x3000, size: 4096, reason: 'mmio' }], 2, 0x7000);
    s.add([{ dma: 0x4000, size: 4096, reason: 'mmio' }], 3);
    s.add([{ dma: 0x5000, size: 4096, reason: 'mmio' }], 4);
    assert.equal(s.size, 4);
    assert.equal(s.findStart(0x1000), undefined, 'the oldest went');
    s.add([{ dma: 0x6000, size: 4096, reason: 'mmio' }], 5);
    assert.equal(s.size, 3, 'the two-entry list went whole');
    assert.equal(s.findStart(0x3000), undefined);
    assert.equal(s.takeSg(0x7000), undefined);
    for (const a of [0x4000, 0x5000, 0x6000]) assert.ok(s.findStart(a));
  });

  it('agrees with a plain list on 20,000 random adds, unmaps and sg unmaps under a limit of 64', () => {
    const rng = new XorShift32(7);
    const s = new SkippedMappings(64);
    type R = { dma: number; size: number; at: number; sg: number | undefined; call: number };
    let model: R[] = [];
    for (let at = 1; at <= 20000; at++) {
      const r = rng.next() % 10;
      const dma = (rng.next() % 64) * 0x1000;
      if (r < 5) {
        const n = r === 0 ? 3 : 1, sg = r === 0 ? dma : undefined;
        const entries = Array.from({ length: n }, (_, i) => ({ dma: dma + i * 0x40000, size: (rng.next() % 3) * 0x1000, reason: 'ccShared' as const }));
        s.add(entries, at, sg);
        for (const e of entries) model.push({ ...e, at, sg, call: at });
        while (model.length > 64) {
          const oldest = model[0]!.call;
          model = model.filter((m) => m.call !== oldest);
        }
      } else if (r < 8) {
        const got = s.findStart(dma);
        const want = [...model].reverse().find((m) => m.dma === dma);
        assert.equal(got?.at, want?.at, `findStart at step ${at}`);
        if (got) {
          s.forget(got);
          model.splice(model.lastIndexOf(want!), 1);
        }
      } else {
        const calls = model.filter((m) => m.sg === dma).map((m) => m.call);
        const latest = calls.length ? Math.max(...calls) : undefined;
        assert.equal(s.takeSg(dma) !== undefined, latest !== undefined, `takeSg at step ${at}`);
        model = model.filter((m) => m.call !== latest);
      }
      assert.equal(s.size, model.length, `size at step ${at}`);
    }
  });
});
