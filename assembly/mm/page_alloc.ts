// mm/page_alloc.c as a driver calls it (2010): alloc_pages with a zone fallback, __free_pages,
// get_order. Different: GFP_DMA32 only bounds the *pfn*; under Xen the frames behind it stay
// wherever the p2m put them until an exchange trades them for low ones (xen/exchange.ts).

import { MAX_ORDER, DMA32_LIMIT_PFN, C_PAGES_FREED } from '../abi';
import { count } from '../sim/counters';
import { buddy_alloc, buddy_free, ZONE_DMA32_ID, ZONE_NORMAL_ID } from './buddy';

/** get_order: the smallest order whose block holds `pages` pages. */
export function get_order(pages: i32): i32 {
  let order = 0;
  while ((1 << order) < pages && order < MAX_ORDER - 1) order++;
  return order;
}

/** Zone fallback: DMA32 only, or Normal then DMA32. Returns pfn or −1. */
export function alloc_block(order: i32, dma32_only: bool): i32 {
  if (!dma32_only) {
    const pfn = buddy_alloc(ZONE_NORMAL_ID, order);
    if (pfn >= 0) return pfn;
  }
  return buddy_alloc(ZONE_DMA32_ID, order);
}

export function free_block(pfn: i32, order: i32): void {
  buddy_free(pfn < DMA32_LIMIT_PFN ? ZONE_DMA32_ID : ZONE_NORMAL_ID, pfn, order);
  count(C_PAGES_FREED, 1 << order);
}
