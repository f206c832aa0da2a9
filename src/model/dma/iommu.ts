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

/** One queued unmap (6.12 struct iova_fq_entry): its first IOVA page, the entries it cleared from
 * there and the IOVA pages it frees (its size's); the op that queued it is kept by entry (queuedOp). */
interface FqEntry { first: number; pages: number; iovaPages: number }

export class Iommu {
  /** pfn + 1 per IOVA page under IOMMU_PFN_MASK, | IOMMU_READ_ONLY for a to_device map, | IOMMU_IOTLB once cached; 0 = empty, IOMMU_HELD = queued without a translation (sim/translate.ts reads it). */
  readonly entries = new Int32Array(IOMMU_WINDOW_PAGES);
  /** First entry of each live allocation -> its length. */
  private readonly runs = new Map<number, number>();
  /** Entries a lazy unmap cleared, not yet flushed -> the op that queued it (assembly/dma/iommu.ts QUEUED). */
  private readonly queuedOp = new Map<number, number>();
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
    // A map given queued entries (an rcache run filed under a larger class than its own) translates again.
    if (this.queuedOp.size > 0) for (let k = 0; k < n; k++) this.queuedOp.delete(first + k);
  }

  /**
   * The platform's unmap of `size` bytes at `bus`, wherever it falls (a mapping's handle, inside
   * one, or where nothing is mapped now): the kernel works from the IOVA page e over the m pages
   * the size covers. 6.12: nothing when `warn` (iommu_dma_unmap_page) and e does not translate;
   * else the page table is cleared over the m pages (x86's page tables do not stop at an empty
   * entry), past the mapping's end too, up to the window's, and the IOVA freed (strict) or queued (lazy) under m. 2.6.37: the m entries
   * from e, whatever holds them; nothing past the table. A run starting at e is no longer live.
   * Returns the entries cleared (assembly/dma/iommu.ts iommu_unmap says more). `now`: a failing
   * map_sg undoing its own entries frees at once, lazy or not.
   */
  unmap(bus: number, size: number, op: number, warn: boolean, now = false): number {
    const e = this.entryOf(bus);
    if (e < 0) return 0;
    const m = unmapPages(bus, size);
    let n = 0;
    if (!this.iova) {
      if (e + m > IOMMU_WINDOW_PAGES) return 0;
      n = m;
    } else {
      if (warn && !this.inPageTable(e)) return 0;
      n = Math.min(m, IOMMU_WINDOW_PAGES - e);
    }
    this.runs.delete(e);
    this.unmapEntries(e, n, m, op, now);
    return n;
  }

  /** __iommu_dma_unmap's page-table and IOVA part: entries [first, first + n), the IOVA under `pages` (assembly/dma/iommu.ts unmap_entries). */
  private unmapEntries(first: number, n: number, pages: number, op: number, now: boolean): void {
    if (this.lazy && !now) {
      // __iommu_dma_unmap clears the entries, then queue_iova flushes a full ring: that flush drops
      // this unmap's cached translations too, so it comes first here.
      if (this.fq.length === IOVA_DEFAULT_FQ_SIZE - 1) this.flushQueue();
      for (let e = first; e < first + n; e++) {
        if (!this.inPageTable(e)) continue;
        if ((this.entries[e]! & IOMMU_IOTLB) === 0) this.entries[e] = IOMMU_HELD;
        this.queuedOp.set(e, op);
      }
      this.queueIova(first, n, pages);
    } else {
      this.clearRun(first, n, pages);
    }
  }

  /** Was `bus` given again since a mapping there was unmapped (a trace's unmap or sync after unmap, at its handle or inside
   * it)? A live run starts at its IOVA page, or a page the unmap would clear translates to another page than the mapping's
   * (`ownPfn` under `bus`, one more each page after; on 6.12 only the first for dma_unmap_page, `single`) (assembly/dma/iommu.ts iommu_retaken). */
  retaken(bus: number, size: number, ownPfn: number, single = true): boolean {
    const e = this.entryOf(bus);
    if (e < 0) return false;
    if (this.runs.has(e)) return true;
    if (this.iova && single) return this.inPageTable(e) && this.translatesTo(e) !== ownPfn; // 6.12 dma_unmap_page: the first page decides
    const last = Math.min(IOMMU_WINDOW_PAGES, e + Math.max(unmapPages(bus, size), 1));
    for (let i = e; i < last; i++) if ((this.iova ? this.inPageTable(i) : this.entries[i] !== 0) && this.translatesTo(i) !== ownPfn + (i - e)) return true;
    return false;
  }

  /** The pfn IOVA entry `e` holds (−1: none). */
  private translatesTo(e: number): number {
    return (this.entries[e]! & IOMMU_PFN_MASK) - 1;
  }

  /** Does IOVA entry `e` translate in the page table (a live mapping's, not a queued one's the IOTLB still holds)? */
  private inPageTable(e: number): boolean {
    return (this.entries[e]! & IOMMU_PFN_MASK) !== 0 && !this.queuedOp.has(e);
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

  /** A strict unmap's end (or a failing map_sg's undo): entries [first, first + n) empty, the IOVA
   * under `pages` reusable (6.12 free_iova_fast: to the rcache or the tree, dma/iova.ts). */
  private clearRun(first: number, n: number, pages: number): void {
    this.entries.fill(0, first, first + n);
    this.iova?.free(first, pages);
  }

  /**
   * queue_iova (dma-iommu.c, 6.12): the unmap takes the tail. A full ring (fq_full: one slot always
   * stays empty) was flushed first by unmapEntries (flushQueue: fq_flush_iotlb, one flush_iotlb_all that
   * drops every translation the IOTLB holds, then fq_ring_free). No fq_timer (no clock).
   * `pages`: the entries the unmap cleared (iommuPagesQueued); `iovaPages`: what fq_ring_free frees.
   */
  private queueIova(first: number, pages: number, iovaPages: number): void {
    this.fq.push({ first, pages, iovaPages });
    this.counters.iommuPagesQueued += pages;
  }

  /** fq_flush_iotlb then fq_ring_free: every cached translation dropped, every queued run freed (assembly/dma/iommu.ts fq_flush). */
  private flushQueue(): void {
    this.counters.iommuFlushes++;
    for (const e of this.marked) this.entries[e] = this.entries[e]! & ~IOMMU_IOTLB;
    this.marked = [];
    // fq_ring_free: each entry's IOVA; the page-table entries the queued unmaps cleared are gone.
    for (const e of this.queuedOp.keys()) this.entries[e] = 0;
    this.queuedOp.clear();
    for (const e of this.fq) this.iova?.free(e.first, e.iovaPages);
    this.fq.length = 0;
  }

  /** The op whose lazy unmap cleared IOVA entry `e` when the IOTLB still reaches its page, else -1. */
  queuedUnmapOp(e: number): number {
    if ((this.entries[e]! & IOMMU_PFN_MASK) === 0) return -1;
    return this.queuedOp.get(e) ?? -1;
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
