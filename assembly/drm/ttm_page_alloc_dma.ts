// drivers/gpu/drm/ttm/ttm_page_alloc_dma.c (fix 1 of the RFC; `2010` follows its first release,
// Linux 3.3): per-device pools, one per caching state, of pages that came from dma_alloc_coherent
// one at a time and keep their coherent handle for the GART. Before each page the pool is topped
// up by `small` (4) pages whenever fewer than 4 are free; cached pages are freed at unpopulate,
// wc/uc pages go back to the head and as many of the oldest leave from the tail. `modern` is
// 6.12's ttm_pool.c with DMA allocation (ttm_pool.ts). Different: the handle
// travels with the pfn (ttm_page.ts), so a page back from a tt needs no new mapping.

import { CACHING_CACHED, POOL_ID_DMA, PAGE_SIZE, TTM_DMA_POOL_SMALL, NUM_PAGES_TO_ALLOC, C_POOL_REFILLS,
  C_TTM_DMA_PEAK_IN_USE } from '../abi';
import { OUT_SCRATCH_PTR } from '../layout';
import { count, counter } from '../sim/counters';
import { forget_pages } from '../sim/stamps';
import { coherent_alloc_block, coherent_free_block, COH_HANDLE, COH_EXCH } from '../dma/coherent';
import { pool_count, pool_caching, pool_push_tail, pool_push_head, pool_take_head, pool_cut_tail,
  pool_max, caching_change } from './ttm_page_alloc';
import { page_next, set_page_next, page_exchanged, set_page_exchanged, page_reset, set_page_coh, page_coh,
  clear_page_dma, list_init, list_head, list_len, list_append, chain_reverse } from './ttm_page';

let pages_in_use: i32 = 0;

@inline function dma_pool_of(caching: i32): i32 { return POOL_ID_DMA + caching; }

/** __ttm_dma_alloc_page: one page from dma_alloc_coherent, its handle and exchange remembered; -1 on
 * failure. The GPU's pages are dma-debug entries; an AGP tt's (kind 4, the bridge's) are not (T8). */
export function ttm_dma_alloc_page(tracked: bool): i32 {
  const pfn = coherent_alloc_block(0, tracked, PAGE_SIZE, OUT_SCRATCH_PTR);
  if (pfn < 0) return -1;
  page_reset(pfn);
  set_page_coh(pfn, load<u64>(OUT_SCRATCH_PTR, COH_HANDLE));
  if (load<i32>(OUT_SCRATCH_PTR, COH_EXCH) >= 0) set_page_exchanged(pfn);
  return pfn;
}

/** __ttm_dma_free_page: dma_free_coherent of one page, its dma-debug entry checked when it has one (T8). */
export function ttm_dma_free_page(pfn: i32, tracked: bool): void {
  const exch = page_exchanged(pfn) ? 0 : -1;
  const handle = page_coh(pfn);
  page_reset(pfn);
  coherent_free_block(pfn, 0, handle, exch, PAGE_SIZE, tracked);
}

/** A page enters the tt's list: pages in use, and their peak. */
function take(l: usize, pfn: i32): void {
  list_append(l, pfn);
  pages_in_use++;
  if (<i64>pages_in_use > counter(C_TTM_DMA_PEAK_IN_USE)) count(C_TTM_DMA_PEAK_IN_USE, <i64>pages_in_use - counter(C_TTM_DMA_PEAK_IN_USE));
}

/**
 * ttm_dma_populate: `n` pages appended to the tt's list `l`; returns the pages got (n on
 * success). 2010 (3.3): one ttm_dma_pool_get_pages per index; on a failure ttm_dma_unpopulate
 * gives back what the tt got, so a failed tt holds nothing (0 is returned).
 */
export function ttm_dma_get_pages(l: usize, caching: i32, n: i32): i32 {
  const p = dma_pool_of(caching);
  for (let i = 0; i < n; i++) {
    // ttm_dma_page_pool_fill_locked: a refill when fewer than `small` are free; what it returns
    // decides (the pages free, or the pages the refill got), then the head is taken.
    let avail = pool_count(p);
    if (avail < TTM_DMA_POOL_SMALL) avail = ttm_dma_page_pool_fill(p, caching);
    if (avail == 0) {
      ttm_dma_unpopulate(l, caching);
      return 0;
    }
    take(l, pool_take_head(p));
  }
  return n;
}

/**
 * ttm_dma_page_pool_fill_locked → ttm_dma_pool_alloc_new_pages (3.3): `small` pages, each its
 * own dma_alloc_coherent, list_add'ed (newest first), one set_pages_array_wc/uc for the pages got
 * (none for a cached pool). All got: spliced onto the head, nrefills, returns `small`. Short: the
 * pages got are spliced onto the tail (still newest first) and their number is returned.
 */
function ttm_dma_page_pool_fill(p: i32, caching: i32): i32 {
  let chain = -1;
  let got = 0;
  while (got < TTM_DMA_POOL_SMALL) {
    const pfn = ttm_dma_alloc_page(true);
    if (pfn < 0) break;
    set_page_next(pfn, chain);
    chain = pfn;
    got++;
  }
  if (caching != CACHING_CACHED) caching_change(got);
  if (got == TTM_DMA_POOL_SMALL) {
    // list_splice onto the head: pushing the chain's pages oldest first leaves the newest at the head
    chain = chain_reverse(chain);
    while (chain >= 0) { const next = page_next(chain); pool_push_head(p, chain); chain = next; }
    count(C_POOL_REFILLS);
  } else {
    while (chain >= 0) { const next = page_next(chain); pool_push_tail(p, chain); chain = next; }
  }
  return got;
}

/**
 * ttm_dma_unpopulate for the tt's list `l`, which it empties; pages in use fall by its length.
 * 2010 (3.3): cached pages are ttm_dma_page_put one by one in tt order (no caching change: the
 * cached-pool guard; dma_free_coherent), never pooled. wc/uc pages are spliced onto the head in
 * tt order; then ttm_dma_page_pool_free frees as many pages as came back (the 3.3 quirk: the
 * oldest leave), or max(excess, NUM_PAGES_TO_ALLOC) when the pool is above its cap.
 */
export function ttm_dma_unpopulate(l: usize, caching: i32): void {
  const p = dma_pool_of(caching);
  const n = list_len(l);
  pages_in_use -= n;
  let pfn = caching != CACHING_CACHED ? chain_reverse(list_head(l)) : list_head(l);
  while (pfn >= 0) {
    const next = page_next(pfn);
    set_page_next(pfn, -1);
    forget_pages(pfn, 1);
    clear_page_dma(pfn);
    if (caching == CACHING_CACHED) ttm_dma_free_page(pfn, true);
    else pool_push_head(p, pfn);
    pfn = next;
  }
  list_init(l);
  const excess = pool_count(p) - pool_max();
  if (caching == CACHING_CACHED) return;
  const nfree = excess > 0 ? max(excess, NUM_PAGES_TO_ALLOC) : n;
  if (nfree > 0) ttm_dma_page_pool_free(p, nfree);
}

/**
 * ttm_dma_page_pool_free: n pages off the tail (oldest first), in batches of NUM_PAGES_TO_ALLOC,
 * each batch one set_pages_array_wb unless the pool is cached, then dma_free_coherent. 2010
 * (3.3): a batch is list_move'd page by page to a local list's head, so it is freed in pool
 * order (the page nearest the head first).
 */
export function ttm_dma_page_pool_free(p: i32, n: i32): void {
  while (n > 0 && pool_count(p) > 0) {
    const batch = min(n, NUM_PAGES_TO_ALLOC);
    let pfn = pool_cut_tail(p, batch);
    let freed = 0;
    for (let q = pfn; q >= 0; q = page_next(q)) freed++;
    if (pool_caching(p) != CACHING_CACHED) caching_change(freed);
    pfn = chain_reverse(pfn);
    while (pfn >= 0) {
      const next = page_next(pfn);
      set_page_next(pfn, -1);
      ttm_dma_free_page(pfn, true);
      pfn = next;
    }
    n -= batch;
  }
}
