// --iommu-mode strict|lazy on the iommu platform (docs/ENGINE.md §8), on both engines: Linux
// 6.12's dma-iommu flush queue (drivers/iommu/dma-iommu.c). __iommu_dma_unmap clears the page
// table at once in both modes (iommu_unmap_fast, drivers/iommu/iommu.c) and, strict, syncs the
// IOTLB and frees the IOVA (iommu_dma_free_iova → free_iova_fast); lazy (iotlb_gather.queued)
// skips the sync and iommu_dma_free_iova → queue_iova puts the run on a per-CPU ring of
// IOVA_DEFAULT_FQ_SIZE = 256 entries (fq_full keeps one empty: 255 unmaps); the IOVA is freed
// only after fq_flush_iotlb (one flush_iotlb_all) when the ring is full. Until then the device
// reaches the old page only through a translation its IOTLB cached, i.e. an IOVA page it accessed
// while mapped (the simulation assumes the IOTLB holds every one); an IOVA page it never used
// walks the cleared page table and faults, as under strict. The numbers are derived by hand from those rules and the base machine of
// test/engineHarness.ts: 6.12's IOVA allocator works down from the window's top (dma/iova.ts), the
// dummy page (D3) takes the last entry, so the first streaming map is the one below it (TOP − 2),
// and a two-page map, aligned to two entries, takes TOP − 4 and TOP − 3; a one-page alloc gets pfn 20489, the first free pfn, which is odd, so the buddy's init
// leaves it alone on the order-0 list, and a free puts it back at the head for the next alloc.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InitError, IOMMU_BASE, IOMMU_WINDOW_PAGES, IOVA_DEFAULT_FQ_SIZE, IommuMode, Kernel, Platform, Via, VIOLATION_FIELDS, ViolationKind } from '../src/engine/abi.js';
import {
  ENGINES, PAGE, alloc, allocCoherent, bind, cpuRead, cpuWrite, devRead, firstFreePfn, free, freeCoherent, gpuRead, gpuWrite,
  initOn, map, runOn, unmap, BIDI, type OpWords, type Outcome,
} from './engineHarness.js';
import { readFileSync } from 'node:fs';
import { cli, expectUsage, scratch, script } from './helpers.js';

const strict = { platform: Platform.iommu, kernel: Kernel.modern, iommuMode: IommuMode.strict };
const lazy = { ...strict, iommuMode: IommuMode.lazy };
const field = (o: Outcome, name: (typeof VIOLATION_FIELDS)[number]): bigint => o.violation![VIOLATION_FIELDS.indexOf(name)]!;
const PFN = firstFreePfn(32768); // 20489
const TOP = IOMMU_WINDOW_PAGES;
const iova = (entry: number): bigint => BigInt(IOMMU_BASE + entry * PAGE);
const FIRST_IOVA = iova(TOP - 2); // below the dummy page's

/**
 * One buffer mapped, unmapped, freed while a GART PTE still holds its IOVA; another buffer then
 * gets its page. `used`: the GPU read through the PTE before the unmap (op 3), so its IOTLB
 * caches the IOVA and the unmap is op 4; else the unmap is op 3.
 */
const staleGart = (used: boolean, tail: OpWords[]): OpWords[] =>
  [alloc(0), map(0), bind(0, 0), ...(used ? [gpuRead(0)] : []), unmap(0), free(0), alloc(1), ...tail];

for (const engine of ENGINES) {
  describe(`iommu strict vs lazy (engine ${engine})`, () => {
    it('a device read after unmap of an IOVA the device never used faults on both modes (iommu_unmap_fast cleared the page table)', async () => {
      const ops = [alloc(0), cpuWrite(0), map(0), unmap(0), devRead(0)];
      const s = await runOn(engine, strict, ops);
      assert.deepEqual([s.c.foreignReads, s.c.staleReads, s.c.iommuPagesUnmapped, s.c.iommuPagesQueued, s.c.iommuFlushes], [1, 0, 1, 0, 0]);
      assert.equal(field(s, 'dmaAddr'), FIRST_IOVA);
      assert.equal(field(s, 'hopPfn'), -1n, 'strict: the entry is empty, the IOMMU faults');
      assert.equal(field(s, 'iovaUnmapOp'), -1n);
      const l = await runOn(engine, lazy, ops);
      assert.deepEqual([l.kind, l.c.foreignReads, l.c.staleReads, l.c.iommuPagesUnmapped, l.c.iommuPagesQueued, l.c.iommuFlushes],
        [ViolationKind.foreign, 1, 0, 1, 1, 0], 'lazy: queued, but nothing cached, so the walk faults');
      assert.equal(field(l, 'dmaAddr'), FIRST_IOVA);
      assert.deepEqual([field(l, 'mfn'), field(l, 'hopPfn'), field(l, 'iovaUnmapOp')], [-1n, -1n, -1n]);
    });

    it('map → device read → unmap → device read: lazy reads the old page through the IOTLB, strict faults', async () => {
      const ops = [alloc(0), cpuWrite(0), map(0), devRead(0), unmap(0), devRead(0)];
      const s = await runOn(engine, strict, ops);
      assert.deepEqual([s.kind, s.c.foreignReads, s.c.gpuReads, field(s, 'hopPfn')], [ViolationKind.foreign, 1, 2, -1n]);
      const l = await runOn(engine, lazy, ops);
      assert.deepEqual([l.kind, l.c.foreignReads, l.c.staleReads, l.c.gpuReads, l.c.iommuPagesQueued, l.c.iommuFlushes],
        [ViolationKind.none, 0, 0, 2, 1, 0]);
    });

    it('the IOTLB holds only the IOVA pages the device used: a two-page map read on its first page only faults on the second', async () => {
      // Entries TOP − 4 and TOP − 3; the device reads page 0 while mapped, then the whole buffer after
      // the unmap. Two pages are an order-1 block: 20489 is odd, so the buffer is pfns 20490-20491.
      const ops = [alloc(0, 2), cpuWrite(0, 0, 2 * PAGE), map(0, BIDI, 0, 2 * PAGE), devRead(0, 0, PAGE), unmap(0, BIDI, 2 * PAGE), devRead(0, 0, 2 * PAGE)];
      const l = await runOn(engine, lazy, ops);
      assert.deepEqual([l.kind, l.c.foreignReads, l.c.iommuPagesQueued], [ViolationKind.foreign, 1, 2], 'page 0 reached, page 1 faults');
      assert.equal(field(l, 'dmaAddr'), iova(TOP - 3), 'the second page');
      assert.deepEqual([field(l, 'pfn'), field(l, 'hopPfn'), field(l, 'iovaUnmapOp')], [BigInt(PFN + 2), -1n, -1n]);
      const s = await runOn(engine, strict, ops);
      assert.deepEqual([s.c.foreignReads, field(s, 'dmaAddr')], [2, iova(TOP - 4)], 'strict: both pages fault');
    });

    it('a GART PTE left on a freed buffer the GPU had used: lazy reaches the page its next owner wrote, and says the IOVA waits in the flush queue', async () => {
      const ops = staleGart(true, [cpuWrite(1), gpuRead(0)]);
      const s = await runOn(engine, strict, ops);
      assert.equal(s.kind, ViolationKind.foreign);
      assert.deepEqual([field(s, 'mfn'), field(s, 'hopPfn'), field(s, 'iovaUnmapOp')], [-1n, -1n, -1n], 'strict: a fault, nothing reached');
      const l = await runOn(engine, lazy, ops);
      assert.equal(l.kind, ViolationKind.foreign);
      assert.equal(field(l, 'via'), BigInt(Via.iommu));
      assert.equal(field(l, 'dmaAddr'), FIRST_IOVA);
      assert.deepEqual([field(l, 'mfn'), field(l, 'hopPfn')], [BigInt(PFN), BigInt(PFN)], 'the IOTLB still maps the IOVA to the old page, now buffer 1');
      assert.equal(field(l, 'iovaUnmapOp'), 4n, 'op 4 unmapped it');
      assert.equal(field(l, 'seenHi'), 2n, "buffer 1's (#2) data");
    });

    it('a GART PTE left on a freed buffer the GPU never used before the unmap: lazy faults as strict does', async () => {
      const ops = staleGart(false, [cpuWrite(1), gpuRead(0)]);
      for (const cfg of [strict, lazy]) {
        const o = await runOn(engine, cfg, ops);
        assert.deepEqual([o.kind, o.c.foreignReads], [ViolationKind.foreign, 1]);
        assert.deepEqual([field(o, 'dmaAddr'), field(o, 'mfn'), field(o, 'hopPfn'), field(o, 'iovaUnmapOp')], [FIRST_IOVA, -1n, -1n, -1n]);
      }
    });

    it('a GPU write through a queued IOVA it had used lands in the next owner (strict, or an unused IOVA, drops it)', async () => {
      const used = staleGart(true, [gpuWrite(0), cpuRead(1)]);
      assert.equal((await runOn(engine, strict, used)).kind, ViolationKind.none);
      const l = await runOn(engine, lazy, used);
      assert.deepEqual([l.kind, l.c.foreignReads, Number(field(l, 'pfn'))], [ViolationKind.foreign, 1, PFN]);
      const unused = await runOn(engine, lazy, staleGart(false, [gpuWrite(0), cpuRead(1)]));
      assert.deepEqual([unused.kind, unused.c.foreignReads], [ViolationKind.none, 0]);
    });

    it('an IOVA in the flush queue is not reused: a full window stays full until the flush (alloc_iova_fast flushes only the rcaches)', async () => {
      // The dummy page takes the top entry; 511 maps of 1024 pages, each aligned to 1024, take the
      // blocks below the top one, and one of 1023 the rest of that block, up to the dummy page.
      // Unmapping that last one frees 1023 entries (strict) or queues them (lazy).
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
      // Buffer 0's one mapping, read by the device so its IOTLB caches it, is the first unmap;
      // buffer 1 adds the rest, then the device reads buffer 0 through its old IOVA.
      const run = (unmaps: number) => {
        const ops: OpWords[] = [alloc(0), cpuWrite(0), alloc(1), map(0), devRead(0), unmap(0)];
        for (let i = 1; i < unmaps; i++) ops.push(map(1), unmap(1));
        ops.push(devRead(0));
        return runOn(engine, lazy, ops);
      };
      const held = await run(255);
      assert.deepEqual([held.kind, held.c.iommuPagesQueued, held.c.iommuFlushes], [ViolationKind.none, 255, 0], 'ring full, not flushed');
      const flushed = await run(256);
      assert.deepEqual([flushed.kind, flushed.c.iommuPagesQueued, flushed.c.iommuFlushes], [ViolationKind.foreign, 256, 1], 'flushed: its old IOVA faults');
      assert.deepEqual([field(flushed, 'hopPfn'), field(flushed, 'iovaUnmapOp')], [-1n, -1n]);
      // The unmap that fills the ring: __iommu_dma_unmap cleared its entries, and the flush its
      // queue_iova makes drops their cached translations too: buffer 0 unmapped 256th faults.
      const ops: OpWords[] = [alloc(0), cpuWrite(0), alloc(1), map(0), devRead(0)];
      for (let i = 1; i < 256; i++) ops.push(map(1), unmap(1));
      const last = await runOn(engine, lazy, [...ops, unmap(0), devRead(0)]);
      assert.deepEqual([last.c.iommuFlushes, last.kind], [1, ViolationKind.foreign], 'the ring-filling unmap\'s own IOVA faults');
      const strictRun = await runOn(engine, strict, [alloc(0), map(0), unmap(0), map(0), unmap(0)]);
      assert.deepEqual([strictRun.c.iommuPagesUnmapped, strictRun.c.iommuPagesQueued, strictRun.c.iommuFlushes], [2, 0, 0], 'strict: no queue');
    });

    // fq_flush_iotlb's flush_iotlb_all drops every translation the IOTLB holds, a still-mapped
    // buffer's too: a GPU that read buffer 0 before a flush and not after it walks the page table
    // after buffer 0's unmap, and faults, as under strict. Without the flush it still reaches the page.
    it('a flush drops a live mapping\'s cached translation too: its later unmap leaves the device nothing to reach', async () => {
      const run = (others: number) => {
        const ops: OpWords[] = [alloc(0), map(0), bind(0, 0), gpuRead(0), alloc(2)];
        for (let i = 0; i < others; i++) ops.push(map(2), unmap(2));
        ops.push(unmap(0), free(0), alloc(1), cpuWrite(1), gpuWrite(0), cpuRead(1));
        return runOn(engine, lazy, ops);
      };
      const flushed = await run(IOVA_DEFAULT_FQ_SIZE);
      assert.deepEqual([flushed.c.iommuFlushes, flushed.kind, flushed.c.foreignReads], [1, ViolationKind.none, 0], 'the GPU write faulted');
      const cached = await run(10);
      assert.deepEqual([cached.c.iommuFlushes, cached.kind], [0, ViolationKind.foreign], 'no flush: it lands in the next owner');
    });

    // 2010 ppc64 iommu_alloc_coherent and 6.12 __iommu_dma_alloc_noncontiguous map PAGE_ALIGN(size),
    // not the 2^order block: a 3-page coherent buffer takes 3 IOVA pages (its block holds 4).
    it('a coherent buffer maps the pages asked for, not its whole block', async () => {
      for (const cfg of [strict, lazy, { ...strict, kernel: Kernel['2010'] }]) {
        const o = await runOn(engine, cfg, [allocCoherent(0, 3), freeCoherent(0)]);
        assert.deepEqual([o.c.iommuPagesMapped, o.c.iommuPagesUnmapped, o.c.pagesAllocated], [3, 3, 4]);
      }
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
  const used = script(dir, 'used.jsonl', [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'cpu_write', buf: 'a' }, { op: 'map', buf: 'a', dir: 'bidirectional' },
    { op: 'dev_read', buf: 'a' }, { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'dev_read', buf: 'a' },
  ]);
  const gart = script(dir, 'gart.jsonl', [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
    { op: 'gpu_read', gpuPage: 0, pages: 1 }, { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'free', buf: 'a' }, { op: 'alloc', buf: 'b', pages: 1, zone: 'dma32' },
    { op: 'cpu_write', buf: 'b' }, { op: 'gpu_read', gpuPage: 0, pages: 1 },
  ]);
  // gart's buffer 'b' mapped too: under strict, 6.12 hands it the IOVA 'a' freed (its rcache).
  const reuse = script(dir, 'reuse.jsonl', [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
    { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'alloc', buf: 'b', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'b', dir: 'bidirectional' },
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
    it(`replay (engine ${engine}): a use after unmap faults under strict, and under lazy unless the device had used the IOVA; the first violation names the queued IOVA`, () => {
      for (const mode of ['strict', 'lazy']) {
        const s = replay(uau, '--kernel', 'modern', '--iommu-mode', mode, '--engine', engine);
        assert.equal(s.firstViolation.kind, 'foreign', mode);
        assert.match(s.firstViolation.detail, /no IOMMU entry \(the IOMMU faults\)/, mode);
      }
      assert.equal(replay(used, '--kernel', 'modern', '--iommu-mode', 'strict', '--engine', engine).firstViolation.kind, 'foreign');
      assert.equal(replay(used, '--kernel', 'modern', '--iommu-mode', 'lazy', '--engine', engine).verdict, 'coherent');
      const l = replay(gart, '--kernel', 'modern', '--iommu-mode', 'lazy', '--engine', engine);
      assert.equal(l.firstViolation.kind, 'foreign');
      assert.equal(l.firstViolation.via, 'iommu');
      // --swiotlb 4M: the pool is 1024 pages after the kernel's 4096, then 8 overflow pages and the
      // dummy page, so buffer 'a' and then 'b' get pfn 4096 + 1024 + 9 = 0x1409.
      assert.match(l.firstViolation.detail, /an IOVA unmapped at line 5 and not yet flushed .*flush queue.* pfn 0x1409/);
      assert.match(l.firstViolation.detail, /saw the CPU's write of buffer 'b'/);
      // Lines, not op indices: two blank lines first put the unmap on line 7.
      const shifted = script(dir, `gart-shifted-${engine}.jsonl`, '\n\n' + readFileSync(gart, 'utf8'));
      assert.match(replay(shifted, '--kernel', 'modern', '--iommu-mode', 'lazy', '--engine', engine).firstViolation.detail, /an IOVA unmapped at line 7 and not yet flushed/);
    });
  }

  for (const engine of ['wasm', 'js']) {
    it(`replay (engine ${engine}): a stale GART entry after a strict unmap reads the page of the mapping that got its IOVA next (6.12), and the explanation says so; 2.6.37 faults`, () => {
      const m = replay(reuse, '--kernel', 'modern', '--iommu-mode', 'strict', '--engine', engine);
      assert.deepEqual([m.firstViolation.kind, m.firstViolation.via], ['foreign', 'iommu']);
      assert.match(m.firstViolation.detail, /an IOVA the IOMMU now maps to pfn 0x[0-9a-f]+, not this page: the mapping this address came from was torn down \(unmapped or freed\) and the IOVA allocator handed the IOVA to a newer mapping/);
      assert.match(m.firstViolation.detail, /saw the CPU's write of buffer 'b'.*\(line 7\)/);
      const o = replay(reuse, '--kernel', '2010', '--engine', engine);
      assert.equal(o.firstViolation.kind, 'foreign');
      assert.match(o.firstViolation.detail, /no IOMMU entry \(the IOMMU faults\)/);
      assert.doesNotMatch(o.firstViolation.detail, /newer mapping/);
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
