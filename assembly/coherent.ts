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

export function op_alloc_coherent(slot: i32, pages: i32): void {
  const id = next_buf_id();
  const b = buf(slot);
  const order = get_order(pages);
  const n = 1 << order;
  const pfn = alloc_block(order, mask_bits <= 32);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    buf_set(b, id, KIND_COHERENT, true, -1, order, pages, ZONE_DMA32);
    return;
  }
  count(C_PAGES_ALLOCATED, n); // taken from the buddy, even if the platform step fails (D8)
  let handle: u64 = <u64>pfn << PAGE_SHIFT;
  let exch = -1;
  if (platform == PLATFORM_XEN_PV) {
    const phys = <u64>pfn << PAGE_SHIFT;
    const bus = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
    if (bus + (<u64>n << PAGE_SHIFT) - 1 > dma_mask || range_straddles_page_boundary(phys, n * PAGE_SIZE)) {
      if (!xen_create_contiguous_region(pfn, order, mask_bits, true)) {
        free_block(pfn, order);
        count(C_ALLOC_FAILURES);
        buf_set(b, id, KIND_COHERENT, true, -1, order, pages, ZONE_DMA32);
        return;
      }
      exch = order;
    }
    handle = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
  } else if (platform == PLATFORM_IOMMU) {
    const first = iommu_alloc(pfn, n, true);
    if (first < 0) {
      free_block(pfn, order);
      count(C_ALLOC_FAILURES);
      buf_set(b, id, KIND_COHERENT, true, -1, order, pages, ZONE_DMA32);
      return;
    }
    handle = iova_of(first);
  }
  buf_set(b, id, KIND_COHERENT, false, pfn, order, pages, mask_bits <= 32 ? 0 : 1);
  store<i32>(b, exch, 28);
  store<u64>(b, handle, 32);
  count(C_COHERENT_ALLOCS);
  buffer_write(b, 0, pages * PAGE_SIZE, false);
  // Coherent entries have no dma_mapping_error to forget: they start out "checked".
  debug_add(handle, pages * PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT, true);
}

export function op_free_coherent(slot: i32): void {
  const b = buf(slot);
  if (b_kind(b) == KIND_NONE) return;
  if (b_failed(b)) { buf_clear(b); return; }
  // dma_free_coherent on alloc_pages memory (D1): dma-debug sees it, the pages are freed as by free.
  check_unmap(page_handle(b, 0), b_pages(b) * PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
  if (b_kind(b) == KIND_COHERENT) {
    if (platform == PLATFORM_XEN_PV && b_exch(b) >= 0) xen_destroy_contiguous_region(b_pfn(b), b_exch(b));
    if (platform == PLATFORM_IOMMU) iommu_free_at(b_handle(b));
  }
  forget_pages(b_pfn(b), 1 << b_order(b));
  free_block(b_pfn(b), b_order(b));
  buf_clear(b);
}
