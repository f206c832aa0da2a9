// The DMA side of the TTM backends of 2.6.37 (drivers/gpu/drm/radeon/radeon_gart.c,
// drivers/gpu/drm/nouveau/nouveau_sgdma.c): which backend maps a tt's pages when, and the maps and
// unmaps themselves. radeon maps each page in radeon_gart_bind and unmaps it in radeon_gart_unbind;
// nouveau maps every page once in nouveau_sgdma_populate and unmaps them in nouveau_sgdma_clear
// (through destroy), so its bind and unbind only write entries. The modern (6.12) drivers map
// nothing themselves: ttm_pool.ts maps each block at allocation and unmaps it at free.
// Different: a tt's pages are a singly linked list (ttm_page.ts), so clear's reverse walk turns
// the chain round, walks it and turns it back.

import { GART_NV04, GART_NV50, KERNEL_2010, POOL_TTM_DMA, POOL_AGP_COHERENT, DMA_BIDIRECTIONAL,
  DEBUG_TYPE_SINGLE, PAGE_SIZE, C_UNMAPS } from '../abi';
import { gart_family, kernel_era, OUT_SCRATCH_PTR } from '../layout';
import { count } from '../sim/counters';
import { dma_map_phys, map_failed, dma_unmap_addr } from '../dma/mapping';
import { check_unmap, debug_mapping_error } from '../dma/debug';
import { is_agp } from './agp_gatt';
import { page_next, set_page_next, page_dma, set_page_dma, page_phys } from './ttm_page';

// What the nouveau backend holds for a tt (the tt record keeps it, ttm_tt.ts):
/** Not a nouveau populate: radeon, the modern kernel, coherent-handle pools, an AGP device. */
@inline export const SGDMA_NONE: i32 = 0;
/** nouveau_sgdma_populate mapped every page; the mappings stay live until clear. */
@inline export const SGDMA_MAPPED: i32 = 1;
/** A map failed: clear unmapped the rest and the backend holds no page (its nr_pages is 0). */
@inline export const SGDMA_EMPTY: i32 = 2;

/** nouveau (nv04, nv50) in 2.6.37: the sgdma backend, which maps at populate. */
@inline function sgdma_device(): bool {
  return kernel_era == KERNEL_2010 && (gart_family == GART_NV04 || gart_family == GART_NV50);
}

/**
 * radeon_gart_bind (2.6.37) maps each page at bind; nouveau_sgdma_bind (2.6.37) writes the
 * populate's addresses and maps nothing. 6.12: neither maps at bind: radeon_ttm_backend_bind
 * hands radeon_gart_bind the tt's dma_address array, which ttm_pool_alloc filled (ttm_pool_map),
 * and nouveau binds from the same array (nouveau_sgdma_bind → nouveau_mem_host).
 */
@inline export function maps_at_bind(): bool { return kernel_era == KERNEL_2010 && !sgdma_device(); }

/**
 * Does ttm_tt_populate's be->populate map the pages? nouveau_sgdma_populate on a non-AGP nouveau
 * device (an AGP one has ttm_agp_backend), for pages that come without a coherent handle: the
 * dma pool's and agp-coherent's pages already carry their bus address (3.3 ttm_dma_populate).
 */
@inline export function maps_at_populate(pool: i32): bool {
  return sgdma_device() && !is_agp() && pool != POOL_TTM_DMA && pool != POOL_AGP_COHERENT;
}

/** dma_unmap_page(handle, PAGE_SIZE, BIDIRECTIONAL) of one tt page. */
@inline export function unmap_tt_page(dma: u64): void { unmap_tt_range(dma, PAGE_SIZE); }

/** dma_unmap_page(handle, size, BIDIRECTIONAL): a tt page, or (6.12 ttm_pool_unmap) a whole pool block. */
export function unmap_tt_range(dma: u64, size: i32): void {
  count(C_UNMAPS);
  check_unmap(dma, size, DMA_BIDIRECTIONAL, DEBUG_TYPE_SINGLE);
  dma_unmap_addr(dma, size, DMA_BIDIRECTIONAL);
}

/**
 * dma_map_page(page, 0, PAGE_SIZE, BIDIRECTIONAL) + dma_mapping_error over the chain from `head`,
 * in order; a page's dma is each successful map's address (T11). Returns the first page whose map
 * failed, or -1 when every page mapped.
 */
function map_chain(head: i32): i32 {
  for (let pfn = head; pfn >= 0; pfn = page_next(pfn)) {
    const dma = dma_map_phys(page_phys(pfn), PAGE_SIZE, DMA_BIDIRECTIONAL, OUT_SCRATCH_PTR);
    if (map_failed(OUT_SCRATCH_PTR)) return pfn;
    debug_mapping_error(dma);
    set_page_dma(pfn, dma);
  }
  return -1;
}

/**
 * radeon_gart_bind's maps: every page; at the first failure the pages mapped so far are unmapped
 * again in ascending order (radeon_gart_bind's error path through radeon_gart_unbind). Returns -1
 * when every page mapped, else how many pages had been mapped (and had their entries written)
 * before the map that failed.
 */
export function radeon_map_pages(head: i32): i32 {
  const failed = map_chain(head);
  if (failed < 0) return -1;
  let n = 0;
  for (let q = head; q != failed; q = page_next(q)) { unmap_tt_page(page_dma(q)); n++; }
  return n;
}

/**
 * nouveau_sgdma_populate (2.6.37): pci_map_page of every page, in order; at the first failure
 * nouveau_sgdma_clear unmaps the pages mapped so far (in reverse) and populate returns -EFAULT,
 * which ttm_tt_populate ignores: the tt is populated all the same, its backend holds no page.
 * Returns the backend state (SGDMA_MAPPED or SGDMA_EMPTY).
 */
export function sgdma_populate(head: i32): i32 {
  const failed = map_chain(head);
  if (failed < 0) return SGDMA_MAPPED;
  sgdma_clear(head, failed);
  return SGDMA_EMPTY;
}

/**
 * nouveau_sgdma_clear's unmaps: the pages of the chain from `head` up to (not including) `end`
 * (-1: the whole chain), last to first, each pci_unmap_page(handle, PAGE_SIZE, BIDIRECTIONAL).
 */
export function sgdma_clear(head: i32, end: i32): void {
  if (head == end) return;
  const last = reverse_chain(head, end); // head now ends the reversed run, linked to `end`
  for (let pfn = last; pfn != end; pfn = page_next(pfn)) unmap_tt_page(page_dma(pfn));
  reverse_chain(last, end);
}

/** Turns the run [from, end) of a chain round in place, keeping its link to `end`; returns its new first page. */
function reverse_chain(from: i32, end: i32): i32 {
  let prev = end;
  let pfn = from;
  while (pfn != end) {
    const next = page_next(pfn);
    set_page_next(pfn, prev);
    prev = pfn;
    pfn = next;
  }
  return prev;
}
