// drivers/gpu/drm/ttm/ttm_page_alloc.c: four global pools {wc, uc} x {normal, dma32} of order-0
// pages whose caching was already changed; cached pages have no pool. `2010` follows Linux 2.6.37:
// ttm_tt_populate asks ttm_get_pages for one page at a time, so a pool refills NUM_PAGES_TO_ALLOC
// only when it is empty, and pages go back to the head (LIFO). `modern` is 6.12's ttm_pool.c
// (ttm_pool.ts). Fix 3 of the RFC
// (the xen-aware allocator) is the same code with an order-0 XENMEM_exchange for every page it
// takes from the buddy. Different: the pools are pfn lists threaded through ttm_page.ts, so a pool
// costs nothing but its 16 bytes.

import { CACHING_CACHED, CACHING_WC, NUM_PAGES_TO_ALLOC, POOL_ID_TTM, POOL_ID_XEN_AWARE, POOL_ID_DMA, POOL_ID_END, C_CACHING_CHANGE_CALLS,
  C_CACHING_CHANGE_PAGES, C_POOL_REFILLS, C_PAGES_ALLOCATED } from '../abi';
import { POOLS_PTR, POOL_DESC_BYTES, ram_pages, mask_bits } from '../layout';
import { count } from '../sim/counters';
import { forget_pages } from '../sim/stamps';
import { alloc_block, free_block } from '../mm/page_alloc';
import { xen_create_contiguous_region, xen_destroy_contiguous_region, xen_frame_above } from '../xen/exchange';
import { page_next, set_page_next, page_exchanged, set_page_exchanged, page_reset, clear_page_dma,
  list_init, list_len, list_head, list_append, list_push_head, list_take_head, list_cut_tail, chain_reverse,
  LIST_BYTES } from './ttm_page';

// Pool descriptor (POOL_DESC_BYTES): a page list (ttm_page.ts), then the pool's caching state.
// Pool ids: ttm 0..3 and xen-aware 4..7 as base + (caching - 1) * 2 + dma32; ttm dma 8 + caching.
@inline const P_CACHING: i32 = LIST_BYTES;

@inline function pd(p: i32): usize {
  assert(p >= 0 && p < POOL_ID_END, 'pool id');
  return POOLS_PTR + <usize>(p * POOL_DESC_BYTES);
}
@inline export function pool_count(p: i32): i32 { return list_len(pd(p)); }
@inline export function pool_caching(p: i32): i32 { return load<i32>(pd(p), P_CACHING); }
@inline export function pool_push_tail(p: i32, pfn: i32): void { list_append(pd(p), pfn); }
@inline export function pool_push_head(p: i32, pfn: i32): void { list_push_head(pd(p), pfn); }
@inline export function pool_take_head(p: i32): i32 { return list_take_head(pd(p)); }
@inline export function pool_cut_tail(p: i32, n: i32): i32 { return list_cut_tail(pd(p), n); }

export function ttm_pools_init(): void {
  for (let p = 0; p < POOL_ID_END; p++) {
    list_init(pd(p));
    store<i32>(pd(p), p >= POOL_ID_DMA ? p - POOL_ID_DMA : CACHING_WC + (((p & 3) >> 1)), P_CACHING);
  }
}

/**
 * The cap every pool shrinks back to: ttm_mem_global_init gives ttm_page_alloc_init the kernel
 * zone's max_mem / (2 * PAGE_SIZE), and the zone is half of lowmem: a quarter of RAM, per pool.
 */
@inline export function pool_max(): i32 { return ram_pages >> 2; }

/** The device's GFP_DMA32 decision: a 32-bit mask takes the dma32 pools. */
@inline export function device_dma32(): bool { return mask_bits <= 32; }

/** ttm_get_pool for the 2010 allocator (base POOL_ID_TTM) or the xen-aware one; -1 for cached. */
export function ttm_pool_of(base: i32, caching: i32): i32 {
  if (caching == CACHING_CACHED) return -1;
  return base + (caching - CACHING_WC) * 2 + (device_dma32() ? 1 : 0);
}

/** set_pages_array_{wc,uc,wb}: one costly call per batch of at most NUM_PAGES_TO_ALLOC pages. */
@inline export function caching_change(pages: i32): void {
  if (pages <= 0) return;
  count(C_CACHING_CHANGE_CALLS, (pages + NUM_PAGES_TO_ALLOC - 1) / NUM_PAGES_TO_ALLOC);
  count(C_CACHING_CHANGE_PAGES, pages);
}

/** tt_alloc_page's failures: the buddy had nothing, or the page's exchange failed. */
@inline export const NO_PAGE: i32 = -1;
@inline export const EXCHANGE_FAILED: i32 = -2;

/**
 * alloc_page for a tt allocator: order 0 from the zone, and with `exchange_bits` > 0 under Xen
 * an order-0 xen_create_contiguous_region when the frame is above that many bits. A failed
 * exchange gives the page back. Returns the pfn, NO_PAGE or EXCHANGE_FAILED.
 */
export function tt_alloc_page(dma32_only: bool, exchange_bits: i32): i32 {
  const pfn = alloc_block(0, dma32_only);
  if (pfn < 0) return NO_PAGE;
  count(C_PAGES_ALLOCATED);
  page_reset(pfn);
  if (exchange_bits > 0 && xen_frame_above(pfn, exchange_bits)) {
    if (!xen_create_contiguous_region(pfn, 0, exchange_bits, true)) {
      free_block(pfn, 0);
      return EXCHANGE_FAILED;
    }
    set_page_exchanged(pfn);
  }
  return pfn;
}

/** __free_page for a tt page: an exchanged frame goes back to Xen first. */
export function tt_free_page(pfn: i32): void {
  if (page_exchanged(pfn)) xen_destroy_contiguous_region(pfn, 0);
  page_reset(pfn);
  forget_pages(pfn, 1);
  free_block(pfn, 0);
}

/** The xen-aware allocator exchanges below the device mask; the 2010 one never exchanges. */
@inline function exchange_bits_of(base: i32): i32 { return base == POOL_ID_XEN_AWARE ? mask_bits : 0; }

// ---- 2010: Linux 2.6.37, one page per ttm_get_pages call --------------------------------------

/**
 * ttm_page_pool_fill_locked → ttm_alloc_new_pages (2.6.37): NUM_PAGES_TO_ALLOC pages with the
 * pool's gfp, each list_add'ed (the last allocated ends up at the head), one set_pages_array_wc/uc
 * for the batch (or for the part got when an allocation fails: a failed exchange counts as one);
 * the list is spliced onto the pool's head; nrefills only when whole. Returns the pages got.
 */
function ttm_page_pool_fill(p: i32, base: i32): i32 {
  let got = 0;
  while (got < NUM_PAGES_TO_ALLOC) {
    const pfn = tt_alloc_page(device_dma32(), exchange_bits_of(base));
    if (pfn < 0) break;
    pool_push_head(p, pfn);
    got++;
  }
  caching_change(got);
  if (got == NUM_PAGES_TO_ALLOC) count(C_POOL_REFILLS);
  return got;
}

/**
 * ttm_get_pages(…, 1) as __ttm_tt_get_page calls it (2.6.37): the pfn, or < 0 when it fails.
 * Cached: ttm_get_pool has no pool, one alloc_page (GFP_DMA32 for a 32-bit device), no caching
 * change. wc/uc: ttm_page_pool_fill_locked fills only when count (1) < small and count > npages,
 * i.e. when the pool is empty; ttm_page_pool_get_pages then takes the head.
 */
function ttm_get_page(base: i32, caching: i32): i32 {
  const p = ttm_pool_of(base, caching);
  if (p < 0) return tt_alloc_page(device_dma32(), exchange_bits_of(base));
  if (pool_count(p) == 0 && ttm_page_pool_fill(p, base) < NUM_PAGES_TO_ALLOC) return ttm_get_page_unfilled(p, base);
  return pool_take_head(p);
}

/**
 * After a failed fill (2.6.37): the fill spliced the pages it got onto the pool but added the
 * length the pool list had before the splice (0), so ttm_page_pool_get_pages (count 1 >= npages 0)
 * moves the whole list to the caller and ttm_get_pages allocates the page itself
 * (ttm_alloc_new_pages, one caching change). If that fails too, ttm_put_pages(list, 0) counts the
 * list and splices it back onto the head, then the cap; if it succeeds, the new page is the
 * list's first entry, which __ttm_tt_get_page keeps, and the pages before it are lost.
 */
function ttm_get_page_unfilled(p: i32, base: i32): i32 {
  const pfn = tt_alloc_page(device_dma32(), exchange_bits_of(base));
  if (pfn < 0) {
    ttm_pool_cap(p);
    return pfn;
  }
  caching_change(1);
  list_init(pd(p));
  return pfn;
}

/**
 * ttm_get_pages for a populate of `n` pages of one caching state, appended in order to the page
 * list `l` (ttm_page.ts). 2010: ttm_tt_populate → __ttm_tt_get_page, one page per index in
 * index order. Returns the pages obtained (n on success).
 */
export function ttm_get_pages(l: usize, base: i32, caching: i32, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const pfn = ttm_get_page(base, caching);
    if (pfn < 0) return i;
    list_append(l, pfn);
  }
  return n;
}

/**
 * ttm_tt_free_alloced_pages → one ttm_put_pages for the tt's page list `l`, which it empties.
 * 2010: the list is built with list_add, so in reverse index order: cached pages are
 * __free_page'd in that order; wc/uc pages are spliced onto the pool's head (the tt's last page
 * becomes the head), then the cap.
 */
export function ttm_put_pages(l: usize, base: i32, caching: i32): void {
  const p = ttm_pool_of(base, caching);
  let pfn = p < 0 ? chain_reverse(list_head(l)) : list_head(l);
  while (pfn >= 0) {
    const next = page_next(pfn);
    set_page_next(pfn, -1);
    if (p < 0) tt_free_page(pfn);
    else {
      forget_pages(pfn, 1);
      clear_page_dma(pfn); // the next tt starts with no mapping (T11)
      pool_push_head(p, pfn);
    }
    pfn = next;
  }
  list_init(l);
  if (p >= 0) ttm_pool_cap(p);
}

/** ttm_put_pages' cap: a pool above it frees max(excess, NUM_PAGES_TO_ALLOC) pages from the tail. */
function ttm_pool_cap(p: i32): void {
  const excess = pool_count(p) - pool_max();
  if (excess > 0) ttm_page_pool_free(p, max(excess, NUM_PAGES_TO_ALLOC));
}

/**
 * ttm_page_pool_free: n pages off the tail (oldest first), in batches of NUM_PAGES_TO_ALLOC, each
 * batch one set_pages_array_wb (counted by caching_change) and then __free_page tail first.
 */
export function ttm_page_pool_free(p: i32, n: i32): void {
  let pfn = pool_cut_tail(p, n);
  let freed = 0;
  for (let q = pfn; q >= 0; q = page_next(q)) freed++;
  caching_change(freed);
  while (pfn >= 0) {
    const next = page_next(pfn);
    set_page_next(pfn, -1);
    tt_free_page(pfn);
    pfn = next;
  }
}
