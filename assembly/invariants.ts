// The bookkeeping the kernel and Xen keep consistent, checked from outside (ENGINE.md §13): p2m is
// a bijection, every machine frame has exactly one owner, swiotlb's free counters heal, TTM pools
// drain at release, no low frame is lost, and the buddy allocator accounts for every page.
// Models no kernel file (CONFIG_DEBUG_VM-style checks); slow on purpose, never on the op path.

import { PLATFORM_XEN_PV, XEN_LOW_BASE_MFN, DMA32_LIMIT_PFN, MAX_ORDER, C_SWIOTLB_SLOTS_IN_USE,
  C_PAGES_ALLOCATED, C_PAGES_FREED } from './abi';
import { platform, ram_pages, host_pages, xen_low_pages, first_free_pfn, frame_bits_ptr } from './layout';
import { counter } from './counters';
import { pfn_to_mfn, heap_explicit_count, heap_explicit_at, heap_implicit_count, heap_implicit_base } from './p2m';
import { zone_free_frames, zone_list_head, zone_list_next, ZONE_DMA32_ID, ZONE_NORMAL_ID, ZONE_XEN_LOW_ID } from './buddy';
import { swiotlb_idle_pristine } from './swiotlb';
import { debug_live_single } from './dma_debug';
import { ttm_pools_empty } from './ttm_tt';

@inline const INV_P2M: i32 = 1 << 0;
@inline const INV_FRAME_OWNERS: i32 = 1 << 1;
@inline const INV_SWIOTLB: i32 = 1 << 2;
@inline const INV_POOLS_LOW: i32 = 1 << 3;
@inline const INV_BUDDY: i32 = 1 << 4;

// Bit 3 asks for empty pools only right after a RELEASE (T21): was the last op one?
let released = false;
@inline export function note_op(release: bool): void { released = release; }

/** Sets frame f's owner bit; false when it was already set (a second owner). */
function claim(f: i32): bool {
  const at = frame_bits_ptr + (<usize>f >> 3);
  const bit: i32 = 1 << (f & 7);
  const v: i32 = load<u8>(at);
  if ((v & bit) != 0) return false;
  store<u8>(at, <u8>(v | bit));
  return true;
}
@inline function claimed(f: i32): bool { return ((<i32>load<u8>(frame_bits_ptr + (<usize>f >> 3)) >> (f & 7)) & 1) != 0; }
@inline function in_low_reserve(f: i32): bool { return f >= XEN_LOW_BASE_MFN && f < XEN_LOW_BASE_MFN + xen_low_pages; }

function check_xen_frames(): i32 {
  let bad = 0;
  memory.fill(frame_bits_ptr, 0, (<usize>host_pages + 7) >> 3);
  let low_held = 0;
  for (let pfn = 0; pfn < ram_pages; pfn++) {
    const mfn = pfn_to_mfn(pfn);
    if (mfn < 0 || mfn >= host_pages || !claim(mfn)) { bad |= INV_P2M; continue; }
    if (in_low_reserve(mfn)) low_held++;
  }
  for (let i = 0; i < heap_explicit_count(); i++) {
    const f = heap_explicit_at(i);
    if (f < 0 || f >= host_pages || !claim(f)) bad |= INV_FRAME_OWNERS;
  }
  const base = heap_implicit_base();
  for (let i = 0; i < heap_implicit_count(); i++) if (!claim(base + i)) bad |= INV_FRAME_OWNERS;
  let low_free = 0;
  for (let o = 0; o < MAX_ORDER; o++) {
    for (let f = zone_list_head(ZONE_XEN_LOW_ID, o); f >= 0; f = zone_list_next(ZONE_XEN_LOW_ID, f)) {
      for (let k = 0; k < (1 << o); k++) if (!claim(f + k)) bad |= INV_FRAME_OWNERS;
      low_free += 1 << o;
    }
  }
  // Other domains own the frames below 4 GiB outside the reserve; everything else has an owner.
  for (let f = 0; f < host_pages; f++) {
    const others = f < DMA32_LIMIT_PFN && !in_low_reserve(f);
    if (others == claimed(f)) { bad |= INV_FRAME_OWNERS; break; }
  }
  if (low_free + low_held != xen_low_pages) bad |= INV_POOLS_LOW;
  return bad;
}

export function check_invariants(): i32 {
  let bad = 0;
  if (platform == PLATFORM_XEN_PV) bad |= check_xen_frames();
  if (debug_live_single() == 0 && !swiotlb_idle_pristine(counter(C_SWIOTLB_SLOTS_IN_USE))) bad |= INV_SWIOTLB;
  if (released && !ttm_pools_empty()) bad |= INV_POOLS_LOW;
  const free = zone_free_frames(ZONE_DMA32_ID) + zone_free_frames(ZONE_NORMAL_ID);
  const held = counter(C_PAGES_ALLOCATED) - counter(C_PAGES_FREED);
  if (free + held != <i64>(ram_pages - first_free_pfn)) bad |= INV_BUDDY;
  return bad;
}
