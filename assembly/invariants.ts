// The bookkeeping the kernel and Xen keep consistent, checked from outside (ENGINE.md §13): p2m is
// a bijection, every machine frame has exactly one owner, swiotlb's free counters heal (but for the
// dummy page's run), TTM pools drain at release, no low frame is lost, and the buddy allocator
// accounts for every page.
// Models no kernel file (CONFIG_DEBUG_VM-style checks); slow on purpose, never on the op path.

import { C_SWIOTLB_SLOTS_IN_USE, C_PAGES_ALLOCATED, C_PAGES_FREED } from './abi';
import { ram_pages, first_free_pfn } from './layout';
import { counter } from './sim/counters';
import { zone_free_frames, ZONE_DMA32_ID, ZONE_NORMAL_ID } from './mm/buddy';
import { xen_check_frames } from './xen/exchange';
import { swiotlb_idle_pristine } from './dma/swiotlb';
import { debug_live_single } from './dma/debug';
import { ttm_pools_empty } from './drm/ttm_tt';
import { gatt_table_pages } from './drm/agp_gatt';

@inline const INV_SWIOTLB: i32 = 1 << 2;
@inline const INV_POOLS: i32 = 1 << 3;
@inline const INV_BUDDY: i32 = 1 << 4;

// Bit 3 asks for empty pools only right after a RELEASE (T21): was the last op one?
let released = false;
@inline export function note_op(release: bool): void { released = release; }

export function check_invariants(): i32 {
  let bad = xen_check_frames(); // bits 0, 1 and the low-range half of 3
  if (debug_live_single() == 0 && !swiotlb_idle_pristine(counter(C_SWIOTLB_SLOTS_IN_USE))) bad |= INV_SWIOTLB;
  if (released && !ttm_pools_empty()) bad |= INV_POOLS;
  const free = zone_free_frames(ZONE_DMA32_ID) + zone_free_frames(ZONE_NORMAL_ID);
  // The GATT's table is the machine's, held uncounted (drm/agp_gatt.ts gatt_create).
  const held = counter(C_PAGES_ALLOCATED) - counter(C_PAGES_FREED) + gatt_table_pages();
  if (free + held != <i64>(ram_pages - first_free_pfn)) bad |= INV_BUDDY;
  return bad;
}
