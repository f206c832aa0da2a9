// Kernel traces: dma_alloc_pages and dma_alloc_noncontiguous (the _pages and _sgt events, 6.13 and
// 6.12.48 on) replay by the platform's own path. On 6.12 xen-pv they are pages xen-swiotlb maps
// (xen_swiotlb_dma_ops.alloc_pages_op = dma_common_alloc_pages → xen_swiotlb_map_page with
// DMA_ATTR_SKIP_CPU_SYNC), so they bounce and their syncs copy; under dma-direct they are never
// bounced (dma_direct_alloc_pages) and replay as memory of their own, which 6.12's dma-debug files as
// noncoherent (debug_dma_alloc_pages) or as an sg table of one entry (debug_dma_map_sg), with their
// direction; 2.6.37 had no such calls (replayed as dma_alloc_coherent memory).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL, cli } from './helpers.js';
import { DEV, arr, ev, h, replayJson, traceFile } from './traceLines.js';

const pagesEv = (what: 'alloc' | 'free', dir: string, dma: number, size: number) =>
  `dma_${what}_pages: ${DEV} dir=${dir} dma_addr=${h(dma)} size=${size} virt_addr=00000000deadbeef${what === 'alloc' ? ' flags=GFP_KERNEL' : ''} attrs=`;
const sgtEv = (what: 'alloc' | 'free', dir: string, dma: number, size: number, phys: number[]) =>
  `dma_${what}_sgt: ${DEV} dir=${dir} dma_addr=${h(dma)} size=${size} phys_addrs=${arr(phys)}${what === 'alloc' ? ' flags=GFP_KERNEL attrs=' : ''}`;

const A = 0x1_2340_0000, S = 0x1_2350_0000, W = 0x1_2360_0000;
const TRACE = [
  // 16 KiB for the device to fill: the CPU's view after it, then back to the device.
  pagesEv('alloc', 'FROM_DEVICE', A, 16384),
  ev.sync(true, 'FROM_DEVICE', A, 16384),
  ev.sync(false, 'FROM_DEVICE', A, 16384),
  pagesEv('free', 'FROM_DEVICE', A, 16384),
  // 8 KiB of noncontiguous memory (one entry: alloc_single_sgt), synced for the device as an sg list.
  sgtEv('alloc', 'BIDIRECTIONAL', S, 8192, [0x5000_0000]),
  `dma_sync_sg_for_device: ${DEV} dir=BIDIRECTIONAL dma_addrs=${arr([S])} sizes=${arr([8192])}`,
  sgtEv('free', 'BIDIRECTIONAL', S, 8192, [0x5000_0000]),
  // A page freed in the other direction: debug_dma_free_pages compares it.
  pagesEv('alloc', 'TO_DEVICE', W, 4096),
  pagesEv('free', 'FROM_DEVICE', W, 4096),
];

/** `lines` replayed as a trace on one platform and kernel (and engine). */
const replayOn = (name: string, lines: string[], platform: string, kernel: string, engine = 'wasm') =>
  replayJson(traceFile(`${name}-${platform}-${kernel}-${engine}.trace`, lines), '--platform', platform, '--kernel', kernel, '--engine', engine, ...SMALL);

/** The same on both engines, which must count alike: [wasm, js]. */
function onBothEngines(name: string, lines: string[], platform: string, kernel: string) {
  const [wasm, js] = ['wasm', 'js'].map((engine) => replayOn(name, lines, platform, kernel, engine));
  assert.deepEqual(wasm.counters, js.counters);
  return [wasm, js];
}

describe('trace: dma_alloc_pages and _sgt memory on 6.12 xen-pv is pages xen-swiotlb maps (dma_common_alloc_pages)', () => {
  const [wasm, js] = onBothEngines('allocpages', TRACE, 'xen-pv', 'modern');

  it('maps, bounces and syncs them, and unmaps at the free without a copy back; no exchange', () => {
    const c = wasm.counters;
    assert.equal(c.coherentAllocs, 0);
    assert.equal(c.hypercalls, 0);
    assert.equal(c.exchangedFrames, 0);
    assert.equal(c.maps, 3);
    assert.equal(c.unmaps, 3);
    assert.equal(c.syncsForCpu, 1);
    assert.equal(c.syncsForDevice, 2);
    // Above the 32-bit mask, or straddling machine frames: every one bounces.
    assert.equal(c.bounces, 3);
    // swiotlb_tbl_map_single copies in at every map (16384 + 8192 + 4096); the FROM_DEVICE sync for
    // the CPU copies 16384 back, the FROM_DEVICE one for the device nothing, the BIDIRECTIONAL sg
    // sync 8192 out; the frees copy nothing back (DMA_ATTR_SKIP_CPU_SYNC; without it: 16384 + 8192 + 4096 more).
    assert.equal(c.bounceBytes, 16384 + 8192 + 4096 + 16384 + 8192);
    assert.equal(c.pagesAllocated, 4 + 2 + 1);
    assert.equal(c.pagesFreed, 4 + 2 + 1);
    assert.equal(wasm.trace.allocsMapped, 3);
    assert.equal(wasm.trace.allocSyncs, 0);
  });

  it('dma-debug checks a free against its allocation (debug_dma_free_pages): the direction', () => {
    assert.deepEqual(wasm.dmaDebug.map((d: { class: string }) => d.class), ['unmap-direction']);
    assert.deepEqual(js.dmaDebug, wasm.dmaDebug);
  });
});

describe('trace: dma_alloc_pages and _sgt memory elsewhere replays as memory of its own, never bounced', () => {
  for (const [platform, kernel] of [['bare-metal', 'modern'], ['swiotlb-force', 'modern'], ['xen-pv', '2010']] as const) {
    it(`${platform}, ${kernel}`, () => {
      const [r] = onBothEngines('allocpages', TRACE, platform, kernel);
      assert.equal(r.counters.coherentAllocs, 3);
      assert.equal(r.counters.maps, 0);
      assert.equal(r.counters.bounces, 0);
      assert.equal(r.trace.allocsMapped, 0);
      // 6.12 checks their syncs against the allocation's entry (replayed: counted as syncs, copying nothing); 2.6.37 had no such calls.
      assert.equal(r.trace.allocSyncs, 3);
      assert.equal(r.counters.syncsForCpu + r.counters.syncsForDevice, kernel === 'modern' ? 3 : 0);
      // The page freed in the other direction: 6.12's debug_dma_free_pages compares it with its noncoherent entry.
      assert.deepEqual(r.dmaDebug.map((d: { class: string }) => d.class), kernel === 'modern' ? ['unmap-direction'] : []);
      // 2.6.37's xen_swiotlb_alloc_coherent exchanges each allocation below the mask.
      assert.equal(r.counters.hypercalls > 0, platform === 'xen-pv');
    });
  }
});

describe('trace: 6.12 dma-debug files dma_alloc_pages memory as noncoherent, _sgt memory as a one-entry sg table, each with its direction', () => {
  const lines = [
    pagesEv('alloc', 'FROM_DEVICE', A, 6000),
    ev.sync(true, 'FROM_DEVICE', A, 4096),
    ev.sync(false, 'TO_DEVICE', A + 0x1000, 1024), // check_sync: another direction, and device write-only memory synced to it
    pagesEv('free', 'FROM_DEVICE', A, 6000),
    pagesEv('alloc', 'TO_DEVICE', W, 4096),
    ev.free(W, 4096), // dma_free of _pages memory: the wrong function (and direction)
    sgtEv('alloc', 'FROM_DEVICE', S, 8192, [0x5000_0000]),
    ev.sync(true, 'TO_DEVICE', S, 8192),
    sgtEv('free', 'FROM_DEVICE', S, 8192, [0x5000_0000]),
    pagesEv('alloc', 'FROM_DEVICE', A, 4096),
    ev.unmapPhys('FROM_DEVICE', A, 4096), // a dma_unmap_page of it: the wrong function, its entry gone (no leak)
  ];
  for (const platform of ['bare-metal', 'swiotlb-force', 'iommu', 'coco']) {
    it(platform, () => {
      const [r, j] = onBothEngines('noncoherent', lines, platform, 'modern');
      assert.deepEqual(r.dmaDebug, j.dmaDebug);
      assert.deepEqual(r.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`),
        ['sync-direction@7', 'sync-device-writeonly@7', 'unmap-wrong-function@10', 'unmap-direction@10', 'sync-direction@12', 'unmap-wrong-function@15']);
      const msg = r.dmaDebug.map((d: { message: string }) => d.message);
      assert.match(msg[2], /\[mapped as noncoherent\] \[unmapped as coherent\]$/);
      assert.match(msg[3], /\[mapped with DMA_TO_DEVICE\] \[unmapped with DMA_BIDIRECTIONAL\]$/);
      assert.match(msg[5], /\[mapped as noncoherent\] \[unmapped as single\]$/);
      assert.deepEqual([r.trace.allocSyncs, r.trace.allocUnmaps, r.counters.bounces], [3, 1, 0]);
    });
  }
  it('an _sgt table is filed at sg_dma_len, PAGE_ALIGN(size) (alloc_single_sgt): a sync or free of its whole pages is clean', () => {
    const sgt = [sgtEv('alloc', 'FROM_DEVICE', S, 6000, [0x5000_0000]), `dma_sync_sg_for_cpu: ${DEV} dir=FROM_DEVICE dma_addrs=${arr([S])} sizes=${arr([8192])}`,
      ev.sync(true, 'FROM_DEVICE', S + 0x1000, 4096), sgtEv('free', 'FROM_DEVICE', S, 6000, [0x5000_0000])];
    for (const platform of ['bare-metal', 'iommu']) {
      const [r] = onBothEngines('sgt-len', sgt, platform, 'modern');
      assert.deepEqual(r.dmaDebug, [], platform);
      assert.equal(r.trace.allocSyncs, 2, platform);
    }
  });

  it('xen-pv, whose _pages and _sgt memory is pages xen-swiotlb maps: filed and checked alike (a dma_unmap_page of it unmaps the pages)', () => {
    const [r, j] = onBothEngines('noncoherent-xen', lines, 'xen-pv', 'modern');
    assert.deepEqual(r.dmaDebug, j.dmaDebug);
    assert.deepEqual(r.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`),
      ['sync-direction@7', 'sync-device-writeonly@7', 'unmap-wrong-function@10', 'unmap-direction@10', 'sync-direction@12', 'unmap-wrong-function@15']);
    assert.match(r.dmaDebug[0]!.message, /\[size=6000 bytes\]/, 'filed at the size asked (debug_dma_alloc_pages), not the pages mapped');
    assert.match(r.dmaDebug[5]!.message, /\[mapped as noncoherent\] \[unmapped as single\]$/);
    assert.deepEqual([r.trace.allocUnmaps, r.trace.skipped.beforeTrace, r.trace.allocsMapped, r.counters.unmaps], [1, 0, 4, 4]);
    // After that unmap, a sync and the free find no entry ("has not allocated"), and a second free none either.
    const after = replayOn('pages-unmap-xen', [pagesEv('alloc', 'FROM_DEVICE', A, 4096), ev.unmapPhys('FROM_DEVICE', A, 4096), ev.sync(true, 'FROM_DEVICE', A, 4096),
      pagesEv('free', 'FROM_DEVICE', A, 4096), pagesEv('free', 'FROM_DEVICE', A, 4096)], 'xen-pv', 'modern');
    assert.deepEqual(after.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`), ['unmap-wrong-function@6', 'sync-unknown@7', 'unmap-unknown@8', 'unmap-unknown@9']);
    assert.deepEqual([after.trace.afterUnmap, after.trace.freesAgain], [1, 1]);
  });

  it('2.6.37 had none of these calls: they replay as dma_alloc_coherent memory, their syncs counted, not checked', () => {
    const r = replayOn('noncoherent-2010', lines, 'bare-metal', '2010');
    // the dma_unmap_page of the last: as of dma_alloc_coherent memory (mapped as coherent, BIDIRECTIONAL)
    assert.deepEqual(r.dmaDebug.map((d: { class: string }) => d.class), ['unmap-wrong-function', 'unmap-direction']);
    assert.deepEqual([r.trace.allocSyncs, r.counters.syncsForCpu + r.counters.syncsForDevice, r.trace.allocUnmaps], [3, 0, 1]);
    // dma_alloc_coherent memory of the size asked, freed with the size given, whichever free call (no PAGE_ALIGN'd table there)
    for (const free of [sgtEv('free', 'FROM_DEVICE', S, 6000, [0x5000_0000]), ev.free(S, 6000)]) {
      assert.deepEqual(replayOn('sgt-2010', [sgtEv('alloc', 'FROM_DEVICE', S, 6000, [0x5000_0000]), free], 'bare-metal', '2010').dmaDebug, []);
    }
  });
});

describe('trace: a dma_free_sgt is checked by its table, not by the size the caller gives (debug_dma_unmap_sg)', () => {
  const lines = [sgtEv('alloc', 'TO_DEVICE', S, 8192, [0x5000_0000]), sgtEv('free', 'TO_DEVICE', S, 12288, [0x5000_0000])];
  for (const [platform, kernel] of [['xen-pv', 'modern'], ['bare-metal', 'modern']] as const) {
    it(`${platform}, ${kernel}: no unmap-size`, () => {
      const r = replayOn('sgt-size', lines, platform, kernel);
      assert.deepEqual(r.dmaDebug, []);
      assert.equal(r.counters.pagesFreed, 2);
    });
  }
  it('a dma_free_pages of another page count is reported (debug_dma_free_pages compares the sizes)', () => {
    const r = replayOn('pages-size', [pagesEv('alloc', 'TO_DEVICE', A, 8192), pagesEv('free', 'TO_DEVICE', A, 12288)], 'xen-pv', 'modern');
    assert.deepEqual(r.dmaDebug.map((d: { class: string }) => d.class), ['unmap-size']);
  });
});

describe('trace: an unmap with attrs=SKIP_CPU_SYNC copies nothing back (6.12 dma_direct_unmap_page, xen_swiotlb_unmap_page)', () => {
  const P = 0x1_4000_0000;
  const body = (attrs: string) => [
    ev.mapPhys('FROM_DEVICE', P, 8192, P),
    ev.unmapPhys('FROM_DEVICE', P, 8192, attrs),
    `dma_map_sg: ${DEV} dir=BIDIRECTIONAL nents=1/1 ents=1/1 dma_addrs=${arr([P])} sizes=${arr([4096])} phys_addrs=${arr([P])} attrs=`,
    `dma_unmap_sg: ${DEV} dir=BIDIRECTIONAL phys_addrs=${arr([P])} attrs=${attrs}`,
  ];
  for (const platform of ['swiotlb-force', 'xen-pv']) {
    it(platform, () => {
      const [plain, skip] = ['', 'SKIP_CPU_SYNC'].map((attrs) => replayOn(`skip-${attrs || 'none'}`, body(attrs), platform, 'modern'));
      assert.equal(plain.counters.bounces, 2);
      // The maps copy in 8192 + 4096 either way; only the plain unmaps copy the same back.
      assert.equal(plain.counters.bounceBytes, 2 * (8192 + 4096));
      assert.equal(skip.counters.bounceBytes, 8192 + 4096);
      assert.deepEqual(skip.dmaDebug, []);
      // 2.6.37 had no such attribute: its unmap copies back whatever the trace says.
      const [old, oldPlain] = ['SKIP_CPU_SYNC', ''].map((attrs) => replayOn(`skip-${attrs || 'none'}`, body(attrs), platform, '2010'));
      assert.equal(old.counters.bounceBytes, oldPlain.counters.bounceBytes);
    });
  }
});

describe('trace: a dma_alloc_pages whose pages xen-swiotlb cannot map fails as an allocation (dma_common_alloc_pages)', () => {
  // 512 KiB: more than one swiotlb mapping may hold (IO_TLB_SEGSIZE slots, 256 KiB), and its pages
  // straddle machine frames, so xen_swiotlb_map_page fails; the pages go back and the caller gets NULL.
  const big = [pagesEv('alloc', 'TO_DEVICE', A, 512 << 10), ev.sync(false, 'TO_DEVICE', A, 4096), pagesEv('free', 'TO_DEVICE', A, 512 << 10)];
  it('an allocation failure, no mapping error, nothing for dma-debug, its sync and free do nothing (both engines)', () => {
    const [wasm, js] = onBothEngines('big', big, 'xen-pv', 'modern');
    const c = wasm.counters;
    assert.equal(c.allocFailures, 1);
    assert.equal(c.mappingErrors, 0);
    assert.equal(c.syncsForDevice, 0);
    assert.equal(c.unmaps, 0);
    assert.equal(c.pagesFreed, c.pagesAllocated);
    assert.deepEqual(wasm.dmaDebug, []);
    assert.deepEqual(js.dmaDebug, []);
  });
  it('the human report says so', () => {
    const r = cli('replay', traceFile('big-human.trace', big), '--format', 'ftrace', '--platform', 'xen-pv', '--kernel', 'modern', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 allocation failed here \(.*xen-swiotlb could not map.*\): the trace's later calls on it do nothing here/);
  });
});

describe('trace: dma_alloc_pages on every platform', () => {
  it('the header says, platform by platform, how the allocations replayed (not the first platform\'s words for all)', () => {
    const r = cli('replay', traceFile('allocpages-all.trace', TRACE), '--format', 'ftrace', '--platform', 'all', '--kernel', 'modern', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}DMA-API allocations: syncs starting inside those held as memory of their own \(dma_alloc's, and dma_alloc_pages or noncontiguous memory where the platform does not map it\) checked by dma-debug against the entry 6.12 files for it \(coherent, noncoherent or an sg table's\), never bounced, on bare-metal, swiotlb-force, iommu, coco; dma_alloc_pages \/ noncontiguous memory replayed as pages xen-swiotlb maps on xen-pv \(/m);
    assert.doesNotMatch(r.stdout, /^ {2}3 syncs starting inside/m, 'not the first platform\'s count for all');
    // A dma_unmap_page of that memory: on xen-pv its later sync comes after an unmap of the pages it maps; the header says so.
    const unmapped = cli('replay', traceFile('allocpages-unmap-all.trace', [pagesEv('alloc', 'TO_DEVICE', A, 4096), ev.unmapPhys('TO_DEVICE', A, 4096), ev.sync(true, 'TO_DEVICE', A, 4096)]),
      '--format', 'ftrace', '--platform', 'all', '--kernel', 'modern', ...SMALL);
    assert.match(unmapped.stdout, /^ {2}counted otherwise on some platforms \(the lines above give bare-metal's\): afterUnmap: bare-metal 0, swiotlb-force 0, xen-pv 1, iommu 0, coco 0$/m);
    assert.match(r.stdout, /the trace has no swiotlb_bounced line for this device \(nothing bounced when it was recorded, or it was recorded without -e swiotlb\)/, 'not "0 bounces": a trace of -e dma alone reads the same');
    assert.doesNotMatch(r.stdout, /coherent memory here, never bounced on bare-metal/, 'not the first platform\'s words for all');
  });
});
