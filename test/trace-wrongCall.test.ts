// A driver's calls on the wrong thing, replayed so that dma-debug sees them as 6.12's would: a
// second dma_unmap_sg of a list (each entry "has not allocated": debug_dma_unmap_sg's mapped_ents
// stop never comes when none is live), a dma_unmap_page of a dma_alloc handle (check_unmap's
// "wrong function", which takes the coherent entry away), a sync inside a mapping on 2.6.37 (the
// range form dma_sync_single_range_*), a second dma_free of an allocation and a dma_free of a
// streaming mapping's handle (debug_dma_free_coherent's check_unmap).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL, cli } from './helpers.js';
import { DEV, ev, replayJson, traceFile } from './traceLines.js';

type Debug = { class: string; op: number; message: string }[];
function both(path: string, ...args: string[]) {
  const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, ...args, '--engine', e, ...SMALL));
  assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
  assert.deepEqual(w.counters, j.counters, 'both engines');
  return w as { dmaDebug: Debug; counters: Record<string, number>; trace: Record<string, unknown> & { skipped: Record<string, number> } };
}

describe('trace: calls on the wrong thing', () => {
  it('a second dma_unmap_sg of a list: every entry again, "has not allocated" (a sync of it: nothing)', () => {
    const phys = [0x6b100000, 0x6b101000, 0x6b102000];
    const body = [ev.mapSg('TO_DEVICE', phys, phys, [4096, 4096, 4096]), ev.unmapSg('TO_DEVICE', phys), ev.syncSg(true, 'TO_DEVICE', phys, [4096, 4096, 4096]), ev.unmapSg('TO_DEVICE', phys)];
    const r = both(traceFile('sg-twice.trace', body), '--platform', 'bare-metal', '--kernel', 'modern');
    assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@8', 'unmap-unknown@8', 'unmap-unknown@8']);
    assert.match(r.dmaDebug[0]!.message, /^device driver tries to free DMA memory it has not allocated/);
    assert.equal(r.trace.skipped.beforeTrace, 0);
    assert.equal(r.counters.unmaps, 6);
  });

  it('dma_unmap_page of a dma_alloc handle: the wrong function, the entry gone (no leak), the later dma_free "has not allocated"', () => {
    const body = [ev.alloc(0x6c000000, 8192), ev.unmapPhys('BIDIRECTIONAL', 0x6c000000, 8192), ev.free(0x6c000000, 8192)];
    for (const platform of ['bare-metal', 'iommu']) {
      const r = both(traceFile(`alloc-unmap-${platform}.trace`, body), '--platform', platform, '--kernel', 'modern');
      assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-wrong-function@6', 'unmap-unknown@7'], platform);
      assert.match(r.dmaDebug[0]!.message, /\[mapped as coherent\] \[unmapped as single\]$/);
      assert.equal(r.trace.allocUnmaps, 1);
    }
    const text = cli('replay', traceFile('alloc-unmap.trace', body), '--format', 'ftrace', '--platform', 'bare-metal', ...SMALL);
    assert.match(text.stdout, /1 dma_unmap_page of a live DMA-API allocation's handle \(dma_alloc or its _pages, _sgt forms: replayed on it, as check_unmap sees it: the wrong function while its entry lives/);
  });

  it('a sync inside a mapping: 6.12 checks it where it is, 2.6.37 as the range form from the mapping\'s handle', () => {
    const body = [ev.mapPhys('FROM_DEVICE', 0x7e000000, 4096, 0x7e000000), ev.sync(true, 'FROM_DEVICE', 0x7e000100, 1500), ev.sync(true, 'FROM_DEVICE', 0x7e000c00, 2048), ev.unmapPhys('FROM_DEVICE', 0x7e000000, 4096)];
    const path = traceFile('range-sync.trace', body);
    const modern = both(path, '--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.deepEqual(modern.dmaDebug.map((d) => `${d.class}@${d.op}`), ['sync-unknown@7'], '6.12: the second runs past the mapping (no entry contains it)');
    const old = both(path, '--platform', 'swiotlb-force', '--kernel', '2010');
    assert.deepEqual(old.dmaDebug.map((d) => `${d.class}@${d.op}`), ['sync-outside@7'], '2.6.37: the first is inside (no report), the second past its end');
    assert.match(old.dmaDebug[0]!.message, /\[allocation size=4096 bytes\] \[sync offset\+size=5120\]$/);
    // Copies at handle + offset either way: 6.12 copies the map in and stops the second sync at the
    // mapping's end; 2.6.37 copies no FROM_DEVICE map in and runs on.
    assert.equal(modern.counters.bounceBytes, 4096 + 1500 + 1024 + 4096);
    assert.equal(old.counters.bounceBytes, 1500 + 2048 + 4096);
    // 2.6.37's ppc64 dma_iommu_ops has no range hook: dma_sync_single_range_* is the plain sync at handle + offset.
    assert.deepEqual(both(path, '--platform', 'iommu', '--kernel', '2010').dmaDebug.map((d) => `${d.class}@${d.op}`), ['sync-unknown@6', 'sync-unknown@7']);
    // offset + size past 2^31: the sum saturates alike in both engines (both() compares them)
    const big = traceFile('range-big.trace', [ev.mapPhys('FROM_DEVICE', 0x7e000000, 4096, 0x7e000000), ev.sync(true, 'FROM_DEVICE', 0x7e000100, 0x7fffff00)]);
    assert.deepEqual(both(big, '--platform', 'bare-metal', '--kernel', '2010').dmaDebug.map((d) => d.class), ['sync-outside', 'leak']);
  });

  it('a sync across two mappings side by side runs past the one it starts in (one call there; a merged segment\'s entries: trace-syncPast.test.ts)', () => {
    const body = [ev.mapPhys('FROM_DEVICE', 0x7e000000, 4096, 0x7e000000), ev.mapPhys('FROM_DEVICE', 0x7e001000, 4096, 0x7e001000), ev.sync(true, 'FROM_DEVICE', 0x7e000800, 4096)];
    const path = traceFile('span.trace', body);
    for (const [kernel, cls] of [['modern', 'sync-unknown'], ['2010', 'sync-outside']]) {
      const r = both(path, '--platform', 'swiotlb-force', '--kernel', kernel!);
      assert.deepEqual(r.dmaDebug.filter((d) => d.class !== 'leak').map((d) => `${d.class}@${d.op}`), [`${cls}@7`], kernel);
      assert.equal(r.trace.syncsPastMapping, 1);
    }
  });

  it('a second dma_free of a dma_alloc: "has not allocated" at the handle it had, on every platform and kernel', () => {
    const body = [ev.alloc(0x6c000000, 8192), ev.free(0x6c000000, 8192), ev.free(0x6c000000, 8192), ev.alloc(0x6c000000, 4096), ev.free(0x6c000000, 4096), ev.free(0x6c000000, 4096)];
    const path = traceFile('double-free.trace', body);
    for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu', 'coco']) {
      for (const kernel of ['modern', '2010']) {
        if (platform === 'coco' && kernel === '2010') continue;
        const r = both(path, '--platform', platform, '--kernel', kernel);
        const at = `${platform} ${kernel}`;
        assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@7', 'unmap-unknown@10'], at);
        assert.match(r.dmaDebug[0]!.message, /^device driver tries to free DMA memory it has not allocated \[device address=0x[0-9a-f]{16}\] \[size=8192 bytes\]$/, at);
        assert.match(r.dmaDebug[1]!.message, /\[size=4096 bytes\]$/, at);
        assert.equal(r.trace.freesAgain, 2, at);
        assert.equal(r.trace.skipped.beforeTrace, 0, at);
      }
    }
    // dma_alloc_pages memory freed twice, the second by another call: "has not allocated" too, on xen-pv (pages it maps) as elsewhere.
    for (const platform of ['bare-metal', 'xen-pv']) {
      const pages = both(traceFile(`double-free-pages-${platform}.trace`, [`dma_alloc_pages: ${DEV} dir=FROM_DEVICE dma_addr=6c000000 size=8192 virt_addr=00000000deadbeef flags=GFP_KERNEL attrs=`,
        `dma_free_pages: ${DEV} dir=FROM_DEVICE dma_addr=6c000000 size=8192 virt_addr=00000000deadbeef attrs=`, ev.free(0x6c000000, 8192)]), '--platform', platform, '--kernel', 'modern');
      assert.deepEqual(pages.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@7'], platform);
      assert.deepEqual([pages.trace.freesAgain, pages.trace.skipped.beforeTrace], [1, 0], platform);
    }
    const text = cli('replay', path, '--format', 'ftrace', '--platform', 'bare-metal', ...SMALL);
    assert.match(text.stdout, /2 second frees \(dma_free or its _pages, _sgt forms\) of an allocation the trace had freed \(a double free, at its dma_addr or inside it: dma-debug reports each as the call's hook does, "has not allocated", at the handle the allocation had here plus the same offset/);
  });

  it('dma_free of a live streaming mapping\'s handle: the wrong function (and direction, size), its entry gone, so its unmap is "has not allocated"', () => {
    const body = [ev.mapPhys('TO_DEVICE', 0x7e000000, 4096, 0x7e000000), ev.free(0x7e000000, 8192), ev.unmapPhys('TO_DEVICE', 0x7e000000, 4096),
      ev.mapPhys('BIDIRECTIONAL', 0x7e002000, 4096, 0x7e002000), ev.free(0x7e002000, 4096), ev.unmapPhys('BIDIRECTIONAL', 0x7e002000, 4096)];
    const path = traceFile('free-mapping.trace', body);
    for (const [platform, kernel] of [['swiotlb-force', 'modern'], ['iommu', 'modern'], ['xen-pv', '2010'], ['bare-metal', '2010']]) {
      const r = both(path, '--platform', platform!, '--kernel', kernel!);
      const at = `${platform} ${kernel}`;
      assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`),
        ['unmap-size@6', 'unmap-wrong-function@6', 'unmap-direction@6', 'unmap-unknown@7', 'unmap-wrong-function@9', 'unmap-unknown@10'], at);
      assert.match(r.dmaDebug[1]!.message, /\[mapped as single\] \[unmapped as coherent\]$/, at);
      assert.match(r.dmaDebug[2]!.message, /\[mapped with DMA_TO_DEVICE\] \[unmapped with DMA_BIDIRECTIONAL\]$/, at);
      assert.equal(r.trace.mappingFrees, 2, at);
      assert.equal(r.counters.unmaps, 2, at); // the mappings' own unmaps still unmap them (a bounce slot is released, an IOVA freed)
    }
  });

  it('dma_unmap_page of dma_alloc_pages memory: 6.12 files it as noncoherent (the wrong function); 2.6.37 had no such call (coherent memory there)', () => {
    const body = [`dma_alloc_pages: ${DEV} dir=FROM_DEVICE dma_addr=6c000000 size=8192 virt_addr=00000000deadbeef flags=GFP_KERNEL attrs=`, ev.unmapPhys('FROM_DEVICE', 0x6c000000, 8192)];
    const path = traceFile('pages-unmap.trace', body);
    const r = both(path, '--platform', 'bare-metal', '--kernel', 'modern');
    assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-wrong-function@6']);
    assert.equal(r.trace.allocUnmaps, 1);
    const old = both(path, '--platform', 'bare-metal', '--kernel', '2010');
    assert.deepEqual(old.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-wrong-function@6', 'unmap-direction@6']);
    assert.match(old.dmaDebug[0]!.message, /\[mapped as coherent\] \[unmapped as single\]$/);
    assert.deepEqual([old.trace.allocUnmaps, old.trace.skipped.beforeTrace], [1, 0]);
  });

  it('6.12 checks syncs of dma_alloc memory too (not contained, or after its entry went: "has not allocated"); 2.6.37 counts them', () => {
    const A = 0x6c000000;
    const body = [ev.alloc(A, 4096), ev.sync(true, 'BIDIRECTIONAL', A, 4096), ev.sync(true, 'BIDIRECTIONAL', A, 8192), ev.unmapPhys('BIDIRECTIONAL', A, 4096), ev.sync(false, 'BIDIRECTIONAL', A, 4096), ev.free(A, 4096)];
    const path = traceFile('alloc-syncs.trace', body);
    for (const platform of ['bare-metal', 'xen-pv', 'iommu']) {
      const r = both(path, '--platform', platform, '--kernel', 'modern');
      assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['sync-unknown@7', 'unmap-wrong-function@8', 'sync-unknown@9', 'unmap-unknown@10'], platform);
      assert.deepEqual([r.trace.allocSyncs, r.counters.syncsForCpu + r.counters.syncsForDevice, r.counters.bounces], [3, 3, 0], platform);
    }
    const old = both(path, '--platform', 'bare-metal', '--kernel', '2010');
    assert.deepEqual([old.trace.allocSyncs, old.counters.syncsForCpu + old.counters.syncsForDevice], [3, 0]);
  });

  it('a second dma_unmap_page of xen-pv\'s mapped dma_alloc_pages memory is "has not allocated"; a second dma_free_sgt is checked at its table\'s length', () => {
    const A = 0x6c000000, S = 0x7f200000;
    const pages = `dma_alloc_pages: ${DEV} dir=FROM_DEVICE dma_addr=${A.toString(16)} size=4096 virt_addr=00000000deadbeef flags=GFP_KERNEL attrs=`;
    const twice = both(traceFile('pages-unmap-twice.trace', [pages, ev.unmapPhys('FROM_DEVICE', A, 4096), ev.unmapPhys('FROM_DEVICE', A, 4096)]), '--platform', 'xen-pv', '--kernel', 'modern');
    assert.deepEqual(twice.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-wrong-function@6', 'unmap-unknown@7']);
    assert.deepEqual([twice.trace.allocUnmaps, twice.trace.skipped.beforeTrace], [2, 0]);
    const sgt = (what: string) => `dma_${what}_sgt: ${DEV} dir=FROM_DEVICE dma_addr=${S.toString(16)} size=6000 phys_addrs={0x50000000}${what === 'alloc' ? ' flags=GFP_KERNEL attrs=' : ''}`;
    const r = both(traceFile('sgt-twice.trace', [sgt('alloc'), sgt('free'), sgt('free')]), '--platform', 'bare-metal', '--kernel', 'modern');
    assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@7']);
    assert.match(r.dmaDebug[0]!.message, /\[size=8192 bytes\]$/, 'debug_dma_unmap_sg: sg_dma_len, PAGE_ALIGN(6000)');
  });

  it('a dma_free_sgt at a live sg entry is checked at the entry\'s length (debug_dma_unmap_sg: sg_dma_len); an sg sync past a mapping is not said to be reported', () => {
    const M = 0x6c050000, P = 0x31000000;
    const sgt = `dma_free_sgt: ${DEV} dir=TO_DEVICE dma_addr=${M.toString(16)} size=6000 phys_addrs={0x${P.toString(16)}}`;
    const r = both(traceFile('sgt-at-sg.trace', [ev.mapSg('TO_DEVICE', [P], [M], [0x1800]), sgt, ev.unmapSg('TO_DEVICE', [P])]), '--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@7'], 'no unmap-size: the table\'s own length is checked');
    assert.equal(r.trace.mappingFrees, 1);
    // dma_sync_sg_for_cpu running past a single mapping: replayed, no report (no live sg entry starts there), not counted as one dma-debug reports
    const past = both(traceFile('sg-sync-past.trace', [ev.mapPhys('TO_DEVICE', M, 4096, P), ev.syncSg(true, 'TO_DEVICE', [M], [0x3000])]), '--platform', 'bare-metal', '--kernel', 'modern');
    assert.deepEqual(past.dmaDebug.filter((d) => d.class !== 'leak'), []);
    assert.equal(past.trace.syncsPastMapping, 0);
    const text = cli('replay', traceFile('sg-sync-past-text.trace', [ev.mapPhys('TO_DEVICE', M, 4096, P), ev.syncSg(true, 'TO_DEVICE', [M], [0x3000])]), '--format', 'ftrace', '--platform', 'bare-metal', ...SMALL);
    assert.doesNotMatch(text.stdout, /ran past the mapping/);
  });

  it('a second dma_free finds a live mapping made there since first, and never the entry the simulation gave the freed handle to (no lookup)', () => {
    const A = 0x7f000000, M = 0x10000000;
    // The freed allocation's address mapped again: the free is the mapping's (wrong function), its unmap then "has not allocated".
    const prio = both(traceFile('free-prio.trace', [ev.alloc(A, 4096), ev.free(A, 4096), ev.mapPhys('TO_DEVICE', A, 4096, A), ev.free(A, 4096), ev.unmapPhys('TO_DEVICE', A, 4096)]), '--platform', 'iommu', '--kernel', 'modern');
    assert.deepEqual(prio.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-wrong-function@8', 'unmap-direction@8', 'unmap-unknown@9']);
    assert.deepEqual([prio.trace.mappingFrees, prio.trace.freesAgain], [1, 0]);
    // The simulation hands the freed handle to a new allocation and a new mapping: the second free still reports, and takes neither entry.
    const body = [ev.alloc(A, 4096), ev.free(A, 4096), ev.alloc(A + 0x1000, 4096), ev.mapPhys('TO_DEVICE', M, 4096, M), ev.free(A, 4096), ev.unmapPhys('TO_DEVICE', M, 4096), ev.free(A + 0x1000, 4096)];
    for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']) {
      const r = both(traceFile(`free-reuse-${platform}.trace`, body), '--platform', platform, '--kernel', 'modern');
      assert.deepEqual(r.dmaDebug.map((d) => `${d.class}@${d.op}`), ['unmap-unknown@9'], platform);
    }
  });
});
