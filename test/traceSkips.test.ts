// The trace replay's memory of mappings it did not replay (src/source/traceSkips.ts): an unmap or
// free found by start and size, a sync by a range inside, an sg list by its physical addresses;
// forgotten at their unmap, the oldest first past the limits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SkippedMappings, sgKey } from '../src/source/traceSkips.js';
import { XorShift32 } from '../src/rand.js';
import { SMALL } from './helpers.js';
import { DEV, ev, replayJson, traceFile } from './traceLines.js';

const MiB = 1 << 20;

describe('SkippedMappings', () => {
  it('an unmap takes the latest mapping of its start and size, else (when asked) any of its start', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x1000, size: 8192, reason: 'ccShared', kind: 'map' as const }]);
    s.add([{ dma: 0x1000, size: 4096, reason: 'mmio', kind: 'map' as const }]);
    assert.equal(s.take(0x1000, 8192, false, 'map'), 'ccShared', 'by size, not the latest');
    assert.equal(s.take(0x1000, 100, false, 'map'), undefined, 'no such size');
    assert.equal(s.take(0x1000, 100, true, 'map'), 'mmio', 'any size');
    assert.equal(s.take(0x1000, 4096, true, 'map'), undefined, 'both forgotten');
    assert.equal(s.size, 0);
  });

  it('a sync is matched when its whole range lies inside a mapping, of any length', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x5000, size: 0, reason: 'zeroLength', kind: 'map' as const }]);
    s.add([{ dma: 0x10000, size: 8192, reason: 'ccShared', kind: 'map' as const }]);
    s.add([{ dma: 4096 * MiB, size: 3072 * MiB, reason: 'tooLarge', kind: 'map' as const }]);
    assert.equal(s.holding(0x5001, 0), undefined, 'a zero-length mapping holds nothing past its start');
    assert.equal(s.holding(0x11000, 4096), 'ccShared');
    assert.equal(s.holding(0x11000, 4097), undefined, 'running past its end');
    assert.equal(s.holding(4096 * MiB + 3000 * MiB, 64), 'tooLarge');
    assert.equal(s.holding(7168 * MiB, 64), undefined);
  });

  it('an sg list\'s skipped entries go together at the dma_unmap_sg of the same physical addresses', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x10000, size: 4096, reason: 'ccShared', kind: 'map' as const }, { dma: 0x20000, size: 4096, reason: 'ccShared', kind: 'map' as const }], sgKey([0x9000, 0xa000]));
    s.add([{ dma: 0x30000, size: 16 * MiB, reason: 'tooLarge', kind: 'map' as const }], sgKey([0x9000]));
    assert.equal(s.take(0x10000, 4096, false, 'map'), 'ccShared', 'an entry unmapped alone');
    assert.equal(s.takeSg(sgKey([0x9000, 0xa000])), 'ccShared', 'its list is still known');
    assert.equal(s.holding(0x20010, 16), undefined);
    assert.equal(s.holding(0x30000 + MiB, 64), 'tooLarge', 'the other list, at the same first address, stays');
    assert.equal(s.takeSg(sgKey([0x9000])), 'tooLarge');
    assert.equal(s.takeSg(sgKey([0x9000])), undefined);
    assert.equal(s.size, 0);
  });

  it('an unmap takes a map, a free an allocation; a single map before an sg entry of the same start and size', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x1000, size: 4096, reason: 'tooLarge', kind: 'alloc' }]);
    s.add([{ dma: 0x1000, size: 4096, reason: 'ccShared', kind: 'map' }]);
    s.add([{ dma: 0x1000, size: 4096, reason: 'zeroLength', kind: 'map' }], 'list');
    assert.equal(s.take(0x1000, 4096, true, 'map'), 'ccShared');
    assert.equal(s.take(0x1000, 4096, true, 'map'), 'zeroLength');
    assert.equal(s.take(0x1000, 4096, true, 'map'), undefined);
    assert.equal(s.take(0x1000, 4096, true, 'alloc'), 'tooLarge');
  });

  it('syncs find any number of long mappings, each filed under at most 16 keys; unmaps find them by start', () => {
    const s = new SkippedMappings();
    for (let i = 0; i < 3000; i++) s.add([{ dma: i * 16 * MiB, size: 8 * MiB, reason: i % 2 ? 'tooLarge' : 'mmio', kind: 'map' }]);
    assert.equal(s.holding(0, 64), 'mmio', 'the oldest of 3,000');
    assert.equal(s.holding(16 * MiB + 8 * MiB - 64, 64), 'tooLarge', 'the end of the second');
    assert.equal(s.holding(16 * MiB + 8 * MiB - 64, 65), undefined, 'one byte past it');
    assert.equal(s.holding(8 * MiB, 64), undefined, 'between two');
    // A mapping of 1 TiB and one inside it: a sync in both is the latest's.
    s.add([{ dma: 2 ** 44, size: 2 ** 40, reason: 'mmio', kind: 'map' }]);
    s.add([{ dma: 2 ** 44 + 2 ** 39, size: 40 * 4096, reason: 'ccShared', kind: 'map' }]);
    assert.equal(s.holding(2 ** 44 + 2 ** 39 + 4096, 64), 'ccShared');
    assert.equal(s.holding(2 ** 44 + 2 ** 38, 64), 'mmio');
    assert.equal(s.take(2 ** 44 + 2 ** 39, 40 * 4096, false, 'map'), 'ccShared');
    assert.equal(s.holding(2 ** 44 + 2 ** 39 + 4096, 64), 'mmio', 'the older one, once the latest is unmapped');
    for (let i = 0; i < 3000; i++) assert.equal(s.take(i * 16 * MiB, 8 * MiB, false, 'map'), i % 2 ? 'tooLarge' : 'mmio', `unmap ${i}`);
    assert.equal(s.holding(0, 64), undefined);
    assert.equal(s.take(2 ** 44, 2 ** 40, false, 'map'), 'mmio');
    assert.equal(s.size, 0);
  });

  it('a sync held by an older short mapping and a newer long one is the newer\'s, whatever their levels', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x40000, size: 4096, reason: 'ccShared', kind: 'map' }]); // level 0
    s.add([{ dma: 0, size: 64 * MiB, reason: 'tooLarge', kind: 'map' }]); // level 3
    assert.equal(s.holding(0x40010, 16), 'tooLarge');
    s.add([{ dma: 0x40000, size: 8192, reason: 'mmio', kind: 'map' }]); // level 0 again, newest
    assert.equal(s.holding(0x40010, 16), 'mmio');
    assert.equal(s.take(0x40000, 8192, false, 'map'), 'mmio');
    assert.equal(s.holding(0x40010, 16), 'tooLarge');
  });

  it('past 64 in one block the oldest there leaves the block index, not the memory of its unmap', () => {
    const s = new SkippedMappings();
    // 70 mappings of 20 pages starting 64 bytes apart: all touch the same 16-page blocks.
    for (let k = 0; k < 70; k++) s.add([{ dma: 0x100000 + k * 64, size: 20 * 4096, reason: k < 6 ? 'mmio' : 'ccShared', kind: 'map' }]);
    assert.equal(s.size, 70);
    assert.equal(s.holding(0x100000, 64), undefined, 'the oldest six left the block index');
    assert.equal(s.holding(0x100000 + 6 * 64, 64), 'ccShared');
    for (let k = 0; k < 6; k++) assert.equal(s.take(0x100000 + k * 64, 20 * 4096, false, 'map'), 'mmio', `unmap ${k}`);
    assert.equal(s.size, 64);
  });

  it('a zero-length sync is a mapping\'s at a byte of it, not at its end', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x1000, size: 4096, reason: 'mmio', kind: 'map' }]);
    s.add([{ dma: 0x100000, size: 40 * 4096, reason: 'ccShared', kind: 'map' }]);
    assert.equal(s.holding(0x1fff, 0), 'mmio');
    assert.equal(s.holding(0x2000, 0), undefined);
    assert.equal(s.holding(0x100000 + 40 * 4096 - 1, 0), 'ccShared');
    assert.equal(s.holding(0x100000 + 40 * 4096, 0), undefined);
  });

  it('a zero-length sync of a zero-length mapping\'s start is that mapping\'s', () => {
    const s = new SkippedMappings();
    s.add([{ dma: 0x5000, size: 0, reason: 'zeroLength', kind: 'map' }]);
    assert.equal(s.holding(0x5000, 0), 'zeroLength');
    assert.equal(s.holding(0x5000, 1), undefined);
  });

  it('past the limit the oldest call\'s mappings are forgotten whole', () => {
    const s = new SkippedMappings(4);
    s.add([{ dma: 0x1000, size: 4096, reason: 'mmio', kind: 'map' as const }]);
    s.add([{ dma: 0x2000, size: 4096, reason: 'mmio', kind: 'map' as const }, { dma: 0x3000, size: 4096, reason: 'mmio', kind: 'map' as const }], 'list');
    s.add([{ dma: 0x4000, size: 4096, reason: 'mmio', kind: 'map' as const }]);
    s.add([{ dma: 0x5000, size: 4096, reason: 'mmio', kind: 'map' as const }]);
    assert.equal(s.size, 4);
    assert.equal(s.take(0x1000, 4096, true, 'map'), undefined, 'the oldest went');
    s.add([{ dma: 0x6000, size: 4096, reason: 'mmio', kind: 'map' as const }]);
    assert.equal(s.size, 3, 'the two-entry list went whole');
    assert.equal(s.takeSg('list'), undefined);
    for (const a of [0x4000, 0x5000, 0x6000]) assert.equal(s.take(a, 4096, false, 'map'), 'mmio');
  });

  it('at most 64 at one address: 100,000 there cost no more than a few', () => {
    const s = new SkippedMappings();
    for (let i = 0; i < 100_000; i++) s.add([{ dma: 0x1000, size: 4096 + (i % 7), reason: 'ccShared', kind: 'map' as const }]);
    assert.equal(s.size, 64);
    assert.equal(s.holding(0x3000, 64), undefined);
  });

  it('agrees with a plain list on 20,000 random adds, unmaps, syncs and sg unmaps under a limit of 64', () => {
    const rng = new XorShift32(7);
    const s = new SkippedMappings(64);
    type R = { dma: number; size: number; call: number; sg: string | undefined; gone: boolean };
    let model: R[] = [];
    const sizes = [0, 100, 4096, 8192, 80 * 4096, 3 * MiB];
    for (let step = 1; step <= 20000; step++) {
      const r = rng.next() % 12;
      const dma = (rng.next() % 64) * 0x1000 + (rng.next() % 4) * 0x400000;
      if (r < 5) {
        const n = r === 0 ? 3 : 1, sg = r === 0 ? `l${dma}` : undefined;
        const entries = Array.from({ length: n }, (_, i) => ({ dma: dma + i * 0x2000, size: sizes[rng.next() % sizes.length]!, reason: 'ccShared' as const, kind: 'map' as const }));
        s.add(entries, sg);
        for (const e of entries) model.push({ ...e, call: step, sg, gone: false });
        const live = () => model.filter((m) => !m.gone);
        const calls = () => new Set(model.filter((m) => !m.gone || m.sg !== undefined).map((m) => m.call));
        while (live().length > 64 || calls().size > 64) {
          const oldest = Math.min(...calls());
          model = model.filter((m) => m.call !== oldest);
        }
      } else if (r < 8) {
        const size = sizes[rng.next() % sizes.length]!;
        const live = model.filter((m) => !m.gone && m.dma === dma);
        // Exact size first, then a single map before an sg entry, then the latest.
        const score = (m: R) => (m.size === size ? 4 : r === 7 ? 2 : -9) + (m.sg === undefined ? 1 : 0);
        const want = [...live].reverse().reduce<R | undefined>((w, m) => (score(m) > 0 && (!w || score(m) > score(w)) ? m : w), undefined);
        assert.equal(s.take(dma, size, r === 7, 'map') !== undefined, want !== undefined, `take at step ${step}`);
        if (want) want.gone = true;
      } else if (r < 10) {
        const size = 1 + (rng.next() % 8192);
        const want = model.some((m) => !m.gone && m.dma <= dma && dma + size <= m.dma + m.size);
        assert.equal(s.holding(dma, size) !== undefined, want, `holding at step ${step}`);
      } else {
        const key = `l${dma}`;
        const latest = Math.max(-1, ...model.filter((m) => m.sg === key).map((m) => m.call));
        assert.equal(s.takeSg(key) !== undefined, latest >= 0, `takeSg at step ${step}`);
        model = model.filter((m) => m.call !== latest);
      }
      assert.equal(s.size, model.filter((m) => !m.gone).length, `size at step ${step}`);
    }
  });
});

describe('trace: an sg sync whose first entry was not replayed checks what the recording dma-debug found there', () => {
  // get_nr_mapped_entries looks the first entry up exactly: an sg entry gives its list's count, a single map's 0.
  const wrongDir = (first: number) => `dma_sync_sg_for_device: ${DEV} dir=FROM_DEVICE dma_addrs={0x${first.toString(16)},0x90000000} sizes={0x1000,0x1000}`;
  const big = 5 << 20; // over 4 MiB: not replayed (tooLarge)
  const run = (path: string, kernel = 'modern') => {
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, '--platform', 'bare-metal', '--kernel', kernel, '--engine', e, ...SMALL));
    assert.deepEqual(w.dmaDebug, j.dmaDebug);
    return w.dmaDebug.map((d: { class: string }) => d.class).filter((c: string) => c !== 'leak');
  };
  it('the list\'s own first entry, skipped: the others are checked (a direction report on the second)', () => {
    const path = traceFile('sg-first-skipped.trace', [
      `dma_map_sg: ${DEV} dir=TO_DEVICE nents=2/2 ents=2/2 dma_addrs={0x80000000,0x90000000} sizes={0x${big.toString(16)},0x1000} phys_addrs={0x10000000,0x30000000} attrs=`,
      wrongDir(0x80000000)]);
    assert.deepEqual(run(path), ['sync-direction']);
  });
  it('a single map\'s address first (sg_mapped_ents 0): nothing checked', () => {
    const path = traceFile('sg-first-single.trace', [
      ev.mapPhys('TO_DEVICE', 0x80000000, big, 0x10000000),
      `dma_map_sg: ${DEV} dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs={0x90000000} sizes={0x1000} phys_addrs={0x30000000} attrs=`,
      wrongDir(0x80000000)]);
    assert.deepEqual(run(path), []);
  });
  it('2.6.37: a dma_alloc\'s address first (its sync not replayed there; a coherent entry, sg_mapped_ents 0): nothing checked', () => {
    const path = traceFile('sg-first-alloc.trace', [
      ev.alloc(0x7f000000, 8192),
      `dma_map_sg: ${DEV} dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs={0x90000000} sizes={0x1000} phys_addrs={0x30000000} attrs=`,
      wrongDir(0x7f000000)]);
    assert.deepEqual(run(path, '2010'), []);
  });
  // Review cases: what the exact lookup finds at the first entry's address decides, whatever the replay did with it.
  const sgAt = (dmas: string, sizes: string, phys: string) => `dma_map_sg: ${DEV} dir=TO_DEVICE nents=2/2 ents=2/2 dma_addrs={${dmas}} sizes={${sizes}} phys_addrs={${phys}} attrs=`;
  const sync = (sizes: string) => `dma_sync_sg_for_device: ${DEV} dir=FROM_DEVICE dma_addrs={0x80000000,0x90000000} sizes={${sizes}}`;
  const listed = sgAt('0x80000000,0x90000000', `0x${big.toString(16)},0x1000`, '0x10000000,0x30000000');
  const single1 = `dma_map_sg: ${DEV} dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs={0x90000000} sizes={0x1000} phys_addrs={0x30000000} attrs=`;
  for (const [what, lines, classes] of [
    ['a single map and a list\'s entry both start there, none a perfect fit (the direction differs): none', [ev.mapPhys('TO_DEVICE', 0x80000000, big, 0x10000000), listed, sync(`0x${big.toString(16)},0x1000`)], []],
    ['a zero-length single map there (sg_mapped_ents 0): none', [ev.mapPhys('TO_DEVICE', 0x80000000, 0, 0x10000000), single1, sync('0x1000,0x1000')], []],
    ['a skipped list the trace had unmapped (no entry there): none', [listed, ev.unmapSg('TO_DEVICE', [0x10000000, 0x30000000]), sync(`0x${big.toString(16)},0x1000`)], []],
    ['a zero-length first entry at a replayed single map\'s start: none', [ev.mapPhys('TO_DEVICE', 0x80000000, 4096, 0x10000000), single1, sync('0x0,0x1000')], []],
    ['a zero-length first entry of the live list itself: the others are checked', [sgAt('0x80000000,0x90000000', '0x0,0x1000', '0x10000000,0x30000000'), sync('0x0,0x1000')], ['sync-direction']],
  ] as const) {
    it(what, () => assert.deepEqual(run(traceFile('sg-first-review.trace', [...lines])), classes));
  }
});
