// A driver's call on a mapping it had unmapped (a double unmap, a sync after unmap) finds nothing
// live at the recorded address: the recording machine had not given that address again (no map in
// the trace has it). The simulation may have given the simulated handle to another mapping since;
// the replay must not then check or unmap that other mapping: dma-debug says "has not allocated"
// for the call that is wrong and nothing for the others, and the platform's part is replayed only
// where the handle is still nobody else's (2.6.37 then copies back to the slot's kept original).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL } from './helpers.js';
import { DEV, ev, replayJson, traceFile } from './traceLines.js';

type Debug = { class: string; op: number; message: string }[];
type Result = { dmaDebug: Debug; counters: Record<string, number>; trace: Record<string, unknown> & { skipped: Record<string, number> } };
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

  it('2.6.37: a double unmap whose later slots another mapping holds now leaves them (do_unmap_single would free every slot its size reaches)', () => {
    // A 128-slot pool (the GART dummy page holds slots 0-1). A (2 slots at 3-4) is unmapped; the search wraps; Y takes
    // slot 2, and B (4 slots, stride 2) slots 4-7: A's first slot is free, its second B's. Then the pool is filled to
    // the last slot, so one more map fails, unless the double unmap freed B's slot.
    const m = (dir: string, dma: number, size: number, phys: number) => ev.mapPhys(dir, dma, size, phys), A = 0x7f000000;
    let n = 0;
    const P = () => 0x20000000 + (n++) * 0x1000;
    const fills = (base: number, k: number) => Array.from({ length: k }, (_, i) => base + i * 0x1000);
    const f1 = fills(0x7d000000, 123), f2 = fills(0x7b000000, 122);
    const head = [m('FROM_DEVICE', 0x7e000000, 2048, P()), m('FROM_DEVICE', A, 4096, 0x30000000), ev.unmapPhys('FROM_DEVICE', 0x7e000000, 2048), ev.unmapPhys('FROM_DEVICE', A, 4096),
      ...f1.map((f) => m('TO_DEVICE', f, 2048, P())), ...f1.map((f) => ev.unmapPhys('TO_DEVICE', f, 2048)), m('TO_DEVICE', 0x7c000000, 2048, P()), m('TO_DEVICE', 0x7c100000, 8192, P() + 0x10000)];
    const tail = [...f2.map((f) => m('TO_DEVICE', f, 2048, P())), ...f2.map((f) => ev.unmapPhys('TO_DEVICE', f, 2048))];
    const run = (name: string, body: string[]) => {
      const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(traceFile(name, body), '--platform', 'swiotlb-force', '--kernel', '2010', '--ram', '512M', '--swiotlb', '256K', '--engine', e));
      assert.deepEqual(w.counters, j.counters, 'both engines');
      return w as Result;
    };
    const base = run('wrap-base.trace', [...head, ...tail]), dbl = run('wrap-double.trace', [...head, ev.unmapPhys('TO_DEVICE', A, 4096), ...tail]);
    assert.equal(base.counters.swiotlbFull, 1, 'the pool fills up');
    assert.deepEqual(platformCounters(dbl.counters), platformCounters(base.counters));
    // The double unmap's own report, then the base's (the map that failed when the pool filled), a line later.
    assert.deepEqual(classes(dbl.dmaDebug), [`unmap-unknown@${HEADER + head.length + 1}`, ...classes(base.dmaDebug).map((c) => c.replace(/@(\d+)/, (_, l) => `@${Number(l) + 1}`))]);
  });

  it('a dma_free_pages of memory a dma_unmap_page had unmapped (6.12 xen-pv, where xen-swiotlb maps it): "has not allocated" only, whoever holds the slot now', () => {
    const AL = 0x6c000000, fills = Array.from({ length: 130 }, (_, i) => 0x7d000000 + i * 0x1000);
    const pages = (what: string) => `dma_${what}_pages: ${DEV} dir=FROM_DEVICE dma_addr=${AL.toString(16)} size=8192 virt_addr=00000000deadbeef${what === 'alloc' ? ' flags=GFP_KERNEL' : ''} attrs=`;
    const body = [pages('alloc'), ev.unmapPhys('FROM_DEVICE', AL, 8192), ...fills.map((f, i) => ev.mapPhys('TO_DEVICE', f, 2048, 0x20000000 + i * 0x1000)), pages('free'), ...fills.map((f) => ev.unmapPhys('TO_DEVICE', f, 2048))];
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(traceFile('pages-free-stale.trace', body), '--platform', 'xen-pv', '--kernel', 'modern', '--ram', '512M', '--host-ram', '6G', '--xen-low-free', '128M', '--swiotlb', '2M', '--engine', e));
    assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
    const freeLine = HEADER + 2 + fills.length + 1;
    assert.deepEqual(classes(w.dmaDebug), [`unmap-wrong-function@${HEADER + 2}`, `unmap-unknown@${freeLine}`]);
  });

  it('an sg sync whose first entry is not replayed (its pages taken again) checks none of its entries, as get_nr_mapped_entries finds nothing', () => {
    const G1 = [0x10000000, 0x10010000, 0x10020000], D1 = [0x7f000000, 0x7f010000, 0x7f020000], G2 = [0x20000000, 0x20010000], D2 = [0x7e000000, 0x7e010000];
    const body = [ev.mapSg('TO_DEVICE', G1, D1, [4096, 4096, 4096]), ev.syncSg(false, 'TO_DEVICE', D1, [4096, 4096, 4096]), ev.mapSg('TO_DEVICE', G2, D2, [4096, 4096]), ev.unmapSg('TO_DEVICE', G2),
      ev.mapPhys('TO_DEVICE', 0x7d000000, 4096, G2[0]!), ev.syncSg(false, 'TO_DEVICE', D2, [4096, 4096]), ev.unmapPhys('TO_DEVICE', 0x7d000000, 4096), ev.unmapSg('TO_DEVICE', G1)];
    for (const [platform, kernel] of platforms) {
      const r = both(traceFile('sg-first-gone.trace', body), '--platform', platform!, '--kernel', kernel!);
      assert.deepEqual(classes(r.dmaDebug), [], `${platform} ${kernel}`);
      assert.equal(r.trace.skipped.afterUnmap, 1, `${platform} ${kernel}: the first entry, its pages mapped again`);
    }
  });
});
