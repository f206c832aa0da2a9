// A driver's call on a mapping it had unmapped (a double unmap, a sync after unmap) finds nothing
// live at the recorded address: the recording machine had not given that address again (no map in
// the trace has it). The simulation may have given the simulated handle to another mapping since;
// the replay must not then check or unmap that other mapping: dma-debug says "has not allocated"
// for the call that is wrong and nothing for the others, and the platform's part is replayed only
// where the handle is still nobody else's (2.6.37 then copies back to the slot's kept original).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL } from './helpers.js';
import { ev, replayJson, traceFile } from './traceLines.js';

type Debug = { class: string; op: number; message: string }[];
type Result = { dmaDebug: Debug; counters: Record<string, number>; trace: Record<string, number> };
function both(path: string, ...args: string[]): Result {
  const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, ...args, '--engine', e, ...SMALL));
  assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
  assert.deepEqual(w.counters, j.counters, 'both engines');
  return w;
}
const classes = (d: Debug) => d.filter((x) => x.class !== 'leak').map((x) => `${x.class}@${x.op}`);
/** Counters but the calls' own counts and dma-debug's: what the platform did. */
const platformCounters = (c: Record<string, number>) => Object.fromEntries(Object.entries(c).filter(([k]) => !['unmaps', 'syncsForCpu', 'syncsForDevice', 'dmaDebugErrors'].includes(k)));

const D = 0x7f000000, DPHYS = 0x12340000, HEADER = 4;
// D mapped (bounced when recorded) and unmapped; then enough live one-slot maps that the simulated
// pool (SMALL: 4 MiB, 2048 slots, one the GART's dummy page holds) gives D's slot to the last of them
// on 2.6.37 (whose search only comes back to slot 0 when the pool is full) and to an earlier one on
// 6.12; then `misuse` on D; then the rest unmapped.
function trace(name: string, misuse: string[]): { path: string; misuseLine: number } {
  const live = Array.from({ length: 2046 }, (_, i) => ({ dma: 0x7e000000 + (i + 1) * 0x800, phys: 0x20000000 + (i + 1) * 0x1000 }));
  const body = [ev.mapPhys('FROM_DEVICE', D, 2048, DPHYS), ev.unmapPhys('FROM_DEVICE', D, 2048),
    ...live.map((m) => ev.mapPhys('FROM_DEVICE', m.dma, 1024, m.phys)), ...misuse, ...live.map((m) => ev.unmapPhys('FROM_DEVICE', m.dma, 1024))];
  return { path: traceFile(name, body), misuseLine: HEADER + 2 + live.length + 1 };
}

describe('trace: a call on a mapping the trace had unmapped, whose simulated handle another mapping holds now', () => {
  const clean = trace('stale-none.trace', []);
  const double = trace('stale-unmap.trace', [ev.unmapPhys('TO_DEVICE', D, 2048)]);
  const sync = trace('stale-sync.trace', [ev.sync(true, 'FROM_DEVICE', D, 2048)]);
  const platforms = [['swiotlb-force', 'modern'], ['swiotlb-force', '2010'], ['xen-pv', 'modern'], ['coco', 'modern'], ['iommu', 'modern'], ['iommu', '2010'], ['bare-metal', 'modern']];

  it('the double unmap alone is "has not allocated"; the mapping that holds the handle now is untouched', () => {
    for (const [platform, kernel] of platforms) {
      const at = `${platform} ${kernel}`;
      const base = both(clean.path, '--platform', platform!, '--kernel', kernel!);
      const r = both(double.path, '--platform', platform!, '--kernel', kernel!);
      assert.deepEqual(classes(base.dmaDebug), [], at);
      assert.deepEqual(classes(r.dmaDebug), [`unmap-unknown@${double.misuseLine}`], at);
      assert.match(r.dmaDebug[0]!.message, /\[size=2048 bytes\]$/, at);
      assert.equal(r.trace.afterUnmap, 1, at);
      assert.equal(r.counters.unmaps, base.counters.unmaps! + 1, at);
      // 2.6.37's unmap copies back to the slot's kept original only while nobody took the slot: a
      // TO_DEVICE unmap copies nothing, so nothing else may differ anywhere.
      assert.deepEqual(platformCounters(r.counters), platformCounters(base.counters), at);
    }
  });

  it('a sync after unmap is "has not allocated" and copies nothing out of the slot another mapping holds now', () => {
    for (const [platform, kernel] of platforms) {
      const at = `${platform} ${kernel}`;
      const base = both(clean.path, '--platform', platform!, '--kernel', kernel!);
      const r = both(sync.path, '--platform', platform!, '--kernel', kernel!);
      assert.deepEqual(classes(r.dmaDebug), [`sync-unknown@${sync.misuseLine}`], at);
      assert.deepEqual(platformCounters(r.counters), platformCounters(base.counters), at);
    }
  });

  it('where nobody took the handle, 2.6.37 still copies back to the kept original (its io_tlb_orig_addr is never cleared); 6.12 finds no live run', () => {
    const body = [ev.mapPhys('FROM_DEVICE', D, 2048, DPHYS), ev.unmapPhys('FROM_DEVICE', D, 2048)];
    const once = both(traceFile('once.trace', body), '--platform', 'swiotlb-force', '--kernel', '2010');
    const twice = both(traceFile('twice.trace', [...body, ev.unmapPhys('FROM_DEVICE', D, 2048)]), '--platform', 'swiotlb-force', '--kernel', '2010');
    assert.equal(twice.counters.bounceBytes! - once.counters.bounceBytes!, 2048);
    assert.deepEqual(classes(twice.dmaDebug), [`unmap-unknown@${HEADER + 3}`]);
    const modernOnce = both(traceFile('once-m.trace', body), '--platform', 'swiotlb-force', '--kernel', 'modern');
    const modernTwice = both(traceFile('twice-m.trace', [...body, ev.unmapPhys('FROM_DEVICE', D, 2048)]), '--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.equal(modernTwice.counters.bounceBytes, modernOnce.counters.bounceBytes);
  });
});
