// Trace replay's calls that run past what the trace mapped: a sync past its mapping's end (one
// call with the driver's size, so dma-debug sees it as the kernel does), and a map larger than one
// swiotlb segment (no room, in the kernel's words).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL, cli } from './helpers.js';
import { DEV, arr, ev, replayJson, traceFile } from './traceLines.js';

describe('trace: a sync running past its mapping is one call with the size the driver gave', () => {
  // A 4 KiB map, a sync of 8 KiB from its start, one of 4 KiB from its middle; then the unmap.
  const body = [
    ev.mapPhys('FROM_DEVICE', 0x7e000000, 4096, 0x7e000000),
    ev.sync(true, 'FROM_DEVICE', 0x7e000000, 8192),
    ev.sync(false, 'FROM_DEVICE', 0x7e000800, 4096),
    ev.unmapPhys('FROM_DEVICE', 0x7e000000, 4096),
  ];
  const path = traceFile('sync-past.trace', body);
  for (const platform of ['bare-metal', 'swiotlb-force']) {
    it(`dma-debug sees the whole range, both engines (${platform}): 6.12 no entry holds it, 2.6.37 outside the allocated range at the mapping's start`, () => {
      for (const [kernel, first, second] of [['modern', /^device driver tries to sync DMA memory it has not allocated \[device address=0x[0-9a-f]+\] \[size=8192 bytes\]$/, /\[size=4096 bytes\]$/],
        // 2.6.37: the sync from the middle is the range form (dma_sync_single_range_*): the mapping's handle, offset + size
        ['2010', /^device driver syncs DMA memory outside allocated range \[device address=0x[0-9a-f]+\] \[allocation size=4096 bytes\] \[sync offset\+size=8192\]$/, /\[sync offset\+size=6144\]$/]] as const) {
        const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, '--platform', platform, '--kernel', kernel, '--engine', e, ...SMALL));
        assert.deepEqual(w.dmaDebug, j.dmaDebug);
        assert.deepEqual(w.counters, j.counters);
        assert.equal(w.trace.syncsPastMapping, 2);
        assert.deepEqual(w.dmaDebug.map((d: { class: string }) => d.class), kernel === 'modern' ? ['sync-unknown', 'sync-unknown'] : ['sync-outside', 'sync-outside']);
        assert.equal(w.dmaDebug[1].op, w.dmaDebug[0].op + 1, 'the two syncs, on their own lines');
        assert.match(w.dmaDebug[0].message, first);
        assert.match(w.dmaDebug[1].message, second, 'the size the driver gave, not what the mapping holds');
      }
    });
  }
  it('a sync over one merged IOMMU segment (several entries of one list) is not past anything', () => {
    const merged = [
      `dma_map_sg: ${DEV} dir=FROM_DEVICE nents=3/3 ents=1/1 dma_addrs={0x33000000} sizes={0x3000} phys_addrs={0x33000000,0x33004000,0x33008000} attrs=`,
      `dma_sync_sg_for_cpu: ${DEV} dir=FROM_DEVICE dma_addrs={0x33000000,0xffffffffffffffff,0xffffffffffffffff} sizes={0x3000,0,0}`,
      ev.unmapSg('FROM_DEVICE', [0x33000000, 0x33004000, 0x33008000]),
    ];
    const r = replayJson(traceFile('sync-merged.trace', merged), '--platform', 'iommu', '--kernel', 'modern', ...SMALL);
    assert.equal(r.trace.syncsPastMapping, 0);
    assert.deepEqual(r.dmaDebug, []);
  });
});

describe('trace: a map larger than one swiotlb segment', () => {
  it('the bounce line says no room was found, full pool or too large, as the kernel words both', () => {
    const path = traceFile('too-large.trace', [ev.mapPhys('TO_DEVICE', 0x7e000000, 524288, 0x7e000000), ev.unmapPhys('TO_DEVICE', 0x7e000000, 524288)]);
    const r = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /simulated on swiotlb-force: 1 \(1 of them found no room: the pool full, or the map larger than one 256 KiB segment — the kernel says "swiotlb buffer is full" either way\)/);
  });
});

describe('trace: a failed map\'s handle used unchecked', () => {
  const E = 'ffffffffffffffff';
  const body = [
    `dma_map_phys: ${DEV} dir=TO_DEVICE dma_addr=${E} size=8192 phys_addr=7e000000 attrs=`,
    `dma_sync_single_for_device: ${DEV} dir=TO_DEVICE dma_addr=${E} size=8192`,
    `dma_unmap_phys: ${DEV} dir=TO_DEVICE dma_addr=${E} size=8192 attrs=`,
    `dma_unmap_phys: ${DEV} dir=TO_DEVICE dma_addr=ffffffff size=4096 attrs=`,
    ev.unmapPhys('TO_DEVICE', 0x7f000000, 4096), // a mapping made before the trace began
  ];
  const path = traceFile('error-handle.trace', body);
  const both = (...args: string[]) => {
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, ...args, '--engine', e, ...SMALL));
    assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
    assert.deepEqual(w.counters, j.counters, 'both engines');
    return w;
  };
  it('are counted with their first line, never as made before the trace, and replayed at the handle a failed map gives here', () => {
    const r = both('--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.deepEqual(r.trace.errorHandle, { unmaps: 2, syncs: 1, firstLine: 6 }, 'the header takes 4 lines; the failed map is line 5');
    assert.equal(r.trace.skipped.beforeTrace, 1, 'only the unmap of an address the trace never showed');
    assert.equal(r.trace.skipped.failedOnRecording, 1);
    assert.equal(r.counters.unmaps, 2);
    assert.equal(r.counters.syncsForDevice, 1);
    // 6.12: check_sync's containing lookup (which wraps past the end at ~0) finds no live entry
    // (the GART dummy page is mapped before dma-debug looks: no entry); check_unmap's lookup
    // finds none, then dma_mapping_error says what the address is.
    assert.deepEqual(r.dmaDebug.map((d: { class: string; message: string }) => `${d.class}: ${d.message}`), [
      'sync-unknown: device driver tries to sync DMA memory it has not allocated [device address=0xffffffffffffffff] [size=8192 bytes]',
      'unmap-unknown: device driver tries to free an invalid DMA memory address',
      'unmap-unknown: device driver tries to free an invalid DMA memory address',
    ]);
  });
  it('in each era\'s words: 2.6.37\'s x86 xen-swiotlb error handle is 0 (dma_mapping_error: !dma_addr)', () => {
    const r = both('--platform', 'xen-pv', '--kernel', '2010');
    assert.deepEqual(r.dmaDebug.map((d: { class: string; message: string }) => `${d.class}: ${d.message}`), [
      'sync-unknown: device driver tries to sync DMA memory it has not allocated [device address=0x0000000000000000] [size=8192 bytes]',
      'unmap-unknown: device driver tries to free an invalid DMA memory address',
      'unmap-unknown: device driver tries to free an invalid DMA memory address',
    ]);
  });
  it('a sync at ~0 with a mapping live: 6.12 check_sync\'s containing lookup wraps and meets it ("outside allocated range")', () => {
    const live = traceFile('error-live.trace', [ev.mapPhys('BIDIRECTIONAL', 0x7e200000, 2048, 0x7e200000), `dma_sync_single_for_cpu: ${DEV} dir=BIDIRECTIONAL dma_addr=${E} size=8192`]);
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(live, '--platform', 'bare-metal', '--kernel', 'modern', '--engine', e, ...SMALL));
    assert.deepEqual(w.dmaDebug, j.dmaDebug);
    assert.match(w.dmaDebug[0].message, /^device driver syncs DMA memory outside allocated range \[device address=0x[0-9a-f]+\] \[allocation size=2048 bytes\] \[sync offset\+size=8192\]$/);
  });
  it('ffffffff inside a live mapping is that mapping\'s byte, not a 32-bit dma_addr_t\'s error handle', () => {
    const held = traceFile('ffffffff-held.trace', [ev.mapPhys('FROM_DEVICE', 0xfffff000, 4096, 0x7e300000), `dma_sync_single_for_cpu: ${DEV} dir=FROM_DEVICE dma_addr=ffffffff size=1`]);
    const r = replayJson(held, '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.deepEqual(r.trace.errorHandle, { unmaps: 0, syncs: 0, firstLine: null });
    assert.equal(r.counters.syncsForCpu, 1);
    assert.deepEqual(r.dmaDebug.filter((d: { class: string }) => d.class !== 'leak'), []);
  });
  it('the text says what it was and that dma-debug answers; dir=NONE is still refused first', () => {
    const text = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /2 unmaps and 1 sync of DMA_MAPPING_ERROR \(first at line 6\): the driver used a failed map's handle without checking dma_mapping_error\(\), a bug wherever it runs; replayed at the handle a failed map gives here \(the map itself was not replayed\), so dma-debug reports them as this kernel would/);
    const none = cli('replay', traceFile('error-none.trace', [`dma_sync_single_for_cpu: ${DEV} dir=NONE dma_addr=${E} size=64`]), '--format', 'ftrace', ...SMALL);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /dir=NONE on a streaming call/);
  });
});

describe('trace: a sync starting before a mapping and running into it', () => {
  // A 4 KiB map at 0x7e001000; a sync of 8 KiB from 2 KiB before it: no live mapping holds its start.
  const into = ev.sync(true, 'FROM_DEVICE', 0x7e000800, 8192);
  const map = ev.mapPhys('FROM_DEVICE', 0x7e001000, 4096, 0x7e001000);
  it('syncs none of it: dma-debug and swiotlb both start from the call\'s address, so it is a sync of memory the trace did not show mapped (both engines, both eras)', () => {
    const path = traceFile('sync-into.trace', [map, into, ev.unmapPhys('FROM_DEVICE', 0x7e001000, 4096)]);
    for (const kernel of ['modern', '2010']) {
      const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, '--platform', 'swiotlb-force', '--kernel', kernel, '--engine', e, ...SMALL));
      assert.deepEqual(w.dmaDebug, j.dmaDebug);
      assert.deepEqual(w.counters, j.counters);
      assert.equal(w.trace.skipped.beforeTrace, 1, 'counted with the calls on memory the trace did not show mapped');
      assert.equal(w.trace.syncsPastMapping, 0, 'it started in no mapping');
      assert.equal(w.counters.syncsForCpu, 0, 'the mapping after it was not synced');
      assert.deepEqual(w.dmaDebug, [], 'nothing replayed that dma-debug could see');
    }
  });
  it('where the trace had unmapped a mapping at its start: a sync after unmap there, with nothing copied into the live one', () => {
    const dead = ev.mapPhys('FROM_DEVICE', 0x7e000800, 2048, 0x7e000800);
    const path = traceFile('sync-into-dead.trace', [dead, ev.unmapPhys('FROM_DEVICE', 0x7e000800, 2048), map, into]);
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, '--platform', 'swiotlb-force', '--kernel', 'modern', '--engine', e, ...SMALL));
    assert.deepEqual(w.dmaDebug, j.dmaDebug);
    assert.equal(w.trace.afterUnmap, 1);
    assert.equal(w.trace.syncsPastMapping, 0);
    const unknown = w.dmaDebug.filter((d: { class: string }) => d.class === 'sync-unknown');
    assert.equal(unknown.length, 1, 'has not allocated, at the unmapped mapping\'s handle');
    assert.equal(unknown[0].traceAddress, '0x7e000800');
  });
  it('one starting inside a mapping still runs on past it as one call (the range form)', () => {
    const path = traceFile('sync-inside-past.trace', [map, ev.sync(true, 'FROM_DEVICE', 0x7e001800, 4096)]);
    const r = replayJson(path, '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.equal(r.trace.syncsPastMapping, 1);
    assert.equal(r.counters.syncsForCpu, 1);
    assert.equal(r.trace.skipped.beforeTrace, 0);
  });
});

describe('trace: where a sync starts decides what it syncs (review cases)', () => {
  it('a sync at a segment address a recording IOMMU printed is that merged list\'s, though the replay placed its entries by whole pages', () => {
    // 3 entries merged into 2 segments of 6 KiB: segment 0 holds two entries (a page, then 2 KiB), segment 1 the third.
    const merged = [
      `dma_map_sg: ${DEV} dir=FROM_DEVICE nents=3/3 ents=2/2 dma_addrs={0xa0000000,0xa0010000} sizes={0x1800,0x1800} phys_addrs={0x10000000,0x10001000,0x10002000} attrs=`,
      `dma_sync_sg_for_cpu: ${DEV} dir=FROM_DEVICE dma_addrs={0xa0000000,0xa0010000,0xffffffffffffffff} sizes={0x1800,0x1800,0x0}`,
      ev.sync(true, 'FROM_DEVICE', 0xa0010000, 0x1800),
      ev.unmapSg('FROM_DEVICE', [0x10000000, 0x10001000, 0x10002000]),
    ];
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(traceFile('sync-segment.trace', merged), '--platform', 'swiotlb-force', '--kernel', 'modern', '--engine', e, ...SMALL));
    assert.deepEqual(w.counters, j.counters);
    assert.equal(w.trace.skipped.beforeTrace, 0, 'both syncs reach the list');
    assert.equal(w.counters.syncsForCpu, 4, 'the sg call syncs its 3 entries\' parts, the single one its segment\'s part');
  });
  it('a sync starting inside a mapping not replayed is counted with that mapping\'s reason, whatever it runs into', () => {
    const big = 5 << 20; // over 4 MiB: not replayed (tooLarge)
    for (const after of [[], [ev.mapPhys('TO_DEVICE', 0x80000000 + big, 4096, 0x31000000)]]) {
      const path = traceFile('sync-in-skipped.trace', [ev.mapPhys('TO_DEVICE', 0x90000000, 4096, 0x30000000), ev.mapPhys('TO_DEVICE', 0x80000000, big, 0x10000000), ...after, ev.sync(false, 'TO_DEVICE', 0x80000000 + big - 2048, 4096)]);
      const r = replayJson(path, '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
      assert.deepEqual([r.trace.skipped.tooLarge, r.trace.skipped.beforeTrace, r.counters.syncsForDevice], [2, 0, 0], after.length ? 'a replayed mapping after it' : 'nothing after it (a mapping elsewhere)');
    }
  });
  // __finalise_sg folds whole entries into segments; only a segment's first entry has an offset.
  it('a merged list\'s entries stay inside their segments: a segment after a longer one gets its own entry, and a first entry with an offset ends at its page', () => {
    const split = [
      `dma_map_sg: ${DEV} dir=TO_DEVICE dma_addrs={0xfffe0000,0xfffd0000} sizes={0x3000,0x1000} phys_addrs={0x7a000000,0x7b000000,0x7c000000} attrs=`,
      `dma_sync_sg_for_device: ${DEV} dir=TO_DEVICE dma_addrs={0xfffe0000,0xfffd0000,0xffffffffffffffff} sizes={0x3000,0x1000,0x0}`,
      ev.sync(true, 'TO_DEVICE', 0xfffd0000, 4096),
      ev.unmapSg('TO_DEVICE', [0x7a000000, 0x7b000000, 0x7c000000]),
    ];
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(traceFile('sg-segments.trace', split), '--platform', 'iommu', '--kernel', 'modern', '--engine', e, ...SMALL));
    assert.deepEqual(w.counters, j.counters);
    assert.deepEqual([w.trace.skipped.beforeTrace, w.counters.syncsForDevice, w.counters.syncsForCpu], [0, 3, 1], 'both syncs of the second segment reach its entry');
    assert.equal(w.counters.pagesAllocated, 4, "3 entries in the segments' 4 pages");
    const offset = [`dma_map_sg: ${DEV} dir=TO_DEVICE dma_addrs={0xfffe0200} sizes={0x1e00} phys_addrs={0x7a000200,0x7b000000} attrs=`];
    const o = replayJson(traceFile('sg-offset.trace', offset), '--platform', 'iommu', '--kernel', 'modern', ...SMALL);
    assert.equal(o.counters.pagesAllocated, 2, 'the first entry is the 3.5 KiB to its page end, the second one page');
  });
  it('a merged list printed in part shares out its full length: its 128 printed entries fill the first segments, a page each', () => {
    // 300 one-page entries merged into 10 segments of 30 pages; the trace prints the first 128 entries.
    const seg = Array.from({ length: 10 }, (_, j) => 0xa0000000 + j * 0x100000);
    const phys = Array.from({ length: 128 }, (_, i) => 0x1000000 + i * 0x2000);
    const cut = [`dma_map_sg: ${DEV} dir=FROM_DEVICE nents=128/300 ents=10/10 [TRUNCATED] dma_addrs=${arr(seg)} sizes=${arr(seg.map(() => 0x1e000))} phys_addrs=${arr(phys)} attrs=`];
    const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(traceFile('sg-cut-merged.trace', cut), '--platform', 'swiotlb-force', '--kernel', 'modern', '--engine', e, ...SMALL));
    assert.deepEqual(w.counters, j.counters);
    assert.deepEqual([w.counters.pagesAllocated, w.counters.bounceBytes, w.trace.sgTruncated], [128, 128 * 4096, 1], 'one page an entry, not the printed entries spread over all 300 pages');
    // Its segments cut too (128 of 250 printed: 120 of a page, 8 of three): the estimate, 154
    // entries, is more than those segments' 144 pages hold: at most one a page.
    const segs = Array.from({ length: 128 }, (_, j) => 0xb0000000 + j * 0x10000);
    const sizes = segs.map((_, j) => (j < 120 ? 0x1000 : 0x3000));
    const both = [`dma_map_sg: ${DEV} dir=FROM_DEVICE nents=128/300 ents=128/250 [TRUNCATED] dma_addrs=${arr(segs)} sizes=${arr(sizes)} phys_addrs=${arr(phys)} attrs=`];
    const b = replayJson(traceFile('sg-cut-both.trace', both), '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.equal(b.counters.pagesAllocated, 128, 'a page an entry');
  });
});

describe('trace: syncs 6.11+ never traced', () => {
  it('a device with maps and no dma_sync_* line gets the note that a coherent device\'s syncs are skipped before the trace (dma_dev_need_sync); one with a sync does not', () => {
    const note = /no dma_sync_\* line for this device: 6\.11 and later skip a coherent device's syncs under dma-direct or the IOMMU before tracing them \(dma_dev_need_sync\)/;
    const bare = [ev.mapPhys('TO_DEVICE', 0x7e000000, 4096, 0x7e000000), ev.unmapPhys('TO_DEVICE', 0x7e000000, 4096)];
    for (const platform of ['xen-pv', 'all']) {
      const r = cli('replay', traceFile('no-syncs.trace', bare), '--format', 'ftrace', '--platform', platform, ...SMALL);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, note, platform);
    }
    const synced = [bare[0]!, ev.sync(false, 'TO_DEVICE', 0x7e000000, 4096), bare[1]!];
    assert.doesNotMatch(cli('replay', traceFile('syncs.trace', synced), '--format', 'ftrace', '--platform', 'xen-pv', ...SMALL).stdout, note);
  });
});
