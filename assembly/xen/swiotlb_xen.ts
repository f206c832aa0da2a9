// drivers/xen/swiotlb-xen.c (2010): bus addresses come from the p2m, and a page is bounced when
// its machine address is above the mask or a multi-page range is not machine-contiguous.
// Different: the guest's DMA32 pfns are usually high mfns, so a 32-bit device bounces nearly
// everything — the bug the RFC describes — while its pool pieces were exchanged low at boot.

import { PAGE_SHIFT, PAGE_MASK, XEN_POOL_PIECE_ORDER, IO_TLB_OVERFLOW_PAGES } from '../abi';
import { io_tlb_start_pfn, pool_pages, overflow_pfn, dummy_pfn } from '../layout';
import { pfn_to_mfn } from '../sim/translate';
import { xen_create_contiguous_region } from './exchange';

/** xen_phys_to_bus. */
@inline export function xen_phys_to_bus(phys: u64): u64 {
  return (<u64>pfn_to_mfn(<i32>(phys >> PAGE_SHIFT)) << PAGE_SHIFT) | (phys & PAGE_MASK);
}

/** range_straddles_page_boundary: does [phys, phys + size) cross a machine discontinuity? */
export function range_straddles_page_boundary(phys: u64, size: i32): bool {
  const first = <i32>(phys >> PAGE_SHIFT);
  const last = <i32>((phys + <u64>size - 1) >> PAGE_SHIFT);
  for (let pfn = first; pfn < last; pfn++) {
    if (pfn_to_mfn(pfn + 1) != pfn_to_mfn(pfn) + 1) return true;
  }
  return false;
}

/** xen_swiotlb_init's boot exchanges: pool pieces, overflow buffer, dummy page, below 4 GiB. */
export function xen_swiotlb_boot(): bool {
  const piece = 1 << XEN_POOL_PIECE_ORDER;
  for (let p = 0; p < pool_pages; p += piece) {
    let order = XEN_POOL_PIECE_ORDER;
    while (order > 0 && p + (1 << order) > pool_pages) order--; // a short last piece
    if (!xen_create_contiguous_region(io_tlb_start_pfn + p, order, 32, false)) return false;
  }
  let overflow_order = 0;
  while ((1 << overflow_order) < IO_TLB_OVERFLOW_PAGES) overflow_order++;
  if (!xen_create_contiguous_region(overflow_pfn, overflow_order, 32, false)) return false;
  return xen_create_contiguous_region(dummy_pfn, 0, 32, false);
}
