// The TTM DMA pool of drivers/gpu/drm/ttm/ttm_page_alloc_dma.c (twin of
// assembly/drm/ttm_page_alloc_dma.ts; fix 1 of the RFC): per device and caching state, pages that
// come from dma_alloc_coherent one at a time, so every page keeps a coherent handle the device can
// use directly. `2010` follows its first release, Linux 3.3: the pool is topped up by `small` (4)
// whenever fewer than 4 are free, cached pages are freed at unpopulate, wc/uc pages go back to
// the head and as many of the oldest leave. `modern` is 6.12's ttm_pool.c with DMA allocation
// (ttmPool.ts). ENGINE.md §11 and §15 T5, T7, T8.
import { Caching, NUM_PAGES_TO_ALLOC, PAGE_SIZE, TTM_DMA_POOL_SMALL } from '../../engine/abi.js';
import { coherentAllocBlock, coherentFreeBlock } from '../dma/coherent.js';
import type { DmaState } from '../dma/mapping.js';
import { cachingChange, freeFromTail, poolMax, type PoolState } from './ttmPageAlloc.js';
import type { PageArray, PageDeque } from './ttmPage.js';

/** __ttm_dma_alloc_page: one page from dma_alloc_coherent, its handle and exchange remembered, or null.
 * The GPU's pages are dma-debug entries; an AGP tt's (kind 4, the bridge's) are not (T8). */
export function ttmDmaAllocPage(s: DmaState, tracked: boolean): { pfn: number; handle: number; exchanged: boolean } | null {
  const block = coherentAllocBlock(s, 0, tracked, PAGE_SIZE);
  return block && { pfn: block.pfn, handle: block.handle, exchanged: block.exchanged >= 0 };
}

/** __ttm_dma_free_page: dma_free_coherent of one page, its dma-debug entry checked when it has one (T8). */
export function ttmDmaFreePage(s: DmaState, pfn: number, handle: number, exchanged: boolean, tracked: boolean): void {
  coherentFreeBlock(s, { pfn, handle, exchanged: exchanged ? 0 : -1 }, 0, tracked, PAGE_SIZE);
}

/** A page enters the tt: pages in use, and their peak. */
function take(s: PoolState, tt: PageArray, pool: PageDeque): void {
  const pfn = pool.popHead();
  tt.addPage(pfn, pool.poppedHandle, pool.poppedExchanged);
  s.ttmPools.dmaInUse++;
  s.counters.ttmDmaPeakInUse = Math.max(s.counters.ttmDmaPeakInUse, s.ttmPools.dmaInUse);
}

/**
 * ttm_dma_populate (T5). 2010 (3.3): one ttm_dma_pool_get_pages per index; on a failure
 * ttm_dma_unpopulate gives back what the tt got, so a failed tt holds nothing.
 */
export function ttmDmaGetPages(s: PoolState, tt: PageArray): boolean {
  const pool = s.ttmPools.dma[tt.caching]!;
  for (let i = 0; i < tt.pages; i++) {
    // ttm_dma_page_pool_fill_locked: a refill when fewer than `small` are free; what it returns
    // decides (the pages free, or the pages the refill got), then the head is taken.
    const avail = pool.size < TTM_DMA_POOL_SMALL ? fill(s, pool, tt.caching) : pool.size;
    if (avail === 0) {
      ttmDmaPutPages(s, tt);
      tt.clear();
      return false;
    }
    take(s, tt, pool);
  }
  return true;
}

/**
 * ttm_dma_page_pool_fill_locked → ttm_dma_pool_alloc_new_pages (3.3): `small` pages, each its own
 * dma_alloc_coherent, list_add'ed (newest first), one set_pages_array_wc/uc for the pages got
 * (none for a cached pool). All got: spliced onto the head, nrefills, returns `small`. Short: the
 * pages got are spliced onto the tail (still newest first) and their number is returned.
 */
function fill(s: PoolState, pool: PageDeque, caching: number): number {
  const got: { pfn: number; handle: number; exchanged: boolean }[] = [];
  while (got.length < TTM_DMA_POOL_SMALL) {
    const page = ttmDmaAllocPage(s, true);
    if (!page) break;
    got.push(page);
  }
  if (caching !== Caching.cached) cachingChange(s, got.length);
  if (got.length === TTM_DMA_POOL_SMALL) {
    for (const p of got) pool.pushHead(p.pfn, p.handle, p.exchanged);
    s.counters.poolRefills++;
  } else {
    for (const p of got.reverse()) pool.pushTail(p.pfn, p.handle, p.exchanged);
  }
  return got.length;
}

/**
 * ttm_dma_unpopulate (T7). 2010 (3.3): cached pages are ttm_dma_page_put one by one in tt order
 * (no caching change: the cached-pool guard; dma_free_coherent), never pooled. wc/uc pages are
 * spliced onto the head in tt order; then ttm_dma_page_pool_free frees as many as came back (the
 * 3.3 quirk: the oldest leave), or max(excess, 512) when the pool is above its cap.
 */
export function ttmDmaPutPages(s: PoolState, tt: PageArray): void {
  const pools = s.ttmPools;
  const pool = pools.dma[tt.caching]!;
  const cached = tt.caching === Caching.cached;
  const free = (pfn: number, handle: number, exchanged: boolean) => ttmDmaFreePage(s, pfn, handle, exchanged, true);
  pools.dmaInUse -= tt.count;
  if (cached) {
    for (let i = 0; i < tt.count; i++) free(tt.pfn[i]!, tt.cohOf(i), tt.isExchanged(i));
    return;
  }
  for (let i = tt.count - 1; i >= 0; i--) {
    s.expected.clearPages(tt.pfn[i]!, 1);
    pool.pushHead(tt.pfn[i]!, tt.cohOf(i), tt.isExchanged(i));
  }
  const max = poolMax(s);
  const n = pool.size > max ? Math.max(pool.size - max, NUM_PAGES_TO_ALLOC) : tt.count;
  freeFromTail(s, pool, n, true, free, true);
}

/** ttm_dma_page_alloc_fini's drain of one pool (T20): every page, batches from the tail. */
export function ttmDmaPoolDrain(s: PoolState, pool: PageDeque, caching: number): void {
  const free = (pfn: number, handle: number, exchanged: boolean) => ttmDmaFreePage(s, pfn, handle, exchanged, true);
  freeFromTail(s, pool, pool.size, caching !== Caching.cached, free, true);
}
