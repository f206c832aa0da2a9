// A hardware IOMMU window. Its IOVAs come, on 2010, from a table in the style of ppc64
// iommu_range_alloc (arch/powerpc/kernel/iommu.c): next-fit from a hint, wrap once, the hint moves
// past each allocation; on the modern kernel from 6.12's IOVA allocator (dma/iova.ts).
// Different: bus addresses are IOVAs that mean nothing to memory until translated here, so a
// stale or foreign handle faults instead of hitting some other page.
// Unmap is strict (the entries clear at once, as ppc64's iommu_free and x86's iommu.strict=1) or,
// on the modern kernel, lazy: 6.12's dma-iommu flush queue (drivers/iommu/dma-iommu.c), where the
// page table is cleared at once but the IOTLB keeps the translations the device had cached, and
// the allocator cannot reuse the IOVA until a flush.

import { PLATFORM_IOMMU, IOMMU_BASE, IOMMU_WINDOW_PAGES, IOMMU_NONE, PAGE_SHIFT, PAGE_SIZE, IOVA_DEFAULT_FQ_SIZE,
  IOMMU_PFN_MASK, IOMMU_READ_ONLY, IOMMU_IOTLB, IOMMU_HELD,
  C_IOMMU_PAGES_MAPPED, C_IOMMU_PAGES_UNMAPPED, C_IOMMU_PAGES_QUEUED, C_IOMMU_FLUSHES, KERNEL_MODERN } from '../abi';
import { platform, kernel_era, iommu_ptr, iommu_len_ptr, iommu_marked_ptr, IOMMU_FQ_PTR, IOMMU_FQ_ENTRY_SHIFT } from '../layout';
import { iova_alloc, iova_free_fast, iova_reset } from './iova';
import { count, cur_op } from '../sim/counters';
import { iova_entry_of } from '../sim/translate';

let hint: i32 = 0;

// The flush queue (6.12 struct iova_fq, one CPU's ring): per entry the first IOVA page, the entries
// its unmap cleared from there (@4), the op that queued it (@8) and the IOVA pages it frees (@16:
// the unmap's size, more than @4 where the window's end cut the clearing short); head..tail,
// one slot always empty (fq_full). layout.ts gives each entry 1 << IOMMU_FQ_ENTRY_SHIFT bytes.
let lazy = false;
@inline function fq_at(i: i32): usize { return IOMMU_FQ_PTR + (<usize>i << IOMMU_FQ_ENTRY_SHIFT); }
let fq_head: i32 = 0;
let fq_tail: i32 = 0;
// The entries the device's IOTLB cached since the last flush (each once): flush_iotlb_all drops them all.
let marked: i32 = 0;
@inline const FQ_MOD_MASK: i32 = IOVA_DEFAULT_FQ_SIZE - 1;

/**
 * iommu_dma_init_domain: a DMA_FQ domain gets its flush queue (iommu_dma_init_fq), else strict.
 * Different, for speed only: the window's entries are written here, empty, because 2010's next
 * fit reads entries before it fills them (6.12's allocator, dma/iova.ts, writes its bitmap at its
 * reset), and a fresh page read first costs a second fault and a TLB flush on every CPU when it is
 * first written (layout.ts heads_init says more).
 */
export function iommu_set_lazy(on: bool): void {
  lazy = on; fq_head = 0; fq_tail = 0; marked = 0;
  if (!iommu_present()) return;
  memory.fill(iommu_ptr, <u8>IOMMU_NONE, <usize>IOMMU_WINDOW_PAGES << 2);
  if (kernel_era == KERNEL_MODERN) iova_reset();
}

/** Is there a hardware IOMMU between devices and memory (the iommu platform)? */
@inline export function iommu_present(): bool { return platform == PLATFORM_IOMMU; }

@inline function entry_at(i: i32): usize {
  assert(<u32>i < <u32>IOMMU_WINDOW_PAGES, 'IOVA entry out of range');
  return iommu_ptr + (<usize>i << 2);
}
@inline function len_at(i: i32): usize { return iommu_len_ptr + (<usize>i << 2); }
// An entry's len word: bits 0-19 the length of a live run starting there (the window has 2^19
// entries); QUEUED while a lazy unmap holds the entry cleared and not yet flushed, with that
// unmap's ring slot at SLOT_SHIFT (8 bits: IOVA_DEFAULT_FQ_SIZE is 256).
@inline const LEN_MASK: u32 = 0xf_ffff;
@inline const QUEUED: u32 = 0x8000_0000;
@inline const SLOT_SHIFT: u32 = 20;
@inline function run_len(i: i32): u32 { return load<u32>(len_at(i)) & LEN_MASK; }
@inline function queued(i: i32): bool { return (load<u32>(len_at(i)) & QUEUED) != 0; }

/** Last used entry in [start, start + n), or −1 when the whole range is free. */
function last_used(start: i32, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) if (load<u32>(entry_at(start + i)) != IOMMU_NONE) return start + i;
  return -1;
}

function find_from(from: i32, limit: i32, n: i32): i32 {
  let i = from;
  while (i + n <= limit) {
    const used = last_used(i, n);
    if (used < 0) return i;
    i = used + 1; // no fit can start at or before a used entry
  }
  return -1;
}

/** iommu_range_alloc (2010) or alloc_iova_fast (6.12, rounded up) + entry fill for pfns
 * [pfn, pfn + n); returns the first entry or −1. */
export function iommu_alloc(pfn: i32, n: i32, counted: bool, read_only: bool = false): i32 {
  let first: i32;
  if (kernel_era == KERNEL_MODERN) first = iova_alloc(n);
  else {
    first = find_from(hint, IOMMU_WINDOW_PAGES, n);
    if (first < 0 && hint > 0) first = find_from(0, min(IOMMU_WINDOW_PAGES, hint + n - 1), n);
    if (first >= 0) {
      hint = first + n;
      if (hint >= IOMMU_WINDOW_PAGES) hint = 0;
    }
  }
  if (first < 0) return -1;
  const perm: u32 = read_only ? IOMMU_READ_ONLY : 0;
  for (let i = 0; i < n; i++) store<u32>(entry_at(first + i), <u32>(pfn + i + 1) | perm);
  // Only a lazy unmap marks entries queued: a map given one (an rcache run filed under a larger
  // class than its own) translates again.
  if (lazy) for (let i = 0; i < n; i++) store<u32>(len_at(first + i), load<u32>(len_at(first + i)) & LEN_MASK);
  store<u32>(len_at(first), <u32>n);
  if (counted) count(C_IOMMU_PAGES_MAPPED, n);
  return first;
}

/** The IOVA pages an unmap of `size` ≥ 0 bytes at `bus` covers (6.12 iova_align(size + iova_offset);
 * 2.6.37 iommu_num_pages). */
@inline function unmap_pages(bus: u64, size: i32): i32 {
  return <i32>(((bus & <u64>(PAGE_SIZE - 1)) + <u64>size + <u64>(PAGE_SIZE - 1)) >> <u64>PAGE_SHIFT);
}

@inline export function iova_of(first: i32): u64 {
  return IOMMU_BASE + (<u64>first << PAGE_SHIFT);
}

/** A strict unmap's end (or a failing map_sg's undo): entries [first, first + n) empty, the IOVA
 * under `pages` from `first` freed (6.12 free_iova_fast: to the rcache or the tree, dma/iova.ts).
 * 2.6.37 has no IOVA allocator (its entries are its bitmap). */
function clear_run(first: i32, n: i32, pages: i32): void {
  for (let i = 0; i < n; i++) store<u32>(entry_at(first + i), IOMMU_NONE);
  if (kernel_era == KERNEL_MODERN) iova_free_fast(first, pages);
}

/**
 * fq_flush_iotlb then fq_ring_free (dma-iommu.c, 6.12): one flush_iotlb_all invalidates every
 * translation the IOTLB holds — a live mapping's too, which the device caches again at its next
 * access — after which every entry queued before it is freed, head first.
 */
function fq_flush(): void {
  count(C_IOMMU_FLUSHES);
  for (let k = 0; k < marked; k++) {
    const p = entry_at(load<i32>(iommu_marked_ptr + (<usize>k << 2)));
    store<u32>(p, load<u32>(p) & ~IOMMU_IOTLB); // a queued run's entries are emptied below
  }
  marked = 0;
  while (fq_head != fq_tail) {
    // fq_ring_free: the entry's IOVA; the page-table entries its unmap cleared (the queued ones in
    // its range: a page that did not translate then, mapped again since, is not its) are gone.
    const at = fq_at(fq_head);
    const first = load<i32>(at);
    for (let i = first; i < first + load<i32>(at, 4); i++) {
      if (!queued(i)) continue;
      store<u32>(entry_at(i), IOMMU_NONE);
      store<u32>(len_at(i), load<u32>(len_at(i)) & LEN_MASK);
    }
    iova_free_fast(first, load<i32>(at, 16));
    fq_head = (fq_head + 1) & FQ_MOD_MASK;
  }
}

/**
 * queue_iova (dma-iommu.c, 6.12): the unmap takes the tail entry (n entries cleared, `pages` IOVA
 * pages to free); a full ring ((tail + 1) & mod_mask == head) was flushed and freed first
 * (unmap_entries does it, before it keeps the cached translations). The allocator sees the IOVAs
 * taken until then; which of them still translate is iommu_unmap_fast's business (iommu_unmap).
 * The 10 ms fq_timer is not modelled (no clock).
 */
function queue_iova(first: i32, n: i32, pages: i32): void {
  const at = fq_at(fq_tail);
  store<i32>(at, first);
  store<i32>(at, n, 4);
  store<i64>(at, cur_op, 8);
  store<i32>(at, pages, 16);
  fq_tail = (fq_tail + 1) & FQ_MOD_MASK;
  count(C_IOMMU_PAGES_QUEUED, n);
}

/**
 * The platform's unmap of `size` bytes at bus address `bus` (dma_unmap_page, an entry of
 * dma_unmap_sg, dma_free_coherent's unmap), wherever it falls: at a mapping's handle, inside one
 * (a handle plus an offset, a mapping's second piece), or where nothing is mapped now. The kernel
 * does not look for the mapping: it works from the IOVA page `bus` falls in, e, over the m pages
 * the size covers from there (6.12 iova_align(size + iova_offset); 2.6.37 iommu_num_pages).
 * 6.12 (dma-iommu.c): iommu_dma_unmap_page does nothing when e does not translate
 * (`warn`: its WARN on iommu_iova_to_phys; iommu_dma_unmap_sg, a failing map_sg's undo and
 * iommu_dma_free have no such check);
 * __iommu_dma_unmap then clears the page table over the m pages from e with iommu_unmap_fast
 * (iommu.c __iommu_unmap, which goes on while the driver's unmap_pages returns pages: x86's do over
 * empty entries, AMD's iommu_v1_unmap_pages zeroing each bottom-level PTE, Intel's the whole
 * range; ARM's io-pgtable stops at the first, with a WARN), so an unmap larger than its mapping
 * clears the next mapping's pages too, up to the window's end; strict syncs the IOTLB and frees
 * the IOVA under the m pages asked (free_iova_fast: the rcache of order_base_2(m), else the tree
 * run holding e leaves the tree); lazy skips the sync and queues it (queue_iova).
 * So a partial unmap (fewer pages than the run) leaves the tail translating and taken, and its
 * IOVA goes to a class at or below the run's, so that a later map of that class gets it while the
 * tail is still mapped (the map fills its entries over the tail's).
 * 2.6.37 ppc64 (iommu_unmap_page, iommu_free_coherent → __iommu_free): tce_free and the bitmap
 * clear of the m entries from e, whatever holds them; nothing at all when they run past the table.
 * A run starting at e is no longer live (its handle's unmap). Returns the entries cleared.
 * `now`: a failing map_sg undoing its own entries frees at once, lazy or not, and its caller
 * counts (dma/mapping.ts dma_unmap_addr).
 */
export function iommu_unmap(bus: u64, size: i32, warn: bool, now: bool = false): i32 {
  if (!iommu_present()) return 0;
  const e = iova_entry_of(bus);
  if (e < 0) return 0;
  const m = unmap_pages(bus, size);
  let n = 0;
  if (kernel_era != KERNEL_MODERN) {
    if (e + m > IOMMU_WINDOW_PAGES) return 0;
    n = m;
  } else {
    if (warn && !in_page_table(e)) return 0;
    n = min(m, IOMMU_WINDOW_PAGES - e);
  }
  store<u32>(len_at(e), load<u32>(len_at(e)) & ~LEN_MASK);
  if (!now) count(C_IOMMU_PAGES_UNMAPPED, n);
  unmap_entries(e, n, m, now);
  return n;
}

/** __iommu_dma_unmap's page-table and IOVA part: entries [first, first + n) cleared, the IOVA
 * under `pages`; strict (or `now`) at once; lazy marks each entry that translated queued (by this
 * ring slot), holds those the IOTLB did not cache, and queues the unmap. */
function unmap_entries(first: i32, n: i32, pages: i32, now: bool): void {
  if (lazy && !now) {
    // __iommu_dma_unmap clears the entries, then queue_iova flushes a full ring: that flush drops
    // this unmap's cached translations too, so it comes first here.
    if (((fq_tail + 1) & FQ_MOD_MASK) == fq_head) fq_flush();
    for (let i = first; i < first + n; i++) {
      if (!in_page_table(i)) continue;
      const p = entry_at(i);
      if ((load<u32>(p) & IOMMU_IOTLB) == 0) store<u32>(p, IOMMU_HELD);
      store<u32>(len_at(i), run_len(i) | QUEUED | (<u32>fq_tail << SLOT_SHIFT));
    }
    queue_iova(first, n, pages);
  } else {
    clear_run(first, n, pages);
  }
}

/**
 * Whether bus address `bus` was given again since a mapping there was unmapped, for a kernel
 * trace's unmap or sync after that unmap, at its handle or inside it (dma/mapping.ts
 * dma_handle_retaken): a live run starts at its IOVA page, or the unmap of `size` bytes there
 * would reach a page that translates to another page than the mapping's (`own_pfn` under `bus`,
 * one more each page after): on 6.12 the first for dma_unmap_page (`single`), which does nothing
 * where it does not translate, else any of them, as an sg entry's unmap clears all unchecked;
 * 2.6.37: any of them, as it clears all. A page still translating to the mapping's own is the tail
 * a smaller unmap left.
 */
export function iommu_retaken(bus: u64, size: i32, own_pfn: i32, single: bool = true): bool {
  const e = iova_entry_of(bus);
  if (e < 0) return false;
  if (run_len(e) != 0) return true;
  const modern = kernel_era == KERNEL_MODERN;
  if (modern && single) return in_page_table(e) && translates_to(e) != own_pfn;
  const last = min(IOMMU_WINDOW_PAGES, e + max(unmap_pages(bus, size), 1));
  for (let i = e; i < last; i++) {
    if ((modern ? in_page_table(i) : load<u32>(entry_at(i)) != IOMMU_NONE) && translates_to(i) != own_pfn + (i - e)) return true;
  }
  return false;
}

/** The pfn IOVA entry `e` holds (−1: none). */
@inline function translates_to(e: i32): i32 { return <i32>(load<u32>(entry_at(e)) & IOMMU_PFN_MASK) - 1; }

/** Does IOVA entry `e` translate in the page table (a live mapping's, not a queued one's that only
 * the IOTLB still holds)? */
function in_page_table(e: i32): bool {
  return (load<u32>(entry_at(e)) & IOMMU_PFN_MASK) != 0 && !queued(e);
}

/**
 * A device access to bus bytes [bus, bus + len) through the IOMMU: every IOVA page in it that
 * translates (a live mapping, or one the IOTLB already holds) is now cached in the device's IOTLB.
 * The IOTLB is assumed to hold every translation the device used (no eviction). Only the lazy
 * mode reads the mark (a strict unmap syncs the IOTLB), so only it keeps one.
 */
export function iommu_iotlb_fill(bus: u64, len: i32): void {
  if (!lazy || !iommu_present() || len <= 0) return;
  const a = iova_entry_of(bus);
  const b = iova_entry_of(bus + <u64>(len - 1));
  if (a < 0 || b < 0) return;
  for (let e = a; e <= b; e++) {
    const p = entry_at(e);
    const v = load<u32>(p);
    if ((v & IOMMU_PFN_MASK) == 0 || (v & IOMMU_IOTLB) != 0) continue;
    store<u32>(p, v | IOMMU_IOTLB);
    store<i32>(iommu_marked_ptr + (<usize>marked << 2), e);
    marked++;
  }
}

/**
 * The op whose lazy unmap cleared IOVA entry `e`, when the device still reaches the page through
 * its IOTLB (the entry queued, not yet flushed); −1 otherwise (for explanations).
 */
export function iommu_queued_unmap_op(e: i32): i64 {
  if ((load<u32>(entry_at(e)) & IOMMU_PFN_MASK) == 0 || !queued(e)) return -1;
  return load<i64>(fq_at(<i32>((load<u32>(len_at(e)) >> SLOT_SHIFT) & <u32>FQ_MOD_MASK)), 8);
}
