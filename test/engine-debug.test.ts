// DMA-API debug (docs/ENGINE.md §9, D13, D14, D21; kernel/dma/debug.c): which misuse is reported
// under which class, on both engines. Each case checks the classes in order, the total of reports
// and the dmaDebugErrors counter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Platform, type DebugClass, type MachineConfig } from '../src/engine/abi.js';
import {
  BIDI, ENGINES, FROM_DEV, PAGE, TO_DEV, alloc, allocCoherent, freeCoherent, map, mappingError, release, runOn, syncCpu,
  syncDev, unmap, type OpWords,
} from './engineHarness.js';

const bare = { platform: Platform['bare-metal'] };

const cases: { description: string; cfg?: Partial<MachineConfig>; ops: OpWords[]; classes: DebugClass[] }[] = [
  { description: 'checked map, matching unmap: nothing', ops: [alloc(0), map(0), mappingError(0), unmap(0)], classes: [] },
  { description: 'unmap without dma_mapping_error', ops: [alloc(0), map(0), unmap(0)], classes: ['map-error-unchecked'] },
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
  });
}
