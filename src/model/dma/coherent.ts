// dma_alloc_coherent / dma_free_coherent per platform (twin of assembly/dma/coherent.ts):
// dma-direct (kernel/dma/direct.c), xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c: in
// 2.6.37 always an exchange with fls64(coherent mask) bits and always a destroy at free; modern,
// 6.12.0, only when the requested pages are above the mask or scattered, or the block's first
// machine frame is not aligned to its order) and an IOMMU mapping. The coherent mask is the DMA
// mask (a version uncertainty for 2.6.34 radeon, ENGINE.md §7). The handle needs no sync, ever:
// fix 1 of the RFC, paid for under Xen with hypercalls and frames, and in a confidential-computing
// guest (coco) with private -> shared conversions: dma_direct_alloc's dma_set_decrypted and
// dma_direct_free's dma_set_encrypted (kernel/dma/direct.c, 6.12; docs/ENGINE.md §16).
import { DebugType, Dir, Kernel, PAGE_SIZE, Zone } from '../../engine/abi.js';
import { allocBlock, freeBlock } from '../mm/pageAlloc.js';
import { setMemoryDecrypted, setMemoryEncrypted } from '../mm/setMemory.js';
import { xenCreateContiguousRegion, xenDestroyContiguousRegion } from '../xen/exchange.js';
import { xenPvDomain } from '../xen/p2m.js';
import { rangeRequiresAlignment, rangeStraddlesPageBoundary } from '../xen/swiotlbXen.js';
import { dmaCapable, forceDmaUnencrypted, type DmaState } from './mapping.js';

/** A coherent block: its first pfn, device handle, and the order Xen exchanged for it (-1: none). */
export interface CoherentBlock {
  pfn: number;
  handle: number;
  exchanged: number;
}

/**
 * dma_set_decrypted / dma_set_encrypted (kernel/dma/direct.c, 6.12): under force_dma_unencrypted,
 * one set_memory_decrypted or set_memory_encrypted call over PFN_UP(size) pages from the block's
 * first — a page-state change per page (SEV-SNP's PSC, TDX's MapGPA) and a TLB flush per call
 * (__set_memory_enc_pgtable, arch/x86/mm/pat/set_memory.c); until then (and after) a device
 * reaches none of them (mm/setMemory.ts). The device's internal allocations ask for whole blocks (TTM pools'
 * PAGE_SIZE << order, the AGP GATT's 2^order table).
 */
function ccConvert(s: DmaState, pfn: number, size: number, shared: boolean): void {
  if (!forceDmaUnencrypted(s)) return;
  const pages = Math.ceil(size / PAGE_SIZE);
  if (shared) setMemoryDecrypted(s, pfn, pages, true);
  else setMemoryEncrypted(s, pfn, pages, true);
}

/**
 * The zone a coherent block comes from. dma-direct: DMA32 for a 32-bit coherent mask, else Normal
 * then DMA32. An IOMMU: Normal then DMA32, the IOVA brings the block within the mask — 2.6.37's
 * intel_alloc_coherent drops the GFP_DMA32 the x86 wrapper added (ppc64's iommu_alloc_coherent
 * never had it), 6.12's dma_alloc_attrs clears the zone flags before iommu_dma_alloc, which adds none. Xen PV: 2.6.37's dma_alloc_coherent added GFP_DMA32 for a
 * mask of 32 bits or less and xen_swiotlb_alloc_coherent stripped only DMA and HIGHMEM, so the
 * same; 6.12's dma_alloc_attrs (kernel/dma/mapping.c) clears __GFP_DMA, __GFP_DMA32 and
 * __GFP_HIGHMEM before ops->alloc, and xen_swiotlb_alloc_coherent's __get_free_pages adds none, so
 * Normal then DMA32 whatever the mask (the exchange, not the zone, brings the frames low).
 */
function coherentZone(s: DmaState): number {
  if (s.iommu || (xenPvDomain(s) && s.cfg.kernel === Kernel.modern)) return Zone.normal;
  return s.cfg.maskBits === 32 ? Zone.dma32 : Zone.normal;
}

/**
 * dma_alloc_coherent's memory part for one 2^order block of which `size` bytes were asked for:
 * the zone (coherentZone), then the platform step (Xen exchange, IOVAs). pagesAllocated when taken, coherentAllocs on success, a
 * give-back (pagesFreed) when the platform step fails (D8); null on failure, allocFailures being
 * the caller's (a failed exchange counts its own, §6). `tracked` adds the dma-debug coherent
 * entry: the GPU's allocations, not agpgart's for the AGP bridge (ENGINE.md T8).
 */
/** The entry count dma-debug files with a debug type here: a kernel trace's _sgt memory is a one-entry sg table (debug_dma_map_sg). */
export const tableEnts = (type: number): number => (type === DebugType.sg ? 1 : 0);

export function coherentAllocBlock(s: DmaState, order: number, tracked: boolean, size: number, type: number = DebugType.coherent, dir: number = Dir.bidirectional): CoherentBlock | null {
  const pfn = allocBlock(s, order, coherentZone(s));
  if (pfn < 0) return null;
  s.counters.pagesAllocated += 2 ** order; // counted when taken, even if the platform step fails (D8)
  const block = platformHandle(s, pfn, order, size);
  if (!block) {
    freeBlock(s, pfn, order);
    return null;
  }
  // dma_direct_alloc: the pages become shared before the caller sees them; the handle stays the
  // guest physical address (phys_to_dma_unencrypted: no C-bit; TDX's shared bit is the guest
  // page tables', not the device's address).
  ccConvert(s, pfn, size, true);
  s.counters.coherentAllocs++;
  if (tracked) s.debug.add(s.op, block.handle, size, dir, type, pfn * PAGE_SIZE, tableEnts(type)); // type, dir: a kernel trace's form (driver/bufferOps.ts)
  return block;
}

/**
 * Gives the block its device handle, or null when the platform cannot (the caller frees it). Xen PV,
 * 6.12.0's xen_swiotlb_alloc_coherent: the tests see the request rounded up to whole pages
 * (ALIGN(size, XEN_PAGE_SIZE), since "xen/swiotlb: fix allocated size"), not the 2^order block;
 * the exchange (xen_create_contiguous_region, arch/x86/xen/mmu_pv.c) is still of the whole block.
 */
function platformHandle(s: DmaState, pfn: number, order: number, size: number): CoherentBlock | null {
  const { machine } = s;
  if (xenPvDomain(s)) {
    const bytes = Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
    const reachable = dmaCapable(s, machine.mfnOf(pfn) * PAGE_SIZE, bytes)
      && !rangeStraddlesPageBoundary(machine, pfn * PAGE_SIZE, bytes)
      && !rangeRequiresAlignment(machine, pfn, order);
    const exchange = s.cfg.kernel === Kernel['2010'] || !reachable;
    if (exchange && !xenCreateContiguousRegion(s, pfn, order, s.cfg.maskBits, true)) return null;
    return { pfn, handle: machine.mfnOf(pfn) * PAGE_SIZE, exchanged: exchange ? order : -1 };
  }
  if (s.iommu) {
    // The IOVAs cover the pages asked for, not the whole block (2010 ppc64 iommu_alloc_coherent,
    // 6.12 iommu_dma_alloc → __iommu_dma_map for TTM's force-contiguous block: PAGE_ALIGN(size));
    // the twin says what stays different.
    const pages = Math.ceil(size / PAGE_SIZE);
    const first = s.iommu.allocate(pages);
    if (first < 0) return null;
    s.iommu.fill(first, pfn, pages);
    s.counters.iommuPagesMapped += pages;
    return { pfn, handle: s.iommu.busOf(first, 0), exchanged: -1 };
  }
  return { pfn, handle: pfn * PAGE_SIZE, exchanged: -1 };
}

/** dma_free_coherent's memory part: the debug check if tracked, undo the exchange or the IOVAs, free. */
export function coherentFreeBlock(s: DmaState, block: CoherentBlock, order: number, tracked: boolean, size: number, given = size,
  type: number = DebugType.coherent, dir: number = Dir.bidirectional): void {
  // the caller's size, and the free call's type and direction
  if (tracked) s.debug.checkUnmap(s.op, { dmaAddr: block.handle, size: given, dir, type, sgEnts: tableEnts(type) });
  if (block.exchanged >= 0) xenDestroyContiguousRegion(s, block.pfn, block.exchanged);
  if (s.iommu) s.counters.iommuPagesUnmapped += s.iommu.unmap(block.handle, Math.max(given, 0), s.op, false); // the caller's size; no check of the first page
  ccConvert(s, block.pfn, size, false); // dma_direct_free: back to private before the pages return to the buddy
  s.expected.clearPages(block.pfn, 2 ** order);
  freeBlock(s, block.pfn, order);
}
