// drivers/xen/swiotlb-xen.c (twin of src/model/xen/swiotlbXen.ts; 2.6.37 and 6.12.0): bus addresses
// come from the p2m, and a page is bounced when its machine address is above the mask or a
// multi-page range is not machine-contiguous. The pool is exchanged below 4 GiB at boot: 2.6.37's
// xen_swiotlb_init/xen_swiotlb_fixup, 6.12's pci_xen_swiotlb_init (arch/x86/kernel/pci-dma.c) →
// swiotlb_init_remap(…, xen_swiotlb_fixup). The coherent path (xen_swiotlb_alloc_coherent) is
// dma/coherent.ts's.
// Different: the guest's DMA32 pfns are usually high mfns, so a 32-bit device bounces nearly
// everything — the bug the RFC describes — while its pool pieces were exchanged low at boot.
// A full pool on the 2010 path is dma/mapping.ts's (xen_swiotlb_map_page returns 0).

import { PAGE_SHIFT, PAGE_MASK, XEN_POOL_PIECE_ORDER, XEN_POOL_FIRST_BITS, XEN_POOL_MAX_BITS } from '../abi';
import { io_tlb_start_pfn, pool_pages } from '../layout';
import { pfn_to_mfn } from '../sim/translate';
import { xen_create_contiguous_region } from './exchange';
import { get_order } from '../mm/page_alloc';

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

/**
 * The coherent path's alignment test (6.12.0: inside range_straddles_page_boundary, from "xen/swiotlb:
 * add alignment check for dma buffers"; later 6.12.y: range_requires_alignment, called by
 * xen_swiotlb_alloc_coherent and xen_swiotlb_free_coherent only): a buffer whose guest-physical
 * start is aligned to 2^order pages needs its first machine frame aligned the same. A buddy block
 * of that order always is guest-aligned, so only the machine frame decides; order 0 never fails.
 */
export function range_requires_alignment(pfn: i32, order: i32): bool {
  const align_mask = (1 << order) - 1;
  return (pfn & align_mask) == 0 && (pfn_to_mfn(pfn) & align_mask) != 0;
}

/**
 * xen_swiotlb_map_page's share of that test in 6.12.0, where it sat inside
 * range_straddles_page_boundary: a map whose guest-physical start is aligned to
 * 2^get_order(size) pages (a page offset of 0 included) but whose first machine frame is not
 * bounces. Later 6.12.y ("xen/swiotlb: relax alignment requirements") dropped it from the map path;
 * 2.6.37 never had it.
 */
export function map_requires_alignment(phys: u64, size: i32): bool {
  if ((phys & <u64>PAGE_MASK) != 0) return false;
  return range_requires_alignment(<i32>(phys >> PAGE_SHIFT), get_order((size + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT));
}

/**
 * xen_swiotlb_init → xen_swiotlb_fixup (drivers/xen/swiotlb-xen.c, 2.6.37): the pool is exchanged
 * in 128-slot (256 KiB, order 6) pieces, in ascending order. The address-bits cursor starts at
 * 18 (get_order of a segment + PAGE_SHIFT) and grows by one after each failed try, up to 32; it
 * is never reset between pieces. A piece that fails at 32 bits fails the boot on 2.6.37 (a panic,
 * Xen would not exchange the pool's pages); 6.12's swiotlb_init_remap frees the pool and retries
 * with half the slots, down to 512, then boots without one. The input validation keeps both away. Boot exchanges count in no
 * counter. The overflow buffer (plain low bootmem) and the GART dummy page (alloc_page) are not
 * exchanged: their frames are wherever the p2m put them.
 */
export function xen_swiotlb_boot(): bool {
  const piece = 1 << XEN_POOL_PIECE_ORDER;
  let dma_bits = XEN_POOL_FIRST_BITS;
  for (let p = 0; p < pool_pages; p += piece) {
    const n = min(piece, pool_pages - p); // a short last piece: get_order rounds up
    let order = 0;
    while ((1 << order) < n) order++;
    while (!xen_create_contiguous_region(io_tlb_start_pfn + p, order, dma_bits, false)) {
      if (dma_bits >= XEN_POOL_MAX_BITS) return false;
      dma_bits++;
    }
  }
  return true;
}
