// The TTM page pool of drivers/gpu/drm/ttm/ttm_page_alloc.c (twin of assembly/drm/ttm_page_alloc.ts):
// global pools of write-combined and uncached pages (cached pages have no pool), shrunk from the
// tail when they grow past their cap, with every caching change batched — plus the "xen-aware"
// variant (fix 3) whose pages are exchanged below the DMA mask as they enter. `2010` follows Linux
// 2.6.37: one page per ttm_get_pages call, a refill of 512 only when the pool is empty, pages back
// to the head (LIFO). `modern` is 6.12's ttm_pool.c (ttmPool.ts).
// ENGINE.md §11 and §15 T2–T4, T7, T9.
import { Caching, NUM_PAGES_TO_ALLOC, Pool, Zone } from '../../engine/abi.js';
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

/**
 * The pool cap (T2): ttm_mem_global_init gives ttm_page_alloc_init the kernel zone's
 * max_mem / (2 * PAGE_SIZE), and the zone is half of lowmem: a quarter of RAM, per pool.
 */
export function poolMax(s: DmaState): number {
  return Math.floor(s.cfg.ramPages / 4);
}

/**
 * ttm_page_pool_free / ttm_dma_page_pool_free: n pages leave from the tail, in batches of
 * NUM_PAGES_TO_FREE (512), each batch with one caching change back to wb when the pool is not
 * cached. A batch is freed tail first, or with `listOrder` in pool order (3.3's dma pool
 * list_move's each page to a local list's head, so its page nearest the pool's head goes first).
 */
export function freeFromTail(s: MmState, pool: PageDeque, n: number, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void, listOrder = false): void {
  n = Math.min(n, pool.size);
  while (n > 0) {
    const batch = Math.min(NUM_PAGES_TO_ALLOC, n);
    if (changesCaching) cachingChange(s, batch);
    const cut: [number, number, boolean][] = [];
    for (let j = 0; j < batch; j++) cut.push([pool.popTail(), pool.poppedHandle, pool.poppedExchanged]);
    if (listOrder) cut.reverse();
    for (const [pfn, handle, exchanged] of cut) free(pfn, handle, exchanged);
    n -= batch;
  }
}

/** ttm_put_pages' cap check after pages came back: free max(excess, 512), never more than held. */
export function shrinkIfOver(s: DmaState, pool: PageDeque, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void, listOrder = false): boolean {
  const max = poolMax(s);
  if (pool.size <= max) return false;
  freeFromTail(s, pool, Math.max(pool.size - max, NUM_PAGES_TO_ALLOC), changesCaching, free, listOrder);
  return true;
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

/** ttm_get_pages for a populate, kind 0 or 2 (T4). False when it fails (the tt keeps what it got). */
export function ttmGetPages(s: PoolState, tt: PageArray): boolean {
  // 2.6.37 ttm_tt_populate → __ttm_tt_get_page: one ttm_get_pages(…, 1) per index, in index order.
  const pool = tt.caching === Caching.cached ? null : poolOf(s, tt);
  for (let i = 0; i < tt.pages; i++) if (!getPage(s, tt, pool)) return false;
  return true;
}

/**
 * ttm_get_pages(…, 1), 2.6.37. Cached (`pool` null): ttm_get_pool has no pool, one alloc_page
 * (GFP_DMA32 for a 32-bit device), no caching change. wc/uc: ttm_page_pool_fill_locked fills
 * only when count (1) < small and count > npages, i.e. when the pool is empty; then the head.
 */
function getPage(s: PoolState, tt: PageArray, pool: PageDeque | null): boolean {
  const zone = deviceZone(s);
  const bits = exchangeBitsOf(s, tt);
  const exchanged = [false];
  if (pool && (pool.size > 0 || fill(s, pool, zone, bits))) {
    const pfn = pool.popHead();
    tt.addPage(pfn, -1, pool.poppedExchanged);
    return true;
  }
  // Cached, or the fill failed. 2.6.37's fill spliced the pages it got onto the pool but added
  // the pool list's length before the splice (0), so ttm_page_pool_get_pages (count 1 >= npages
  // 0) moved the whole list to the caller and ttm_get_pages allocates the page itself
  // (ttm_alloc_new_pages: one caching change for it).
  const pfn = ttAllocPage(s, zone, bits, exchanged);
  if (pfn < 0) {
    // ttm_put_pages(list, 0): the list counted and spliced back onto the head, then the cap.
    if (pool) shrinkIfOver(s, pool, true, (p, _h, ex) => ttFreePage(s, p, ex));
    return false;
  }
  if (pool) {
    cachingChange(s, 1);
    pool.clear(); // __ttm_tt_get_page keeps the list's first entry (the new page); the rest are lost
  }
  tt.addPage(pfn, -1, exchanged[0]!);
  return true;
}

/**
 * ttm_page_pool_fill_locked → ttm_alloc_new_pages, 2.6.37: 512 pages with the pool's gfp, each
 * list_add'ed (the last allocated ends up at the head), one set_pages_array_wc/uc for the pages
 * got, spliced onto the head; nrefills only when whole. A failed exchange (xen-aware) ends it
 * like a failed alloc_page. True when all 512 came.
 */
function fill(s: PoolState, pool: PageDeque, zone: number, bits: number): boolean {
  const exchanged = [false];
  let got = 0;
  for (; got < NUM_PAGES_TO_ALLOC; got++) {
    const pfn = ttAllocPage(s, zone, bits, exchanged);
    if (pfn < 0) break;
    pool.pushHead(pfn, -1, exchanged[0]!);
  }
  cachingChange(s, got);
  if (got < NUM_PAGES_TO_ALLOC) return false;
  s.counters.poolRefills++;
  return true;
}

/**
 * ttm_tt_free_alloced_pages → one ttm_put_pages, kind 0 or 2 (T7). 2010: the list is built with
 * list_add, in reverse index order: cached pages are __free_page'd in that order, wc/uc pages
 * spliced onto the pool's head (the tt's last page becomes the head); then the cap.
 */
export function ttmPutPages(s: PoolState, tt: PageArray): void {
  if (tt.caching === Caching.cached) {
    for (let i = tt.count - 1; i >= 0; i--) ttFreePage(s, tt.pfn[i]!, tt.isExchanged(i));
    return;
  }
  const pool = poolOf(s, tt);
  for (let i = 0; i < tt.count; i++) {
    s.expected.clearPages(tt.pfn[i]!, 1);
    pool.pushHead(tt.pfn[i]!, -1, tt.isExchanged(i));
  }
  shrinkIfOver(s, pool, true, (pfn, _h, exchanged) => ttFreePage(s, pfn, exchanged));
}
