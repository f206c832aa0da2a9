// drivers/gpu/drm/ttm/ttm_pool.c as Linux 6.12 has it (`--kernel modern`): pool types per caching
// x order (orders 0..MAX_PAGE_ORDER), global ones for {wc, uc} x {normal, dma32} and, for a pool
// that uses DMA allocation, the device's own {cached, wc, uc} x order. A populate takes whole
// blocks, the largest order that fits first, from the pool type or the page allocator, maps each
// block once (dma_map_page BIDIRECTIONAL, or the dma_alloc_attrs handle), changes the caching of
// the fresh runs in one call each, and gives every block back whole at free: cleared into its
// type's list head, or unmapped and freed. The xen-aware variant (fix 3 of the RFC, no kernel's)
// is the global pool with each fresh block exchanged below the device mask. Different: a block is
// its head pfn on the type's list (ttm_page.ts), whose order the type says; inside a tt the head
// carries it (page_private, p->private).

import { CACHING_CACHED, CACHING_WC, POOL_ID_TTM, POOL_ID_XEN_AWARE, POOL_ID_DMA, POOL_ID_END, POOL_TTM, POOL_XEN_AWARE,
  POOL_TTM_DMA, TTM_NR_PAGE_ORDERS, TTM_MAX_PAGE_ORDER, TTM_GLOBAL_POOL_TYPES, TTM_SHRINK_TYPES, PAGE_SIZE, DMA_BIDIRECTIONAL, C_CACHING_CHANGE_CALLS,
  C_CACHING_CHANGE_PAGES, C_PAGES_ALLOCATED, GART_R100, GART_R600, KERNEL_2010 } from '../abi';
import { POOLS_PTR, POOL_DESC_BYTES, OUT_SCRATCH_PTR, ram_pages, mask_bits, gart_family, kernel_era } from '../layout';
import { count } from '../sim/counters';
import { forget_pages, write_page, next_stamp, MODE_PHYS } from '../sim/stamps';
import { alloc_block, free_block } from '../mm/page_alloc';
import { xen_pv_domain } from '../xen/p2m';
import { xen_create_contiguous_region, xen_destroy_contiguous_region, xen_frame_above } from '../xen/exchange';
import { coherent_alloc_block, coherent_free_block, COH_HANDLE, COH_EXCH } from '../dma/coherent';
import { dma_map_phys, map_failed, dma_addressing_limited } from '../dma/mapping';
import { debug_mapping_error } from '../dma/debug';
import { page_next, set_page_next, page_reset, page_dma, set_page_dma, clear_page_dma, page_coh, set_page_coh,
  page_exchanged, set_page_exchanged, page_phys, page_private, set_page_private, list_init, list_head, list_len, list_append,
  list_push_head, list_take_head } from './ttm_page';
import { unmap_tt_range } from './ttm_backend';
import { pool_count } from './ttm_page_alloc';

// A pool type is the descriptor of pool id p (abi TTM_POOLS) at order o: index p + POOL_ID_END * o.
@inline function pt_list(p: i32, order: i32): usize { return POOLS_PTR + <usize>((p + POOL_ID_END * order) * POOL_DESC_BYTES); }

/** Pages in every pool type (allocated_pages). */
let allocated_pages: i32 = 0;
/** The shrinker list's head: the pool type ttm_pool_shrink visits next (index into shrink_type). */
let shrink_cursor: i32 = 0;

export function ttm_pool_init(): void {
  for (let o = 0; o < TTM_NR_PAGE_ORDERS; o++) for (let p = 0; p < POOL_ID_END; p++) list_init(pt_list(p, o));
  allocated_pages = 0;
  shrink_cursor = 0;
}

/** Pages pool id p holds over all its orders (teardown's check). */
export function ttm_pool_pages(p: i32): i32 {
  let n = 0;
  for (let o = 0; o < TTM_NR_PAGE_ORDERS; o++) n += ttm_pool_pages_at(p, o);
  return n;
}

/** Pages pool id p holds in its blocks of one order (a replay's `pools`). */
export function ttm_pool_pages_at(p: i32, order: i32): i32 { return list_len(pt_list(p, order)) << order; }

/** The pool id family a populate's kind uses: the global pools, the xen-aware ones, or the device's DMA pool. */
@inline function base_of(kind: i32): i32 { return kind == POOL_TTM_DMA ? POOL_ID_DMA : kind == POOL_XEN_AWARE ? POOL_ID_XEN_AWARE : POOL_ID_TTM; }
@inline function uses_dma_alloc(kind: i32): bool { return kind == POOL_TTM_DMA; }

/**
 * The pool's use_dma32 as the driver passes it to ttm_device_init (6.12): radeon_ttm_init gives
 * dma_addressing_limited(), nouveau_ttm_init `dmabits <= 32`. GFP_DMA32 pages and the dma32
 * global types when set, else GFP_HIGHUSER (Normal, then DMA32) and the normal ones.
 */
@inline function pool_use_dma32(): bool {
  return gart_family == GART_R100 || gart_family == GART_R600 ? dma_addressing_limited() : mask_bits <= 32;
}

/**
 * ttm_pool_select_type: a DMA-allocating pool has its own type for every caching and order; else
 * wc and uc take the global type (the dma32 one with use_dma32), and cached pages have none (-1).
 */
function select_type(kind: i32, caching: i32): i32 {
  if (uses_dma_alloc(kind)) return POOL_ID_DMA + caching;
  if (caching == CACHING_CACHED) return -1;
  return base_of(kind) + (caching - CACHING_WC) * 2 + (pool_use_dma32() ? 1 : 0);
}

/** One set_pages_array_wc/uc (ttm_pool_apply_caching) or set_pages_wb (ttm_pool_free_page) call. */
@inline function caching_call(pages: i32): void {
  count(C_CACHING_CHANGE_CALLS);
  count(C_CACHING_CHANGE_PAGES, pages);
}

/**
 * ttm_pool_alloc_page: a 2^order block; without DMA allocation alloc_pages (p->private = order),
 * with it dma_alloc_attrs of the whole block (its handle kept per page). xen-aware: a block that
 * is not one machine range under the mask is exchanged (order > 0 always on Xen, order 0 when its
 * frame is above the mask); a failed exchange fails the block. Returns the head pfn or -1.
 */
function ttm_pool_alloc_page(kind: i32, order: i32): i32 {
  const n = 1 << order;
  if (uses_dma_alloc(kind)) {
    const pfn = coherent_alloc_block(order, true, n * PAGE_SIZE, OUT_SCRATCH_PTR); // dma_alloc_attrs: a dma-debug entry (T8)
    if (pfn < 0) return -1;
    const handle = load<u64>(OUT_SCRATCH_PTR, COH_HANDLE);
    for (let i = 0; i < n; i++) {
      page_reset(pfn + i);
      set_page_coh(pfn + i, handle + (<u64>i * PAGE_SIZE));
    }
    if (load<i32>(OUT_SCRATCH_PTR, COH_EXCH) >= 0) set_page_exchanged(pfn);
    return pfn;
  }
  const pfn = alloc_block(order, pool_use_dma32());
  if (pfn < 0) return -1;
  count(C_PAGES_ALLOCATED, n);
  for (let i = 0; i < n; i++) page_reset(pfn + i);
  if (kind == POOL_XEN_AWARE && xen_pv_domain() && (order > 0 || xen_frame_above(pfn, mask_bits))) {
    if (!xen_create_contiguous_region(pfn, order, mask_bits, true)) {
      free_block(pfn, order);
      return -1;
    }
    set_page_exchanged(pfn);
  }
  return pfn;
}

/** ttm_pool_free_page: back to write-back (one set_pages_wb) unless cached, then the block is freed. */
function ttm_pool_free_page(kind: i32, caching: i32, pfn: i32, order: i32): void {
  const n = 1 << order;
  if (caching != CACHING_CACHED) caching_call(n);
  if (uses_dma_alloc(kind)) {
    const exch = page_exchanged(pfn) ? order : -1;
    const handle = page_coh(pfn);
    for (let i = 0; i < n; i++) page_reset(pfn + i);
    coherent_free_block(pfn, order, handle, exch, n * PAGE_SIZE, true);
    return;
  }
  if (page_exchanged(pfn)) xen_destroy_contiguous_region(pfn, order);
  for (let i = 0; i < n; i++) page_reset(pfn + i);
  forget_pages(pfn, n);
  free_block(pfn, order);
}

/**
 * ttm_pool_map: a DMA-allocating pool's block already has its handle; else one dma_map_page of
 * the whole block, BIDIRECTIONAL, checked with dma_mapping_error. ttm_pool_page_allocated gives
 * page i of the block the address + i pages. False when the map failed.
 */
function ttm_pool_map(kind: i32, pfn: i32, order: i32): bool {
  if (uses_dma_alloc(kind)) return true;
  const n = 1 << order;
  const dma = dma_map_phys(page_phys(pfn), n * PAGE_SIZE, DMA_BIDIRECTIONAL, OUT_SCRATCH_PTR);
  if (map_failed(OUT_SCRATCH_PTR)) return false;
  debug_mapping_error(dma);
  for (let i = 0; i < n; i++) set_page_dma(pfn + i, dma + <u64>i * PAGE_SIZE);
  return true;
}

/**
 * The tt's zeros in a block, before ttm_pool_map (6.12 ttm_pool_alloc): a fresh block comes zeroed
 * from alloc_pages (__GFP_ZERO, added when the tt has TTM_TT_FLAG_ZERO_ALLOC) or dma_alloc_attrs,
 * a pooled one was cleared by clear_page at ttm_pool_type_give. The oracle names those zeros the
 * tt's: one uncounted CPU write of the tt's buffer id over the block, so a bounce the map fills
 * holds them.
 */
function zero_block(buf_id: i32, pfn: i32, order: i32): void {
  const s = next_stamp(buf_id, 0);
  for (let i = 0; i < (1 << order); i++) write_page(s, pfn + i, MODE_PHYS, page_phys(pfn + i), 0, PAGE_SIZE);
}

/** ttm_pool_type_give: the block's pages cleared, the block onto the type's list head. */
function ttm_pool_type_give(pt: i32, pfn: i32, order: i32): void {
  const n = 1 << order;
  forget_pages(pfn, n); // clear_page of each page
  for (let i = 0; i < n; i++) { set_page_next(pfn + i, -1); clear_page_dma(pfn + i); }
  list_push_head(pt_list(pt, order), pfn);
  allocated_pages += n;
}

/** ttm_pool_type_take: the type's list head, or -1. */
function ttm_pool_type_take(pt: i32, order: i32): i32 {
  const pfn = list_take_head(pt_list(pt, order));
  if (pfn >= 0) allocated_pages -= 1 << order;
  return pfn;
}

/** fls(n) - 1 for n > 0. */
@inline function ilog2(n: i32): i32 { return 31 - clz(n); }

/**
 * ttm_pool_alloc (6.12) for `n` pages of tt `buf_id` appended in order to its list `l`. Orders go from
 * min(MAX_PAGE_ORDER, fls(n) - 1) down and never up: at each order the pool type's blocks are
 * taken first (each committing the fresh run before it: ttm_pool_apply_caching), then fresh
 * blocks while one fits; a fresh allocation that fails drops to the next lower order, at order
 * 0 the populate fails. Every block, zero already (zero_block), is mapped as it joins the tt
 * (ttm_pool_page_allocated); the last fresh run's caching is set at the end. On failure (error_free_page, error_free_all) the
 * block in hand is freed, the tt's committed pages go back in its caching and the rest as
 * cached, and 0 is returned with `l` empty; else n.
 */
export function ttm_pool_alloc(l: usize, buf_id: i32, kind: i32, caching: i32, n: i32): i32 {
  let remaining = n;
  let divide = 0; // pages of the tt whose caching is committed (the `caching` cursor)
  let order = min(TTM_MAX_PAGE_ORDER, ilog2(n));
  while (remaining > 0) {
    order = min(order, ilog2(remaining));
    const pt = select_type(kind, caching);
    let p = pt >= 0 ? ttm_pool_type_take(pt, order) : -1;
    if (p >= 0) {
      apply_caching(l, divide, caching);
      divide = list_len(l);
      while (p >= 0) {
        zero_block(buf_id, p, order);
        if (!ttm_pool_map(kind, p, order)) return alloc_failed(l, kind, caching, p, order, caching, divide);
        append_block(l, p, order);
        remaining -= 1 << order;
        divide = list_len(l);
        if (remaining < (1 << order)) break;
        p = ttm_pool_type_take(pt, order);
      }
    }
    while (remaining >= (1 << order)) {
      p = ttm_pool_alloc_page(kind, order);
      if (p < 0) break;
      zero_block(buf_id, p, order);
      if (!ttm_pool_map(kind, p, order)) return alloc_failed(l, kind, caching, p, order, CACHING_CACHED, divide);
      append_block(l, p, order);
      remaining -= 1 << order;
    }
    if (p < 0) {
      if (order == 0) return alloc_failed(l, kind, caching, -1, 0, CACHING_CACHED, divide);
      order--;
    }
  }
  apply_caching(l, divide, caching);
  return n;
}

/** ttm_pool_page_allocated: the block's pages join the tt in order; its head keeps the order (p->private). */
function append_block(l: usize, pfn: i32, order: i32): void {
  const n = 1 << order;
  for (let i = 0; i < n; i++) list_append(l, pfn + i);
  set_page_private(pfn, order);
}

/** ttm_pool_apply_caching: one set_pages_array_wc/uc for the tt's pages [divide, end), none when cached or empty. */
function apply_caching(l: usize, divide: i32, caching: i32): void {
  const pages = list_len(l) - divide;
  if (pages > 0 && caching != CACHING_CACHED) caching_call(pages);
}

function alloc_failed(l: usize, kind: i32, caching: i32, p: i32, order: i32, page_caching: i32, divide: i32): i32 {
  if (p >= 0) ttm_pool_free_page(kind, page_caching, p, order);
  const total = list_len(l);
  const rest = free_range(kind, caching, list_head(l), divide);
  free_range(kind, CACHING_CACHED, rest, total - divide);
  list_init(l);
  return 0;
}

/**
 * ttm_pool_free_range over `count` of the tt's pages from page `pfn`: block by block, the block
 * unmapped (one dma_unmap_page of the whole block; nothing for a DMA-allocated one), then given to
 * the type of `caching` and its order, or freed when there is none. Returns the page after them
 * (read before a block is given: giving relinks its pages into the pool's list).
 */
function free_range(kind: i32, caching: i32, pfn: i32, count: i32): i32 {
  let i = 0;
  while (pfn >= 0 && i < count) {
    const order = page_private(pfn);
    const n = 1 << order;
    let next = pfn;
    for (let j = 0; j < n; j++) next = page_next(next);
    if (!uses_dma_alloc(kind)) unmap_tt_range(page_dma(pfn), n * PAGE_SIZE);
    const pt = select_type(kind, caching);
    if (pt >= 0) ttm_pool_type_give(pt, pfn, order);
    else ttm_pool_free_page(kind, caching, pfn, order);
    pfn = next;
    i += n;
  }
  return pfn;
}

/**
 * ttm_pool_free for the tt's list `l`, which it empties: every block back in the tt's caching,
 * then, while the pools hold more than page_pool_size pages, ttm_pool_shrink.
 */
export function ttm_pool_free(l: usize, kind: i32, caching: i32): void {
  free_range(kind, caching, list_head(l), list_len(l));
  list_init(l);
  while (allocated_pages > page_pool_size()) ttm_pool_shrink();
}

/**
 * page_pool_size: ttm_global_init hands ttm_pool_mgr_init half of totalram (si_meminfo), in pages.
 */
@inline function page_pool_size(): i32 { return ram_pages >> 1; }


/**
 * Type k of the shrinker list as pool id + POOL_ID_END * order: ttm_pool_mgr_init adds, order by
 * order, wc, uc, dma32 wc, dma32 uc; the xen-aware globals follow the same way; ttm_pool_init of
 * a DMA-allocating device adds its types caching by caching in enum ttm_caching's order (uncached,
 * write-combined, cached: 2 − the project's Caching), order by order.
 */
function shrink_type(k: i32): i32 {
  if (k < 2 * TTM_GLOBAL_POOL_TYPES) {
    const base = k < TTM_GLOBAL_POOL_TYPES ? POOL_ID_TTM : POOL_ID_XEN_AWARE;
    const j = k % TTM_GLOBAL_POOL_TYPES;
    const which = j & 3; // wc, uc, dma32 wc, dma32 uc
    return base + (which & 1) * 2 + (which >> 1) + POOL_ID_END * (j >> 2);
  }
  const d = k - 2 * TTM_GLOBAL_POOL_TYPES;
  return POOL_ID_DMA + (2 - d / TTM_NR_PAGE_ORDERS) + POOL_ID_END * (d % TTM_NR_PAGE_ORDERS);
}

/** ttm_pool_shrink: the list's first type moves to the tail and gives up one block (freed), if it has one. */
function ttm_pool_shrink(): void {
  const t = shrink_type(shrink_cursor);
  shrink_cursor = (shrink_cursor + 1) % TTM_SHRINK_TYPES;
  const p = t % POOL_ID_END;
  const order = t / POOL_ID_END;
  const pfn = ttm_pool_type_take(p, order);
  if (pfn < 0) return;
  ttm_pool_free_page(kind_of(p), caching_of(p), pfn, order);
}

@inline function kind_of(p: i32): i32 { return p >= POOL_ID_DMA ? POOL_TTM_DMA : p >= POOL_ID_XEN_AWARE ? POOL_XEN_AWARE : POOL_TTM; }
@inline function caching_of(p: i32): i32 { return p >= POOL_ID_DMA ? p - POOL_ID_DMA : CACHING_WC + (((p - (p >= POOL_ID_XEN_AWARE ? POOL_ID_XEN_AWARE : 0)) & 3) >> 1); }

/**
 * The device goes and the module unloads: ttm_pool_fini empties the device's DMA types (caching
 * by caching, order by order), ttm_pool_mgr_fini the globals (order by order: wc, uc, dma32 wc,
 * dma32 uc; then the xen-aware ones); ttm_pool_type_fini frees each type's blocks from its head.
 */
export function ttm_pool_teardown(): void {
  for (let k = 2 * TTM_GLOBAL_POOL_TYPES; k < TTM_SHRINK_TYPES; k++) drain(shrink_type(k));
  for (let k = 0; k < 2 * TTM_GLOBAL_POOL_TYPES; k++) drain(shrink_type(k));
}

function drain(t: i32): void {
  const p = t % POOL_ID_END;
  const order = t / POOL_ID_END;
  for (let pfn = ttm_pool_type_take(p, order); pfn >= 0; pfn = ttm_pool_type_take(p, order)) ttm_pool_free_page(kind_of(p), caching_of(p), pfn, order);
}

/**
 * The dma_alloc_coherent blocks the device's DMA pools hold, each a dma-debug entry (T8): the
 * kernel frees these pools before dma-debug's unbind check (3.3 at devres release, 6.12 in the
 * driver's remove), so RELEASE does not count them as leaks (T20). 2010's pools hold single pages.
 */
export function ttm_dma_pooled_blocks(): i32 {
  let n = 0;
  for (let p = POOL_ID_DMA; p < POOL_ID_END; p++) {
    if (kernel_era == KERNEL_2010) n += pool_count(p);
    else for (let o = 0; o < TTM_NR_PAGE_ORDERS; o++) n += list_len(pt_list(p, o));
  }
  return n;
}
