// drivers/xen/swiotlb-xen.c (twin of assembly/xen/swiotlb_xen.ts; 2.6.37 and 6.12.0): bus addresses
// come from the p2m, a page is bounced when its machine address is above the mask or a multi-page
// range is not machine-contiguous, and the pool was exchanged below 4 GiB at boot — 2.6.37's
// xen_swiotlb_init/xen_swiotlb_fixup, 6.12's pci_xen_swiotlb_init (arch/x86/kernel/pci-dma.c) →
// swiotlb_init_remap(…, xen_swiotlb_fixup). A full pool on the 2010 path is dma/mapping.ts's: 0.
// The coherent path (xen_swiotlb_alloc_coherent) is dma/coherent.ts's.
import { PAGE_SIZE, XEN_POOL_FIRST_BITS, XEN_POOL_MAX_BITS, XEN_POOL_PIECE_ORDER } from '../../engine/abi.js';
import { getOrder } from '../mm/pageAlloc.js';
import { xenCreateContiguousRegion, type XenState } from './exchange.js';
import type { P2m } from './p2m.js';

/** xen_phys_to_bus. */
export function xenPhysToBus(machine: P2m, phys: number): number {
  return machine.mfnOf(Math.floor(phys / PAGE_SIZE)) * PAGE_SIZE + (phys % PAGE_SIZE);
}

/** range_straddles_page_boundary: does [phys, phys + size) cross a machine discontinuity? */
export function rangeStraddlesPageBoundary(machine: P2m, phys: number, size: number): boolean {
  const first = Math.floor(phys / PAGE_SIZE);
  return !machine.machineContiguous(first, Math.floor((phys + size - 1) / PAGE_SIZE) - first + 1);
}

/**
 * The coherent path's alignment test (6.12.0: inside range_straddles_page_boundary, from "xen/swiotlb:
 * add alignment check for dma buffers"; later 6.12.y: range_requires_alignment, called by
 * xen_swiotlb_alloc_coherent and xen_swiotlb_free_coherent only): a buffer whose guest-physical
 * start is aligned to 2^order pages needs its first machine frame aligned the same. A buddy block
 * of that order always is guest-aligned, so only the machine frame decides; order 0 never fails.
 */
export function rangeRequiresAlignment(machine: P2m, pfn: number, order: number): boolean {
  return pfn % 2 ** order === 0 && machine.mfnOf(pfn) % 2 ** order !== 0;
}

/**
 * xen_swiotlb_map_page's share of that test in 6.12.0, where it sat inside
 * range_straddles_page_boundary: a map whose guest-physical start is aligned to
 * 2^get_order(size) pages (a page offset of 0 included) but whose first machine frame is not
 * bounces. Later 6.12.y ("xen/swiotlb: relax alignment requirements") dropped it from the map path;
 * 2.6.37 never had it.
 */
export function mapRequiresAlignment(machine: P2m, phys: number, size: number): boolean {
  if (phys % PAGE_SIZE !== 0) return false;
  return rangeRequiresAlignment(machine, phys / PAGE_SIZE, getOrder(Math.ceil(size / PAGE_SIZE)));
}

/**
 * xen_swiotlb_init → xen_swiotlb_fixup (drivers/xen/swiotlb-xen.c, 2.6.37): the pool in 128-slot
 * (order 6) pieces, ascending, with one address-bits cursor from 18 that grows by one after each
 * failed try up to 32 and is never reset; a piece that fails at 32 fails the boot (2.6.37 panics;
 * 6.12 retries with half the pool, down to 512 slots; the input validation keeps both away). The
 * overflow buffer and the dummy page are not exchanged. Boot exchanges count nothing.
 */
export function xenSwiotlbBoot(s: XenState): boolean {
  const { poolPfn, poolPages } = s.layout;
  const piece = 2 ** XEN_POOL_PIECE_ORDER;
  let dmaBits = XEN_POOL_FIRST_BITS;
  for (let p = 0; p < poolPages; p += piece) {
    const order = getOrder(Math.min(piece, poolPages - p));
    while (!xenCreateContiguousRegion(s, poolPfn + p, order, dmaBits, false)) {
      if (dmaBits >= XEN_POOL_MAX_BITS) return false;
      dmaBits++;
    }
  }
  return true;
}
