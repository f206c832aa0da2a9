// XENMEM_exchange as the guest sees it through xen_create_contiguous_region /
// xen_destroy_contiguous_region (arch/x86/xen/mmu.c, 2.6.36+; unchanged in the 3.0 copy and in
// 6.12.0's arch/x86/xen/mmu_pv.c, order-9 limit included — later 6.12.y allows larger regions,
// "x86/xen: allow larger contiguous memory regions in PV guests", not followed here), served
// by Xen's memory_exchange (xen/common/memory.c, Xen 4.1) from its zone heap (xen/heap.ts).
// Different: one chunk per call (Linux asks 2^k frames for one extent or back), so it is all or
// nothing; frames outside the guest, the heap and the low range belong to other domains.

import { XEN_LOW_BASE_MFN, XEN_MAX_EXCHANGE_ORDER, DMA32_LIMIT_PFN, XEN_NR_ZONES, XEN_HEAP_MAX_ORDER,
  PAGE_SHIFT, C_HYPERCALLS, C_ALLOC_FAILURES, C_EXCHANGED_FRAMES } from '../abi';
import { ram_pages, host_pages, xen_low_end, frame_bits_ptr, payload_bytes, unit_payload,
  xen_out_ptr } from '../layout';
import { count } from '../sim/counters';
import { pfn_to_mfn, pfn_to_sfn } from '../sim/translate';
import { mach_slot, forget_pages, zero_frame_stamps } from '../sim/stamps';
import { set_p2m, xen_pv_domain } from './p2m';
import { alloc_domheap_pages, free_heap_pages, heap_list_head, heap_list_next, heap_block_mfn } from './heap';

@inline function is_low_frame(mfn: i32): bool { return mfn >= XEN_LOW_BASE_MFN && mfn < xen_low_end; }

/**
 * The memset both region calls start with (through the guest's mapping, into the frames it holds
 * now): the frames read zero, and so do the pages as the oracle expects them (they were written).
 */
function zero_range(pfn: i32, n: i32): void {
  for (let i = 0; i < n; i++) {
    const sfn = pfn_to_sfn(pfn + i);
    zero_frame_stamps(sfn);
    if (payload_bytes > 0) {
      const slot = mach_slot(sfn, false);
      if (slot != 0) memory.fill(slot, 0, <usize>(unit_payload << 1));
    }
  }
  forget_pages(pfn, n);
}

/**
 * xen_create_contiguous_region for pfns [pfn, pfn + 2^order): order above MAX_CONTIG_ORDER (9)
 * fails before anything happens; else the range is zeroed, then memory_exchange steals the 2^k
 * frames, asks alloc_domheap_pages for one order-k block under 2^address_bits and, only if it got
 * one, frees the stolen frames one by one (in_chunk_list is LIFO: the last pfn's frame first).
 * A failure leaves the old (now zeroed) frames; the new frames keep whatever they held.
 * `counted` is false for the boot-time exchanges of the xen-swiotlb pool, which no counter sees.
 */
export function xen_create_contiguous_region(pfn: i32, order: i32, address_bits: i32, counted: bool): bool {
  assert(xen_pv_domain(), 'an exchange off Xen');
  if (order > XEN_MAX_EXCHANGE_ORDER) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  const n = 1 << order;
  zero_range(pfn, n);
  if (counted) count(C_HYPERCALLS);
  const base = alloc_domheap_pages(order, address_bits, xen_out_ptr);
  if (base < 0) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  for (let i = n - 1; i >= 0; i--) {
    free_heap_pages(pfn_to_mfn(pfn + i), 0, pfn_to_sfn(pfn + i));
    set_p2m(pfn + i, base + i, i == 0 ? load<i32>(xen_out_ptr) : -1);
  }
  if (counted) count(C_EXCHANGED_FRAMES, n);
  return true;
}

/**
 * xen_destroy_contiguous_region: nothing above order 9; else the range is zeroed and exchanged for
 * 2^k single frames with no address limit (highest zones first). memory_exchange allocates them
 * all before freeing the old block frame by frame (last first), and hands them out from
 * out_chunk_list's head, so pfn + i gets the (2^k − 1 − i)-th allocated. If Xen runs out part way,
 * what it got goes back (newest first) and the pfns keep their old frames (D16).
 */
export function xen_destroy_contiguous_region(pfn: i32, order: i32): void {
  assert(xen_pv_domain(), 'an exchange off Xen');
  if (order > XEN_MAX_EXCHANGE_ORDER) return;
  const n = 1 << order;
  zero_range(pfn, n);
  count(C_HYPERCALLS);
  for (let j = 0; j < n; j++) {
    const at = xen_out_ptr + (<usize>j << 3);
    const f = alloc_domheap_pages(0, 0, at + 4);
    if (f < 0) {
      for (let i = j - 1; i >= 0; i--) free_heap_pages(load<i32>(xen_out_ptr + (<usize>i << 3)), 0, load<i32>(xen_out_ptr + (<usize>i << 3), 4));
      return;
    }
    store<i32>(at, f);
  }
  for (let i = n - 1; i >= 0; i--) free_heap_pages(pfn_to_mfn(pfn + i), 0, pfn_to_sfn(pfn + i));
  for (let i = 0; i < n; i++) {
    const at = xen_out_ptr + (<usize>(n - 1 - i) << 3);
    set_p2m(pfn + i, load<i32>(at), load<i32>(at, 4));
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
  let low_free = 0;
  for (let z = 0; z < XEN_NR_ZONES; z++) {
    for (let o = 0; o <= XEN_HEAP_MAX_ORDER; o++) {
      for (let b = heap_list_head(z, o); b >= 0; b = heap_list_next(b)) {
        const f = heap_block_mfn(b);
        for (let k = 0; k < (1 << o); k++) {
          if (f + k >= host_pages || !claim(f + k)) { bad |= INV_FRAME_OWNERS; break; }
          if (is_low_frame(f + k)) low_free++;
        }
      }
    }
  }
  // Other domains own the frames below 4 GiB outside the low range; everything else has an owner.
  for (let f = 0; f < host_pages; f++) {
    const others = f < DMA32_LIMIT_PFN && !is_low_frame(f);
    if (others == claimed(f)) { bad |= INV_FRAME_OWNERS; break; }
  }
  if (low_free + low_held != xen_low_end - XEN_LOW_BASE_MFN) bad |= INV_LOW;
  return bad;
}
