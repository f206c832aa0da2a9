// 6.12's IOVA allocator (drivers/iommu/iova.c), as dma-iommu uses it for the modern iommu
// platform's window (dma/iommu.ts; 2010 keeps ppc64's next fit there). The reference model's
// src/model/dma/iova.ts says what it does and what is different; this is its twin. The tree is a
// bitmap of the window's entries with each run's size at its first entry (layout.ts); an rcache
// record holds its two magazines in place (swapping them flips which one is loaded) and points at
// its depot, a stack of full magazines (a push or a pop copies one).

import { IOMMU_WINDOW_PAGES, IOVA_MAG_SIZE, IOVA_RANGE_CACHE_MAX_SIZE } from '../abi';
import { iova_taken_ptr, iova_size_ptr, iova_rcache_ptr, iova_depot_ptr, iova_depot_room, IOVA_RCACHE_BYTES } from '../layout';

@inline const ANCHOR: i32 = IOMMU_WINDOW_PAGES; // IOVA_ANCHOR: above every entry
@inline const MAG_BYTES: usize = <usize>IOVA_MAG_SIZE << 2;
@inline const RC_LOADED: usize = 0;
@inline const RC_PREV: usize = 4;
@inline const RC_DEPOT: usize = 8;
@inline const RC_WHICH: usize = 12;
@inline const RC_DEPOT_AT: usize = 16;
@inline const RC_MAGS: usize = 32;

let cached: i32 = ANCHOR;      // cached32_node's first entry
let max32: i32 = i32.MAX_VALUE; // max32_alloc_size (i32.MAX_VALUE: dma_32bit_pfn, no limit)

/** order_base_2: the log of the smallest power of two at or above n. */
@inline function order_base_2(n: i32): i32 { return n <= 1 ? 0 : 32 - clz<i32>(n - 1); }

@inline function taken(e: i32): bool {
  return ((load<u64>(iova_taken_ptr + (<usize>(e >> 6) << 3)) >> <u64>(e & 63)) & 1) != 0;
}
function set_taken(first: i32, n: i32, on: bool): void {
  for (let e = first; e < first + n; e++) {
    const w = iova_taken_ptr + (<usize>(e >> 6) << 3);
    const bit = <u64>1 << <u64>(e & 63);
    store<u64>(w, on ? load<u64>(w) | bit : load<u64>(w) & ~bit);
  }
}
@inline function size_at(e: i32): usize {
  assert(<u32>e < <u32>IOMMU_WINDOW_PAGES, 'IOVA run out of range');
  return iova_size_ptr + (<usize>e << 2);
}
@inline function rcache_rec(c: i32): usize { return iova_rcache_ptr + <usize>c * IOVA_RCACHE_BYTES; }
@inline function loaded_mag(r: usize): usize { return r + RC_MAGS + (load<i32>(r, RC_WHICH) != 0 ? MAG_BYTES : 0); }
@inline function depot_mag(r: usize, k: i32): usize { return <usize>load<u32>(r, RC_DEPOT_AT) + <usize>k * MAG_BYTES; }
/** swap(prev, loaded). */
function swap_mags(r: usize): void {
  store<i32>(r, load<i32>(r, RC_WHICH) ^ 1, RC_WHICH);
  const l = load<i32>(r, RC_LOADED);
  store<i32>(r, load<i32>(r, RC_PREV), RC_LOADED);
  store<i32>(r, l, RC_PREV);
}

/** init_iova_domain and the rcaches: an empty tree, empty magazines, the anchor cached. Different,
 * for speed only: the bitmap and the records are written here (layout.ts heads_init says why). */
export function iova_reset(): void {
  cached = ANCHOR;
  max32 = i32.MAX_VALUE;
  memory.fill(iova_taken_ptr, 0, <usize>IOMMU_WINDOW_PAGES >> 3);
  let depot = iova_depot_ptr;
  for (let c = 0; c < IOVA_RANGE_CACHE_MAX_SIZE; c++) {
    const r = rcache_rec(c);
    memory.fill(r, 0, RC_MAGS);
    store<u32>(r, <u32>depot, RC_DEPOT_AT);
    depot = (depot + (<usize>iova_depot_room(c) << 2) + 15) & ~(<usize>15); // as layout.ts placed them
  }
}

/** alloc_iova_fast(n pages, the window's top, flush_rcache): the run's first entry, or −1. */
export function iova_alloc(n: i32): i32 {
  const size = n < (1 << (IOVA_RANGE_CACHE_MAX_SIZE - 1)) ? 1 << order_base_2(n) : n;
  const hit = rcache_get(size);
  if (hit >= 0) return hit;
  let first = alloc_tree(size);
  if (first < 0) {
    flush_rcaches(); // free_cpu_cached_iovas, free_global_cached_iovas
    first = alloc_tree(size);
  }
  return first;
}

/** free_iova_fast(pfn, n): into the rcache of its class, else free_iova: out of the tree goes the
 * run holding `pfn` (private_find_iova), which is the run's first entry unless an unmap inside a
 * mapping gave another (dma/iommu.ts iommu_unmap). */
export function iova_free_fast(pfn: i32, n: i32): void {
  const log = order_base_2(n);
  if (log < IOVA_RANGE_CACHE_MAX_SIZE) rcache_insert(rcache_rec(log), pfn);
  else remove_holding(pfn);
}

/** free_iova / iova_magazine_free_pfns: the tree run holding entry `e` leaves the tree; none holds
 * it: nothing (free_iova finds none; iova_magazine_free_pfns warns). Runs never overlap, so the
 * first run start at or below a taken `e` is the one. */
function remove_holding(e: i32): void {
  if (!taken(e)) return;
  for (let s = e; s >= 0; s--) {
    const size = <i32>load<u32>(size_at(s));
    if (size == 0) continue;
    if (s + size > e) remove(s);
    return;
  }
}

/** __iova_rcache_get: loaded, else prev (swapped in), else a magazine from the depot; then
 * iova_magazine_pop: the newest run that fits under the window's top (the limit alloc_iova_fast
 * passes, less the size), moved out by swapping the magazine's last into its place; none: −1, to
 * the tree (a run filed under a larger class than its own, by an unmap larger than its mapping,
 * may not fit). */
function rcache_get(size: i32): i32 {
  const log = order_base_2(size);
  if (log >= IOVA_RANGE_CACHE_MAX_SIZE) return -1;
  const r = rcache_rec(log);
  if (load<i32>(r, RC_LOADED) == 0) {
    if (load<i32>(r, RC_PREV) > 0) swap_mags(r);
    else {
      const d = load<i32>(r, RC_DEPOT);
      if (d == 0) return -1;
      store<i32>(r, d - 1, RC_DEPOT);
      memory.copy(loaded_mag(r), depot_mag(r, d - 1), MAG_BYTES);
      store<i32>(r, IOVA_MAG_SIZE, RC_LOADED);
    }
  }
  const mag = loaded_mag(r);
  const last = load<i32>(r, RC_LOADED) - 1;
  const limit = IOMMU_WINDOW_PAGES - size;
  let i = last;
  while (load<i32>(mag + (<usize>i << 2)) > limit) {
    if (i == 0) return -1;
    i--;
  }
  const pfn = load<i32>(mag + (<usize>i << 2));
  store<i32>(mag + (<usize>i << 2), load<i32>(mag + (<usize>last << 2)));
  store<i32>(r, last, RC_LOADED);
  return pfn;
}

/** __iova_rcache_insert: into loaded; a full one swaps with prev; both full, loaded goes to the depot. */
function rcache_insert(r: usize, first: i32): void {
  if (load<i32>(r, RC_LOADED) == IOVA_MAG_SIZE) {
    if (load<i32>(r, RC_PREV) < IOVA_MAG_SIZE) swap_mags(r);
    else {
      const d = load<i32>(r, RC_DEPOT);
      memory.copy(depot_mag(r, d), loaded_mag(r), MAG_BYTES);
      store<i32>(r, d + 1, RC_DEPOT);
      store<i32>(r, 0, RC_LOADED);
    }
  }
  const k = load<i32>(r, RC_LOADED);
  store<i32>(loaded_mag(r) + (<usize>k << 2), first);
  store<i32>(r, k + 1, RC_LOADED);
}

/** Every cached run back to the tree: each class's loaded then prev magazine, then each depot from its newest magazine. */
function flush_rcaches(): void {
  for (let c = 0; c < IOVA_RANGE_CACHE_MAX_SIZE; c++) {
    const r = rcache_rec(c);
    const l = loaded_mag(r);
    for (let k = 0; k < load<i32>(r, RC_LOADED); k++) remove_holding(load<i32>(l + (<usize>k << 2)));
    store<i32>(r, load<i32>(r, RC_WHICH) ^ 1, RC_WHICH); // prev's turn (which magazine is which does not matter once both are empty)
    const p = loaded_mag(r);
    for (let k = 0; k < load<i32>(r, RC_PREV); k++) remove_holding(load<i32>(p + (<usize>k << 2)));
    store<i32>(r, 0, RC_LOADED);
    store<i32>(r, 0, RC_PREV);
  }
  for (let c = 0; c < IOVA_RANGE_CACHE_MAX_SIZE; c++) {
    const r = rcache_rec(c);
    for (let d = load<i32>(r, RC_DEPOT) - 1; d >= 0; d--) {
      const m = depot_mag(r, d);
      for (let k = 0; k < IOVA_MAG_SIZE; k++) remove_holding(load<i32>(m + (<usize>k << 2)));
    }
    store<i32>(r, 0, RC_DEPOT);
  }
}

/** alloc_iova(size, size-aligned) → __alloc_and_insert_iova_range (src/model/dma/iova.ts allocTree). */
function alloc_tree(size: i32): i32 {
  if (size >= max32) return -1;
  const align = 1 << order_base_2(size);
  let first = highest_free(cached, 0, size, align);
  if (first < 0 && cached != ANCHOR) first = highest_free(ANCHOR, cached + <i32>load<u32>(size_at(cached)), size, align);
  if (first < 0) {
    max32 = size;
    return -1;
  }
  set_taken(first, size, true);
  store<u32>(size_at(first), <u32>size);
  cached = first;
  return first;
}

/** The highest `align`-aligned start s, low <= s and s + size <= high, whose entries are all free; −1 if none. */
function highest_free(high: i32, low: i32, size: i32, align: i32): i32 {
  if (high < size) return -1;
  let s = ((high - size) / align) * align;
  while (s >= low) {
    let used = -1;
    for (let e = s; e < s + size; e++) {
      if (taken(e)) { used = e; break; }
    }
    if (used < 0) return s;
    if (used < size) return -1;
    s = ((used - size) / align) * align; // every block holding `used` starts above this
  }
  return -1;
}

/** remove_iova: the cached node moves to the next run above one freed at or above it (rb_next), max32_alloc_size resets, the run leaves the tree. */
function remove(first: i32): void {
  const size = <i32>load<u32>(size_at(first));
  if (first >= cached) cached = next_above(first + size);
  max32 = i32.MAX_VALUE;
  set_taken(first, size, false);
  store<u32>(size_at(first), 0);
}

/** rb_next: the first entry of the lowest run starting at or above `e`, else the anchor. */
function next_above(e: i32): i32 {
  let i = e;
  while (i < IOMMU_WINDOW_PAGES) {
    const w = load<u64>(iova_taken_ptr + (<usize>(i >> 6) << 3)) >> <u64>(i & 63);
    if (w != 0) return i + <i32>ctz(w);
    i = (i | 63) + 1;
  }
  return ANCHOR;
}
