// dma_alloc_coherent / dma_free_coherent: dma-direct picks the zone from the coherent mask, an
// IOMMU maps IOVAs, and xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c) exchanges: in
// 2.6.37 always, with address bits fls64(coherent mask), and xen_swiotlb_free_coherent always
// destroys; from 3.2 (modern) only frames that are too high or scattered, and only those go back.
// The coherent mask is the device's DMA mask here (3.x radeon and 2.6.37 nouveau set both; 2.6.34
// radeon left it at the 32-bit default: a version uncertainty, ENGINE.md §7).
// Different: this is fix 1 of the RFC — memory both sides see without syncs — and under Xen it
// is paid for with scarce low machine frames.

import { PAGE_SHIFT, PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT, C_COHERENT_ALLOCS,
  C_PAGES_ALLOCATED, KERNEL_MODERN } from '../abi';
import { mask_bits, dma_mask, kernel_era } from '../layout';
import { count } from '../sim/counters';
import { forget_pages } from '../sim/stamps';
import { pfn_to_mfn } from '../sim/translate';
import { alloc_block, free_block } from '../mm/page_alloc';
import { xen_pv_domain } from '../xen/p2m';
import { xen_create_contiguous_region, xen_destroy_contiguous_region } from '../xen/exchange';
import { range_straddles_page_boundary } from '../xen/swiotlb_xen';
import { iommu_present, iommu_alloc, iova_of, iommu_free_at } from './iommu';
import { debug_add, check_unmap } from './debug';

// What an allocation hands back besides the pfn (a caller's outcome record): the dma handle, and
// the order Xen exchanged for it (-1 = none), which the free must undo.
@inline export const COH_HANDLE: i32 = 0;
@inline export const COH_EXCH: i32 = COH_HANDLE + 8;

/**
 * dma_alloc_coherent's memory part for one 2^order block: zone from the coherent mask, then the
 * platform step (Xen exchange, IOVAs). Returns the pfn, or -1 (the caller counts the failure).
 * Success counts coherentAllocs; `tracked` adds the dma-debug coherent entry (the device's own
 * internal allocations, TTM pools and the GATT, are freed before dma-debug looks: ENGINE.md T8).
 */
export function coherent_alloc_block(order: i32, tracked: bool, size: i32, out: usize): i32 {
  const n = 1 << order;
  const pfn = alloc_block(order, mask_bits <= 32);
  if (pfn < 0) return -1;
  count(C_PAGES_ALLOCATED, n); // taken from the buddy, even if the platform step fails (D8)
  let handle: u64 = <u64>pfn << PAGE_SHIFT;
  let exch = -1;
  if (xen_pv_domain()) {
    const phys = <u64>pfn << PAGE_SHIFT;
    const bus = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
    const out_of_reach = bus + (<u64>n << PAGE_SHIFT) - 1 > dma_mask || range_straddles_page_boundary(phys, n * PAGE_SIZE);
    if (kernel_era != KERNEL_MODERN || out_of_reach) {
      if (!xen_create_contiguous_region(pfn, order, mask_bits, true)) {
        free_block(pfn, order);
        return -1;
      }
      exch = order;
    }
    handle = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
  } else if (iommu_present()) {
    const first = iommu_alloc(pfn, n, true);
    if (first < 0) {
      free_block(pfn, order);
      return -1;
    }
    handle = iova_of(first);
  }
  store<u64>(out, handle, COH_HANDLE);
  store<i32>(out, exch, COH_EXCH);
  count(C_COHERENT_ALLOCS);
  // Coherent entries have no dma_mapping_error to forget: they start out "checked".
  if (tracked) debug_add(handle, size, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT, true, <u64>pfn << PAGE_SHIFT);
  return pfn;
}

/** dma_free_coherent's memory part: debug check, destroy the exchange, release IOVAs, free. */
export function coherent_free_block(pfn: i32, order: i32, handle: u64, exch: i32, size: i32, tracked: bool): void {
  if (tracked) check_unmap(handle, size, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
  if (exch >= 0) xen_destroy_contiguous_region(pfn, exch);
  if (iommu_present()) iommu_free_at(handle);
  forget_pages(pfn, 1 << order);
  free_block(pfn, order);
}
