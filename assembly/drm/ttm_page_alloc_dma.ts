// drivers/gpu/drm/ttm/ttm_page_alloc_dma.c (2011, fix 1 of the RFC): per-device pools, one per
// caching state, of pages that came from dma_alloc_coherent one at a time and keep their coherent
// handle for the GART; refilled 4 (`small`) at a time, pages in use tracked. Different: the
// handle travels with the pfn (ttm_page.ts), so a page back from a tt needs no new mapping.

import { CACHING_CACHED, POOL_ID_DMA, PAGE_SIZE, TTM_DMA_POOL_SMALL, NUM_PAGES_TO_ALLOC, C_POOL_REFILLS,
  C_TTM_DMA_PEAK_IN_USE } from '../abi';
import { OUT_SCRATCH_PTR } from '../layout';
import { count, counter } from '../sim/counters';
import { forget_pages } from '../sim/stamps';
import { coherent_alloc_block, coherent_free_block, COH_HANDLE, COH_EXCH } from '../dma/coherent';
import { pool_count, pool_caching, pool_push_tail, pool_push_head, pool_take_head, pool_cut_tail,
  pool_max, caching_change } from './ttm_page_alloc';
import { page_next, set_page_next, page_exchanged, set_page_exchanged, page_reset, set_page_coh, page_coh,
  clear_page_dma, list_append } from './ttm_page';

let pages_in_use: i32 = 0;

@inline function dma_pool_of(caching: i32): i32 { return POOL_ID_DMA + caching; }

/** One page from dma_alloc_coherent, its handle and exchange remembered; -1 on failure. */
export function ttm_dma_alloc_page(): i32 {
  const pfn = coherent_alloc_block(0, false, PAGE_SIZE, OUT_SCRATCH_PTR);
  if (pfn < 0) return -1;
  page_reset(pfn);
  set_page_coh(pfn, load<u64>(OUT_SCRATCH_PTR, COH_HANDLE));
  if (load<i32>(OUT_SCRATCH_PTR, COH_EXCH) >= 0) set_page_exchanged(pfn);
  return pfn;
}

/** The device's internal dma_free_coherent of one page (no dma-debug entry to check: T8). */
export function ttm_dma_free_page(pfn: i32): void {
  const exch = page_exchanged(pfn) ? 0 : -1;
  const handle = page_coh(pfn);
  page_reset(pfn);
  coherent_free_block(pfn, 0, handle, exch, PAGE_SIZE, false);
}

// ttm_dma_page_pool_fill_locked: `small` pages, one caching change for the batch.
function ttm_dma_pool_refill(p: i32, caching: i32): void {
  let got = 0;
  for (let i = 0; i < TTM_DMA_POOL_SMALL; i++) {
    const pfn = ttm_dma_alloc_page();
    if (pfn < 0) break;
    pool_push_head(p, pfn);
    got++;
  }
  if (caching != CACHING_CACHED) caching_change(got);
  if (got == TTM_DMA_POOL_SMALL) count(C_POOL_REFILLS);
}

/** ttm_dma_populate: every page from the pool, refilled whenever it is empty. Returns pages got. */
export function ttm_dma_get_pages(l: usize, caching: i32, n: i32): i32 {
  const p = dma_pool_of(caching);
  let got = 0;
  for (let i = 0; i < n; i++) {
    if (pool_count(p) == 0) ttm_dma_pool_refill(p, caching);
    const pfn = pool_take_head(p);
    if (pfn < 0) break;
    list_append(l, pfn);
    got++;
    pages_in_use++;
    if (<i64>pages_in_use > counter(C_TTM_DMA_PEAK_IN_USE)) count(C_TTM_DMA_PEAK_IN_USE, <i64>pages_in_use - counter(C_TTM_DMA_PEAK_IN_USE));
  }
  return got;
}

/** ttm_dma_unpopulate, one page: back to its pool's tail. */
export function ttm_dma_put_page(caching: i32, pfn: i32): void {
  forget_pages(pfn, 1);
  clear_page_dma(pfn);
  pool_push_tail(dma_pool_of(caching), pfn);
  pages_in_use--;
}

/** Above the cap, the excess (at least NUM_PAGES_TO_ALLOC) leaves from the tail. */
export function ttm_dma_pool_shrink(caching: i32): void {
  const p = dma_pool_of(caching);
  const excess = pool_count(p) - pool_max();
  if (excess <= 0) return;
  ttm_dma_page_pool_free(p, max(excess, NUM_PAGES_TO_ALLOC));
}

/** ttm_dma_page_pool_free: n pages off the tail, back to wb when they were not, dma_free_coherent. */
export function ttm_dma_page_pool_free(p: i32, n: i32): void {
  let pfn = pool_cut_tail(p, n);
  let freed = 0;
  for (let q = pfn; q >= 0; q = page_next(q)) freed++;
  if (pool_caching(p) != CACHING_CACHED) caching_change(freed);
  while (pfn >= 0) {
    const next = page_next(pfn);
    set_page_next(pfn, -1);
    ttm_dma_free_page(pfn);
    pfn = next;
  }
}

@inline export function ttm_dma_pages_in_use(): i32 { return pages_in_use; }
