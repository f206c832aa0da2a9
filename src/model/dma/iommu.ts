// A hardware IOMMU window (twin of assembly/dma/iommu.ts). Its IOVAs come, on 2010, from a bitmap
// in the style of arch/powerpc/kernel/iommu.c (iommu_range_alloc: next fit from a hint, one wrap
// to 0), and on the modern kernel from 6.12's IOVA allocator (dma/iova.ts: top down, size-aligned,
// rcaches). Entries hold the pfn they map (mfn == pfn on these platforms). Devices translate
// through it; a miss faults. Unmap is strict (entries clear at once) or, modern only, lazy: 6.12's
// dma-iommu flush queue (drivers/iommu/dma-iommu.c), where the page table is cleared at once but
// the IOTLB keeps the translations the device had cached, and a freed IOVA stays taken until a flush.
import { IOMMU_BASE, IOMMU_HELD, IOMMU_IOTLB, IOMMU_PFN_MASK, IOMMU_READ_ONLY, IOMMU_WINDOW_PAGES, IOVA_DEFAULT_FQ_SIZE, PAGE_SIZE } from '../../engine/abi.js';
import type { Counters } from '../sim/counters.js';
import { IovaDomain } from './iova.js';

/** The IOVA pages an unmap of `size` ≥ 0 bytes at `bus` covers (6.12 iova_align(size + iova_offset);
 * 2.6.37 iommu_num_pages; assembly/dma/iommu.ts unmap_pages). */
function unmapPages(bus: number, size: number): number {
  return Math.floor(((bus % PAGE_SIZE) + size + PAGE_SIZE - 1) / PAGE_SIZE);
}

/** One queued unmap (6.12 struct iova_fq_entry): its first IOVA page, length, and the op that queued it. */
interface FqEntry { first: number; pages: number; op: number }

export class Iommu {
  /** pfn + 1 per IOVA page under IOMMU_PFN_MASK, | IOMMU_READ_ONLY for a to_device map, | IOMMU_IOTLB once cached; 0 = empty, IOMMU_HELD = queued without a translation (sim/translate.ts reads it). */
  readonly entries = new Int32Array(IOMMU_WINDOW_PAGES);
  /** First entry of each live allocation -> its length. */
  private readonly runs = new Map<number, number>();
  private hint = 0;
  /** The flush queue, oldest first (one CPU's ring; it holds IOVA_DEFAULT_FQ_SIZE - 1 entries). */
  private readonly fq: FqEntry[] = [];
  /** The entries the device's IOTLB cached since the last flush (each once). */
  private marked: number[] = [];

  /** 6.12's IOVA domain (modern), or null: 2010's ppc64 bitmap over the entries. */
  private readonly iova: IovaDomain | null;

  /** iommu_dma_init_domain: a DMA_FQ domain gets its flush queue (lazy), else strict; `modern`: 6.12's IOVA allocator. */
  constructor(private readonly counters: Counters, private readonly lazy: boolean, modern: boolean) {
    this.iova = modern ? new IovaDomain() : null;
  }

  /** First entry of an allocation of n pages (6.12: rounded up as alloc_iova_fast does), or -1 when the window is exhausted. */
  allocate(n: number): number {
    let first: number;
    if (this.iova) first = this.iova.alloc(n);
    else {
      first = this.findFrom(this.hint, n);
      if (first < 0) first = this.findFrom(0, n);
      if (first >= 0) this.hint = first + n;
    }
    if (first >= 0) this.runs.set(first, n);
    return first;
  }

  private findFrom(start: number, n: number): number {
    let run = 0;
    for (let i = start; i < IOMMU_WINDOW_PAGES; i++) {
      run = this.entries[i] === 0 ? run + 1 : 0;
      if (run === n) return i - n + 1;
    }
    return -1;
  }

  /** Callers fill an allocation right after taking it, so for 2010's next fit an empty entry is a
   * free one (6.12's allocator keeps its own record: dma/iova.ts). `readOnly`: a DMA_TO_DEVICE
   * map, no write permission (IOMMU_READ_ONLY: src/engine/abi.ts). */
  fill(first: number, pfn: number, n: number, readOnly = false): void {
    for (let k = 0; k < n; k++) this.entries[first + k] = (pfn + k + 1) | (readOnly ? IOMMU_READ_ONLY : 0);
  }

  /** Does a live run start at the IOVA page `bus` falls in? (assembly/dma/iommu.ts iommu_run_at) */
  runAt(bus: number): boolean {
    const first = this.entryOf(bus);
    return first >= 0 && this.runs.has(first);
  }

  /**
   * Unmaps the allocation starting at the entry `bus` falls in, by the caller's size: the IOVA
   * pages `size` bytes cover from `bus` (unmapPages; -1: the run's own). Returns the pages unmapped (0 if no run
   * starts there). __iommu_dma_unmap (dma-iommu.c, 6.12) clears the page table at once
   * (iommu_unmap_fast, iommu.c); strict then syncs the IOTLB and frees the IOVA (free_iova_fast);
   * lazy (iotlb_gather.queued) skips the sync and queues the IOVA (queueIova). So, lazy, a page
   * stays reachable only through a translation the device had cached (iotlbFill); the rest are held.
   * A partial unmap (fewer pages than the run) leaves the run's tail translating and taken, and
   * 6.12 frees the IOVA under the smaller size class (assembly/dma/iommu.ts iommu_free_at says why,
   * and what is different).
   * `now`: a failing map_sg undoing its own entries frees at once, lazy or not (assembly/dma/iommu.ts
   * iommu_free_at says how it is counted).
   */
  freeAt(bus: number, op: number, now = false, size = -1): number {
    const first = this.entryOf(bus);
    const run = first < 0 ? undefined : this.runs.get(first);
    if (run === undefined) return 0;
    const n = size >= 0 ? Math.min(unmapPages(bus, size), run) : run;
    this.runs.delete(first);
    this.unmapEntries(first, n, op, now);
    return n;
  }

  /** __iommu_dma_unmap's page-table and IOVA part for entries [first, first + n) (assembly/dma/iommu.ts unmap_entries). */
  private unmapEntries(first: number, n: number, op: number, now: boolean): void {
    if (this.lazy && !now) {
      // __iommu_dma_unmap clears the run's entries, then queue_iova flushes a full ring: that flush
      // drops this run's cached translations too, so it comes first here.
      if (this.fq.length === IOVA_DEFAULT_FQ_SIZE - 1) this.flushQueue();
      for (let e = first; e < first + n; e++) if ((this.entries[e]! & IOMMU_IOTLB) === 0) this.entries[e] = IOMMU_HELD;
      this.queueIova(first, n, op);
    } else {
      this.clearRun(first, n);
    }
  }

  /**
   * An unmap at `bus` where no run starts, of `size` bytes (a handle plus an offset, or a mapping's
   * second piece): from its IOVA page, 6.12 clears the pages that translate in the page table up
   * to `size` and frees that IOVA (nothing if the first does not translate), 2.6.37 clears every
   * entry asked (nothing past the table). In a run's first page it is the run's unmap (freeAt).
   * Returns the pages unmapped (assembly/dma/iommu.ts iommu_unmap_inside says what is different).
   */
  unmapInside(bus: number, size: number, op: number): number {
    const e = this.entryOf(bus);
    if (e < 0) return 0;
    if (this.runs.has(e)) return this.freeAt(bus, op, false, size);
    const m = unmapPages(bus, size);
    let n = 0;
    if (!this.iova) {
      if (e + m > IOMMU_WINDOW_PAGES) return 0;
      n = m;
    } else {
      while (n < m && e + n < IOMMU_WINDOW_PAGES && this.inPageTable(e + n)) n++;
      if (n === 0) return 0;
    }
    this.unmapEntries(e, n, op, false);
    return n;
  }

  /** Does IOVA entry `e` translate in the page table (a live mapping's, not a queued run's the IOTLB still holds)? */
  private inPageTable(e: number): boolean {
    return (this.entries[e]! & IOMMU_PFN_MASK) !== 0 && this.queuedUnmapOp(e) < 0;
  }

  /**
   * A device access to bus bytes [bus, bus + len): every IOVA page in it that translates is now
   * cached in the device's IOTLB (assumed large enough for all of them). Only lazy keeps the mark.
   */
  iotlbFill(bus: number, len: number): void {
    if (!this.lazy || len <= 0) return;
    const a = this.entryOf(bus);
    const b = this.entryOf(bus + len - 1);
    if (a < 0 || b < 0) return;
    for (let e = a; e <= b; e++) {
      if ((this.entries[e]! & IOMMU_PFN_MASK) === 0 || (this.entries[e]! & IOMMU_IOTLB) !== 0) continue;
      this.entries[e]! |= IOMMU_IOTLB;
      this.marked.push(e);
    }
  }

  /** free_iova_fast for a run: its entries empty, the translation gone, the IOVAs reusable (6.12: to
   * the rcache or the tree, dma/iova.ts). */
  private clearRun(first: number, n: number): void {
    this.entries.fill(0, first, first + n);
    this.iova?.free(first, n);
  }

  /**
   * queue_iova (dma-iommu.c, 6.12): the run takes the tail. A full ring (fq_full: one slot always
   * stays empty) was flushed first by freeAt (flushQueue: fq_flush_iotlb, one flush_iotlb_all that
   * drops every translation the IOTLB holds, then fq_ring_free). No fq_timer (no clock).
   */
  private queueIova(first: number, pages: number, op: number): void {
    this.fq.push({ first, pages, op });
    this.counters.iommuPagesQueued += pages;
  }

  /** fq_flush_iotlb then fq_ring_free: every cached translation dropped, every queued run freed (assembly/dma/iommu.ts fq_flush). */
  private flushQueue(): void {
    this.counters.iommuFlushes++;
    for (const e of this.marked) this.entries[e] = this.entries[e]! & ~IOMMU_IOTLB;
    this.marked = [];
    for (const e of this.fq) this.clearRun(e.first, e.pages);
    this.fq.length = 0;
  }

  /** The op that unmapped the queued run holding IOVA entry `e` when the IOTLB still reaches its page, else -1. */
  queuedUnmapOp(e: number): number {
    if ((this.entries[e]! & IOMMU_PFN_MASK) === 0) return -1;
    return this.fq.find((q) => e >= q.first && e < q.first + q.pages)?.op ?? -1;
  }

  busOf(first: number, offsetInPage: number): number {
    return IOMMU_BASE + first * PAGE_SIZE + offsetInPage;
  }

  /** Bus address -> guest physical (= machine) address, or -1 on a fault. */
  translate(bus: number): number {
    const entry = this.entryOf(bus);
    if (entry < 0 || (this.entries[entry]! & IOMMU_PFN_MASK) === 0) return -1;
    return ((this.entries[entry]! & IOMMU_PFN_MASK) - 1) * PAGE_SIZE + (bus % PAGE_SIZE);
  }

  private entryOf(bus: number): number {
    if (bus < IOMMU_BASE) return -1;
    const entry = Math.floor((bus - IOMMU_BASE) / PAGE_SIZE);
    return entry < IOMMU_WINDOW_PAGES ? entry : -1;
  }
}
