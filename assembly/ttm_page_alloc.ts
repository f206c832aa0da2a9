// drivers/gpu/drm/ttm/ttm_page_alloc.c (2010): four global pools {wc, uc} x {normal, dma32} of
// order-0 pages whose caching was already changed, refilled NUM_PAGES_TO_ALLOC at a time for small
// requests and capped at half the kernel zone. Fix 3 of the RFC (the xen-aware allocator) is the
// same code with an order-0 XENMEM_exchange for every page it takes from the buddy. Different:
// the pools are pfn lists threaded through ttm_page.ts, so a pool costs nothing but its 16 bytes.

import { CACHING_CACHED, CACHING_WC, PLATFORM_XEN_PV, PAGE_SHIFT, PAGE_SIZE, NUM_PAGES_TO_ALLOC,
  TTM_POOL_SMALL, C_CACHING_CHANGE_CALLS, C_CACHING_CHANGE_PAGES, C_POOL_REFILLS, C_PAGES_ALLOCATED } from './abi';
import { POOLS_PTR, POOL_DESC_BYTES, ram_pages, mask_bits, dma_mask, platform } from './layout';
import { count } from './counters';
import { alloc_block, free_block } from './alloc';
import { forget_pages } from './stamps';
import { pfn_to_mfn, xen_create_contiguous_region, xen_destroy_contiguous_region } from './p2m';
import { page_next, set_page_next, page_exchanged, set_page_exchanged, page_reset, clear_page_dma, list_append } from './ttm_page';

// Pool descriptor (POOL_DESC_BYTES): +0 head pfn, +4 tail pfn (-1 = empty), +8 count, +12 caching.
// Pool ids: ttm 0..3 and xen-aware 4..7 as base + (caching - 1) * 2 + dma32; ttm dma 8 + caching.
@inline export const POOL_ID_TTM: i32 = 0;
@inline export const POOL_ID_XEN_AWARE: i32 = 4;
@inline export const POOL_ID_DMA: i32 = 8;
@inline export const POOL_ID_END: i32 = 11;

@inline function pd(p: i32): usize { return POOLS_PTR + <usize>(p * POOL_DESC_BYTES); }
@inline export function pool_count(p: i32): i32 { return load<i32>(pd(p), 8); }
@inline export function pool_caching(p: i32): i32 { return load<i32>(pd(p), 12); }

export function ttm_pools_init(): void {
  for (let p = 0; p < POOL_ID_END; p++) {
    const d = pd(p);
    store<i32>(d, -1); store<i32>(d, -1, 4); store<i32>(d, 0, 8);
    store<i32>(d, p >= POOL_ID_DMA ? p - POOL_ID_DMA : CACHING_WC + (((p & 3) >> 1)), 12);
  }
}

/** Half of the kernel zone, which is half of RAM: the cap every pool shrinks back to. */
@inline export function pool_max(): i32 { return ram_pages >> 2; }

/** The device's GFP_DMA32 decision: a 32-bit mask takes the dma32 pools. */
@inline export function device_dma32(): bool { return mask_bits <= 32; }

/** ttm_get_pool for the 2010 allocator (base POOL_ID_TTM) or the xen-aware one; -1 for cached. */
export function ttm_pool_of(base: i32, caching: i32): i32 {
  if (caching == CACHING_CACHED) return -1;
  return base + (caching - CACHING_WC) * 2 + (device_dma32() ? 1 : 0);
}

export function pool_push_tail(p: i32, pfn: i32): void {
  const d = pd(p);
  set_page_next(pfn, -1);
  const tail = load<i32>(d, 4);
  if (tail < 0) store<i32>(d, pfn); else set_page_next(tail, pfn);
  store<i32>(d, pfn, 4);
  store<i32>(d, load<i32>(d, 8) + 1, 8);
}

/** list_add: the page becomes the pool's head (a refill leaves its last page first). */
export function pool_push_head(p: i32, pfn: i32): void {
  const d = pd(p);
  const head = load<i32>(d);
  set_page_next(pfn, head);
  store<i32>(d, pfn);
  if (head < 0) store<i32>(d, pfn, 4);
  store<i32>(d, load<i32>(d, 8) + 1, 8);
}

export function pool_take_head(p: i32): i32 {
  const d = pd(p);
  const pfn = load<i32>(d);
  if (pfn < 0) return -1;
  const next = page_next(pfn);
  store<i32>(d, next);
  if (next < 0) store<i32>(d, -1, 4);
  store<i32>(d, load<i32>(d, 8) - 1, 8);
  set_page_next(pfn, -1);
  return pfn;
}

/**
 * Unlinks the last n pages and returns them as a list in the order the kernel frees them: from
 * the tail backwards (ttm_page_pool_free walks the list in reverse).
 */
export function pool_cut_tail(p: i32, n: i32): i32 {
  const d = pd(p);
  const have = load<i32>(d, 8);
  if (n > have) n = have;
  if (n <= 0) return -1;
  let first: i32;
  if (n == have) {
    first = load<i32>(d);
    store<i32>(d, -1); store<i32>(d, -1, 4);
  } else {
    let keep = load<i32>(d);
    for (let i = 1; i < have - n; i++) keep = page_next(keep);
    first = page_next(keep);
    set_page_next(keep, -1);
    store<i32>(d, keep, 4);
  }
  store<i32>(d, have - n, 8);
  let rev = -1;
  while (first >= 0) {
    const next = page_next(first);
    set_page_next(first, rev);
    rev = first;
    first = next;
  }
  return rev;
}

/** set_pages_array_{wc,uc,wb}: one costly call per batch of at most NUM_PAGES_TO_ALLOC pages. */
@inline export function caching_change(pages: i32): void {
  if (pages <= 0) return;
  count(C_CACHING_CHANGE_CALLS, (pages + NUM_PAGES_TO_ALLOC - 1) / NUM_PAGES_TO_ALLOC);
  count(C_CACHING_CHANGE_PAGES, pages);
}

/** Does the page's machine frame sit above the mask (xen-pv only)? */
@inline export function page_above_mask(pfn: i32, mask: u64): bool {
  return platform == PLATFORM_XEN_PV && (<u64>pfn_to_mfn(pfn) << PAGE_SHIFT) + <u64>(PAGE_SIZE - 1) > mask;
}

/**
 * alloc_page for a tt allocator: order 0 from the zone, and with `exchange_bits` > 0 on xen-pv
 * an order-0 xen_create_contiguous_region when the frame is above that many bits. A failed
 * exchange gives the page back. Returns the pfn or -1; `tt_alloc_exchange_failed` tells why.
 */
export let tt_alloc_exchange_failed = false;
export function tt_alloc_page(dma32_only: bool, exchange_bits: i32): i32 {
  tt_alloc_exchange_failed = false;
  const pfn = alloc_block(0, dma32_only);
  if (pfn < 0) return -1;
  count(C_PAGES_ALLOCATED);
  page_reset(pfn);
  if (exchange_bits > 0 && platform == PLATFORM_XEN_PV) {
    const mask = exchange_bits >= 64 ? u64.MAX_VALUE : (<u64>1 << <u64>exchange_bits) - 1;
    if (page_above_mask(pfn, mask)) {
      if (!xen_create_contiguous_region(pfn, 0, exchange_bits, true)) {
        free_block(pfn, 0);
        tt_alloc_exchange_failed = true;
        return -1;
      }
      set_page_exchanged(pfn);
    }
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

// ttm_page_pool_fill_locked: up to NUM_PAGES_TO_ALLOC new pages, each list_add'ed (the last one
// allocated ends up at the head), one caching change for the batch; a refill counts when whole.
// Returns false when an exchange failed (the populate then fails).
function ttm_pool_refill(p: i32, base: i32): bool {
  let got = 0;
  let ok = true;
  for (let i = 0; i < NUM_PAGES_TO_ALLOC; i++) {
    const pfn = tt_alloc_page(device_dma32(), exchange_bits_of(base));
    if (pfn < 0) { ok = !tt_alloc_exchange_failed; break; }
    pool_push_head(p, pfn);
    got++;
  }
  caching_change(got);
  if (got == NUM_PAGES_TO_ALLOC) count(C_POOL_REFILLS);
  return ok;
}

/**
 * ttm_get_pages for `n` pages of one caching state, appended in order to the list being built
 * (ttm_page.ts). Returns the pages obtained (n on success).
 */
export function ttm_get_pages(base: i32, caching: i32, n: i32): i32 {
  const p = ttm_pool_of(base, caching);
  let direct_run = 0;
  let got = 0;
  for (let i = 0; i < n; i++) {
    let pfn = -1;
    if (p >= 0) {
      if (pool_count(p) == 0 && n - i < TTM_POOL_SMALL) {
        caching_change(direct_run); // a refill ends a run of direct pages
        direct_run = 0;
        if (!ttm_pool_refill(p, base)) break;
      }
      pfn = pool_take_head(p);
    }
    if (pfn >= 0) {
      caching_change(direct_run);
      direct_run = 0;
    } else {
      pfn = tt_alloc_page(device_dma32(), exchange_bits_of(base));
      if (pfn < 0) break;
      if (caching != CACHING_CACHED && ++direct_run == NUM_PAGES_TO_ALLOC) {
        caching_change(direct_run);
        direct_run = 0;
      }
    }
    list_append(pfn);
    got++;
  }
  caching_change(direct_run);
  return got;
}

/** ttm_put_pages: cached pages are freed, the rest go to their pool's tail; then the cap. */
export function ttm_put_page(base: i32, caching: i32, pfn: i32): void {
  const p = ttm_pool_of(base, caching);
  if (p < 0) { tt_free_page(pfn); return; }
  forget_pages(pfn, 1);
  clear_page_dma(pfn); // the next tt starts with no mapping (T11)
  pool_push_tail(p, pfn);
}

/** After a put: a pool above its cap frees max(excess, NUM_PAGES_TO_ALLOC) pages from the tail. */
export function ttm_pool_shrink(base: i32, caching: i32): void {
  const p = ttm_pool_of(base, caching);
  if (p < 0) return;
  const excess = pool_count(p) - pool_max();
  if (excess <= 0) return;
  ttm_page_pool_free(p, max(excess, NUM_PAGES_TO_ALLOC));
}

/** ttm_page_pool_free: n pages off the tail, one change back to wb, then to the buddy. */
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
