// The TTM page pool of drivers/gpu/drm/ttm/ttm_page_alloc.c (2010): global pools of
// write-combined and uncached pages, refilled NUM_PAGES_TO_ALLOC at a time for small requests,
// shrunk from the tail when they grow past their cap, with every caching change batched — plus
// the "xen-aware" variant (fix 3) whose pages are exchanged below the DMA mask as they enter.
// ENGINE.md §11 and §15 T2–T4, T7, T9.
import { Caching, PAGE_SIZE, Pool, Zone } from '../engine/abi.js';
import { dmaCapable } from './dma.js';
import type { Model } from './model.js';
import { allocBlock, destroyRegion, exchangeRegion, freeBlock } from './pages.js';
import type { Tt } from './tt.js';

/** Pages a refill allocates (NUM_PAGES_TO_ALLOC) and the most one caching change covers (T3). */
export const NUM_PAGES_TO_ALLOC = 512;
/** Requests below this many pages refill an empty pool first (_manager->options.small). */
export const SMALL_REQUEST = 16;

/**
 * A pool's page list: take at the head, give back at the tail, shrink from the tail. Each entry
 * carries its pfn, coherent handle (dma pools; -1 otherwise) and whether Xen exchanged it.
 * A ring buffer, so that a million pages cost three typed arrays.
 */
export class PageDeque {
  private pfns = new Int32Array(16);
  private handles = new Float64Array(16);
  private exchanged = new Uint8Array(16);
  private head = 0;
  size = 0;
  /** The handle and exchanged flag of the entry the last pop returned. */
  poppedHandle = -1;
  poppedExchanged = false;

  pushHead(pfn: number, handle: number, exchanged: boolean): void {
    this.grow();
    this.head = (this.head - 1) & (this.pfns.length - 1);
    this.put(this.head, pfn, handle, exchanged);
  }

  pushTail(pfn: number, handle: number, exchanged: boolean): void {
    this.grow();
    this.put((this.head + this.size - 1) & (this.pfns.length - 1), pfn, handle, exchanged);
  }

  popHead(): number {
    const at = this.head;
    this.head = (this.head + 1) & (this.pfns.length - 1);
    this.size--;
    return this.take(at);
  }

  popTail(): number {
    this.size--;
    return this.take((this.head + this.size) & (this.pfns.length - 1));
  }

  private put(at: number, pfn: number, handle: number, exchanged: boolean): void {
    this.pfns[at] = pfn;
    this.handles[at] = handle;
    this.exchanged[at] = exchanged ? 1 : 0;
  }

  private take(at: number): number {
    this.poppedHandle = this.handles[at];
    this.poppedExchanged = this.exchanged[at] === 1;
    return this.pfns[at];
  }

  /** Makes room for one more entry (size grows by one; the caller fills the new slot). */
  private grow(): void {
    const cap = this.pfns.length;
    if (this.size === cap) {
      const pfns = new Int32Array(cap * 2), handles = new Float64Array(cap * 2), exchanged = new Uint8Array(cap * 2);
      for (let i = 0; i < cap; i++) {
        const from = (this.head + i) & (cap - 1);
        pfns[i] = this.pfns[from];
        handles[i] = this.handles[from];
        exchanged[i] = this.exchanged[from];
      }
      this.pfns = pfns;
      this.handles = handles;
      this.exchanged = exchanged;
      this.head = 0;
    }
    this.size++;
  }
}

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

// ---- single pages ---------------------------------------------------------------------------

/** The zone the device's pages come from: GFP_DMA32 for a 32-bit mask (T2). */
export function deviceZone(model: Model): number {
  return model.cfg.maskBits === 32 ? Zone.dma32 : Zone.normal;
}

/** set_pages_array_wc/uc/wb on n pages, at most 512 per call (T3). */
export function cachingChange(model: Model, n: number): void {
  if (n <= 0) return;
  model.counters.cachingChangeCalls += Math.ceil(n / NUM_PAGES_TO_ALLOC);
  model.counters.cachingChangePages += n;
}

/** alloc_page from a zone (pagesAllocated), or -1. */
export function allocPage(model: Model, zone: number): number {
  const pfn = allocBlock(model, 0, zone);
  if (pfn >= 0) model.counters.pagesAllocated++;
  return pfn;
}

/** Result of exchangeIfAbove. */
export const Exchanged = { no: 0, yes: 1, failed: 2 } as const;
type ExchangeResult = (typeof Exchanged)[keyof typeof Exchanged];

/**
 * On xen-pv, exchanges a page whose machine frame is above 2^addressBits for one below (T9);
 * a failed exchange gives the page back to the buddy.
 */
export function exchangeIfAbove(model: Model, pfn: number, addressBits: number): ExchangeResult {
  const { machine } = model;
  if (!machine.isXen) return Exchanged.no;
  if (machine.mfnOf(pfn) * PAGE_SIZE + PAGE_SIZE - 1 <= 2 ** addressBits - 1) return Exchanged.no;
  if (exchangeRegion(model, pfn, 0, addressBits)) return Exchanged.yes;
  freeBlock(model, pfn, 0);
  return Exchanged.failed;
}

/** __free_page, undoing the page's exchange first (T9). */
export function releasePage(model: Model, pfn: number, exchanged: boolean): void {
  if (exchanged) destroyRegion(model, pfn, 0);
  freeBlock(model, pfn, 0);
}

/** The pool cap: half of the kernel zone, which is half of RAM (T2). */
export function poolMax(model: Model): number {
  return Math.floor(model.cfg.ramPages / 4);
}

/**
 * ttm_page_pool_free: n pages leave from the tail, tail first, in batches of NUM_PAGES_TO_FREE
 * (512), each batch with one caching change back to wb when the pool is not cached.
 */
export function freeFromTail(model: Model, pool: PageDeque, n: number, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void): void {
  while (n > 0) {
    const batch = Math.min(NUM_PAGES_TO_ALLOC, n);
    if (changesCaching) cachingChange(model, batch);
    for (let j = 0; j < batch; j++) {
      const pfn = pool.popTail();
      free(pfn, pool.poppedHandle, pool.poppedExchanged);
    }
    n -= batch;
  }
}

/** ttm_put_pages' cap check after pages came back: free max(excess, 512), never more than held. */
export function shrinkIfOver(model: Model, pool: PageDeque, changesCaching: boolean,
  free: (pfn: number, handle: number, exchanged: boolean) => void): void {
  const max = poolMax(model);
  if (pool.size <= max) return;
  freeFromTail(model, pool, Math.min(pool.size, Math.max(pool.size - max, NUM_PAGES_TO_ALLOC)), changesCaching, free);
}

// ---- kinds 0 and 2 --------------------------------------------------------------------------

function poolOf(model: Model, tt: Tt): PageDeque {
  const pools = tt.pool === Pool.xenAware ? model.ttmPools.xenAware : model.ttmPools.ttm;
  return pools[tt.caching - 1];
}

/** Kind 0 or 2 populate (T4). False when the populate fails (the tt keeps what it got). */
export function ttmPopulate(model: Model, tt: Tt): boolean {
  const zone = deviceZone(model);
  const exchanges = tt.pool === Pool.xenAware && model.machine.isXen;
  const bits = model.cfg.maskBits;
  let lastExchanged = false;
  /** A page straight from the buddy (xen-aware: exchanged at once); -1 when it fails. */
  const direct = (): number => {
    const pfn = allocPage(model, zone);
    if (pfn < 0) return -1;
    const ex = exchanges ? exchangeIfAbove(model, pfn, bits) : Exchanged.no;
    if (ex === Exchanged.failed) return -1;
    lastExchanged = ex === Exchanged.yes;
    return pfn;
  };

  if (tt.caching === Caching.cached) {
    for (let i = 0; i < tt.pages; i++) {
      const pfn = direct();
      if (pfn < 0) return false;
      tt.addPage(pfn, -1, lastExchanged);
    }
    return true;
  }

  const pool = poolOf(model, tt);
  let run = 0; // consecutive direct pages still waiting for their caching change
  const endRun = () => {
    cachingChange(model, run);
    run = 0;
  };
  for (let i = 0; i < tt.pages; i++) {
    if (pool.size === 0 && tt.pages - i < SMALL_REQUEST) {
      endRun();
      if (!refill(model, pool, zone, exchanges, bits)) return false;
    }
    if (pool.size > 0) {
      endRun();
      const pfn = pool.popHead();
      tt.addPage(pfn, -1, pool.poppedExchanged);
      continue;
    }
    const pfn = direct();
    if (pfn < 0) {
      endRun();
      return false;
    }
    tt.addPage(pfn, -1, lastExchanged);
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
function refill(model: Model, pool: PageDeque, zone: number, exchanges: boolean, bits: number): boolean {
  let got = 0;
  for (; got < NUM_PAGES_TO_ALLOC; got++) {
    const pfn = allocPage(model, zone);
    if (pfn < 0) break;
    const ex = exchanges ? exchangeIfAbove(model, pfn, bits) : Exchanged.no;
    if (ex === Exchanged.failed) {
      cachingChange(model, got);
      return false;
    }
    pool.pushHead(pfn, -1, ex === Exchanged.yes);
  }
  cachingChange(model, got);
  if (got === NUM_PAGES_TO_ALLOC) model.counters.poolRefills++;
  return true;
}

/** Kind 0 or 2 unpopulate (T7): cached pages freed; others back to the pool's tail, then the cap. */
export function ttmUnpopulate(model: Model, tt: Tt): void {
  if (tt.caching === Caching.cached) {
    for (let i = 0; i < tt.count; i++) releasePage(model, tt.pfn[i], tt.isExchanged(i));
    return;
  }
  const pool = poolOf(model, tt);
  for (let i = 0; i < tt.count; i++) pool.pushTail(tt.pfn[i], -1, tt.isExchanged(i));
  shrinkIfOver(model, pool, true, (pfn, _h, exchanged) => releasePage(model, pfn, exchanged));
}
