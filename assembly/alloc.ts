// alloc_pages / __free_pages as a driver (TTM) calls them, plus the explicit exchange op the
// Xen-aware allocator uses (fix 3 of the RFC: xen_create_contiguous_region per buffer).
// Different: GFP_DMA32 only bounds the *pfn*; under Xen the frames behind it stay wherever the
// p2m put them until an exchange trades them for low ones.

import { ZONE_DMA32, MAX_ORDER, DMA32_LIMIT_PFN, PLATFORM_XEN_PV, C_PAGES_ALLOCATED, C_PAGES_FREED,
  C_ALLOC_FAILURES } from './abi';
import { platform } from './layout';
import { count } from './counters';
import { buddy_alloc, buddy_free, ZONE_DMA32_ID, ZONE_NORMAL_ID } from './buddy';
import { buf, buf_set, buf_clear, usable, b_pfn, b_order, KIND_PAGE } from './buffers';
import { buffer_write } from './access';
import { forget_pages } from './stamps';
import { xen_create_contiguous_region } from './p2m';

let buf_counter: i32 = 0;

@inline export function next_buf_id(): i32 { return ++buf_counter; }

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

export function op_alloc(slot: i32, pages: i32, zone: i32): void {
  const id = next_buf_id();
  const b = buf(slot);
  const order = get_order(pages);
  const pfn = alloc_block(order, zone == ZONE_DMA32);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    buf_set(b, id, KIND_PAGE, true, -1, order, pages, zone);
    return;
  }
  buf_set(b, id, KIND_PAGE, false, pfn, order, pages, zone);
  count(C_PAGES_ALLOCATED, 1 << order);
  buffer_write(b, 0, pages << 12, false); // the zeroing: a CPU write nobody counts
}

export function op_free(slot: i32): void {
  const b = buf(slot);
  if (usable(b)) {
    forget_pages(b_pfn(b), 1 << b_order(b));
    free_block(b_pfn(b), b_order(b));
  }
  buf_clear(b);
}

export function op_exchange(slot: i32, address_bits: i32): void {
  if (platform != PLATFORM_XEN_PV) return;
  const b = buf(slot);
  if (!usable(b)) return;
  if (xen_create_contiguous_region(b_pfn(b), b_order(b), address_bits, true)) {
    store<i32>(b, b_order(b), 28);
  }
}
