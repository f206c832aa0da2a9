// The TTM page pool of drivers/gpu/drm/ttm/ttm_page_alloc.c (twin of assembly/drm/ttm_page_alloc.ts,
// 2010): global pools of write-combined and uncached pages, refilled NUM_PAGES_TO_ALLOC at a time
// for small requests, shrunk from the tail when they grow past their cap, with every caching
// change batched — plus the "xen-aware" variant (fix 3) whose pages are exchanged below the DMA
// mask as they enter.
// ENGINE.md §11 and §15 T2–T4, T7, T9.
import { Caching, NUM_PAGES_TO_ALLOC, Pool, TTM_POOL_SMALL, Zone } from '../../engine/abi.js';
import type { DmaState } from '../dma/mapping.js';
import { allocBlock, freeBlock, type MmState } from '../mm/pageAlloc.js';
import { xenCreateContiguousRegion, xenDestroyContiguousRegion, xenFrameAbove, type XenState } from '../xen/exchange.js';
import { PageDeque, type PageArray } from './ttmPage.js';

/** Every TTM pool of the (one) device: T2. */
export class TtmPools {
  /** Kind 0 (ttm_page_alloc), by caching: [wc, uc]. */
  readonly ttm = [new PageDeque(), new PageDeque()];
  /** Kind 2 (xen-aware), by caching: [wc, uc]. */
  readonly xenAware = [new PageDeque(), new PageDeque()];
  /** Kind 1 (ttm_page_alloc_dma), by caching: [cached, wc, uc]. */
  readonly dma = [new PageDeque(), new PageDeque(), new PageDeque()];
  /** Kind-1 pages held by tts. */
  dmaInUse = 0;

  /** All pools in teardown order (T20), each with its kind and caching. */
  all(): { pool: PageDeque; kind: number; caching: number }[] {
    return [
      { pool: this.ttm[0], kind: Pool.ttm, caching: Caching.wc }, { pool: this.ttm[1], kind: Pool.ttm, caching: Caching.uc },
      { pool: this.xenAware[0], kind: Pool.xenAware, caching: Caching.wc }, { pool: this.xenAware[1], kind: Pool.xenAware, caching: Caching.uc },
      { pool: this.dma[0], kind: Pool.ttmDma, caching: Caching.cached }, { pool: this.dma[1], kind: Pool.ttmDma, caching: Caching.wc },
      { pool: this.dma[2], kind: Pool.ttmDma, caching: Caching.uc },
    ];
  }
}

/** What the 2010 pools need: the page allocator, Xen's exchanges, and the pools themselves. */
export interface PoolState extends DmaState {
  readonly ttmPools: TtmPools;
}

// ---- single pages ---------------------------------------------------------------------------

/** The zone the device's pages come from: GFP_DMA32 for a 32-bit mask (T2). */
export function deviceZone(s: DmaState): number {
  return s.cfg.maskBits === 32 ? Zone.dma32 : Zone.normal;
}

/** set_pages_array_wc/uc/wb on n pages, at most 512 per call (T3). */
export function cachingChange(s: MmState, n: number): void {
  if (n <= 0) return;
  s.counters.cachingChangeCalls += Math.ceil(n / NUM_PAGES_TO_ALLOC);
  s.counters.cachingChangePages += n;
}

/** tt_alloc_page's failures: the buddy had nothing, or the page's exchange failed. */
export const NO_PAGE = -1;
export const EXCHANGE_FAILED = -2;

/**
 * alloc_page for a tt allocator: order 0 from the zone (pagesAllocated), and with `exchangeBits`
 * > 0 under Xen an order-0 exchange when the frame is above that many bits (T9); a failed
 * exchange gives the page back. Returns the pfn, NO_PAGE or EXCHANGE_FAILED; `exchanged[0]` says
 * whether the page was traded.
 */
export function ttAllocPage(s: XenState, zone: number, exchangeBits: number, exchanged: boolean[]): number {
  exchanged[0] = false;
  const pfn = allocBlock(s, 0, zone);
  if (pfn < 0) return NO_PAGE;
  s.counters.pagesAllocated++;
  if (exchangeBits > 0 && xenFrameAbove(s, pfn, exchangeBits)) {
    if (!xenCreateContiguousRegion(s, pfn, 0, exchangeBits, true)) {
      freeBlock(s, pfn, 0);
      return EXCHANGE_FAILED;
    }
    exchanged[0] = true;
  }
  return pfn;
}

/** __free_page for a tt page, undoing its exchange first (T9). */
export function ttFreePage(s: XenState, pfn: number, exchanged: boolean): void {
  if (exchanged) xenDestroyContiguousRegion(s, pfn, 0);
  s.expected.clearPages(pfn, 1);
  freeBlock(s, pfn, 0);
}

/** The pool cap: half of the kernel zone, which is half of RAM (T2). */
export function poolMax(s: DmaState): number {
  return Math.floor(s.cfg.ramPages / 4);
}

/**
 * ttm_page_pool_free: n pages leave from the tail, tail first, in batches of NUM_PAGES_TO_FREE
 * (512), each batch with one caching change back to wb when the pool is not cached.
 */
export function freeFromTail(s: MmState, pool: PageDeque, n: number, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void): void {
  while (n > 0) {
    const batch = Math.min(NUM_PAGES_TO_ALLOC, n);
    if (changesCaching) cachingChange(s, batch);
    for (let j = 0; j < batch; j++) {
      const pfn = pool.popTail();
      free(pfn, pool.poppedHandle, pool.poppedExchanged);
    }
    n -= batch;
  }
}

/** ttm_put_pages' cap check after pages came back: free max(excess, 512), never more than held. */
export function shrinkIfOver(s: DmaState, pool: PageDeque, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void): void {
  const max = poolMax(s);
  if (pool.size <= max) return;
  freeFromTail(s, pool, Math.min(pool.size, Math.max(pool.size - max, NUM_PAGES_TO_ALLOC)), changesCaching, free);
}

// ---- kinds 0 and 2 --------------------------------------------------------------------------

function poolOf(s: PoolState, tt: PageArray): PageDeque {
  const pools = tt.pool === Pool.xenAware ? s.ttmPools.xenAware : s.ttmPools.ttm;
  return pools[tt.caching - 1]!;
}

/** The xen-aware allocator exchanges below the device mask; the 2010 one never exchanges. */
function exchangeBitsOf(s: PoolState, tt: PageArray): number {
  return tt.pool === Pool.xenAware ? s.cfg.maskBits : 0;
}

/** ttm_get_pages, kind 0 or 2 (T4). False when the populate fails (the tt keeps what it got). */
export function ttmGetPages(s: PoolState, tt: PageArray): boolean {
  const zone = deviceZone(s);
  const bits = exchangeBitsOf(s, tt);
  const exchanged = [false];
  if (tt.caching === Caching.cached) {
    for (let i = 0; i < tt.pages; i++) {
      const pfn = ttAllocPage(s, zone, bits, exchanged);
      if (pfn < 0) return false;
      tt.addPage(pfn, -1, exchanged[0]!);
    }
    return true;
  }
  const pool = poolOf(s, tt);
  let run = 0; // consecutive direct pages still waiting for their caching change
  const endRun = () => {
    cachingChange(s, run);
    run = 0;
  };
  for (let i = 0; i < tt.pages; i++) {
    if (pool.size === 0 && tt.pages - i < TTM_POOL_SMALL) {
      endRun();
      if (!refill(s, pool, zone, bits)) return false;
    }
    if (pool.size > 0) {
      endRun();
      const pfn = pool.popHead();
      tt.addPage(pfn, -1, pool.poppedExchanged);
      continue;
    }
    const pfn = ttAllocPage(s, zone, bits, exchanged);
    if (pfn < 0) {
      endRun();
      return false;
    }
    tt.addPage(pfn, -1, exchanged[0]!);
    run++;
  }
  endRun();
  return true;
}

/**
 * ttm_page_pool_fill_locked: up to 512 new pages into the empty pool, the last allocated at the
 * head (list_add), one caching change for them. False only on a failed exchange (xen-aware),
 * which fails the populate; a short buddy just ends the refill.
 */
function refill(s: PoolState, pool: PageDeque, zone: number, bits: number): boolean {
  const exchanged = [false];
  let got = 0;
  for (; got < NUM_PAGES_TO_ALLOC; got++) {
    const pfn = ttAllocPage(s, zone, bits, exchanged);
    if (pfn === NO_PAGE) break;
    if (pfn === EXCHANGE_FAILED) {
      cachingChange(s, got);
      return false;
    }
    pool.pushHead(pfn, -1, exchanged[0]!);
  }
  cachingChange(s, got);
  if (got === NUM_PAGES_TO_ALLOC) s.counters.poolRefills++;
  return true;
}

/** ttm_put_pages, kind 0 or 2 (T7): cached pages freed; others back to the pool's tail, then the cap. */
export function ttmPutPages(s: PoolState, tt: PageArray): void {
  if (tt.caching === Caching.cached) {
    for (let i = 0; i < tt.count; i++) ttFreePage(s, tt.pfn[i]!, tt.isExchanged(i));
    return;
  }
  const pool = poolOf(s, tt);
  for (let i = 0; i < tt.count; i++) {
    s.expected.clearPages(tt.pfn[i]!, 1);
    pool.pushTail(tt.pfn[i]!, -1, tt.isExchanged(i));
  }
  shrinkIfOver(s, pool, true, (pfn, _h, exchanged) => ttFreePage(s, pfn, exchanged));
}
