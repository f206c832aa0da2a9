// DMA-API debug (docs/ENGINE.md §9, D7, D13, D14, D21): which misuse is reported under which
// class, on both engines and per era (`2010`: lib/dma-debug.c of 2.6.37; `modern`:
// kernel/dma/debug.c of 6.12; more of 6.12 in test/engine-debug-modern.test.ts). Each case checks the classes in order, the total of reports and the
// dmaDebugErrors counter. The kernel's messages one by one: test/peer-dma-debug.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEBUG_ENTRY_OP_WORD, Kernel, Platform, type DebugClass, type MachineConfig } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, FROM_DEV, PAGE, TO_DEV, alloc, allocCoherent, freeCoherent, map, mappingError, release, runOn, syncCpu,
  syncDev, unmap, type OpWords,
} from './engineHarness.js';

const bare = { platform: Platform['bare-metal'] };
const modern = { ...bare, kernel: Kernel.modern };
// The case: one page mapped twice (to_device 1 page, then bidirectional 2 pages, each
// checked), each mapping unmapped exactly.
const mappedTwice = [alloc(0, 2), map(0, TO_DEV, 0, PAGE), mappingError(0), map(0, BIDI, 0, 2 * PAGE), mappingError(0),
  unmap(0, TO_DEV, PAGE), unmap(0, BIDI, 2 * PAGE)];

const cases: { description: string; cfg?: Partial<MachineConfig>; ops: OpWords[]; classes: DebugClass[] }[] = [
  { description: 'checked map, matching unmap: nothing', ops: [alloc(0), map(0), mappingError(0), unmap(0)], classes: [] },
  { description: '2010: unmap without dma_mapping_error is fine (2.6.37 has no map-error check)', ops: [alloc(0), map(0), unmap(0)], classes: [] },
  { description: 'modern: unmap without dma_mapping_error', cfg: modern, ops: [alloc(0), map(0), unmap(0)], classes: ['map-error-unchecked'] },
  { description: '2010: a page mapped twice, each unmapped exactly: best fit finds each, 0 reports', ops: mappedTwice, classes: [] },
  { description: 'modern (6.12 bucket_find_exact, the same best fit): each unmap finds its own entry, 0 reports; no overlap (the to_device map is not tracked)',
    cfg: modern, ops: mappedTwice, classes: [] },
  { description: '2010: two entries at one address, neither perfect: unmap-unknown, both leak',
    ops: [alloc(0), map(0, TO_DEV), map(0, FROM_DEV), unmap(0, BIDI), release()], classes: ['unmap-unknown', 'leak'] },
  { description: 'modern (6.12 __hash_bucket_find): the same stream, two candidates none perfect: unmap-unknown, both leak',
    cfg: modern, ops: [alloc(0), map(0, TO_DEV), map(0, FROM_DEV), unmap(0, BIDI), release()],
    classes: ['unmap-unknown', 'leak'] },
  { description: '2010: a sync starting inside a mapping is unknown (exact handle)',
    ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), syncCpu(0, BIDI, PAGE, PAGE)], classes: ['sync-unknown'] },
  { description: 'modern (D21): the same sync is contained, fine',
    cfg: modern, ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), syncCpu(0, BIDI, PAGE, PAGE)], classes: [] },
  { description: 'modern (6.12 bucket_find_contain): a sync past the end from the handle is contained by nothing: sync-unknown',
    cfg: modern, ops: [alloc(0, 2), map(0, TO_DEV), syncDev(0, TO_DEV, 0, 2 * PAGE)], classes: ['sync-unknown'] },
  { description: 'unmap of a never-mapped buffer', ops: [alloc(0), unmap(0)], classes: ['unmap-unknown'] },
  { description: 'unmap twice', ops: [alloc(0), map(0), mappingError(0), unmap(0), unmap(0)], classes: ['unmap-unknown'] },
  { description: 'unmap of a 2-page mapping with the size of 1 page',
    ops: [alloc(0, 2), map(0, BIDI, 0, 2 * PAGE), mappingError(0), unmap(0, BIDI, PAGE)], classes: ['unmap-size'] },
  { description: 'unmap of a 1-page mapping with a 2 KiB size',
    ops: [alloc(0), map(0, BIDI, 0, PAGE), mappingError(0), unmap(0, BIDI, 2048)], classes: ['unmap-size'] },
  { description: 'unmap with a different direction', ops: [alloc(0), map(0, TO_DEV), mappingError(0), unmap(0, FROM_DEV)], classes: ['unmap-direction'] },
  { description: 'dma_unmap_page of coherent memory', ops: [allocCoherent(0), unmap(0)], classes: ['unmap-wrong-function'] },
  { description: 'sync of a never-mapped buffer', ops: [alloc(0), syncCpu(0)], classes: ['sync-unknown'] },
  { description: 'sync_for_device past the end of a to_device mapping',
    ops: [alloc(0, 2), map(0, TO_DEV), syncDev(0, TO_DEV, 0, 2 * PAGE)], classes: ['sync-outside'] },
  { description: 'sync_for_device past the end of a bidirectional mapping',
    ops: [alloc(0, 2), map(0, BIDI, 0, PAGE), syncDev(0, BIDI, 0, 2 * PAGE)], classes: ['sync-outside'] },
  { description: 'sync in the mapping\'s own direction is fine', ops: [alloc(0), map(0, FROM_DEV), syncCpu(0, FROM_DEV)], classes: [] },
  { description: 'any sync of a bidirectional mapping is fine', ops: [alloc(0), map(0), syncCpu(0, TO_DEV), syncDev(0, FROM_DEV)], classes: [] },
  { description: 'sync_for_cpu of a to_device mapping with from_device',
    ops: [alloc(0), map(0, TO_DEV), syncCpu(0, FROM_DEV)], classes: ['sync-direction', 'sync-cpu-readonly'] },
  { description: 'sync_for_device of a from_device mapping with to_device',
    ops: [alloc(0), map(0, FROM_DEV), syncDev(0, TO_DEV)], classes: ['sync-direction', 'sync-device-writeonly'] },
  { description: 'one mapping live at release: one leak', ops: [alloc(0), map(0), release()], classes: ['leak'] },
  { description: 'two mappings live at release: still one leak', ops: [alloc(0), map(0), alloc(1), map(1), release()], classes: ['leak'] },
  { description: 'free_coherent with matching handle and size: nothing', ops: [allocCoherent(0, 2), freeCoherent(0), release()], classes: [] },
  { description: 'swiotlb=force: a failed map (129 slots) is not tracked, nothing leaks',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [alloc(0, 65), map(0, BIDI, 0, 129 * 2048), release()], classes: [] },
  { description: '2010 swiotlb=force: unmap of the failed map\'s overflow address is the invalid-address report',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [alloc(0, 65), map(0, BIDI, 0, 129 * 2048), unmap(0, BIDI, 129 * 2048)],
    classes: ['unmap-unknown'] },
];

for (const engine of ENGINES) {
  describe(`DMA-API debug classes (kernel/dma/debug.c) (engine ${engine})`, () => {
    for (const tc of cases) {
      it(tc.description, async () => {
        const o = await runOn(engine, tc.cfg ?? bare, tc.ops);
        assert.deepEqual(o.classes, tc.classes);
        assert.equal(o.total, tc.classes.length);
        assert.equal(o.c.dmaDebugErrors, tc.classes.length);
      });
    }

    it('unknown records count the entries at the address (D13): 0, 2 when best fit gave up, −1 for an invalid address', async () => {
      const none = await runOn(engine, bare, [alloc(0), unmap(0)]);
      const two = await runOn(engine, bare, [alloc(0), map(0, TO_DEV), map(0, FROM_DEV), unmap(0, BIDI)]);
      const invalid = await runOn(engine, { platform: Platform['swiotlb-force'] },
        [alloc(0, 65), map(0, BIDI, 0, 129 * 2048), unmap(0, BIDI, 129 * 2048)]);
      assert.deepEqual([none, two, invalid].map((o) => o.records[0]![8]), [0n, 2n, -1n]);
    });

    it('the leak record carries the count of live mappings, and -1 for what a leak has not', async () => {
      for (const live of [1, 2]) {
        const ops: OpWords[] = [];
        for (let slot = 0; slot < live; slot++) ops.push(alloc(slot), map(slot));
        const o = await runOn(engine, bare, [...ops, release()]);
        const [, op, dmaAddr, size, , , , , count] = o.records[0];
        assert.equal(count, BigInt(live));
        assert.deepEqual([op, dmaAddr, size], [BigInt(2 * live), -1n, -1n]); // D13; RELEASE is op 2·live
      }
    });

    it('each record names the op that made the entry it is about (entryOp, D13); −1 without one', async () => {
      const made = (o: { records: bigint[][] }) => o.records.map((w) => w[DEBUG_ENTRY_OP_WORD]);
      // unmap-size about the map at op 3 (op 2 maps another buffer, which leaks); 2010's leak names no entry.
      const sized = await runOn(engine, bare, [alloc(1), alloc(0, 2), map(1), map(0, BIDI, 0, 2 * PAGE), mappingError(0), unmap(0, BIDI, PAGE), release()]);
      assert.deepEqual(sized.classes, ['unmap-size', 'leak']);
      assert.deepEqual(made(sized), [3n, -1n]);
      // 6.12: the leak names one live entry (the newest of the highest hash bucket: the second buffer's map, op 3).
      const leaked = await runOn(engine, modern, [alloc(0), alloc(1), map(0), map(1), mappingError(0), mappingError(1), release()]);
      assert.deepEqual(leaked.classes, ['leak']);
      assert.deepEqual(made(leaked), [3n]);
      // Records with no entry: unknown unmap and sync.
      const unknown = await runOn(engine, bare, [alloc(0), unmap(0), syncCpu(0)]);
      assert.deepEqual(made(unknown), [-1n, -1n]);
      // A sync's direction reports name the map's op (1), not the sync's (2).
      const dir = await runOn(engine, bare, [alloc(0), map(0, TO_DEV), syncCpu(0, FROM_DEV)]);
      assert.deepEqual(dir.classes, ['sync-direction', 'sync-cpu-readonly']);
      assert.deepEqual(made(dir), [1n, 1n]);
    });
  });
}
