// drivers/xen/swiotlb-xen.c (twin of assembly/xen/swiotlb_xen.ts, 2010): bus addresses come from
// the p2m, a page is bounced when its machine address is above the mask or a multi-page range is
// not machine-contiguous, and the pool was exchanged below 4 GiB at boot.
import { IO_TLB_OVERFLOW_PAGES, PAGE_SIZE, XEN_POOL_PIECE_ORDER } from '../../engine/abi.js';
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

/** xen_swiotlb_init's boot exchanges: pool pieces, overflow buffer, dummy page, below 4 GiB. */
export function xenSwiotlbBoot(s: XenState): boolean {
  const { poolPfn, poolPages, overflowPfn, dummyPfn } = s.layout;
  const piece = 2 ** XEN_POOL_PIECE_ORDER;
  const regions: [number, number][] = [];
  for (let p = 0; p < poolPages; p += piece) regions.push([poolPfn + p, Math.min(piece, poolPages - p)]);
  regions.push([overflowPfn, IO_TLB_OVERFLOW_PAGES], [dummyPfn, 1]);
  return regions.every(([pfn, pages]) => xenCreateContiguousRegion(s, pfn, getOrder(pages), 32, false));
}
