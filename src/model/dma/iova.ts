// 6.12's IOVA allocator (drivers/iommu/iova.c; twin of assembly/dma/iova.ts), as dma-iommu uses it
// for the modern iommu platform's window (dma/iommu.ts; 2010 keeps ppc64's next fit there).
// alloc_iova_fast: a size under 32 pages is rounded up to a power of two; the per-CPU rcache of
// its size class hands out the IOVA freed last that fits under the top (iova_rcache_get,
// iova_magazine_pop); else alloc_iova takes the
// highest free block aligned to its size below the cached node (__alloc_and_insert_iova_range),
// then above it, and only after a failure are the rcaches emptied into the tree and the search
// retried. free_iova_fast puts a run of a cacheable class (order_base_2 of its size under 6) into
// the rcache, which keeps it allocated; any other run leaves the tree (free_iova). Positions are
// window entries (dma/iommu.ts: page IOMMU_BASE + e), every one below the 32-bit boundary, so only
// cached32_node and max32_alloc_size matter. Different: one CPU; the depot is never trimmed
// (iova_depot_work_func runs 100 ms after a push: no clock here); the window's bottom is the
// space's end (6.12 goes on down to IOVA 4 KiB, and above 4 GiB for a device with a wider mask).
import { IOMMU_WINDOW_PAGES, IOVA_MAG_SIZE, IOVA_RANGE_CACHE_MAX_SIZE } from '../../engine/abi.js';

/** The anchor node's position: above every entry (IOVA_ANCHOR). */
const ANCHOR = IOMMU_WINDOW_PAGES;

/** One size class's per-CPU magazines and its depot of full ones (struct iova_rcache). */
interface Rcache { loaded: number[]; prev: number[]; depot: number[][] }

/** order_base_2: the log of the smallest power of two at or above n. */
export function orderBase2(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

export class IovaDomain {
  /** Entries that belong to a run in the tree (live, queued, cached or rounded-up). */
  private readonly taken = new Uint8Array(IOMMU_WINDOW_PAGES);
  /** A tree run's first entry -> its size (pfn_hi - pfn_lo + 1). */
  private readonly size = new Map<number, number>();
  /** cached32_node's first entry (ANCHOR: the anchor). */
  private cached = ANCHOR;
  /** max32_alloc_size: a size that failed, until a free (Infinity: dma_32bit_pfn, no limit). */
  private max32 = Infinity;
  private readonly rcaches: Rcache[] = Array.from({ length: IOVA_RANGE_CACHE_MAX_SIZE }, () => ({ loaded: [], prev: [], depot: [] }));

  /** alloc_iova_fast(n pages, the window's top, flush_rcache): the run's first entry, or −1. */
  alloc(n: number): number {
    const size = n < 1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1) ? 1 << orderBase2(n) : n;
    const cached = this.rcacheGet(size);
    if (cached >= 0) return cached;
    let first = this.allocTree(size);
    if (first < 0) {
      this.flushRcaches(); // free_cpu_cached_iovas, free_global_cached_iovas
      first = this.allocTree(size);
    }
    return first;
  }

  /** free_iova_fast(pfn, n): into the rcache of its class, else free_iova: out of the tree goes the
   * run holding `pfn` (its first entry, unless an unmap inside a mapping gave another: dma/iommu.ts). */
  free(pfn: number, n: number): void {
    const log = orderBase2(n);
    if (log < IOVA_RANGE_CACHE_MAX_SIZE) this.rcacheInsert(this.rcaches[log]!, pfn);
    else this.removeHolding(pfn);
  }

  /** free_iova / iova_magazine_free_pfns: the tree run holding entry `e` leaves the tree; none: nothing
   * (assembly/dma/iova.ts remove_holding). */
  private removeHolding(e: number): void {
    if (!this.taken[e]) return;
    for (let s = e; s >= 0; s--) {
      const size = this.size.get(s);
      if (size === undefined) continue;
      if (s + size > e) this.remove(s);
      return;
    }
  }

  /** __iova_rcache_get: loaded, else prev (swapped in), else a magazine from the depot; then
   * iova_magazine_pop: the newest run that fits under the window's top, swapped out; none: -1 (assembly/dma/iova.ts rcache_get). */
  private rcacheGet(size: number): number {
    const log = orderBase2(size);
    if (log >= IOVA_RANGE_CACHE_MAX_SIZE) return -1;
    const r = this.rcaches[log]!;
    if (r.loaded.length === 0) {
      if (r.prev.length > 0) [r.loaded, r.prev] = [r.prev, r.loaded];
      else if (r.depot.length > 0) r.loaded = r.depot.pop()!;
      else return -1;
    }
    const limit = IOMMU_WINDOW_PAGES - size;
    let i = r.loaded.length - 1;
    while (r.loaded[i]! > limit) {
      if (i === 0) return -1;
      i--;
    }
    const pfn = r.loaded[i]!;
    r.loaded[i] = r.loaded[r.loaded.length - 1]!;
    r.loaded.pop();
    return pfn;
  }

  /** __iova_rcache_insert: into loaded; a full one swaps with prev; both full, loaded goes to the depot. */
  private rcacheInsert(r: Rcache, first: number): void {
    if (r.loaded.length === IOVA_MAG_SIZE) {
      if (r.prev.length < IOVA_MAG_SIZE) [r.loaded, r.prev] = [r.prev, r.loaded];
      else {
        r.depot.push(r.loaded);
        r.loaded = [];
      }
    }
    r.loaded.push(first);
  }

  /** Every cached run back to the tree, in the kernel's order: each class's loaded then prev, then each depot from its newest magazine. */
  private flushRcaches(): void {
    for (const r of this.rcaches) {
      for (const f of r.loaded) this.removeHolding(f);
      for (const f of r.prev) this.removeHolding(f);
      r.loaded = [];
      r.prev = [];
    }
    for (const r of this.rcaches) {
      while (r.depot.length > 0) for (const f of r.depot.pop()!) this.removeHolding(f);
    }
  }

  /**
   * alloc_iova(size, size-aligned) → __alloc_and_insert_iova_range: the highest block of `size`
   * entries aligned to its power of two that is free below the cached node; if none, the highest
   * above that node's end; a failure sets max32_alloc_size. The new run becomes the cached node.
   */
  private allocTree(size: number): number {
    if (size >= this.max32) return -1;
    const align = 1 << orderBase2(size);
    let first = this.highestFree(this.cached, 0, size, align); // the anchor's position is the window's top
    if (first < 0 && this.cached !== ANCHOR) first = this.highestFree(ANCHOR, this.cached + this.size.get(this.cached)!, size, align);
    if (first < 0) {
      this.max32 = size;
      return -1;
    }
    this.taken.fill(1, first, first + size);
    this.size.set(first, size);
    this.cached = first;
    return first;
  }

  /** The highest `align`-aligned start s, low <= s and s + size <= high, whose entries are all free; −1 if none. */
  private highestFree(high: number, low: number, size: number, align: number): number {
    let s = Math.floor((high - size) / align) * align;
    while (s >= low) {
      let used = -1;
      for (let e = s; e < s + size; e++) {
        if (this.taken[e]) {
          used = e;
          break;
        }
      }
      if (used < 0) return s;
      s = Math.floor((used - size) / align) * align; // every block holding `used` starts above this
    }
    return -1;
  }

  /** remove_iova: __cached_rbnode_delete_update (the cached node moves to the next run above a run
   * freed at or above it), max32_alloc_size reset, then out of the tree. */
  private remove(first: number): void {
    const size = this.size.get(first)!;
    if (first >= this.cached) this.cached = this.nextAbove(first + size); // the anchor is above every run
    this.max32 = Infinity;
    this.taken.fill(0, first, first + size);
    this.size.delete(first);
  }

  /** rb_next: the first entry of the lowest run starting at or above `e`, else the anchor. */
  private nextAbove(e: number): number {
    for (let i = e; i < IOMMU_WINDOW_PAGES; i++) if (this.taken[i]) return i;
    return ANCHOR;
  }
}
