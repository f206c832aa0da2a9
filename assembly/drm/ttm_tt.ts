// drivers/gpu/drm/ttm/ttm_tt.c with the radeon/nouveau backends (2010-2011): a tt is a buffer
// object's page array, populated from one of the allocators, bound by writing one GART entry per
// page (radeon: after dma_map_page; nouveau 2.6.37: with the populate's map, ttm_backend.ts; or
// with the pool's coherent handle), unbound to the dummy page.
// Different: the pages are a linked list through ttm_page.ts, so a tt of any size costs one
// buffer record; CPU access walks that list, the GPU reaches pages only through the GART.

import { POOL_ID_TTM, POOL_ID_XEN_AWARE, POOL_ID_DMA, POOL_ID_END, POOL_TTM, POOL_TTM_DMA, POOL_XEN_AWARE, POOL_AGP, POOL_AGP_COHERENT, POOL_AGP_FSB,
  BIND_MODE_MAP, BIND_MODE_COHERENT, DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_MAPPING_ERROR, TT_SYNC_NOUVEAU,
  PAGE_SHIFT, PAGE_SIZE, READER_CPU, KERNEL_2010, DEBUG_TYPE_SINGLE, C_ALLOC_FAILURES, C_TLB_FLUSHES, C_BIND_FAILURES,
  C_CPU_WRITES, C_CPU_READS, C_GATT_BUSY, C_GART_WRITES, CACHING_CACHED } from '../abi';
import { gart_pages, slots_high, kernel_era, SLOT_BODY, SLOT_FAILED, KIND_TT, slot_rec, rec_kind,
  rec_id, rec_failed, rec_start, rec_clear } from '../layout';
import { count } from '../sim/counters';
import { write_page, next_stamp, next_buf_id, MODE_PHYS } from '../sim/stamps';
import { check_page } from '../sim/oracle';
import { pfn_to_mfn } from '../sim/translate';
import { dma_sync_page, count_sync, swiotlb_sync_modern } from '../dma/mapping';
import { debug_set_quiet, check_sync } from '../dma/debug';
import { gart_set, gart_set_owner, gart_unbind_entries, gart_clear_owner, gart_tlb_flush, gart_mark_failed } from './gart';
import { SGDMA_NONE, SGDMA_MAPPED, SGDMA_EMPTY, maps_at_bind, maps_at_populate, radeon_map_pages, sgdma_populate,
  sgdma_clear, unmap_tt_page } from './ttm_backend';
import { agp_set_pages_array, is_agp, gatt_exists, gatt_entry_count, agp_range_busy, agp_insert_entry, agp_remove_memory,
  gatt_free } from './agp_gatt';
import { page_next, page_current_handle, page_has_dma, page_dma, page_has_coh, page_coh,
  page_phys, list_init, list_append, list_head, list_len, set_page_next, LIST_BYTES } from './ttm_page';
import { ttm_get_pages, ttm_put_pages, ttm_page_pool_free, pool_count, tt_alloc_page,
  tt_free_page } from './ttm_page_alloc';
import { ttm_dma_get_pages, ttm_dma_unpopulate, ttm_dma_page_pool_free, ttm_dma_alloc_page,
  ttm_dma_free_page } from './ttm_page_alloc_dma';
import { ttm_pool_alloc, ttm_pool_free, ttm_pool_pages, ttm_pool_teardown } from './ttm_pool';

// tt record: the slot header (layout.ts), then its own body: the page list (ttm_page.ts; its
// length is the pages held), the pages asked for, the pool kind and caching state, and the bind:
// whether bound, at which GPU page, in which mode, and whether into the GATT (a device that
// became AGP after the bind still undoes a GART bind at unbind: T23); last, what the nouveau
// backend holds since the populate (ttm_backend.ts: SGDMA_*).
@inline const TT_LIST: i32 = SLOT_BODY;
@inline const TT_PAGES: i32 = TT_LIST + LIST_BYTES;
@inline const TT_POOL: i32 = TT_PAGES + 4;
@inline const TT_CACHING: i32 = TT_POOL + 4;
@inline const TT_BOUND: i32 = TT_CACHING + 4;
@inline const TT_GPU: i32 = TT_BOUND + 4;
@inline const TT_MODE: i32 = TT_GPU + 4;
@inline const TT_BOUND_AGP: i32 = TT_MODE + 4;
@inline const TT_SGDMA: i32 = TT_BOUND_AGP + 4;

@inline function tt_rec(slot: i32): usize { return slot_rec(slot); }
@inline function tt_of(slot: i32): usize {
  const t = slot_rec(slot);
  assert(rec_kind(t) == KIND_TT, 'not a tt');
  return t;
}
@inline function tt_head(t: usize): i32 { return list_head(t + TT_LIST); }
@inline function tt_held(t: usize): i32 { return list_len(t + TT_LIST); }
@inline function tt_pages(t: usize): i32 { return load<i32>(t, TT_PAGES); }
@inline function tt_pool(t: usize): i32 { return load<i32>(t, TT_POOL); }
@inline function tt_caching(t: usize): i32 { return load<i32>(t, TT_CACHING); }
@inline function tt_bound(t: usize): bool { return load<i32>(t, TT_BOUND) != 0; }
@inline function tt_gpu(t: usize): i32 { return load<i32>(t, TT_GPU); }
@inline function tt_mode(t: usize): i32 { return load<i32>(t, TT_MODE); }
@inline function tt_bound_agp(t: usize): bool { return load<i32>(t, TT_BOUND_AGP) != 0; }
@inline function tt_sgdma(t: usize): i32 { return load<i32>(t, TT_SGDMA); }

@inline export function is_tt(slot: i32): bool { return rec_kind(tt_rec(slot)) == KIND_TT; }
/** A tt the driver can use: populated completely. */
@inline export function tt_usable(slot: i32): bool { return is_tt(slot) && !rec_failed(tt_rec(slot)); }

/** The bind mapped the pages (mode 0 into a GART, radeon): unbind unmaps them. */
@inline function maps_pages(t: usize): bool { return tt_mode(t) == BIND_MODE_MAP && !tt_bound_agp(t) && maps_at_bind(); }

/** 6.12: does ttm_pool_alloc map this tt's blocks (a pool without DMA allocation: ttm_pool_map)? */
@inline function pool_maps(t: usize): bool {
  return kernel_era != KERNEL_2010 && (tt_pool(t) == POOL_TTM || tt_pool(t) == POOL_XEN_AWARE);
}

/** 6.12: a populate of pool kind 0, 1 or 2 is ttm_pool_alloc's (ttm_pool.ts). */
@inline function ttm_pool_kind(pool: i32): bool {
  return kernel_era != KERNEL_2010 && (pool == POOL_TTM || pool == POOL_XEN_AWARE || pool == POOL_TTM_DMA);
}

/**
 * The backend's populate, at the end of ttm_tt_populate (pages got and zeroed): nouveau_sgdma_populate
 * maps every page (ttm_backend.ts); radeon_ttm_backend_populate only records the pages.
 */
function tt_backend_populate(t: usize): void {
  if (maps_at_populate(tt_pool(t))) store<i32>(t, sgdma_populate(tt_head(t)), TT_SGDMA);
}

/**
 * The backend's destroy, first in ttm_tt_destroy: radeon_ttm_backend_destroy unbinds if bound;
 * nouveau_sgdma_destroy → nouveau_sgdma_clear unbinds if bound, then unmaps every page in reverse.
 */
function tt_backend_destroy(slot: i32, t: usize): void {
  if (tt_bound(t)) tt_unbind(slot);
  if (tt_sgdma(t) == SGDMA_MAPPED) sgdma_clear(tt_head(t), -1);
  store<i32>(t, SGDMA_NONE, TT_SGDMA);
}

/** ttm_tt_populate: pages from the pool kind, zeroed by the CPU (one write op; 6.12: by the pool, before its maps). */
export function tt_populate(slot: i32, pages: i32, pool: i32, caching: i32): void {
  const t = tt_rec(slot); // whatever the slot held is replaced and leaks (T1, D19)
  rec_start(t, next_buf_id(), KIND_TT, false);
  const l = t + TT_LIST;
  list_init(l);
  store<i32>(t, pages, TT_PAGES); store<i32>(t, pool, TT_POOL); store<i32>(t, caching, TT_CACHING);
  store<i32>(t, -1, TT_GPU);
  let got = 0;
  if (ttm_pool_kind(pool)) got = ttm_pool_alloc(l, rec_id(t), pool, caching, pages);
  else switch (pool) {
    case POOL_TTM: got = ttm_get_pages(l, POOL_ID_TTM, caching, pages); break;
    case POOL_XEN_AWARE: got = ttm_get_pages(l, POOL_ID_XEN_AWARE, caching, pages); break;
    case POOL_TTM_DMA: got = ttm_dma_get_pages(l, caching, pages); break;
    case POOL_AGP:
    case POOL_AGP_FSB: got = agp_alloc_pages(l, pages, pool == POOL_AGP_FSB); break;
    case POOL_AGP_COHERENT: got = agp_coherent_pages(l, pages); break;
    default: break;
  }
  if (got < pages) {
    store<i32>(t, 1, SLOT_FAILED);
    count(C_ALLOC_FAILURES);
    return;
  }
  // the zeroing: a CPU write nobody counts (6.12's pool zeroed each block before its map: ttm_pool.ts)
  if (!ttm_pool_kind(pool)) tt_write(t, 0, pages * PAGE_SIZE, false);
  tt_backend_populate(t);
}

// agp_generic_alloc_page per page (DMA32), then set uncached once for the populate when every page
// came (agp_set_pages_array); the fsb hook also trades each page below 4 GiB.
function agp_alloc_pages(l: usize, n: i32, fsb: bool): i32 {
  let got = 0;
  for (let i = 0; i < n; i++) {
    const pfn = tt_alloc_page(true, fsb ? 32 : 0);
    if (pfn < 0) break;
    list_append(l, pfn);
    got++;
  }
  if (got == n) agp_set_pages_array(got);
  return got;
}

// The proposal's dma_alloc_coherent in place of alloc_page: agp_generic_alloc_pages still makes
// them uncached after (dma_alloc_coherent memory is write-back on x86, and AGP traffic is not snooped).
function agp_coherent_pages(l: usize, n: i32): i32 {
  let got = 0;
  for (let i = 0; i < n; i++) {
    const pfn = ttm_dma_alloc_page(false);
    if (pfn < 0) break;
    list_append(l, pfn);
    got++;
  }
  if (got == n) agp_set_pages_array(got);
  return got;
}

/** ttm_tt_unpopulate: unbind if bound, then every page back where its allocator keeps it. */
export function tt_unpopulate(slot: i32): void {
  const t = tt_rec(slot);
  if (rec_kind(t) != KIND_TT) return;
  tt_backend_destroy(slot, t);
  const pool = tt_pool(t);
  const caching = tt_caching(t);
  const l = t + TT_LIST;
  // 6.12 ttm_tt_unpopulate → ttm_pool_free, but not for a tt whose populate failed (never marked
  // populated: ttm_tt_unpopulate returns at once, no shrink; ttm_pool_alloc already gave its blocks back)
  if (ttm_pool_kind(pool)) { if (!rec_failed(t)) ttm_pool_free(l, pool, caching); }
  else switch (pool) {
    // ttm_tt_destroy → ttm_tt_free_alloced_pages: one ttm_put_pages for the whole tt
    case POOL_TTM: ttm_put_pages(l, POOL_ID_TTM, caching); break;
    case POOL_XEN_AWARE: ttm_put_pages(l, POOL_ID_XEN_AWARE, caching); break;
    case POOL_TTM_DMA: ttm_dma_unpopulate(l, caching); break;
    default: {
      agp_set_pages_array(tt_held(t)); // back to wb, one call (agp_generic_destroy_pages)
      let pfn = tt_head(t);
      while (pfn >= 0) {
        const next = page_next(pfn);
        set_page_next(pfn, -1);
        if (pool == POOL_AGP_COHERENT) ttm_dma_free_page(pfn, false); else tt_free_page(pfn);
        pfn = next;
      }
    }
  }
  rec_clear(t);
}

/** The address a bind writes for a page (T12): its fresh map, its coherent handle, or machine address. */
function bind_addr(pfn: i32, mode: i32): u64 {
  // radeon: the map the bind just made; nouveau (2.6.37): the populate's map, else the coherent handle
  if (mode == BIND_MODE_MAP) return is_agp() ? page_phys(pfn) : page_current_handle(pfn);
  if (mode == BIND_MODE_COHERENT) return page_has_coh(pfn) ? page_coh(pfn) : page_phys(pfn);
  return <u64>pfn_to_mfn(pfn) << PAGE_SHIFT; // virt_to_fsb
}

/** A bind that cannot happen (T12): counted, nothing written, the gpu range unusable. */
function bind_failure(first: i32, pages: i32): void {
  count(C_BIND_FAILURES);
  gart_mark_failed(max(first, 0), first + pages - max(first, 0));
}

/**
 * ttm_tt_bind: the backend's bind. radeon_gart_bind maps every page first (mode 0, ttm_backend.ts);
 * nouveau_sgdma_bind (2.6.37) writes the entries of the pages its backend holds (none after a
 * failed populate map, though TTM still takes the range) with the populate's addresses; agp:
 * agp_generic_insert_memory. Then the TLB flushes the hardware gets (gart_tlb_flush; agp: one).
 */
export function tt_bind(slot: i32, first: i32, mode: i32): void {
  const t = tt_of(slot);
  if (tt_bound(t)) return;
  const pages = tt_pages(t);
  const agp = is_agp();
  if (rec_failed(t) || (agp && !gatt_exists()) || first < 0 || first + pages > gart_pages ||
      (agp && first + pages > gatt_entry_count())) {
    bind_failure(first, pages);
    return;
  }
  if (mode == BIND_MODE_MAP && !agp && maps_at_bind()) {
    const mapped = radeon_map_pages(tt_head(t));
    if (mapped >= 0) {
      // radeon_gart_bind wrote each mapped page's entries before the failing map; its error path,
      // radeon_gart_unbind, points them back at the dummy page and flushes the GART TLB once.
      count(C_GART_WRITES, mapped);
      gart_unbind_entries(first, mapped);
      gart_tlb_flush();
      bind_failure(first, pages);
      return;
    }
  }
  if (agp) {
    if (agp_range_busy(first, pages)) { count(C_GATT_BUSY); return; }
    let j = first;
    for (let pfn = tt_head(t); pfn >= 0; pfn = page_next(pfn)) agp_insert_entry(j++, bind_addr(pfn, mode), slot, rec_id(t), pfn);
    count(C_TLB_FLUSHES); // agp_generic_insert_memory: the bridge's tlb_flush
  } else {
    const writes = tt_sgdma(t) != SGDMA_EMPTY;
    let p = first;
    for (let pfn = tt_head(t); pfn >= 0; pfn = page_next(pfn)) {
      if (writes) gart_set(p++, bind_addr(pfn, mode), slot, rec_id(t), pfn, false, tt_caching(t) == CACHING_CACHED);
      else gart_set_owner(p++, slot, rec_id(t), pfn, false, true); // no page: its populate's map failed (D24)
    }
    gart_tlb_flush();
  }
  store<i32>(t, 1, TT_BOUND); store<i32>(t, first, TT_GPU); store<i32>(t, mode, TT_MODE); store<i32>(t, agp ? 1 : 0, TT_BOUND_AGP);
}

/**
 * ttm_tt_unbind: entries to the dummy page (nv50: 0; agp: 0; none for a nouveau backend that holds
 * no page), the TLB flushes; then radeon_gart_unbind's unmaps, ascending. nouveau keeps its maps.
 */
export function tt_unbind(slot: i32): void {
  const t = tt_rec(slot);
  if (rec_kind(t) != KIND_TT || !tt_bound(t)) return;
  const first = tt_gpu(t);
  const n = tt_held(t);
  if (tt_bound_agp(t)) {
    agp_remove_memory(first, n);
  } else {
    if (tt_sgdma(t) != SGDMA_EMPTY) gart_unbind_entries(first, n);
    else for (let p = first; p < first + n; p++) gart_clear_owner(p);
    gart_tlb_flush();
    if (maps_pages(t)) for (let pfn = tt_head(t); pfn >= 0; pfn = page_next(pfn)) unmap_tt_page(page_dma(pfn));
  }
  store<i32>(t, 0, TT_BOUND); store<i32>(t, -1, TT_GPU);
}

/**
 * `mode` TT_SYNC_PAGES: dma_sync_single_for_{cpu,device} over every page, BIDIRECTIONAL, on each
 * page's handle, which copies as its era's swiotlb does at that address (T14, §5): live or not.
 * TT_SYNC_NOUVEAU: 6.12's nouveau_bo_sync_for_device / _for_cpu (nouveau_bo.c; nouveau_bo_validate
 * at each submission, cpu_prep before the CPU touches the BO): one sync of each run of physically
 * consecutive pages, from the run's first dma_address, TO_DEVICE or FROM_DEVICE; nothing for a tt
 * with no dma_address array (only 6.12's ttm_pool tts have one here). A run may span blocks
 * mapped apart: no mapping holds it (dma-debug's containing lookup: sync-unknown) and swiotlb
 * copies only to the first mapping's end.
 */
export function tt_sync(slot: i32, to_cpu: bool, mode: i32): void {
  const t = tt_of(slot);
  if (mode == TT_SYNC_NOUVEAU) {
    if (!ttm_pool_kind(tt_pool(t))) return;
    const dir = to_cpu ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
    for (let pfn = tt_head(t); pfn >= 0;) {
      const dma = page_current_handle(pfn);
      let n = 1;
      let next = page_next(pfn);
      while (next == pfn + n) { n++; next = page_next(next); }
      dma_sync_page(dma, dir, to_cpu, n * PAGE_SIZE);
      pfn = next;
    }
    return;
  }
  if (pool_maps(t)) {
    for (let pfn = tt_head(t); pfn >= 0; pfn = page_next(pfn)) tt_sync_in_block(page_dma(pfn), to_cpu);
    return;
  }
  for (let pfn = tt_head(t); pfn >= 0; pfn = page_next(pfn)) {
    // A coherent page: the kernel finds its bidirectional coherent entry, nothing to say or copy (T14).
    if (!page_has_dma(pfn) && page_has_coh(pfn)) { count_sync(to_cpu); continue; }
    dma_sync_page(page_current_handle(pfn), DMA_BIDIRECTIONAL, to_cpu);
  }
}

/**
 * dma_sync_single_for_{cpu,device}(dma, PAGE_SIZE, BIDIRECTIONAL) of one page inside a 6.12 pool
 * block's mapping: dma-debug finds the block's entry by containment; a bounced block copies by the
 * page's own slot, whoever holds it now (swiotlb_sync_single_for_* → swiotlb_bounce: that slot's
 * orig_addr and alloc_size; dma/mapping.ts swiotlb_sync_modern).
 */
function tt_sync_in_block(dma: u64, to_cpu: bool): void {
  count_sync(to_cpu);
  check_sync(dma, PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_SINGLE, to_cpu);
  swiotlb_sync_modern(dma, PAGE_SIZE, DMA_BIDIRECTIONAL, to_cpu);
}

/** One CPU write op over tt bytes [offset, offset + size), through the page list. */
function tt_write(t: usize, offset: i32, size: i32, counted: bool): void {
  const s = next_stamp(rec_id(t), 0);
  const end = offset + size;
  let pfn = tt_head(t);
  let pages = 0;
  for (let i = 0; pfn >= 0 && i * PAGE_SIZE < end; i++) {
    if ((i + 1) * PAGE_SIZE > offset) {
      write_page(s, pfn, MODE_PHYS, page_phys(pfn), max(offset - i * PAGE_SIZE, 0), min(end - i * PAGE_SIZE, PAGE_SIZE));
      pages++;
    }
    pfn = page_next(pfn);
  }
  if (counted) count(C_CPU_WRITES, pages);
}

export function tt_cpu_write(slot: i32, offset: i32, size: i32): void {
  if (size > 0) tt_write(tt_of(slot), offset, size, true);
}

/** CPU read through the page list; a violation names the page's dma handle, −1 when it has none. */
export function tt_cpu_read(slot: i32, offset: i32, size: i32): void {
  const t = tt_of(slot);
  const end = offset + size;
  let pfn = tt_head(t);
  let pages = 0;
  for (let i = 0; pfn >= 0 && i * PAGE_SIZE < end; i++) {
    if ((i + 1) * PAGE_SIZE > offset) {
      const dma = page_has_dma(pfn) ? page_dma(pfn) : page_has_coh(pfn) ? page_coh(pfn) : DMA_MAPPING_ERROR;
      check_page(READER_CPU, pfn, rec_id(t), MODE_PHYS, page_phys(pfn), max(offset - i * PAGE_SIZE, 0),
        min(end - i * PAGE_SIZE, PAGE_SIZE), dma, -1, 0);
      pages++;
    }
    pfn = page_next(pfn);
  }
  count(C_CPU_READS, pages);
}

/**
 * Device teardown after the leak check (ENGINE.md §13): live tts unbound and unpopulated in slot
 * order, then every pool drained, all without dma-debug reports.
 */
export function ttm_teardown(): void {
  debug_set_quiet(true);
  for (let slot = 0; slot < slots_high; slot++) if (is_tt(slot)) tt_unpopulate(slot);
  if (kernel_era != KERNEL_2010) ttm_pool_teardown();
  else for (let p = POOL_ID_TTM; p < POOL_ID_DMA; p++) {
    if (pool_count(p) > 0) ttm_page_pool_free(p, pool_count(p));
  }
  if (kernel_era == KERNEL_2010) for (let p = POOL_ID_DMA; p < POOL_ID_END; p++) {
    if (pool_count(p) > 0) ttm_dma_page_pool_free(p, pool_count(p));
  }
  gatt_free();
  debug_set_quiet(false);
}

/** Bit 3's first half: is every pool empty? */
export function ttm_pools_empty(): bool {
  for (let p = 0; p < POOL_ID_END; p++) if (ttm_pool_pages(p) != 0) return false;
  return true;
}
