// dma_alloc_coherent / dma_free_coherent: dma-direct picks the zone from the coherent mask, an
// IOMMU maps IOVAs, and xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c) exchanges: in
// 2.6.37 always, with address bits fls64(coherent mask), and xen_swiotlb_free_coherent always
// destroys; modern (6.12.0) only when the requested pages are too high or scattered, or the
// block's first machine frame is not aligned to its order, and only those go back.
// The coherent mask is the device's DMA mask here (3.x radeon and 2.6.37 nouveau set both; 2.6.34
// radeon left it at the 32-bit default: a version uncertainty, ENGINE.md §7).
// Different: this is fix 1 of the RFC — memory both sides see without syncs — and under Xen it
// is paid for with scarce low machine frames. In a confidential-computing guest (coco) it is paid
// for with private -> shared conversions: dma_direct_alloc's dma_set_decrypted at allocation and
// dma_direct_free's dma_set_encrypted at free (kernel/dma/direct.c, 6.12; docs/ENGINE.md §16).

import { PAGE_SHIFT, PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT, C_COHERENT_ALLOCS,
  C_PAGES_ALLOCATED, KERNEL_MODERN } from '../abi';
import { mask_bits, dma_mask, kernel_era } from '../layout';
import { count } from '../sim/counters';
import { forget_pages } from '../sim/stamps';
import { pfn_to_mfn } from '../sim/translate';
import { alloc_block, free_block } from '../mm/page_alloc';
import { set_memory_decrypted, set_memory_encrypted } from '../mm/set_memory';
import { xen_pv_domain } from '../xen/p2m';
import { xen_create_contiguous_region, xen_destroy_contiguous_region } from '../xen/exchange';
import { range_straddles_page_boundary, range_requires_alignment } from '../xen/swiotlb_xen';
import { iommu_present, iommu_alloc, iova_of, iommu_unmap } from './iommu';
import { debug_add, check_unmap } from './debug';
import { force_dma_unencrypted } from './mapping';

// What an allocation hands back besides the pfn (a caller's outcome record): the dma handle, and
// the order Xen exchanged for it (-1 = none), which the free must undo.
@inline export const COH_HANDLE: i32 = 0;
@inline export const COH_EXCH: i32 = COH_HANDLE + 8;

/**
 * dma_set_decrypted / dma_set_encrypted (kernel/dma/direct.c, 6.12): under force_dma_unencrypted,
 * one set_memory_decrypted or set_memory_encrypted call over PFN_UP(size) pages from the block's
 * first — a page-state change per page (SEV-SNP's PSC, TDX's MapGPA) and a TLB flush per call
 * (__set_memory_enc_pgtable, arch/x86/mm/pat/set_memory.c); until then (and after) a device
 * reaches none of them (mm/set_memory.ts). The device's internal allocations ask for whole blocks
 * (TTM pools' PAGE_SIZE << order, the AGP GATT's 2^order table).
 */
function cc_convert(pfn: i32, size: i32, shared: bool): void {
  if (!force_dma_unencrypted()) return;
  const pages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
  if (shared) set_memory_decrypted(pfn, pages, true);
  else set_memory_encrypted(pfn, pages, true);
}

/**
 * Does the coherent block come from DMA32 only? dma-direct: for a 32-bit coherent mask. An IOMMU:
 * never, the IOVA brings the block within the mask — 2.6.37's intel_alloc_coherent drops the
 * GFP_DMA32 the x86 wrapper added (ppc64's iommu_alloc_coherent never had it), 6.12's
 * dma_alloc_attrs clears the zone flags before iommu_dma_alloc, which adds none. Xen PV: 2.6.37's dma_alloc_coherent added GFP_DMA32 for a mask of 32 bits or less
 * and xen_swiotlb_alloc_coherent stripped only DMA and HIGHMEM, so the same; 6.12's dma_alloc_attrs
 * (kernel/dma/mapping.c) clears __GFP_DMA, __GFP_DMA32 and __GFP_HIGHMEM before ops->alloc, and
 * xen_swiotlb_alloc_coherent's __get_free_pages adds none, so never (Normal then DMA32): the
 * exchange, not the zone, brings the frames low.
 */
function coherent_dma32_only(): bool {
  if (iommu_present() || (xen_pv_domain() && kernel_era == KERNEL_MODERN)) return false;
  return mask_bits <= 32;
}

/**
 * dma_alloc_coherent's memory part for one 2^order block of which `size` bytes were asked for: the
 * zone (coherent_dma32_only), then the platform step (Xen exchange, IOVAs). Xen PV, 6.12.0's
 * xen_swiotlb_alloc_coherent: the tests see the request rounded up to whole pages
 * (ALIGN(size, XEN_PAGE_SIZE), since "xen/swiotlb: fix allocated size"), not the 2^order block; the
 * exchange (xen_create_contiguous_region, arch/x86/xen/mmu_pv.c) is still of the whole block.
 * Returns the pfn, or -1 (the caller counts the failure).
 * Success counts coherentAllocs; `tracked` adds the dma-debug coherent entry: the GPU's
 * allocations, not agpgart's for the AGP bridge (ENGINE.md T8).
 */
export function coherent_alloc_block(order: i32, tracked: bool, size: i32, out: usize, type: i32 = DEBUG_TYPE_COHERENT, dir: i32 = DMA_BIDIRECTIONAL): i32 {
  const pfn = alloc_block(order, coherent_dma32_only());
  if (pfn < 0) return -1;
  count(C_PAGES_ALLOCATED, 1 << order); // taken from the buddy, even if the platform step fails (D8)
  let handle: u64 = <u64>pfn << PAGE_SHIFT;
  let exch = -1;
  if (xen_pv_domain()) {
    const phys = <u64>pfn << PAGE_SHIFT;
    const bus = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
    const bytes = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); // ALIGN(size, XEN_PAGE_SIZE)
    const out_of_reach = bus + <u64>bytes - 1 > dma_mask || range_straddles_page_boundary(phys, bytes)
      || range_requires_alignment(pfn, order);
    if (kernel_era != KERNEL_MODERN || out_of_reach) {
      if (!xen_create_contiguous_region(pfn, order, mask_bits, true)) {
        free_block(pfn, order);
        return -1;
      }
      exch = order;
    }
    handle = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT;
  } else if (iommu_present()) {
    // The IOVAs cover the pages asked for, not the whole block: 2010 ppc64 iommu_alloc_coherent maps
    // PAGE_ALIGN(size) >> IOMMU_PAGE_SHIFT entries, 6.12 iommu_dma_alloc → __iommu_dma_map maps
    // PAGE_ALIGN(size) of TTM's force-contiguous block. Different: the block is still 2^order pages (6.12 allocates only those
    // pages), and 2010's IOVA alignment to the order is not kept (the window is next-fit, §8).
    const first = iommu_alloc(pfn, (size + PAGE_SIZE - 1) >> PAGE_SHIFT, true);
    if (first < 0) {
      free_block(pfn, order);
      return -1;
    }
    handle = iova_of(first);
  }
  // dma_direct_alloc: the pages become shared before the caller sees them; the handle stays the
  // guest physical address (phys_to_dma_unencrypted: no C-bit; TDX's shared bit is the guest
  // page tables', not the device's address).
  cc_convert(pfn, size, true);
  store<u64>(out, handle, COH_HANDLE);
  store<i32>(out, exch, COH_EXCH);
  count(C_COHERENT_ALLOCS);
  // Coherent entries have no dma_mapping_error to forget: they start out "checked". `type`, `dir`:
  // 6.12's filing of a kernel trace's other forms (driver/buffer_ops.ts alloc_debug_type).
  if (tracked) debug_add(handle, size, dir, type, true, <u64>pfn << PAGE_SHIFT);
  return pfn;
}

/** dma_free_coherent's memory part: debug check, destroy the exchange, release IOVAs, free. */
export function coherent_free_block(pfn: i32, order: i32, handle: u64, exch: i32, size: i32, tracked: bool, given: i32 = size,
  type: i32 = DEBUG_TYPE_COHERENT, dir: i32 = DMA_BIDIRECTIONAL): void {
  if (tracked) check_unmap(handle, given, dir, type); // the caller's size, and the free call's type and direction
  if (exch >= 0) xen_destroy_contiguous_region(pfn, exch);
  if (iommu_present()) iommu_unmap(handle, max(given, 0), false); // the caller's size; iommu_dma_free has no check of the first page
  cc_convert(pfn, size, false); // dma_direct_free: back to private before the pages return to the buddy
  forget_pages(pfn, 1 << order);
  free_block(pfn, order);
}
