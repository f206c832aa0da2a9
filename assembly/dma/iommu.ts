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
import { platform, kernel_era, iommu_ptr, iommu_len_ptr, iommu_marked_ptr, IOMMU_FQ_PTR } from '../layout';
import { iova_alloc, iova_free_fast, iova_reset } from './iova';
import { count, cur_op } from '../sim/counters';
import { iova_entry_of } from '../sim/translate';

let hint: i32 = 0;

// The flush queue (6.12 struct iova_fq, one CPU's ring): per entry the first IOVA page, its
// length and the op that queued it; head..tail, one slot always empty (fq_full).
let lazy = false;
@inline function fq_at(i: i32): usize { return IOMMU_FQ_PTR + (<usize>i << 4); }
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

/** free_iova_fast for a run: its entries empty, the translation gone, the IOVAs reusable (6.12:
 * to the rcache or the tree, dma/iova.ts). */
function clear_run(first: i32, n: i32): void {
  for (let i = 0; i < n; i++) store<u32>(entry_at(first + i), IOMMU_NONE);
  if (kernel_era == KERNEL_MODERN) iova_free_fast(first, n);
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
    clear_run(load<i32>(fq_at(fq_head)), load<i32>(fq_at(fq_head), 4));
    fq_head = (fq_head + 1) & FQ_MOD_MASK;
  }
}

/**
 * queue_iova (dma-iommu.c, 6.12): the run takes the tail entry; a full ring ((tail + 1) & mod_mask
 * == head) was flushed and freed first (iommu_free_at does it, before it keeps the run's cached
 * translations). The allocator sees its IOVAs taken until then; which of them still translate is
 * iommu_unmap_fast's business (iommu_free_at). The 10 ms fq_timer is not modelled (no clock).
 */
function queue_iova(first: i32, n: i32): void {
  const at = fq_at(fq_tail);
  store<i32>(at, first);
  store<i32>(at, n, 4);
  store<i64>(at, cur_op, 8);
  fq_tail = (fq_tail + 1) & FQ_MOD_MASK;
  count(C_IOMMU_PAGES_QUEUED, n);
}

/** Does a live run (an allocation not yet freed) start at the IOVA page `bus` falls in? */
export function iommu_run_at(bus: u64): bool {
  const first = iova_entry_of(bus);
  return first >= 0 && load<u32>(len_at(first)) != 0;
}

/**
 * Unmaps the allocation starting at the entry holding `bus`, by the caller's size: the IOVA pages
 * `size` bytes cover from `bus` (unmap_pages; −1: the run's own). Returns the pages unmapped (0:
 * no run starts there).
 * __iommu_dma_unmap (dma-iommu.c, 6.12) clears the page table at once with iommu_unmap_fast
 * (iommu.c), then strict syncs the IOTLB and frees the IOVA (free_iova_fast); lazy
 * (iotlb_gather.queued) skips the sync and queues the IOVA (iommu_dma_free_iova → queue_iova).
 * So, lazy, a page stays reachable only through a translation the device's IOTLB had cached
 * (IOMMU_IOTLB, set by iommu_iotlb_fill); every other entry is held without a translation.
 * Strict and lazy both take the caller's size, not the mapping's, as 2.6.37 ppc64
 * iommu_unmap_page and iommu_free_coherent do (__iommu_free: tce_free and the bitmap clear of that
 * many entries). So a partial unmap (fewer pages than the run) leaves the run's tail translating,
 * its entries taken and reachable by the device, with no mapping left to free them; 6.12 also
 * frees the IOVA under the smaller size, into that size's rcache class (at or below the run's), so
 * that a later map of that class gets it while the tail is still mapped (free_iova_fast; the map
 * fills its entries over the tail's). Different (docs/ENGINE.md §8): an unmap of more pages than
 * the run frees the run alone (the kernel's would clear the entries after it, another mapping's);
 * a second unmap of the handle finds no run and does nothing; an unmap inside the run is
 * iommu_unmap_inside's. On 6.12 a run whose pages an unmap inside it cleared is still cleared
 * whole here, its IOVA freed (the kernel's stops at the first page that no longer translates,
 * and does nothing when the first does not).
 * `now`: a failing map_sg undoing its own entries frees at once, lazy or not, and its caller
 * counts (dma/mapping.ts dma_unmap_addr).
 */
export function iommu_free_at(bus: u64, now: bool = false, size: i32 = -1): i32 {
  const first = iova_entry_of(bus);
  if (first < 0) return 0;
  const run = <i32>load<u32>(len_at(first));
  if (run == 0) return 0;
  const n = size >= 0 ? min(unmap_pages(bus, size), run) : run;
  store<u32>(len_at(first), 0);
  if (!now) count(C_IOMMU_PAGES_UNMAPPED, n);
  unmap_entries(first, n, now);
  return n;
}

/** __iommu_dma_unmap's page-table and IOVA part for entries [first, first + n): strict (or `now`)
 * empties them and frees the IOVA; lazy holds each the IOTLB did not cache and queues the run. */
function unmap_entries(first: i32, n: i32, now: bool): void {
  if (lazy && !now) {
    // __iommu_dma_unmap clears the run's entries, then queue_iova flushes a full ring: that flush
    // drops this run's cached translations too, so it comes first here.
    if (((fq_tail + 1) & FQ_MOD_MASK) == fq_head) fq_flush();
    for (let i = 0; i < n; i++) {
      const p = entry_at(first + i);
      if ((load<u32>(p) & IOMMU_IOTLB) == 0) store<u32>(p, IOMMU_HELD);
    }
    queue_iova(first, n);
  } else {
    clear_run(first, n);
  }
}

/**
 * An unmap (dma_unmap_page) at `bus` where no run starts, of `size` bytes: a driver's handle plus
 * an offset, or the second piece of a mapping it unmaps in two. The kernel does not look for the
 * mapping. 6.12 iommu_dma_unmap_page does nothing where the IOVA page does not translate (its
 * WARN on iommu_iova_to_phys); else __iommu_dma_unmap clears the pages `size` covers from that
 * page, stopping at one that does not translate (iommu_unmap_fast), and frees that IOVA
 * (free_iova_fast: into the rcache of its class, so a later map of the class is given a page
 * inside the run, or the whole run out of the tree, private_find_iova), or queues it (lazy).
 * 2.6.37 ppc64 __iommu_free clears that many TCEs and bitmap bits from there, whatever holds them
 * (nothing when they run past the table). In a run's first page it is an unmap of the run
 * (iommu_free_at). A run whose pages are cleared this way stays live for its own unmap, which
 * here clears it whole (iommu_free_at says what is different). Different: 6.12 frees the IOVA
 * under the pages it cleared (the kernel: the pages asked; a size of 0 frees nothing). Returns
 * the pages unmapped (0 off the iommu platform).
 */
export function iommu_unmap_inside(bus: u64, size: i32): i32 {
  if (!iommu_present()) return 0;
  const e = iova_entry_of(bus);
  if (e < 0) return 0;
  if (load<u32>(len_at(e)) != 0) return iommu_free_at(bus, false, size);
  const m = unmap_pages(bus, size);
  let n = 0;
  if (kernel_era != KERNEL_MODERN) {
    if (e + m > IOMMU_WINDOW_PAGES) return 0;
    n = m;
  } else {
    while (n < m && e + n < IOMMU_WINDOW_PAGES && in_page_table(e + n)) n++;
    if (n == 0) return 0;
  }
  count(C_IOMMU_PAGES_UNMAPPED, n);
  unmap_entries(e, n, false);
  return n;
}

/** Does IOVA entry `e` translate in the page table (a live mapping's, not a queued run's that only
 * the IOTLB still holds)? */
function in_page_table(e: i32): bool {
  return (load<u32>(entry_at(e)) & IOMMU_PFN_MASK) != 0 && iommu_queued_unmap_op(e) < 0;
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
 * The op that unmapped the queued run holding IOVA entry `e`, when the device still reaches the
 * page through its IOTLB; −1 otherwise (for explanations: scans the ring).
 */
export function iommu_queued_unmap_op(e: i32): i64 {
  if ((load<u32>(entry_at(e)) & IOMMU_PFN_MASK) == 0) return -1;
  for (let i = fq_head; i != fq_tail; i = (i + 1) & FQ_MOD_MASK) {
    const first = load<i32>(fq_at(i));
    if (e >= first && e < first + load<i32>(fq_at(i), 4)) return load<i64>(fq_at(i), 8);
  }
  return -1;
}
