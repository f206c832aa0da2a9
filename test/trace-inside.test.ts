// An unmap or a free at an address where no mapping or allocation starts but one holds it (a driver
// that adds an offset to its handle, or frees the middle of an allocation): dma-debug's check_unmap
// looks the address up exactly (bucket_find_exact), finds nothing and says "has not allocated". So
// does a free at a mapping the trace had unmapped. Only a mapping the recording bounced (a
// swiotlb_bounced line before its map) has a dma range no mapping the trace did not show can share;
// a call inside any other stays `beforeTrace`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL, cli } from './helpers.js';
import { ev, replayJson, traceFile } from './traceLines.js';

type Debug = { class: string; op: number; message: string; dmaAddr?: string }[];
function both(path: string, ...args: string[]) {
  const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, ...args, '--engine', e, ...SMALL));
  assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
  assert.deepEqual(w.counters, j.counters, 'both engines');
  return w as { dmaDebug: Debug; counters: Record<string, number>; trace: Record<string, unknown> & { skipped: Record<string, number> } };
}
const PLATFORMS = ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu', 'coco'];
const KERNELS = ['modern', '2010'];
const classes = (d: Debug) => d.map((x) => `${x.class}@${x.op}`);
/** Replays `body` on every platform and kernel: these reports (class@line) and these trace counts (`beforeTrace`: skipped's). */
function everywhere(name: string, body: string[], want: string[], counts: Record<string, number>, more?: (r: ReturnType<typeof both>, at: string) => void) {
  const path = traceFile(name, body);
  for (const platform of PLATFORMS) for (const kernel of KERNELS) {
    if (platform === 'coco' && kernel === '2010') continue;
    const r = both(path, '--platform', platform, '--kernel', kernel), at = `${platform} ${kernel}`;
    assert.deepEqual(classes(r.dmaDebug), want, at);
    for (const [k, v] of Object.entries(counts)) assert.equal(k === 'beforeTrace' ? r.trace.skipped.beforeTrace : r.trace[k], v, `${at}: ${k}`);
    more?.(r, at);
  }
}
// A streaming map the recording machine bounced (its dma_addr a swiotlb slot, not its phys_addr).
const DMA = 0x7f000000, PHYS = 0x12340000, HEADER = 4;
const bouncedMap = (dir: string, size: number) => [ev.bounced(PHYS, size), ev.mapPhys(dir, DMA, size, PHYS)];

describe('trace: unmaps and frees inside a mapping or an allocation', () => {
  it('dma_unmap_page at handle + offset of a bounced mapping: "has not allocated", and the mapping stays for its own unmap', () => {
    const body = [...bouncedMap('TO_DEVICE', 4096), ev.unmapPhys('TO_DEVICE', DMA + 0x100, 4096 - 0x100), ev.unmapPhys('TO_DEVICE', DMA, 4096)];
    everywhere('inside-unmap.trace', body, ['unmap-unknown@7'], { insideCalls: 1, beforeTrace: 0 }, (r, at) => {
      assert.match(r.dmaDebug[0]!.message, /^device driver tries to free DMA memory it has not allocated .*\[size=3840 bytes\]/, at);
      assert.equal(r.counters.unmaps, 2, `${at}: both are unmap calls`);
      assert.equal(r.counters.maps, 1, at);
    });
  });

  it('a driver that unmaps the tail, then the head: the tail\'s unmap is the platform\'s there too (the kernel does not look the mapping up)', () => {
    const body = [...bouncedMap('BIDIRECTIONAL', 32768), ev.unmapPhys('BIDIRECTIONAL', DMA + 0x4000, 16384), ev.unmapPhys('BIDIRECTIONAL', DMA, 16384)];
    everywhere('tail-first.trace', body, ['unmap-unknown@7', 'unmap-size@8'], { insideCalls: 1, beforeTrace: 0 }, (r, at) => {
      // swiotlb copies the tail back from its slots and frees them (2.6.37 do_unmap_single: the size's slots; 6.12
      // swiotlb_release_slots: that slot's alloc_size, the rest of the run); the head's unmap copies the head.
      if (at.startsWith('swiotlb-force')) assert.equal(r.counters.bounceBytes, 32768 + 16384 + 16384, at);
    });
  });

  it('the address reported is the simulated handle plus the same offset', () => {
    const body = [...bouncedMap('TO_DEVICE', 4096), ev.sync(false, 'TO_DEVICE', DMA + 0x100, 16), ev.unmapPhys('TO_DEVICE', DMA + 0x100, 16)];
    const r = both(traceFile('inside-addr.trace', body), '--platform', 'swiotlb-force', '--kernel', 'modern');
    const unknown = r.dmaDebug.find((d) => d.class === 'unmap-unknown')!;
    const handle = /device address=0x([0-9a-f]+)/.exec(unknown.message)![1]!;
    assert.equal(Number.parseInt(handle, 16) % 4096, 0x100, unknown.message);
  });

  it('inside a mapping the recording did not bounce it stays a call on a mapping the trace did not show (one may start in its pages)', () => {
    // dma-direct (dma_addr = phys_addr), Xen PV's machine frame or an SME C-bit (dma_addr ≠ phys_addr, still one page per page)
    for (const dma of [PHYS, 0x800012340000]) {
      const body = [ev.mapPhys('TO_DEVICE', dma, 4096, PHYS), ev.unmapPhys('TO_DEVICE', dma + 0x800, 256), ev.unmapPhys('TO_DEVICE', dma, 4096)];
      const r = both(traceFile('inside-direct.trace', body), '--platform', 'bare-metal', '--kernel', 'modern');
      assert.deepEqual(r.dmaDebug, []);
      assert.equal(r.trace.insideCalls, 0);
      assert.equal(r.trace.skipped.beforeTrace, 1);
    }
    // A bounce line for another size, or one an event came between, marks nothing.
    const other = [ev.bounced(PHYS, 2048), ev.mapPhys('TO_DEVICE', DMA, 4096, PHYS), ev.bounced(PHYS, 4096), ev.sync(false, 'TO_DEVICE', DMA, 16), ev.mapPhys('TO_DEVICE', DMA + 0x1000, 4096, PHYS + 0x1000),
      ev.unmapPhys('TO_DEVICE', DMA + 0x100, 16), ev.unmapPhys('TO_DEVICE', DMA + 0x1100, 16)];
    const r = both(traceFile('inside-notbounced.trace', other), '--platform', 'bare-metal', '--kernel', 'modern');
    assert.equal(r.trace.insideCalls, 0);
    assert.equal(r.trace.skipped.beforeTrace, 2);
    // The line's dev_addr (phys_to_dma of the original) names the entry it bounced: in a list of a direct entry and a
    // bounced one of one size, the second; a failed dma_map_sg's line (6.12 traces no dma_map_sg then) marks no later map.
    const [P0, P1, S] = [0x10000000, 0x120000000, 0x7f000000];
    const mixed = [ev.bounced(P1, 4096), ev.mapSg('TO_DEVICE', [P0, P1], [P0, S], [4096, 4096]), ev.unmapPhys('TO_DEVICE', P0 + 0x100, 256), ev.unmapPhys('TO_DEVICE', S + 0x100, 256),
      ev.bounced(P1 + 0x1000, 4096), ev.mapPhys('TO_DEVICE', P0 + 0x4000, 4096, P0 + 0x4000), ev.unmapPhys('TO_DEVICE', P0 + 0x4100, 256)];
    const x = both(traceFile('inside-mixed.trace', mixed), '--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.deepEqual(classes(x.dmaDebug).filter((c) => !c.startsWith('leak')), [`unmap-unknown@${HEADER + 4}`]);
    assert.equal(x.trace.insideCalls, 1);
    assert.equal(x.trace.skipped.beforeTrace, 2);
  });

  it('an address inside a live mapping where an unmapped one started: the live one holds it now (no lookup at the old handle)', () => {
    // The recording's IOMMU gave the second map the range the first had (strict: freed at once).
    const body = [ev.bounced(0x20000000, 8192), ev.mapPhys('TO_DEVICE', 0xfff00000, 8192, 0x20000000), ev.unmapPhys('TO_DEVICE', 0xfff00000, 8192),
      ev.bounced(0x30000000, 8192), ev.mapPhys('TO_DEVICE', 0xffeff000, 8192, 0x30000000), ev.unmapPhys('TO_DEVICE', 0xfff00000, 4096), ev.unmapPhys('TO_DEVICE', 0xffeff000, 8192)];
    everywhere('inside-over-dead.trace', body, ['unmap-unknown@10'], { insideCalls: 1, afterUnmap: 0, beforeTrace: 0 });
  });

  it('dma_free in the middle of a dma_alloc: "has not allocated" as debug_dma_free_coherent checks it; the allocation is freed after', () => {
    const body = [ev.alloc(0x6c000000, 8192), ev.free(0x6c001000, 4096), ev.unmapPhys('BIDIRECTIONAL', 0x6c000800, 64), ev.free(0x6c000000, 8192)];
    everywhere('inside-free.trace', body, ['unmap-unknown@6', 'unmap-unknown@7'], { insideCalls: 2, allocsLiveAtEnd: 0 }, (r, at) => {
      assert.match(r.dmaDebug[0]!.message, /\[size=4096 bytes\]/, at);
      assert.match(r.dmaDebug[1]!.message, /\[size=64 bytes\]/, at);
    });
  });

  it('a dma_free at a mapping the trace unmapped: a use after unmap, "has not allocated"', () => {
    const body = [...bouncedMap('FROM_DEVICE', 4096), ev.unmapPhys('FROM_DEVICE', DMA, 4096), ev.free(DMA, 4096)];
    everywhere('free-dead.trace', body, ['unmap-unknown@8'], { afterUnmap: 1, beforeTrace: 0 });
  });

  it('the rest of a mapping unmapped after a smaller unmap at its handle: replayed inside the unmapped mapping, "has not allocated"', () => {
    const body = [...bouncedMap('BIDIRECTIONAL', 32768), ev.unmapPhys('BIDIRECTIONAL', DMA, 16384), ev.sync(true, 'BIDIRECTIONAL', DMA + 0x5000, 64),
      ev.unmapPhys('BIDIRECTIONAL', DMA + 0x4000, 16384)];
    everywhere('dead-piece.trace', body, ['unmap-size@7', 'sync-unknown@8', 'unmap-unknown@9'], { afterUnmap: 2, insideCalls: 0, beforeTrace: 0 }, (r, at) => {
      assert.equal(r.counters.unmaps, 2, at);
      assert.match(r.dmaDebug[2]!.message, /has not allocated .*\[size=16384 bytes\]/, at);
      // The sync inside: 2.6.37's driver calls dma_sync_single_range_*, whose check names the mapping's handle with
      // offset + size where the dma ops have the range hook (not ppc64's); 6.12 traces and checks the address itself.
      const addr = (i: number) => Number.parseInt(/device address=0x([0-9a-f]+)/.exec(r.dmaDebug[i]!.message)![1]!, 16);
      const range = at.endsWith('2010') && !at.startsWith('iommu');
      assert.equal(addr(1) - addr(0), range ? 0 : 0x5000, at);
      assert.match(r.dmaDebug[1]!.message, range ? /\[size=20544 bytes\]/ : /\[size=64 bytes\]/, at);
      // 2.6.37's swiotlb freed the head's slots only (do_unmap_single: the size asked): the sync and the tail's unmap copy
      // back from the tail's; 6.12 released every slot at the head's unmap (the mapping's alloc_size), so they copy nothing.
      if (at.startsWith('swiotlb-force')) assert.equal(r.counters.bounceBytes, at.endsWith('2010') ? 32768 + 16384 + 64 + 16384 : 32768 + 16384, at);
    });
    // A mapping the recording did not bounce: one the trace did not show may start in its pages, so it stays beforeTrace.
    const direct = [ev.mapPhys('BIDIRECTIONAL', PHYS, 32768, PHYS), ev.unmapPhys('BIDIRECTIONAL', PHYS, 16384), ev.unmapPhys('BIDIRECTIONAL', PHYS + 0x4000, 16384)];
    const d = both(traceFile('dead-piece-direct.trace', direct), '--platform', 'bare-metal', '--kernel', 'modern');
    assert.deepEqual([d.trace.afterUnmap, d.trace.skipped.beforeTrace], [0, 1]);
    // Events lost in between: a map among them may lie there, so the call is one on a mapping the trace did not show.
    const lost = [...body.slice(0, 3), 'CPU:0 [LOST 7 EVENTS]', body[4]!];
    const l = both(traceFile('dead-piece-lost.trace', lost), '--platform', 'swiotlb-force', '--kernel', '2010');
    assert.deepEqual([l.trace.afterUnmap, l.trace.skipped.beforeTrace, l.counters.bounceBytes], [0, 1, 32768 + 16384]);
    // The same pages mapped again and unmapped since: the simulated buffer holds that newer mapping, so nothing is replayed.
    const again = [...body.slice(0, 3), ev.bounced(PHYS, 32768), ev.mapPhys('BIDIRECTIONAL', DMA + 0x10000, 32768, PHYS), ev.unmapPhys('BIDIRECTIONAL', DMA + 0x10000, 32768), body[4]!];
    const a = both(traceFile('dead-piece-again.trace', again), '--platform', 'swiotlb-force', '--kernel', '2010');
    assert.deepEqual([a.trace.afterUnmap, a.trace.skipped.afterUnmap, a.counters.bounceBytes], [0, 1, 32768 + 16384 + 32768 + 32768]);
  });

  it('a sync inside an unmapped mapping that runs past it keeps the driver\'s size (dma-debug checks it all)', () => {
    const body = [...bouncedMap('BIDIRECTIONAL', 32768), ev.unmapPhys('BIDIRECTIONAL', DMA, 32768), ev.sync(true, 'BIDIRECTIONAL', DMA + 0x7000, 0x2000)];
    everywhere('dead-sync-past.trace', body, ['sync-unknown@8'], { afterUnmap: 1, beforeTrace: 0 }, (r, at) => {
      const range = at.endsWith('2010') && !at.startsWith('iommu'); // 2.6.37's range form: offset + size
      assert.match(r.dmaDebug[0]!.message, range ? /\[size=36864 bytes\]/ : /\[size=8192 bytes\]/, at);
    });
  });

  it('a dma_free inside an allocation the trace freed: a second free, at the handle it had plus the offset', () => {
    const body = [ev.alloc(0x6c000000, 8192), ev.free(0x6c000000, 8192), ev.free(0x6c001000, 4096)];
    everywhere('free-inside-freed.trace', body, ['unmap-unknown@7'], { freesAgain: 1, beforeTrace: 0 });
    // The address: the allocation's handle here plus 0x1000 (its own second free says the handle).
    const again = both(traceFile('free-freed-twice.trace', [...body.slice(0, 2), ev.free(0x6c000000, 8192), ev.free(0x6c001000, 4096)]), '--platform', 'iommu', '--kernel', 'modern');
    const [whole, inside] = again.dmaDebug.map((d) => Number.parseInt(/device address=0x([0-9a-f]+)/.exec(d.message)![1]!, 16));
    assert.equal(inside! - whole!, 0x1000);
  });

  it('a map that failed here: at its start the era\'s "invalid" answer, as its own unmap; inside it (an unmap, a sync), its error handle plus the offset', () => {
    // 127 bounced maps of 32 KiB fill the 4 MiB pool (the GART dummy page holds a slot); the next fails here.
    const fill = Array.from({ length: 127 }, (_, i) => [ev.bounced(0x20000000 + i * 0x8000, 32768), ev.mapPhys('TO_DEVICE', 0x70000000 + i * 0x8000, 32768, 0x20000000 + i * 0x8000)]).flat();
    const body = [...fill, ...bouncedMap('TO_DEVICE', 32768), ev.unmapPhys('TO_DEVICE', DMA + 0x100, 256), ev.sync(true, 'TO_DEVICE', DMA + 0x100, 64),
      ev.unmapPhys('TO_DEVICE', DMA, 32768), ev.free(DMA, 32768)];
    const path = traceFile('inside-failed.trace', body), first = HEADER + fill.length + 3;
    for (const kernel of ['2010', 'modern']) {
      const r = both(path, '--platform', 'swiotlb-force', '--kernel', kernel);
      assert.equal(r.counters.mappingErrors, 1, kernel);
      const mine = r.dmaDebug.filter((d) => d.op >= first && d.class !== 'leak');
      assert.deepEqual(classes(mine), [`unmap-unknown@${first}`, `sync-unknown@${first + 1}`, `unmap-unknown@${first + 2}`, `unmap-unknown@${first + 3}`], kernel);
      assert.match(mine[0]!.message, /has not allocated/, `${kernel}: inside, not the error handle itself`);
      // The sync inside: 6.12's driver syncs at DMA_MAPPING_ERROR + 0x100, which wraps to 0xff; 2.6.37's range form
      // checks the error handle itself (the overflow buffer's) with offset + size.
      assert.match(mine[1]!.message, kernel === 'modern' ? /\[device address=0x0+ff\] \[size=64 bytes\]/ : /\[size=320 bytes\]/, kernel);
      assert.match(mine[2]!.message, /an invalid DMA memory address/, kernel);
      assert.match(mine[3]!.message, /an invalid DMA memory address/, `${kernel}: the free at the unmapped mapping's error handle, as its unmap`);
    }
  });

  it('inside a segment a recording IOMMU merged a list into: no entry starts where the replay placed a later entry', () => {
    // 6.12 debug_dma_map_sg files the mapped segments only (one at fff00000, 8 KiB); the replay maps each entry.
    const phys = [0x20000000, 0x20010000];
    const body = [ev.mapSg('TO_DEVICE', phys, [0xfff00000], [0x2000]), ev.unmapPhys('TO_DEVICE', 0xfff01000, 4096), ev.unmapPhys('TO_DEVICE', 0xfff00800, 256), ev.unmapSg('TO_DEVICE', phys)];
    everywhere('inside-merged.trace', body, ['unmap-unknown@6', 'unmap-unknown@7'], { insideCalls: 2, sgEntryUnmaps: 0, sgMerged: 1, beforeTrace: 0 });
  });

  it('behind an IOMMU (the device\'s sg lists were merged), every mapping\'s IOVA range is its own: a call inside any is replayed', () => {
    const phys = [0x20000000, 0x20010000];
    const single = [ev.mapPhys('TO_DEVICE', 0xffe00000, 4096, 0x30000000), ev.unmapPhys('TO_DEVICE', 0xffe00100, 256), ev.unmapPhys('TO_DEVICE', 0xffe00000, 4096)];
    const before = both(traceFile('iommu-unknown.trace', single), '--platform', 'iommu', '--kernel', 'modern');
    assert.equal(before.trace.insideCalls, 0, 'no sign of an IOMMU yet: a mapping made before the trace may start there');
    const body = [ev.mapSg('TO_DEVICE', phys, [0xfff00000], [0x2000]), ev.unmapSg('TO_DEVICE', phys), ...single];
    everywhere('iommu-known.trace', body, ['unmap-unknown@8'], { insideCalls: 1, beforeTrace: 0 });
  });

  it('a mapping unmapped before the trace showed the IOMMU: the rest of it is its own too, once a merged list shows one', () => {
    const phys = [0x20000000, 0x20010000];
    const head = [ev.mapPhys('TO_DEVICE', 0xffe00000, 8192, 0x30000000), ev.unmapPhys('TO_DEVICE', 0xffe00000, 4096)];
    const tail = ev.unmapPhys('TO_DEVICE', 0xffe01000, 4096);
    const unknown = both(traceFile('dead-iommu-unknown.trace', [...head, tail]), '--platform', 'iommu', '--kernel', 'modern');
    assert.deepEqual([unknown.trace.afterUnmap, unknown.trace.skipped.beforeTrace], [0, 1], 'no sign of an IOMMU: a mapping made before the trace may start there');
    const body = [...head, ev.mapSg('TO_DEVICE', phys, [0xfff00000], [0x2000]), ev.unmapSg('TO_DEVICE', phys), tail];
    everywhere('dead-iommu-known.trace', body, ['unmap-size@6', 'unmap-unknown@9'], { afterUnmap: 1, beforeTrace: 0 }, (r, at) => assert.equal(r.counters.unmaps, 4, at));
  });

  it('says so in the text', () => {
    const body = [...bouncedMap('TO_DEVICE', 4096), ev.unmapPhys('TO_DEVICE', DMA + 0x100, 256), ev.unmapPhys('TO_DEVICE', DMA, 4096)];
    const text = cli('replay', traceFile('inside-text.trace', body), '--format', 'ftrace', '--platform', 'swiotlb-force', ...SMALL);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /1 unmap or free at an address inside a live mapping the recording bounced \(or any, where the device's sg lists show an IOMMU\) or a live DMA-API allocation, not at its start/);
  });
});
