// mm/page_alloc.c as a driver calls it (twin of assembly/mm/page_alloc.ts, 2010): alloc_pages
// over the two zones with the DMA32 fallback, __free_pages, get_order.
import { DMA32_LIMIT_PFN, MAX_ORDER, Zone } from '../../engine/abi.js';
import type { Layout } from '../layout.js';
import type { SimState } from '../sim/oracle.js';
import { Buddy } from './buddy.js';

export interface Zones {
  dma32: Buddy;
  normal: Buddy | null;
}

/** What page allocation needs besides the simulator's state. */
export interface MmState extends SimState {
  readonly zones: Zones;
  readonly layout: Layout;
}

export function buildZones(layout: Layout, ramPages: number): Zones {
  const dma32 = new Buddy(layout.firstFreePfn, Math.min(ramPages, DMA32_LIMIT_PFN));
  dma32.freeRangeAtInit();
  let normal: Buddy | null = null;
  if (ramPages > DMA32_LIMIT_PFN) {
    normal = new Buddy(DMA32_LIMIT_PFN, ramPages);
    normal.freeRangeAtInit();
  }
  return { dma32, normal };
}

/** get_order: the smallest order whose block holds `pages` pages. */
export function getOrder(pages: number): number {
  let order = 0;
  while (2 ** order < pages && order < MAX_ORDER - 1) order++;
  return order;
}

/** A block from the zone asked for (`normal` falls back to DMA32), or -1. */
export function allocBlock(m: MmState, order: number, zone: number): number {
  const { dma32, normal } = m.zones;
  if (zone === Zone.normal && normal) {
    const pfn = normal.alloc(order);
    if (pfn >= 0) return pfn;
  }
  return dma32.alloc(order);
}

export function freeBlock(m: MmState, pfn: number, order: number): void {
  const { dma32, normal } = m.zones;
  (pfn >= DMA32_LIMIT_PFN ? normal! : dma32).free(pfn, order);
  m.counters.pagesFreed += 2 ** order;
}
