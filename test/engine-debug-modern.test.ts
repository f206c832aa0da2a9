// `--kernel modern` dma-debug is kernel/dma/debug.c of Linux 6.12 (docs/ENGINE.md §9, D21, D23):
// the cacheline-overlap report, check_sync's containing walk and the best-fit lookups, on both
// engines. Each case names the 6.12 function it follows; the expected classes and counts are
// worked out from that function by hand (the reasoning is in the description or a comment).
// Machine: bare metal unless said (a map's dma address is then its physical address), one page
// per buffer unless said; `me` is dma_mapping_error after a map, so no map-error-unchecked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DebugType, Kernel, Platform, type DebugClass, type MachineConfig } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, FROM_DEV, PAGE, TO_DEV, alloc, map, mappingError, release, runOn, syncCpu, unmap, type OpWords,
} from './engineHarness.js';

const modern: Partial<MachineConfig> = { platform: Platform['bare-metal'], kernel: Kernel.modern };
const era2010: Partial<MachineConfig> = { platform: Platform['bare-metal'], kernel: Kernel['2010'] };
const me = mappingError;
/** `n` checked maps of slot 0 in `dir` (one page from offset 0: one cacheline key). */
const maps = (n: number, dir: number): OpWords[] => Array.from({ length: n }, () => [map(0, dir), me(0)]).flat();
const unmaps = (n: number, dir: number): OpWords[] => Array.from({ length: n }, () => unmap(0, dir));

interface Case {
  description: string;
  cfg?: Partial<MachineConfig>;
  ops: OpWords[];
  classes: DebugClass[];
  /** The count word (D13) of each record, when the case pins it. */
  counts?: number[];
}

const cases: Case[] = [
  // debug_dma_map_page → dma_mapping_error → debug_dma_mapping_error before the new entry joins:
  // the 2nd unchecked map of the page marks the 1st (same dma address) checked; of the two unmaps
  // only the 2nd entry was never checked. to_device: no cacheline report to get in the way.
  { description: 'debug_dma_map_page: a map at an address marks the live unchecked entry there checked, so two unchecked maps give one map-error-unchecked',
    ops: [alloc(0), map(0, TO_DEV), map(0, TO_DEV), ...unmaps(2, TO_DEV)], classes: ['map-error-unchecked'] },
  { description: 'debug_dma_map_page: three unchecked maps of one address: the 2nd marks the 1st, the 3rd the 2nd: one report',
    ops: [alloc(0), map(0, TO_DEV), map(0, TO_DEV), map(0, TO_DEV), ...unmaps(3, TO_DEV)], classes: ['map-error-unchecked'] },
  { description: '2010: no map-error tracking at all: two unchecked maps, no report',
    cfg: era2010, ops: [alloc(0), map(0, TO_DEV), map(0, TO_DEV), ...unmaps(2, TO_DEV)], classes: [] },
  // add_dma_entry → active_cacheline_insert: the 2nd map's cacheline (pfn, offset 0) is in the
  // tree → radix_tree_insert's EEXIST → active_cacheline_inc_overlap makes it 1 → err_printk.
  { description: 'add_dma_entry: two from_device maps of one page report one overlap (overlap count 1)',
    ops: [alloc(0), ...maps(2, FROM_DEV)], classes: ['overlap'], counts: [1] },
  { description: 'add_dma_entry: bidirectional then from_device: one overlap',
    ops: [alloc(0), ...maps(1, BIDI), ...maps(1, FROM_DEV)], classes: ['overlap'], counts: [1] },
  // to_cacheline_number: pfn and offset >> L1_CACHE_SHIFT (6): offsets 0 and 32 share line 0.
  { description: 'to_cacheline_number: maps at offsets 0 and 32 share a 64-byte cacheline: overlap, though the dma addresses differ',
    ops: [alloc(0), map(0, FROM_DEV, 0, 64), me(0), map(0, FROM_DEV, 32, 32), me(0)], classes: ['overlap'], counts: [1] },
  // Only the first cacheline of a mapping is a key: a page at offset 0 (line 0) and 64 bytes at
  // offset 64 (line 1) overlap in memory, yet their keys differ.
  { description: 'to_cacheline_number: only the first cacheline is tracked: a map at offset 64 inside a mapped page is no overlap',
    ops: [alloc(0), ...maps(1, FROM_DEV), map(0, FROM_DEV, 64, 64), me(0)], classes: [] },
  // active_cacheline_insert returns 0 for DMA_TO_DEVICE: never in the tree, never EEXIST.
  { description: 'active_cacheline_insert: two to_device maps of one page: no overlap',
    ops: [alloc(0), ...maps(2, TO_DEV)], classes: [] },
  { description: 'active_cacheline_insert: to_device then from_device: the first was never tracked, no overlap',
    ops: [alloc(0), ...maps(1, TO_DEV), ...maps(1, FROM_DEV)], classes: [] },
  { description: 'active_cacheline_insert: from_device then to_device: the second is not tracked, no overlap',
    ops: [alloc(0), ...maps(1, FROM_DEV), ...maps(1, TO_DEV)], classes: [] },
  // The key is the memory, not the dma address: two bounces of one page take two slots, one pfn.
  { description: 'to_cacheline_number keys the memory: swiotlb=force bounces one page twice into two slots: overlap',
    cfg: { platform: Platform['swiotlb-force'], kernel: Kernel.modern }, ops: [alloc(0), ...maps(2, FROM_DEV)],
    classes: ['overlap'], counts: [1] },
  // A→tree (0); B: EEXIST, 1 (report); unmap finds A (both perfect, oldest first) → dec to 0;
  // C: EEXIST, 1 (report); unmap → 0; unmap → −1 → radix_tree_delete; D: a fresh insert, no report.
  { description: 'active_cacheline_remove: each unmap takes one off; once the count goes below 0 the line is free again',
    ops: [alloc(0), ...maps(2, FROM_DEV), ...unmaps(1, FROM_DEV), ...maps(1, FROM_DEV), ...unmaps(2, FROM_DEV),
      ...maps(1, FROM_DEV)],
    classes: ['overlap', 'overlap'], counts: [1, 1] },
  // ACTIVE_CACHELINE_MAX_OVERLAP = 2^RADIX_TREE_MAX_TAGS − 1 = 7. Maps 2..9 each hit EEXIST (8
  // reports, counts 1..8; active_cacheline_set_overlap refuses 8, so the tag bits stay 7 and the
  // WARN_ONCE, not an err_printk, fires). 8 unmaps: 7 → 0, then −1 deletes the node while one
  // mapping is still live; so the 10th map inserts afresh: no report although 2 are live.
  { description: 'ACTIVE_CACHELINE_MAX_OVERLAP: the counter stops at 7, so after 9 maps and 8 unmaps a 10th overlapping map goes unreported',
    ops: [alloc(0), ...maps(9, FROM_DEV), ...unmaps(8, FROM_DEV), ...maps(1, FROM_DEV)],
    classes: Array<DebugClass>(8).fill('overlap'), counts: [1, 2, 3, 4, 5, 6, 7, 8] },
  { description: '2010 (2.6.37 lib/dma-debug.c has no cacheline tracking): the same two from_device maps report nothing',
    cfg: era2010, ops: [alloc(0), ...maps(2, FROM_DEV)], classes: [] },
  { description: 'release (dma_debug_device_change) still counts both overlapping mappings as one leak record of 2',
    ops: [alloc(0), ...maps(2, BIDI), release()], classes: ['overlap', 'leak'], counts: [1, 2] },

  // check_sync → bucket_find_contain: containing_match needs the whole [addr, addr + size) inside.
  { description: 'bucket_find_contain: a sync from the handle past a 1-page mapping\'s end is contained by nothing: sync-unknown (count 1 at the address)',
    ops: [alloc(0, 2), ...maps(1, BIDI), syncCpu(0, BIDI, 0, 2 * PAGE)], classes: ['sync-unknown'], counts: [1] },
  { description: 'bucket_find_contain: a sync starting inside but running 2 KiB past the end: sync-unknown (count 0 at its address)',
    ops: [alloc(0, 2), ...maps(1, BIDI), syncCpu(0, BIDI, PAGE / 2, PAGE)], classes: ['sync-unknown'], counts: [0] },
  { description: '2010, the same sync from the handle: exact lookup finds the entry, sync-outside',
    cfg: era2010, ops: [alloc(0, 2), ...maps(1, BIDI), syncCpu(0, BIDI, 0, 2 * PAGE)], classes: ['sync-outside'] },
  { description: 'bucket_find_contain: a sync wholly inside is found: nothing',
    ops: [alloc(0, 2), map(0, FROM_DEV, 0, 2 * PAGE), me(0), syncCpu(0, FROM_DEV, PAGE, PAGE)], classes: [] },
  // __hash_bucket_find with containing_match: both entries contain the sync and score 2 (type and
  // sg count) — several, none perfect → NULL for this bucket; earlier buckets hold nothing.
  { description: '__hash_bucket_find: two containing mappings, neither perfect: sync-unknown although both hold it (count 2)',
    ops: [alloc(0), ...maps(1, TO_DEV), ...maps(1, FROM_DEV), syncCpu(0, BIDI, 0, PAGE / 2)], classes: ['sync-unknown'], counts: [2] },
  // The same two: a to_device sync of the full page scores 4 on the older, to_device entry
  // (found: same direction; to_cpu with ref to_device: no read-only report). The newest entry
  // (from_device) would have given sync-direction.
  { description: '__hash_bucket_find: the perfect fit wins over the newer entry: a to_device sync_for_cpu of the to_device mapping is fine',
    ops: [alloc(0), ...maps(1, TO_DEV), ...maps(1, FROM_DEV), syncCpu(0, TO_DEV, 0, PAGE)], classes: [] },
  // Walk order: A = 4 pages at X (bucket b), B = 1 page at X + 8 KiB (bucket b + 1), B mapped
  // first. A sync at B + 64 starts in bucket b + 1: B is its only containing entry there and wins
  // (not perfect) before the walk reaches A's bucket. B is to_device, the sync bidirectional
  // for the cpu: sync-direction and sync-cpu-readonly. The newest containing entry would be A
  // (bidirectional): nothing.
  { description: 'bucket_find_contain: the nearest bucket back wins: a sync inside an older to_device mapping nested in a newer bidirectional one',
    ops: [alloc(0, 4), map(0, TO_DEV, 2 * PAGE, PAGE), me(0), map(0, BIDI, 0, 4 * PAGE), me(0), syncCpu(0, BIDI, 2 * PAGE + 64, 64)],
    classes: ['sync-direction', 'sync-cpu-readonly'] },

  // check_unmap → bucket_find_exact: a lone entry is taken however it scores; two with none
  // perfect give "has not allocated".
  { description: 'bucket_find_exact: a lone entry at the address is found though not perfect: unmap-direction',
    ops: [alloc(0), ...maps(1, TO_DEV), unmap(0, FROM_DEV)], classes: ['unmap-direction'] },
  { description: 'bucket_find_exact: the perfect fit is taken, newer or older: unmap bidirectional 2 pages, then to_device 1 page: nothing',
    ops: [alloc(0, 2), ...maps(1, TO_DEV), map(0, BIDI, 0, 2 * PAGE), me(0), unmap(0, BIDI, 2 * PAGE), unmap(0, TO_DEV, PAGE)],
    classes: [] },
  { description: 'bucket_find_exact: two entries, none perfect: unmap-unknown with count 2, and nothing is removed (one leak of 2)',
    ops: [alloc(0), ...maps(1, TO_DEV), map(0, BIDI, 0, 2048), me(0), unmap(0, FROM_DEV), release()],
    classes: ['unmap-unknown', 'leak'], counts: [2, 2] },
  // check_unmap: when bucket_find_exact finds nothing it asks dma_mapping_error(), whose
  // debug_dma_mapping_error marks the oldest unchecked entry at the address checked. The 2nd map
  // marked the 1st; the failed unmap (none perfect) marks the 2nd; its own unmap is then clean
  // (the 2nd map shares the 1st's cacheline, neither to_device: an overlap at the map).
  { description: 'check_unmap: an unmap that finds nothing still checks an entry at its address (dma_mapping_error\'s hook): no map-error-unchecked after',
    ops: [alloc(0), map(0, BIDI), map(0, FROM_DEV, 0, 2048), unmap(0, TO_DEV, 2048), unmap(0, FROM_DEV, 2048), unmap(0, BIDI)],
    classes: ['overlap', 'unmap-unknown'], counts: [1, 2] },
];

for (const engine of ENGINES) {
  describe(`modern dma-debug is 6.12's kernel/dma/debug.c (engine ${engine})`, () => {
    for (const tc of cases) {
      it(tc.description, async () => {
        const o = await runOn(engine, tc.cfg ?? modern, tc.ops);
        assert.deepEqual(o.classes, tc.classes);
        assert.equal(o.total, tc.classes.length);
        assert.equal(o.c.dmaDebugErrors, tc.classes.length);
        if (tc.counts) assert.deepEqual(o.records.map((r) => Number(r[8])), tc.counts);
      });
    }

    // 2.6.37 dma_entry_alloc: the preallocated 65536 entries run out → "debugging out of memory -
    // disabling" (global_disable, T22): the later unmap of a never-mapped buffer says nothing.
    // 6.12 dma_entry_alloc grows the pool instead (dma_debug_create_entries), so it is reported.
    it('dma_entry_alloc: past 65536 live entries 6.12 keeps checking (2.6.37 disabled itself)', async () => {
      // 65536 maps of 64 bytes at distinct addresses in a 1024-page buffer, one more of buffer 2:
      // 65537 live entries; buffer 1 is never mapped.
      const ops = [alloc(0, 1024), alloc(1), alloc(2), ...Array.from({ length: 65536 }, (_, i) => map(0, TO_DEV, i * 64, 64)),
        map(2, TO_DEV), unmap(1, TO_DEV)];
      const now = await runOn(engine, modern, ops);
      assert.deepEqual(now.classes, ['unmap-unknown']);
      const then = await runOn(engine, era2010, ops);
      assert.deepEqual(then.classes, []);
      assert.equal(then.c.dmaDebugErrors, 0);
    });

    it('an overlap record: the new mapping\'s address, size and direction, its type, and no reference', async () => {
      const o = await runOn(engine, modern, [alloc(0), ...maps(1, FROM_DEV), map(0, BIDI, 0, 128), me(0)]);
      const [, op, dmaAddr, size, edir, rdir, etype, rtype, count, esize] = o.records[0];
      const first = await runOn(engine, modern, [alloc(0), ...maps(1, FROM_DEV)]);
      assert.equal(first.total, 0);
      // op 3: alloc 0, map 1, me 2, map 3; same pfn as the first map, bare metal: same address.
      assert.equal(op, 3n);
      assert.ok(dmaAddr > 0n);
      assert.deepEqual([size, edir, rdir, rtype, count, esize], [128n, BigInt(BIDI), -1n, -1n, 1n, 128n]);
      assert.equal(etype, BigInt(DebugType.single));
    });
  });
}
