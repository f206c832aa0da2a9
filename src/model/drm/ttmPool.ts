// drivers/gpu/drm/ttm/ttm_pool.c as Linux 6.12 has it (`--kernel modern`; twin of
// assembly/drm/ttm_pool.ts): pool types per caching x order (orders 0..MAX_PAGE_ORDER), global
// ones for {wc, uc} x {normal, dma32} and, for a pool that uses DMA allocation, the device's own
// {cached, wc, uc} x order. A populate takes whole blocks, the largest order that fits first, from
// the pool type or the page allocator, maps each block once (dma_map_page BIDIRECTIONAL, or the
// dma_alloc_attrs handle), changes the caching of the fresh runs in one call each, and gives every
// block back whole at free: cleared into its type's list head, or unmapped and freed. The
// xen-aware variant (fix 3 of the RFC, no kernel's) is the global pool with each fresh block
// exchanged below the device mask. ENGINE.md §11 (modern) and T24.
import { Caching, Dir, GartFamily, Kernel, PAGE_SIZE, TTM_GLOBAL_POOL_TYPES, TTM_SHRINK_TYPES, POOL_ID_DMA, POOL_ID_END, POOL_ID_TTM, POOL_ID_XEN_AWARE, Pool, TTM_MAX_PAGE_ORDER,
  TTM_NR_PAGE_ORDERS, Zone } from '../../engine/abi.js';
import { coherentAllocBlock, coherentFreeBlock } from '../dma/coherent.js';
import { dmaAddressingLimited, dmaMapPhys, dmaUnmapPage } from '../dma/mapping.js';
import { allocBlock, freeBlock, type MmState } from '../mm/pageAlloc.js';
import { xenCreateContiguousRegion, xenDestroyContiguousRegion, xenFrameAbove } from '../xen/exchange.js';
import { xenPvDomain } from '../xen/p2m.js';
import { cpuReach, nextStamp, writeRange } from '../sim/stamps.js';
import { PageDeque } from './ttmPage.js';
import type { PoolState } from './ttmPageAlloc.js';

/** The tt as the pool sees it (drm/ttmTt.ts's Tt is one). */
export interface PoolTt {
  /** The tt's buffer id (its zeros carry it). */
  readonly id: number;
  readonly pages: number;
  readonly pool: number;
  readonly caching: number;
  count: number;
  readonly pfn: Int32Array;
  readonly coh: Float64Array | null;
  readonly exch: Uint8Array | null;
  dma: Float64Array | null;
  /** The order of the block each page index heads (p->private), set at its head. */
  blockOrder: Uint8Array | null;
  clear(): void;
}

/** The 6.12 pool types, by pool id (TTM_POOLS) + POOL_ID_END * order, and the shrinker's state. */
export class ModernPools {
  readonly types = Array.from({ length: POOL_ID_END * TTM_NR_PAGE_ORDERS }, () => new PageDeque());
  /** Pages in every pool type (allocated_pages). */
  allocatedPages = 0;
  /** The shrinker list's head: the type ttm_pool_shrink visits next (an index into shrinkType). */
  shrinkCursor = 0;

  /** Pages pool id p holds in its blocks of one order (a replay's `pools`). */
  pagesAt(p: number, order: number): number {
    return this.types[p + POOL_ID_END * order]!.size * 2 ** order;
  }
}

export interface ModernPoolState extends PoolState {
  readonly modernPools: ModernPools;
}

const baseOf = (kind: number) => (kind === Pool.ttmDma ? POOL_ID_DMA : kind === Pool.xenAware ? POOL_ID_XEN_AWARE : POOL_ID_TTM);
const usesDmaAlloc = (kind: number) => kind === Pool.ttmDma;

/**
 * The pool's use_dma32 as the driver passes it to ttm_device_init (6.12): radeon_ttm_init gives
 * dma_addressing_limited(), nouveau_ttm_init `dmabits <= 32`. GFP_DMA32 pages and the dma32
 * global types when set, else GFP_HIGHUSER (Normal, then DMA32) and the normal ones.
 */
function poolUseDma32(s: ModernPoolState): boolean {
  const radeon = s.cfg.gartFamily === GartFamily.r100 || s.cfg.gartFamily === GartFamily.r600;
  return radeon ? dmaAddressingLimited(s) : s.cfg.maskBits <= 32;
}

/**
 * ttm_pool_select_type: a DMA-allocating pool has its own type for every caching and order; else
 * wc and uc take the global type (the dma32 one with use_dma32), and cached pages have none (-1).
 */
function selectType(s: ModernPoolState, kind: number, caching: number): number {
  if (usesDmaAlloc(kind)) return POOL_ID_DMA + caching;
  if (caching === Caching.cached) return -1;
  return baseOf(kind) + (caching - Caching.wc) * 2 + (poolUseDma32(s) ? 1 : 0);
}

/** One set_pages_array_wc/uc (ttm_pool_apply_caching) or set_pages_wb (ttm_pool_free_page) call. */
function cachingCall(s: MmState, pages: number): void {
  s.counters.cachingChangeCalls++;
  s.counters.cachingChangePages += pages;
}

/** A block in hand: its head pfn, order, coherent handle (-1: none) and whether Xen exchanged it. */
interface Block { pfn: number; order: number; handle: number; exchanged: boolean }

/**
 * ttm_pool_alloc_page: a 2^order block; without DMA allocation alloc_pages, with it dma_alloc_attrs
 * of the whole block. xen-aware: a block that is not one machine range under the mask is exchanged
 * (order > 0 always on Xen, order 0 when its frame is above the mask); a failed exchange fails the
 * block. Null on failure.
 */
function ttmPoolAllocPage(s: ModernPoolState, kind: number, order: number): Block | null {
  const n = 2 ** order;
  if (usesDmaAlloc(kind)) {
    const b = coherentAllocBlock(s, order, true, n * PAGE_SIZE); // dma_alloc_attrs: a dma-debug entry (T8)
    return b ? { pfn: b.pfn, order, handle: b.handle, exchanged: b.exchanged >= 0 } : null;
  }
  const pfn = allocBlock(s, order, poolUseDma32(s) ? Zone.dma32 : Zone.normal);
  if (pfn < 0) return null;
  s.counters.pagesAllocated += n;
  let exchanged = false;
  if (kind === Pool.xenAware && xenPvDomain(s) && (order > 0 || xenFrameAbove(s, pfn, s.cfg.maskBits))) {
    if (!xenCreateContiguousRegion(s, pfn, order, s.cfg.maskBits, true)) {
      freeBlock(s, pfn, order);
      return null;
    }
    exchanged = true;
  }
  return { pfn, order, handle: -1, exchanged };
}

/** ttm_pool_free_page: back to write-back (one set_pages_wb) unless cached, then the block is freed. */
function ttmPoolFreePage(s: ModernPoolState, kind: number, caching: number, b: Block): void {
  const n = 2 ** b.order;
  if (caching !== Caching.cached) cachingCall(s, n);
  if (usesDmaAlloc(kind)) {
    coherentFreeBlock(s, { pfn: b.pfn, handle: b.handle, exchanged: b.exchanged ? b.order : -1 }, b.order, true, n * PAGE_SIZE);
    return;
  }
  if (b.exchanged) xenDestroyContiguousRegion(s, b.pfn, b.order);
  s.expected.clearPages(b.pfn, n);
  freeBlock(s, b.pfn, b.order);
}

/**
 * ttm_pool_map: a DMA-allocating pool's block already has its handle; else one dma_map_page of
 * the whole block, BIDIRECTIONAL, checked with dma_mapping_error. Returns the block's first
 * address (page i gets it + i pages: ttm_pool_page_allocated), or null when the map failed.
 */
function ttmPoolMap(s: ModernPoolState, kind: number, b: Block): number | null {
  if (usesDmaAlloc(kind)) return b.handle;
  const rec = dmaMapPhys(s, b.pfn * PAGE_SIZE, 0, 2 ** b.order * PAGE_SIZE, Dir.bidirectional);
  if (rec.failed) return null;
  s.debug.mappingError(rec.dmaAddr);
  return rec.dmaAddr;
}

/** The block joins the tt: its pages in order, each with its address (dma or coherent handle). */
function appendBlock(tt: PoolTt, kind: number, b: Block, addr: number): void {
  const n = 2 ** b.order;
  if (!tt.blockOrder) tt.blockOrder = new Uint8Array(tt.pages);
  if (!usesDmaAlloc(kind) && !tt.dma) tt.dma = new Float64Array(tt.pages).fill(-1);
  tt.blockOrder[tt.count] = b.order;
  for (let i = 0; i < n; i++) {
    const at = tt.count++;
    tt.pfn[at] = b.pfn + i;
    if (tt.coh) tt.coh[at] = usesDmaAlloc(kind) ? addr + i * PAGE_SIZE : -1;
    if (tt.dma) tt.dma[at] = usesDmaAlloc(kind) ? -1 : addr + i * PAGE_SIZE;
    if (tt.exch) tt.exch[at] = b.exchanged ? 1 : 0;
  }
}

/**
 * The tt's zeros in a block, before ttm_pool_map (6.12 ttm_pool_alloc): a fresh block comes zeroed
 * from alloc_pages (__GFP_ZERO, added when the tt has TTM_TT_FLAG_ZERO_ALLOC) or dma_alloc_attrs,
 * a pooled one was cleared by clear_page at ttm_pool_type_give. The oracle names those zeros the
 * tt's: one uncounted CPU write of the tt's buffer id over the block, so a bounce the map fills
 * holds them.
 */
function zeroBlock(s: ModernPoolState, tt: PoolTt, b: Block): void {
  const stamp = nextStamp(s, tt.id, false);
  const reach = cpuReach(s);
  for (let i = 0; i < 2 ** b.order; i++) {
    const base = (b.pfn + i) * PAGE_SIZE;
    writeRange(s, stamp, base, base + PAGE_SIZE, reach, true);
  }
}

/** ttm_pool_type_give: the block's pages cleared, the block onto the type's list head. */
function ttmPoolTypeGive(s: ModernPoolState, pt: number, b: Block): void {
  const n = 2 ** b.order;
  s.expected.clearPages(b.pfn, n); // clear_page of each page
  s.modernPools.types[pt + POOL_ID_END * b.order]!.pushHead(b.pfn, b.handle, b.exchanged);
  s.modernPools.allocatedPages += n;
}

/** ttm_pool_type_take: the type's list head, or null. */
function ttmPoolTypeTake(s: ModernPoolState, pt: number, order: number): Block | null {
  const list = s.modernPools.types[pt + POOL_ID_END * order]!;
  if (list.size === 0) return null;
  const pfn = list.popHead();
  s.modernPools.allocatedPages -= 2 ** order;
  return { pfn, order, handle: list.poppedHandle, exchanged: list.poppedExchanged };
}

const ilog2 = (n: number) => 31 - Math.clz32(n);

/**
 * ttm_pool_alloc (6.12) for the whole tt. Orders go from min(MAX_PAGE_ORDER, fls(n) - 1) down and
 * never up: at each order the pool type's blocks are taken first (each committing the fresh run
 * before it: ttm_pool_apply_caching), then fresh blocks while one fits; a fresh allocation that
 * fails drops to the next lower order, at order 0 the populate fails. Every block, zero already
 * (zeroBlock), is mapped as it joins the tt; the last fresh run's caching is set at the end. On failure (error_free_page,
 * error_free_all) the block in hand is freed, the tt's committed pages go back in its caching and
 * the rest as cached, and the tt holds nothing. Returns whether it succeeded.
 */
export function ttmPoolAlloc(s: ModernPoolState, tt: PoolTt): boolean {
  const kind = tt.pool;
  const caching = tt.caching;
  let remaining = tt.pages;
  let divide = 0;
  let order = Math.min(TTM_MAX_PAGE_ORDER, ilog2(remaining));
  while (remaining > 0) {
    order = Math.min(order, ilog2(remaining));
    const pt = selectType(s, kind, caching);
    let p = pt >= 0 ? ttmPoolTypeTake(s, pt, order) : null;
    if (p) {
      applyCaching(s, tt, divide, caching);
      divide = tt.count;
      while (p) {
        zeroBlock(s, tt, p);
        const addr = ttmPoolMap(s, kind, p);
        if (addr === null) return allocFailed(s, tt, p, caching, divide);
        appendBlock(tt, kind, p, addr);
        remaining -= 2 ** order;
        divide = tt.count;
        if (remaining < 2 ** order) break;
        p = ttmPoolTypeTake(s, pt, order);
      }
    }
    while (remaining >= 2 ** order) {
      p = ttmPoolAllocPage(s, kind, order);
      if (!p) break;
      zeroBlock(s, tt, p);
      const addr = ttmPoolMap(s, kind, p);
      if (addr === null) return allocFailed(s, tt, p, Caching.cached, divide);
      appendBlock(tt, kind, p, addr);
      remaining -= 2 ** order;
    }
    if (!p) {
      if (order === 0) return allocFailed(s, tt, null, Caching.cached, divide);
      order--;
    }
  }
  applyCaching(s, tt, divide, caching);
  return true;
}

/** ttm_pool_apply_caching: one set_pages_array_wc/uc for the tt's pages [divide, count), none when cached or empty. */
function applyCaching(s: MmState, tt: PoolTt, divide: number, caching: number): void {
  const pages = tt.count - divide;
  if (pages > 0 && caching !== Caching.cached) cachingCall(s, pages);
}

function allocFailed(s: ModernPoolState, tt: PoolTt, p: Block | null, pageCaching: number, divide: number): boolean {
  if (p) ttmPoolFreePage(s, tt.pool, pageCaching, p);
  freeRange(s, tt, tt.caching, 0, divide);
  freeRange(s, tt, Caching.cached, divide, tt.count);
  tt.clear();
  return false;
}

/**
 * ttm_pool_free_range over the tt's pages [from, to): block by block, the block unmapped (one
 * dma_unmap_page of the whole block; nothing for a DMA-allocated one), then given to the type of
 * `caching` and its order, or freed when there is none.
 */
function freeRange(s: ModernPoolState, tt: PoolTt, caching: number, from: number, to: number): void {
  const kind = tt.pool;
  for (let i = from; i < to;) {
    const order = tt.blockOrder![i]!;
    const n = 2 ** order;
    if (!usesDmaAlloc(kind)) dmaUnmapPage(s, tt.dma![i]!, n * PAGE_SIZE, Dir.bidirectional);
    const b: Block = { pfn: tt.pfn[i]!, order, handle: tt.coh ? tt.coh[i]! : -1, exchanged: tt.exch !== null && tt.exch[i] === 1 };
    const pt = selectType(s, kind, caching);
    if (pt >= 0) ttmPoolTypeGive(s, pt, b);
    else ttmPoolFreePage(s, kind, caching, b);
    i += n;
  }
}

/**
 * ttm_pool_free for the whole tt: every block back in the tt's caching, then, while the pools
 * hold more than page_pool_size pages (ttm_global_init: half of totalram), ttm_pool_shrink.
 */
export function ttmPoolFree(s: ModernPoolState, tt: PoolTt): void {
  freeRange(s, tt, tt.caching, 0, tt.count);
  tt.clear();
  while (s.modernPools.allocatedPages > Math.floor(s.cfg.ramPages / 2)) ttmPoolShrink(s);
}


/**
 * Type k of the shrinker list as pool id + POOL_ID_END * order: ttm_pool_mgr_init adds, order by
 * order, wc, uc, dma32 wc, dma32 uc; the xen-aware globals follow the same way; ttm_pool_init of
 * a DMA-allocating device adds its types caching by caching in enum ttm_caching's order (uncached,
 * write-combined, cached: 2 − the project's Caching), order by order.
 */
function shrinkType(k: number): number {
  if (k < 2 * TTM_GLOBAL_POOL_TYPES) {
    const base = k < TTM_GLOBAL_POOL_TYPES ? POOL_ID_TTM : POOL_ID_XEN_AWARE;
    const j = k % TTM_GLOBAL_POOL_TYPES;
    const which = j & 3; // wc, uc, dma32 wc, dma32 uc
    return base + (which & 1) * 2 + (which >> 1) + POOL_ID_END * (j >> 2);
  }
  const d = k - 2 * TTM_GLOBAL_POOL_TYPES;
  return POOL_ID_DMA + (2 - Math.floor(d / TTM_NR_PAGE_ORDERS)) + POOL_ID_END * (d % TTM_NR_PAGE_ORDERS);
}

const kindOf = (p: number) => (p >= POOL_ID_DMA ? Pool.ttmDma : p >= POOL_ID_XEN_AWARE ? Pool.xenAware : Pool.ttm);
const cachingOf = (p: number) => (p >= POOL_ID_DMA ? p - POOL_ID_DMA : Caching.wc + (((p - (p >= POOL_ID_XEN_AWARE ? POOL_ID_XEN_AWARE : 0)) & 3) >> 1));

/** ttm_pool_shrink: the list's first type moves to the tail and gives up one block (freed), if it has one. */
function ttmPoolShrink(s: ModernPoolState): void {
  const pools = s.modernPools;
  const t = shrinkType(pools.shrinkCursor);
  pools.shrinkCursor = (pools.shrinkCursor + 1) % TTM_SHRINK_TYPES;
  const p = t % POOL_ID_END;
  const b = ttmPoolTypeTake(s, p, Math.floor(t / POOL_ID_END));
  if (b) ttmPoolFreePage(s, kindOf(p), cachingOf(p), b);
}

/**
 * The device goes and the module unloads: ttm_pool_fini empties the device's DMA types (caching
 * by caching, order by order), ttm_pool_mgr_fini the globals (order by order: wc, uc, dma32 wc,
 * dma32 uc; then the xen-aware ones); ttm_pool_type_fini frees each type's blocks from its head.
 */
export function ttmPoolTeardown(s: ModernPoolState): void {
  for (let k = 2 * TTM_GLOBAL_POOL_TYPES; k < TTM_SHRINK_TYPES; k++) drain(s, shrinkType(k));
  for (let k = 0; k < 2 * TTM_GLOBAL_POOL_TYPES; k++) drain(s, shrinkType(k));
}

function drain(s: ModernPoolState, t: number): void {
  const p = t % POOL_ID_END;
  const order = Math.floor(t / POOL_ID_END);
  for (let b = ttmPoolTypeTake(s, p, order); b; b = ttmPoolTypeTake(s, p, order)) ttmPoolFreePage(s, kindOf(p), cachingOf(p), b);
}

/**
 * The dma_alloc_coherent blocks the device's DMA pools hold, each a dma-debug entry (T8): the
 * kernel frees these pools before dma-debug's unbind check (3.3 at devres release, 6.12 in the
 * driver's remove), so RELEASE does not count them as leaks (T20). 2010's pools hold single pages.
 */
export function ttmDmaPooledBlocks(s: ModernPoolState): number {
  let n = 0;
  for (let p = POOL_ID_DMA; p < POOL_ID_END; p++) {
    if (s.cfg.kernel === Kernel['2010']) n += s.ttmPools.dma[p - POOL_ID_DMA]!.size;
    else for (let o = 0; o < TTM_NR_PAGE_ORDERS; o++) n += s.modernPools.types[p + POOL_ID_END * o]!.size;
  }
  return n;
}
