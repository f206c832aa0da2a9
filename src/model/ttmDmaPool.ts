// The TTM DMA pool of drivers/gpu/drm/ttm/ttm_page_alloc_dma.c (2011, fix 1): per device and
// caching state, pages that come from dma_alloc_coherent one at a time, so every page keeps a
// coherent handle the device can use directly. Refills are small (4 pages); pages in use are
// tracked; the pool is capped like ttm_page_alloc's. ENGINE.md §11 and §15 T5, T7, T8.
import { Caching } from '../engine/abi.js';
import { coherentBlock, freeCoherentBlock } from './coherent.js';
import type { Model } from './model.js';
import type { Tt } from './tt.js';
import { cachingChange, shrinkIfOver, type PageDeque } from './ttmPool.js';

/** Pages a dma pool refill allocates (the 2011 pool's `small`). */
export const DMA_POOL_REFILL = 4;

/** Kind 1 populate (T5). False when a take finds the pool empty even after a refill. */
export function ttmDmaPopulate(model: Model, tt: Tt): boolean {
  const pools = model.ttmPools;
  const pool = pools.dma[tt.caching];
  for (let i = 0; i < tt.pages; i++) {
    if (pool.size === 0) refill(model, pool, tt.caching);
    if (pool.size === 0) return false;
    const pfn = pool.popHead();
    tt.addPage(pfn, pool.poppedHandle, pool.poppedExchanged);
    pools.dmaInUse++;
    model.counters.ttmDmaPeakInUse = Math.max(model.counters.ttmDmaPeakInUse, pools.dmaInUse);
  }
  return true;
}

/** ttm_dma_page_pool_fill_locked: up to 4 coherent pages, the last allocated at the head. */
function refill(model: Model, pool: PageDeque, caching: number): void {
  let got = 0;
  for (; got < DMA_POOL_REFILL; got++) {
    const block = coherentBlock(model, 0);
    if (!block) break;
    pool.pushHead(block.pfn, block.handle, block.exchanged);
  }
  if (caching !== Caching.cached) cachingChange(model, got);
  if (got === DMA_POOL_REFILL) model.counters.poolRefills++;
}

/** Kind 1 unpopulate (T7): pages back to the pool's tail, then the cap (dma_free_coherent each). */
export function ttmDmaUnpopulate(model: Model, tt: Tt): void {
  const pools = model.ttmPools;
  const pool = pools.dma[tt.caching];
  for (let i = 0; i < tt.count; i++) pool.pushTail(tt.pfn[i], tt.coh![i], tt.isExchanged(i));
  pools.dmaInUse -= tt.count;
  shrinkIfOver(model, pool, tt.caching !== Caching.cached, (pfn, handle, exchanged) => freeDmaPage(model, pfn, handle, exchanged));
}

/** dma_free_coherent of one pool page (T8). */
export function freeDmaPage(model: Model, pfn: number, handle: number, exchanged: boolean): void {
  freeCoherentBlock(model, { pfn, handle, exchanged }, 0);
}
