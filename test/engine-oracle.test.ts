// The coherence oracle through the op stream (docs/ENGINE.md §2): who reads what, stale, lost or
// foreign, on both engines. Every case also checks the first violation's kind (the only kind a
// case's counters admit) and that the accounting invariants hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Platform, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import {
  COHERENT, ENGINES, FROM_DEV, PAGE, TO_DEV, alloc, allocCoherent, bind, cpuRead, cpuWrite, devRead, devWrite, free, gpuRead, gpuWrite,
  map, oracleOf, runOn, syncCpu, syncDev, unbind, unmap, type OpWords,
} from './engineHarness.js';
import type { Counters } from './engineHarness.js';
import type { MachineConfig } from '../src/engine/abi.js';

interface OracleCase {
  description: string;
  cfg: Partial<MachineConfig>;
  ops: OpWords[];
  oracle: { stale: number; lost: number; foreign: number };
  /** Other counters the scenario fixes. */
  also?: Partial<Counters>;
}

const seedUpload = [alloc(0), map(0), bind(0), cpuWrite(0)];
const seedReadback = [alloc(0), map(0), bind(0), gpuWrite()];
const stale = { ...COHERENT, stale: 1 };
const lost = { ...COHERENT, lost: 1 };
const foreign = { ...COHERENT, foreign: 1 };

const cases: OracleCase[] = [
  { description: 'xen-pv, 32-bit device: the GPU reads the bounce copy made at map time (the seed bug)',
    cfg: {}, ops: [...seedUpload, gpuRead()], oracle: stale, also: { bounces: 1, bounceBytes: PAGE } },
  { description: 'xen-pv: sync_for_device (bidirectional) after the CPU write fixes the upload',
    cfg: {}, ops: [...seedUpload, syncDev(0), gpuRead()], oracle: COHERENT },
  { description: 'xen-pv: sync_for_device (to_device) on the bidirectional mapping fixes the upload too',
    cfg: {}, ops: [...seedUpload, syncDev(0, TO_DEV), gpuRead()], oracle: COHERENT, also: { bounces: 1, syncsForDevice: 1 } },
  { description: 'xen-pv: dma_alloc_coherent pages are exchanged below 4 GiB, need no bounce and no sync',
    cfg: {}, ops: [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()], oracle: COHERENT,
    also: { coherentAllocs: 1, hypercalls: 1, exchangedFrames: 1, bounces: 0 } },
  { description: 'swiotlb=force reproduces the Xen bug on bare metal',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [...seedUpload, gpuRead()], oracle: stale, also: { bounces: 1 } },
  { description: 'bare metal, DMA32 page below the mask: no bounce, coherent',
    cfg: { platform: Platform['bare-metal'] }, ops: [...seedUpload, gpuRead()], oracle: COHERENT, also: { bounces: 0 } },
  { description: 'iommu: IOVA translation, no bounce, coherent',
    cfg: { platform: Platform.iommu }, ops: [...seedUpload, gpuRead()], oracle: COHERENT },
  { description: 'readback on xen-pv: a GPU write to the bounce slot never reaches the page the CPU reads',
    cfg: {}, ops: [...seedReadback, cpuRead(0)], oracle: lost },
  { description: 'readback: sync_for_cpu copies the bounce slot back',
    cfg: {}, ops: [...seedReadback, syncCpu(0), cpuRead(0)], oracle: COHERENT },
  { description: 'readback: unmap (bidirectional) copies the bounce slot back',
    cfg: {}, ops: [...seedReadback, unmap(0), cpuRead(0)], oracle: COHERENT },
  { description: 'swiotlb=force: the device writing through the handle then the CPU reading is lost without a sync',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [alloc(0), map(0), devWrite(0), cpuRead(0)], oracle: lost },
  { description: 'iommu: a DMA_TO_DEVICE IOVA is read-only (6.12 dma_info_to_prot, ppc64 tce_build): the device\'s write faults and is lost',
    cfg: { platform: Platform.iommu }, ops: [alloc(0), map(0, TO_DEV), devWrite(0), unmap(0, TO_DEV), cpuRead(0)], oracle: lost },
  { description: 'iommu: the same write through a bidirectional IOVA lands',
    cfg: { platform: Platform.iommu }, ops: [alloc(0), map(0), devWrite(0), unmap(0), cpuRead(0)], oracle: COHERENT },
  { description: 'iommu: a GPU write through a GART entry bound to a DMA_TO_DEVICE IOVA faults too',
    cfg: { platform: Platform.iommu }, ops: [alloc(0), map(0, TO_DEV), bind(0), gpuWrite(), cpuRead(0)], oracle: lost },
  { description: 'a GPU read of an unbound GART page is foreign',
    cfg: {}, ops: [gpuRead(3)], oracle: foreign },
  { description: 'bare metal: a GPU read of a page whose buffer was freed is foreign',
    cfg: { platform: Platform['bare-metal'] }, ops: [alloc(0), bind(0), free(0), gpuRead()], oracle: foreign },
  { description: 'unbind points at the dummy page: reading it is foreign',
    cfg: {}, ops: [allocCoherent(0), bind(0), unbind(0), gpuRead()], oracle: foreign },
  { description: 'payload 4096 bytes, no sync: the stale bounce copy is caught with real bytes too',
    cfg: { payloadBytes: 4096 }, ops: [...seedUpload, gpuRead()], oracle: stale },
  { description: 'payload 4096 bytes, synced (bidirectional): stamps and full-page bytes agree',
    cfg: { payloadBytes: 4096 }, ops: [...seedUpload, syncDev(0), gpuRead()], oracle: COHERENT },
  { description: 'payload 64 bytes, synced (to_device): coherent',
    cfg: { payloadBytes: 64 }, ops: [...seedUpload, syncDev(0, TO_DEV), gpuRead()], oracle: COHERENT },
  { description: 'payload 4096 bytes: a partial (1 KiB) CPU write after the sync is stale on the GPU side',
    cfg: { payloadBytes: 4096 }, ops: [...seedUpload, syncDev(0), cpuWrite(0, 100, 1024), gpuRead()], oracle: stale },
  { description: 'payload 4096 bytes: a sync of the first 100 bytes leaves the rest of the unit stale for the device',
    cfg: { payloadBytes: 4096, platform: Platform['swiotlb-force'] },
    ops: [alloc(0), map(0, TO_DEV), cpuWrite(0), syncDev(0, TO_DEV, 0, 100), devRead(0)], oracle: stale },
  { description: 'payload 4096 bytes: a CPU read that misses bytes of the device\'s write past a partial sync_for_cpu lost them',
    cfg: { payloadBytes: 4096, platform: Platform['swiotlb-force'] },
    ops: [alloc(0), map(0, FROM_DEV), devWrite(0), syncCpu(0, FROM_DEV, 0, 2148), cpuRead(0)], oracle: lost },
  // A mapping that starts mid-page covers no byte 0 of its first page: the device reaches the bytes
  // through the handle of the first one it touches (the kernel's handle + delta), not the page.
  ...(['swiotlb-force', 'xen-pv', 'iommu'] as const).flatMap((p): OracleCase[] => [
    { description: `${p}: a device write through a mapping that starts mid-page is copied back at the unmap`,
      cfg: { platform: Platform[p] }, ops: [alloc(0, 2), map(0, FROM_DEV, 2048, PAGE), devWrite(0, 2048, PAGE), unmap(0, FROM_DEV, PAGE), cpuRead(0, 2048, PAGE)],
      oracle: COHERENT },
  ]),
  { description: 'swiotlb-force: a device read through a mapping that starts mid-page sees the bounce copy made at map time',
    cfg: { platform: Platform['swiotlb-force'] }, ops: [alloc(0), map(0, TO_DEV, 2048, 2048), cpuWrite(0, 2048, 2048), devRead(0, 2048, 2048)],
    oracle: stale },
];
const byteWord = (v: bigint[] | null) => Number(v![VIOLATION_FIELDS.indexOf('byte')]);

/** The kind of the first violation when at most one kind of violation happened. */
function kindOf(oracle: OracleCase['oracle']): number {
  if (oracle.stale) return ViolationKind.stale;
  if (oracle.lost) return ViolationKind.lost;
  if (oracle.foreign) return ViolationKind.foreign;
  return ViolationKind.none;
}

for (const engine of ENGINES) {
  describe(`oracle through the op stream (engine ${engine})`, () => {
    for (const tc of cases) {
      it(tc.description, async () => {
        const o = await runOn(engine, tc.cfg, tc.ops);
        assert.deepEqual(oracleOf(o), tc.oracle);
        for (const [k, want] of Object.entries(tc.also ?? {})) assert.equal(o.c[k as keyof Counters], want, k);
        assert.equal(o.kind, kindOf(tc.oracle), 'first violation kind');
        assert.equal(o.invariants, 0, 'invariants');
      });
    }

    it('payload: the first violation names the first byte that differs when the unit\'s stamp matched, and none otherwise', async () => {
      const partial = await runOn(engine, { payloadBytes: 4096, platform: Platform['swiotlb-force'] },
        [alloc(0), map(0, TO_DEV), cpuWrite(0), syncDev(0, TO_DEV, 0, 100), devRead(0)]);
      assert.equal(byteWord(partial.violation), 100);
      const back = await runOn(engine, { payloadBytes: 4096, platform: Platform['swiotlb-force'] },
        [alloc(0), map(0, FROM_DEV), devWrite(0), syncCpu(0, FROM_DEV, 0, 2148), cpuRead(0)]);
      assert.equal(byteWord(back.violation), 2148);
      const unsynced = await runOn(engine, { payloadBytes: 4096 }, [...seedUpload, gpuRead()]);
      assert.equal(byteWord(unsynced.violation), -1, 'a stale stamp names no byte');
    });

    it('the seed bug: the first violation names the stale unit, the bounce frame and the PTE', async () => {
      const { violation } = await runOn(engine, {}, [...seedUpload, gpuRead()]);
      assert.ok(violation);
      const [kind, op, reader, , mfn, dmaAddr, gpuPage, pte, unit, seenHi, , expHi] = violation;
      assert.deepEqual([kind, op, reader, gpuPage, unit, seenHi, expHi], [1n, 4n, 2n, 0n, 0n, 1n, 1n]);
      assert.equal(dmaAddr, pte); // r100: the PTE is the bare 32-bit bus address
      assert.equal(mfn, dmaAddr / 4096n);
      assert.ok(mfn < 1n << 20n, 'the bounce slot lies below 4 GiB');
    });
  });
}
