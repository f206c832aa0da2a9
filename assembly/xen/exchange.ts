// XENMEM_exchange as the guest sees it through xen_create_contiguous_region /
// xen_destroy_contiguous_region (arch/x86/xen/mmu.c, 2010), and the two pools of machine frames
// Xen trades from: its free heap (high memory, LIFO) and the low reserve below 4 GiB (a buddy
// zone). Different: the only way to get frames below 4 GiB is to trade with a finite reserve.

import { XEN_LOW_BASE_MFN, XEN_MAX_EXCHANGE_ORDER, DMA32_LIMIT_PFN, MAX_ORDER, PAGE_SHIFT,
  C_HYPERCALLS, C_ALLOC_FAILURES, C_EXCHANGED_FRAMES } from '../abi';
import { heap_ptr, ram_pages, host_pages, xen_low_pages, frame_bits_ptr } from '../layout';
import { count } from '../sim/counters';
import { pfn_to_mfn } from '../sim/translate';
import { buddy_alloc, buddy_free, zone_list_head, zone_list_next, ZONE_XEN_LOW_ID } from '../mm/buddy';
import { set_p2m, xen_pv_domain } from './p2m';

// Xen's free heap is a LIFO of machine frames. At boot it holds [2^20, host - ram), less the low
// reserve, in ascending order; that run is kept implicit (frame = heap_base + index) and only
// frames pushed later are stored. Every push pairs with a low-reserve allocation and every pop
// with a low-reserve free, so the explicit part never exceeds xenLowPages.
let heap_implicit: i32 = 0;
let heap_explicit: i32 = 0;
let heap_base: i32 = DMA32_LIMIT_PFN; // first frame of the implicit run (above the low reserve)

/** Boot: everything above 4 GiB the guest was not given is on the heap, the low reserve is free. */
export function xen_heap_init(): void {
  heap_base = max(DMA32_LIMIT_PFN, XEN_LOW_BASE_MFN + xen_low_pages);
  heap_implicit = max(0, host_pages - ram_pages - heap_base);
  heap_explicit = 0;
}

function heap_push(mfn: i32): void {
  if (heap_explicit >= xen_low_pages) return; // cannot happen (see above); never corrupt memory
  store<i32>(heap_ptr + (<usize>heap_explicit << 2), mfn);
  heap_explicit++;
}

function heap_pop(): i32 {
  if (heap_explicit > 0) {
    heap_explicit--;
    return load<i32>(heap_ptr + (<usize>heap_explicit << 2));
  }
  if (heap_implicit > 0) {
    heap_implicit--;
    return heap_base + heap_implicit;
  }
  return -1;
}

@inline function is_low_frame(mfn: i32): bool {
  return mfn >= XEN_LOW_BASE_MFN && mfn < XEN_LOW_BASE_MFN + xen_low_pages;
}

/** A frame the guest trades away (D6): low-reserve frames go home one by one, others to the heap. */
function give_back_frame(mfn: i32): void {
  if (is_low_frame(mfn)) buddy_free(ZONE_XEN_LOW_ID, mfn, 0);
  else heap_push(mfn);
}

/**
 * xen_create_contiguous_region for pfns [pfn, pfn + 2^order): all or nothing. `counted` is
 * false for the boot-time exchanges of the xen-swiotlb pool, which no counter sees.
 * Returns true on success.
 */
export function xen_create_contiguous_region(pfn: i32, order: i32, address_bits: i32, counted: bool): bool {
  assert(xen_pv_domain(), 'an exchange off Xen');
  if (order > XEN_MAX_EXCHANGE_ORDER) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  if (counted) count(C_HYPERCALLS);
  const limit_bits = address_bits - PAGE_SHIFT;
  const limit = limit_bits >= 31 ? i32.MAX_VALUE : 1 << limit_bits;
  const low = buddy_alloc(ZONE_XEN_LOW_ID, order, limit);
  if (low < 0) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  const n = 1 << order;
  for (let i = 0; i < n; i++) {
    give_back_frame(pfn_to_mfn(pfn + i));
    set_p2m(pfn + i, low + i);
  }
  if (counted) count(C_EXCHANGED_FRAMES, n);
  return true;
}

/**
 * xen_destroy_contiguous_region: each pfn in turn takes a frame from Xen's heap and its low frame
 * goes home (D6, D16). All or nothing: a heap too short to refill every pfn changes nothing.
 */
export function xen_destroy_contiguous_region(pfn: i32, order: i32): void {
  assert(xen_pv_domain(), 'an exchange off Xen');
  count(C_HYPERCALLS);
  const n = 1 << order;
  if (heap_explicit + heap_implicit < n) return;
  for (let i = 0; i < n; i++) {
    const old = pfn_to_mfn(pfn + i);
    set_p2m(pfn + i, heap_pop());
    give_back_frame(old);
  }
  count(C_EXCHANGED_FRAMES, n);
}

/**
 * Does page `pfn`'s machine frame sit above a mask of `bits` bits (dma_capable on its machine
 * address)? Never off Xen, where the pfn is the frame and the zone already bounds it.
 */
export function xen_frame_above(pfn: i32, bits: i32): bool {
  if (!xen_pv_domain()) return false;
  const mask = bits >= 64 ? u64.MAX_VALUE : (<u64>1 << <u64>bits) - 1;
  return (<u64>pfn_to_mfn(pfn) << PAGE_SHIFT) + <u64>((1 << PAGE_SHIFT) - 1) > mask;
}

// ---- checkInvariants bits 0, 1 and 3's low half (docs/ENGINE.md T21) ----
@inline const INV_P2M: i32 = 1 << 0;
@inline const INV_FRAME_OWNERS: i32 = 1 << 1;
@inline const INV_LOW: i32 = 1 << 3;

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

/** p2m is a bijection onto owned frames, every frame has one owner, no low frame lost (0 off Xen). */
export function xen_check_frames(): i32 {
  if (!xen_pv_domain()) return 0;
  let bad = 0;
  memory.fill(frame_bits_ptr, 0, (<usize>host_pages + 7) >> 3);
  let low_held = 0;
  for (let pfn = 0; pfn < ram_pages; pfn++) {
    const mfn = pfn_to_mfn(pfn);
    if (mfn < 0 || mfn >= host_pages || !claim(mfn)) { bad |= INV_P2M; continue; }
    if (is_low_frame(mfn)) low_held++;
  }
  for (let i = 0; i < heap_explicit; i++) {
    const f = load<i32>(heap_ptr + (<usize>i << 2));
    if (f < 0 || f >= host_pages || !claim(f)) bad |= INV_FRAME_OWNERS;
  }
  for (let i = 0; i < heap_implicit; i++) if (!claim(heap_base + i)) bad |= INV_FRAME_OWNERS;
  let low_free = 0;
  for (let o = 0; o < MAX_ORDER; o++) {
    for (let f = zone_list_head(ZONE_XEN_LOW_ID, o); f >= 0; f = zone_list_next(ZONE_XEN_LOW_ID, f)) {
      for (let k = 0; k < (1 << o); k++) if (!claim(f + k)) bad |= INV_FRAME_OWNERS;
      low_free += 1 << o;
    }
  }
  // Other domains own the frames below 4 GiB outside the reserve; everything else has an owner.
  for (let f = 0; f < host_pages; f++) {
    const others = f < DMA32_LIMIT_PFN && !is_low_frame(f);
    if (others == claimed(f)) { bad |= INV_FRAME_OWNERS; break; }
  }
  if (low_free + low_held != xen_low_pages) bad |= INV_LOW;
  return bad;
}
