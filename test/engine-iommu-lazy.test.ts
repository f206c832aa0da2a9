// --iommu-mode strict|lazy on the iommu platform (docs/ENGINE.md §8), on both engines: Linux
// 6.12's dma-iommu flush queue (drivers/iommu/dma-iommu.c). __iommu_dma_unmap clears the page
// table and, strict, syncs the IOTLB and frees the IOVA at once (iommu_dma_free_iova →
// free_iova_fast); lazy, iommu_dma_free_iova → queue_iova puts the run on a per-CPU ring of
// IOVA_DEFAULT_FQ_SIZE = 256 entries (fq_full keeps one empty: 255 unmaps), and the IOVA is freed
// only after fq_flush_iotlb (one flush_iotlb_all) when the ring is full. The IOTLB keeps the freed
// IOVA's translation until then (the simulation assumes the device's IOTLB holds it), so a device
// reaches the old page. The numbers are derived by hand from those rules and the base machine of
// test/engineHarness.ts: the dummy page holds IOVA entry 0 (D3), so the first streaming map is
// entry 1; a one-page alloc gets pfn 20489, the first free pfn, which is odd, so the buddy's init
// leaves it alone on the order-0 list, and a free puts it back at the head for the next alloc.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InitError, IOMMU_BASE, IOMMU_WINDOW_PAGES, IOVA_DEFAULT_FQ_SIZE, IommuMode, Kernel, Platform, Via, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, alloc, allocCoherent, bind, cpuRead, cpuWrite, devRead, firstFreePfn, free, freeCoherent, gpuRead, gpuWrite,
  initOn, map, runOn, unmap, BIDI, type OpWords, type Outcome,
} from './engineHarness.js';
import { cli, expectUsage, scratch, script } from './helpers.js';

const strict = { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.strict };
const lazy = { ...strict, iommuMode: IommuMode.lazy };
const field = (o: Outcome, name: (typeof VIOLATION_FIELDS)[number]): bigint => o.violation![VIOLATION_FIELDS.indexOf(name)]!;
const PFN = firstFreePfn(32768); // 20489
const FIRST_IOVA = BigInt(IOMMU_BASE + PAGE); // entry 1

/** One buffer mapped, unmapped, freed while a GART PTE still holds its IOVA; another buffer then gets its page. */
const staleGart = (tail: OpWords[]): OpWords[] => [alloc(0), map(0), bind(0, 0), unmap(0), free(0), alloc(1), ...tail];

for (const engine of ENGINES) {
  describe(`iommu strict vs lazy (engine ${engine})`, () => {
    it('a device read after unmap: strict faults (foreign), lazy still reads the old page (queue_iova keeps the IOTLB entry)', async () => {
      const ops = [alloc(0), cpuWrite(0), map(0), unmap(0), devRead(0)];
      const s = await runOn(engine, strict, ops);
      assert.deepEqual([s.c.foreignReads, s.c.staleReads, s.c.iommuPagesUnmapped, s.c.iommuPagesQueued, s.c.iommuFlushes], [1, 0, 1, 0, 0]);
      assert.equal(field(s, 'dmaAddr'), FIRST_IOVA);
      assert.equal(field(s, 'hopPfn'), -1n, 'strict: the entry is empty, the IOMMU faults');
      assert.equal(field(s, 'iovaUnmapOp'), -1n);
      const l = await runOn(engine, lazy, ops);
      assert.deepEqual([l.kind, l.c.iommuPagesUnmapped, l.c.iommuPagesQueued, l.c.iommuFlushes], [ViolationKind.none, 1, 1, 0]);
    });

    it('a GART PTE left on a freed buffer: lazy reaches the page its next owner wrote, and says the IOVA waits in the flush queue', async () => {
      const ops = staleGart([cpuWrite(1), gpuRead(0)]);
      const s = await runOn(engine, strict, ops);
      assert.equal(s.kind, ViolationKind.foreign);
      assert.deepEqual([field(s, 'mfn'), field(s, 'hopPfn'), field(s, 'iovaUnmapOp')], [-1n, -1n, -1n], 'strict: a fault, nothing reached');
      const l = await runOn(engine, lazy, ops);
      assert.equal(l.kind, ViolationKind.foreign);
      assert.equal(field(l, 'via'), BigInt(Via.iommu));
      assert.equal(field(l, 'dmaAddr'), FIRST_IOVA);
      assert.deepEqual([field(l, 'mfn'), field(l, 'hopPfn')], [BigInt(PFN), BigInt(PFN)], 'the IOTLB still maps the IOVA to the old page, now buffer 1');
      assert.equal(field(l, 'iovaUnmapOp'), 3n, 'op 3 unmapped it');
      assert.equal(field(l, 'seenHi'), 2n, "buffer 1's (#2) data");
    });

    it('a GPU write through a queued IOVA lands in the next owner (lost to strict, which drops it)', async () => {
      const ops = staleGart([gpuWrite(0), cpuRead(1)]);
      const s = await runOn(engine, strict, ops);
      assert.equal(s.kind, ViolationKind.none);
      const l = await runOn(engine, lazy, ops);
      assert.deepEqual([l.kind, l.c.foreignReads, Number(field(l, 'pfn'))], [ViolationKind.foreign, 1, PFN]);
    });

    it('an IOVA in the flush queue is not reused: a full window stays full until the flush (alloc_iova_fast flushes only the rcaches)', async () => {
      // Entry 0 is the dummy page; 511 maps of 1024 pages take entries 1..523264, one of 1023 the
      // rest up to 2^19 − 1. Unmapping that last one frees 1023 entries (strict) or queues them (lazy).
      const fill: OpWords[] = [alloc(0, 1024)];
      for (let i = 0; i < 511; i++) fill.push(map(0, BIDI, 0, 1024 * PAGE));
      fill.push(map(0, BIDI, 0, 1023 * PAGE), unmap(0, BIDI, 1023 * PAGE), map(0, BIDI, 0, PAGE));
      assert.equal(1 + 511 * 1024 + 1023, IOMMU_WINDOW_PAGES);
      const s = await runOn(engine, strict, fill);
      assert.deepEqual([s.c.mappingErrors, s.c.iommuPagesMapped], [0, 511 * 1024 + 1023 + 1]);
      const l = await runOn(engine, lazy, fill);
      assert.deepEqual([l.c.mappingErrors, l.c.iommuPagesMapped, l.c.iommuPagesQueued, l.c.iommuFlushes], [1, 511 * 1024 + 1023, 1023, 0]);
    });

    it('a full ring flushes: 255 unmaps stay queued, the 256th flushes them (fq_full, fq_flush_iotlb, fq_ring_free)', async () => {
      assert.equal(IOVA_DEFAULT_FQ_SIZE, 256);
      // Buffer 0's one mapping (entry 1) is the first unmap; buffer 1 adds the rest, then the
      // device reads buffer 0 through entry 1.
      const run = (unmaps: number) => {
        const ops: OpWords[] = [alloc(0), cpuWrite(0), alloc(1), map(0), unmap(0)];
        for (let i = 1; i < unmaps; i++) ops.push(map(1), unmap(1));
        ops.push(devRead(0));
        return runOn(engine, lazy, ops);
      };
      const held = await run(255);
      assert.deepEqual([held.kind, held.c.iommuPagesQueued, held.c.iommuFlushes], [ViolationKind.none, 255, 0], 'ring full, not flushed');
      const flushed = await run(256);
      assert.deepEqual([flushed.kind, flushed.c.iommuPagesQueued, flushed.c.iommuFlushes], [ViolationKind.foreign, 256, 1], 'flushed: entry 1 faults');
      assert.deepEqual([field(flushed, 'hopPfn'), field(flushed, 'iovaUnmapOp')], [-1n, -1n]);
      const strictRun = await runOn(engine, strict, [alloc(0), map(0), unmap(0), map(0), unmap(0)]);
      assert.deepEqual([strictRun.c.iommuPagesUnmapped, strictRun.c.iommuPagesQueued, strictRun.c.iommuFlushes], [2, 0, 0], 'strict: no queue');
    });

    it('dma_free_coherent queues too (iommu_dma_free → __iommu_dma_unmap)', async () => {
      const l = await runOn(engine, lazy, [allocCoherent(0, 2), freeCoherent(0)]);
      assert.deepEqual([l.c.iommuPagesUnmapped, l.c.iommuPagesQueued, l.c.iommuFlushes], [2, 2, 0]);
    });

    it('lazy is the modern kernel only: init refuses it on 2010 (LAYOUT)', async () => {
      assert.equal(await initOn(engine, { ...lazy, kernel: Kernel['2010'] }), InitError.LAYOUT);
      assert.equal(await initOn(engine, { ...strict, kernel: Kernel['2010'] }), InitError.OK);
    });
  });
}

describe('--iommu-mode (CLI)', () => {
  const dir = scratch();
  const uau = script(dir, 'uau.jsonl', [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'cpu_write', buf: 'a' }, { op: 'map', buf: 'a', dir: 'bidirectional' },
    { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'dev_read', buf: 'a' },
  ]);
  const gart = script(dir, 'gart.jsonl', [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
    { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'free', buf: 'a' }, { op: 'alloc', buf: 'b', pages: 1, zone: 'dma32' },
    { op: 'cpu_write', buf: 'b' }, { op: 'gpu_read', gpuPage: 0, pages: 1 },
  ]);
  const replay = (path: string, ...args: string[]) => {
    const r = cli('replay', path, '--platform', 'iommu', '--ram', '512M', '--swiotlb', '4M', '--json', ...args);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  it('defaults: lazy on modern, strict on 2010; the flush-queue counters are listed only for lazy', () => {
    const m = replay(uau, '--kernel', 'modern');
    assert.equal(m.scenario.iommuMode, 'lazy');
    assert.deepEqual([m.extra.iommuPagesQueued, m.extra.iommuFlushes], [1, 0]);
    const o = replay(uau, '--kernel', '2010');
    assert.equal(o.scenario.iommuMode, 'strict');
    assert.equal('iommuPagesQueued' in o.extra, false);
  });

  for (const engine of ['wasm', 'js']) {
    it(`replay (engine ${engine}): the use after unmap faults under strict, and the first violation under lazy names the queued IOVA`, () => {
      const s = replay(uau, '--kernel', 'modern', '--iommu-mode', 'strict', '--engine', engine);
      assert.equal(s.firstViolation.kind, 'foreign');
      assert.match(s.firstViolation.detail, /no IOMMU entry \(the IOMMU faults\)/);
      assert.equal(replay(uau, '--kernel', 'modern', '--iommu-mode', 'lazy', '--engine', engine).verdict, 'coherent');
      const l = replay(gart, '--kernel', 'modern', '--iommu-mode', 'lazy', '--engine', engine);
      assert.equal(l.firstViolation.kind, 'foreign');
      assert.equal(l.firstViolation.via, 'iommu');
      // --swiotlb 4M: the pool is 1024 pages after the kernel's 4096, then 8 overflow pages and the
      // dummy page, so buffer 'a' and then 'b' get pfn 4096 + 1024 + 9 = 0x1409.
      assert.match(l.firstViolation.detail, /an IOVA unmapped at line 4 and not yet flushed .*flush queue.* pfn 0x1409/);
      assert.match(l.firstViolation.detail, /saw the CPU's write of buffer 'b'/);
    });
  }

  it("the modelled cost of a lazy unmap is lower: 1000 ns strict, 250 ns queued (costs/default.json), no flush yet", () => {
    const s = replay(uau, '--kernel', 'modern', '--iommu-mode', 'strict');
    const l = replay(uau, '--kernel', 'modern', '--iommu-mode', 'lazy');
    assert.equal(s.modeled.totalNs - l.modeled.totalNs, 1000 - 250);
  });

  it('usage errors: lazy with --kernel 2010 names both options; a bad value lists the valid ones', () => {
    expectUsage(cli('replay', uau, '--platform', 'iommu', '--kernel', '2010', '--iommu-mode', 'lazy'), /--iommu-mode.*--kernel 2010/);
    expectUsage(cli('run', '--platform', 'iommu', '--kernel', '2010', '--iommu-mode', 'lazy'), /--iommu-mode.*--kernel 2010/);
    expectUsage(cli('replay', uau, '--iommu-mode', 'lax'), /--iommu-mode.*strict, lazy/);
  });

  it('--help names the option, its values and the defaults', () => {
    const h = cli('run', '--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--iommu-mode/);
    assert.match(h.stdout.replace(/\s+/g, ' '), /lazy on --kernel modern \(x86's default/);
  });
});
