// The TTM DMA pool of drivers/gpu/drm/ttm/ttm_page_alloc_dma.c (twin of
// assembly/drm/ttm_page_alloc_dma.ts; 2011, fix 1): per device and caching state, pages that come
// from dma_alloc_coherent one at a time, so every page keeps a coherent handle the device can use
// directly. Refills are small (4 pages); pages in use are tracked; the pool is capped like
// ttm_page_alloc's. ENGINE.md §11 and §15 T5, T7, T8.
import { Caching, PAGE_SIZE, TTM_DMA_POOL_SMALL } from '../../engine/abi.js';
import { coherentAllocBlock, coherentFreeBlock } from '../dma/coherent.js';
import type { DmaState } from '../dma/mapping.js';
import { cachingChange, shrinkIfOver, type PoolState } from './ttmPageAlloc.js';
import type { PageArray, PageDeque } from './ttmPage.js';

/** One page from dma_alloc_coherent, its handle and exchange remembered (T8), or null. */
export function ttmDmaAllocPage(s: DmaState): { pfn: number; handle: number; exchanged: boolean } | null {
  const block = coherentAllocBlock(s, 0, false, PAGE_SIZE);
  return block && { pfn: block.pfn, handle: block.handle, exchanged: block.exchanged >= 0 };
}

/** The device's internal dma_free_coherent of one page (no dma-debug entry to check: T8). */
export function ttmDmaFreePage(s: DmaState, pfn: number, handle: number, exchanged: boolean): void {
  coherentFreeBlock(s, { pfn, handle, exchanged: exchanged ? 0 : -1 }, 0, false, PAGE_SIZE);
}

/** ttm_dma_populate (T5). False when a take finds the pool empty even after a refill. */
export function ttmDmaGetPages(s: PoolState, tt: PageArray): boolean {
  const pools = s.ttmPools;
  const pool = pools.dma[tt.caching]!;
  for (let i = 0; i < tt.pages; i++) {
    if (pool.size === 0) refill(s, pool, tt.caching);
    if (pool.size === 0) return false;
    const pfn = pool.popHead();
    tt.addPage(pfn, pool.poppedHandle, pool.poppedExchanged);
    pools.dmaInUse++;
    s.counters.ttmDmaPeakInUse = Math.max(s.counters.ttmDmaPeakInUse, pools.dmaInUse);
  }
  return true;
}

/** ttm_dma_page_pool_fill_locked: up to 4 coherent pages, the last allocated at the head. */
function refill(s: PoolState, pool: PageDeque, caching: number): void {
  let got = 0;
  for (; got < TTM_DMA_POOL_SMALL; got++) {
    const page = ttmDmaAllocPage(s);
    if (!page) break;
    pool.pushHead(page.pfn, page.handle, page.exchanged);
  }
  if (caching !== Caching.cached) cachingChange(s, got);
  if (got === TTM_DMA_POOL_SMALL) s.counters.poolRefills++;
}

/** ttm_dma_unpopulate (T7): pages back to the pool's tail, then the cap (dma_free_coherent each). */
export function ttmDmaPutPages(s: PoolState, tt: PageArray): void {
  const pools = s.ttmPools;
  const pool = pools.dma[tt.caching]!;
  for (let i = 0; i < tt.count; i++) {
    s.expected.clearPages(tt.pfn[i]!, 1);
    pool.pushTail(tt.pfn[i]!, tt.cohOf(i), tt.isExchanged(i));
  }
  pools.dmaInUse -= tt.count;
  shrinkIfOver(s, pool, tt.caching !== Caching.cached, (pfn, handle, exchanged) => ttmDmaFreePage(s, pfn, handle, exchanged));
}
