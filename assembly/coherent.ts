// dma_alloc_coherent / dma_free_coherent (2010): dma-direct picks the zone from the coherent mask,
// xen_swiotlb_alloc_coherent exchanges frames that are too high or scattered, an IOMMU maps IOVAs.
// Different: this is fix 1 of the RFC — memory both sides see without syncs — and under Xen it
// is paid for with scarce low machine frames.

import { PLATFORM_XEN_PV, PLATFORM_IOMMU, PAGE_SHIFT, PAGE_SIZE, DMA_BIDIRECTIONAL,
  DEBUG_TYPE_COHERENT, C_COHERENT_ALLOCS, C_PAGES_ALLOCATED, C_ALLOC_FAILURES } from './abi';
import { platform, mask_bits, dma_mask } from './layout';
import { count } from './counters';
import { buf, buf_set, buf_clear, b_failed, b_kind, b_pfn, b_order, b_pages, b_exch, b_handle,
  page_handle, KIND_COHERENT, KIND_NONE } from './buffers';
import { next_buf_id, get_order, alloc_block, free_block } from './alloc';
import { buffer_write } from './access';
import { forget_pages } from './stamps';
import { pfn_to_mfn, xen_create_contiguous_region, xen_destroy_contiguous_region } from './p2m';
import { range_straddles_page_boundary } from './xen_swiotlb';
import { iommu_alloc, iova_of, iommu_free_at } from './iommu';
import { debug_add, check_unmap } from './dma_debug';
import { ZONE_DMA32 } from './abi';

// What the last coherent_alloc_block handed out besides the pfn.
export let coherent_handle: u64 = 0;
export let coherent_exchanged: i32 = -1; // exchanged order, -1 = none

/**
 * dma_alloc_coherent's memory part for one 2^order block: zone from the coherent mask, then the
 * platform step (Xen exchange, IOVAs). Returns the pfn, or -1 (the caller counts the failure).
 * Success counts coherentAllocs; `tracked` adds the dma-debug coherent entry (the device's own
 * internal allocations, TTM pools and the GATT, are freed before dma-debug looks: ENGINE.md T8).
 */
export function coherent_alloc_block(order: i32, tracked: bool, size: i32 = 0): i32 {
  const n = 1 << order;
  const pfn = alloc_block(order, mask_bits <= 32);
  if (pfn < 0) return -1;
  count(C_PAGES_ALLOCATED, n); // taken from the buddy, even if the platform step fails (D8)
  let handle: u64 = <u64>pfn << PAGE_SHIFT;
  let exch = -1;
  if (platform == PLATFORM_XEN_PV) {
    const phys = <u64>pfn << PAGE_SHIFT;
    const bus = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
    if (bus + (<u64>n << PAGE_SHIFT) - 1 > dma_mask || range_straddles_page_boundary(phys, n * PAGE_SIZE)) {
      if (!xen_create_contiguous_region(pfn, order, mask_bits, true)) {
        free_block(pfn, order);
        return -1;
      }
      exch = order;
    }
    handle = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
  } else if (platform == PLATFORM_IOMMU) {
    const first = iommu_alloc(pfn, n, true);
    if (first < 0) {
      free_block(pfn, order);
      return -1;
    }
    handle = iova_of(first);
  }
  coherent_handle = handle;
  coherent_exchanged = exch;
  count(C_COHERENT_ALLOCS);
  // Coherent entries have no dma_mapping_error to forget: they start out "checked".
  if (tracked) debug_add(handle, size, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT, true);
  return pfn;
}

/** dma_free_coherent's memory part: debug check, destroy the exchange, release IOVAs, free. */
export function coherent_free_block(pfn: i32, order: i32, handle: u64, exch: i32, size: i32, tracked: bool): void {
  if (tracked) check_unmap(handle, size, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
  if (platform == PLATFORM_XEN_PV && exch >= 0) xen_destroy_contiguous_region(pfn, exch);
  if (platform == PLATFORM_IOMMU) iommu_free_at(handle);
  forget_pages(pfn, 1 << order);
  free_block(pfn, order);
}

export function op_alloc_coherent(slot: i32, pages: i32): void {
  const id = next_buf_id();
  const b = buf(slot);
  const order = get_order(pages);
  const pfn = coherent_alloc_block(order, true, pages * PAGE_SIZE);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    buf_set(b, id, KIND_COHERENT, true, -1, order, pages, ZONE_DMA32);
    return;
  }
  buf_set(b, id, KIND_COHERENT, false, pfn, order, pages, mask_bits <= 32 ? 0 : 1);
  store<i32>(b, coherent_exchanged, 28);
  store<u64>(b, coherent_handle, 32);
  buffer_write(b, 0, pages * PAGE_SIZE, false);
}

export function op_free_coherent(slot: i32): void {
  const b = buf(slot);
  if (b_kind(b) == KIND_NONE) return;
  if (b_failed(b)) { buf_clear(b); return; }
  if (b_kind(b) == KIND_COHERENT) {
    coherent_free_block(b_pfn(b), b_order(b), b_handle(b), b_exch(b), b_pages(b) * PAGE_SIZE, true);
  } else {
    // dma_free_coherent on alloc_pages memory (D1): dma-debug sees it, the pages are freed as by free.
    check_unmap(page_handle(b, 0), b_pages(b) * PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
    forget_pages(b_pfn(b), 1 << b_order(b));
    free_block(b_pfn(b), b_order(b));
  }
  buf_clear(b);
}
