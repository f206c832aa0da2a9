// The driver's view of its buffers: struct page blocks from alloc_pages or dma_alloc_coherent,
// and the dma handle a 2010 driver would program (include/linux/dma-mapping.h users: TTM, radeon).
// Different: each buffer remembers only its *last* streaming mapping, as a driver that keeps one
// dma_addr per buffer and overwrites it on every map. A driver that keeps one per page still holds
// an earlier map's handle for the pages a later map of other pages does not cover; here those
// pages fall back to their physical address (docs/ENGINE.md §3).

import { PAGE_SHIFT, PAGE_SIZE, DMA_MAPPING_ERROR } from '../abi';
import { SLOT_BODY, SLOT_BYTES, KIND_COHERENT, KIND_TT, slot_rec, rec_kind } from '../layout';
import { MAP_FAILED, OUT_HOW, OUT_FIRST, OUT_COUNT, OUT_BYTES } from '../dma/mapping';
import { COH_HANDLE, COH_EXCH } from '../dma/coherent';
import { gatt_fsb } from '../drm/agp_gatt';
import { pfn_to_mfn } from '../sim/translate';

// Buffer record: the slot header (layout.ts), then the block (first pfn, order, pages used,
// zone), the coherent outcome (dma/coherent.ts: handle, exchanged order), and the last streaming
// mapping: whether there is one and whether it is live, its dma address, the buffer range it
// covers, its direction, and the map's outcome (dma/mapping.ts: how, first slot or IOVA, count);
// an sg entry also links to the next entry its dma_map_sg call mapped (buffer_ops.ts dma_map); and
// where a kernel trace recorded the block's memory, which dma-debug's cacheline numbers take.
@inline const B_PFN: i32 = SLOT_BODY;
@inline const B_ORDER: i32 = B_PFN + 4;
@inline const B_PAGES: i32 = B_ORDER + 4;
@inline const B_ZONE: i32 = B_PAGES + 4;
@inline const B_FREED: i32 = B_ZONE + 4; // 1: the slot is empty and B_COH keeps the handle its last free freed (a coherent one's, a mapped one's)
@inline export const B_COH: i32 = B_ZONE + 8; // u64-aligned
@inline const M_HAS: i32 = B_COH + 12;
@inline const M_LIVE: i32 = M_HAS + 4;
@inline const M_DMA: i32 = M_LIVE + 8; // u64-aligned
@inline const M_OFFSET: i32 = M_DMA + 8;
@inline const M_SIZE: i32 = M_OFFSET + 4;
@inline const M_DIR: i32 = M_SIZE + 4;
@inline export const M_OUT: i32 = M_DIR + 4;
@inline const M_SG_NEXT: i32 = M_OUT + OUT_BYTES; // an sg entry: the slot of its call's entry mapped after it, −1: none
@inline const B_REC: i32 = M_SG_NEXT + 8; // u64-aligned: a trace's recorded physical address of the block, −1: none
@inline const B_END: i32 = B_REC + 8;

/** The buffer in a slot (never a tt: callers check). */
@inline export function buf(slot: i32): usize {
  const b = slot_rec(slot);
  assert(rec_kind(b) != KIND_TT, 'a tt where a buffer was expected');
  assert(B_END <= SLOT_BYTES, 'buffer record larger than a slot');
  return b;
}

@inline export function b_pfn(b: usize): i32 { return load<i32>(b, B_PFN); }
@inline export function b_order(b: usize): i32 { return load<i32>(b, B_ORDER); }
@inline export function b_pages(b: usize): i32 { return load<i32>(b, B_PAGES); }
@inline export function b_exch(b: usize): i32 { return load<i32>(b, B_COH + COH_EXCH); }
@inline export function b_handle(b: usize): u64 { return load<u64>(b, B_COH + COH_HANDLE); }
@inline export function set_b_exch(b: usize, order: i32): void { store<i32>(b, order, B_COH + COH_EXCH); }
@inline export function m_has(b: usize): bool { return load<i32>(b, M_HAS) != 0; }
@inline export function m_live(b: usize): bool { return load<i32>(b, M_LIVE) != 0; }
@inline export function m_dma(b: usize): u64 { return load<u64>(b, M_DMA); }
@inline export function m_offset(b: usize): i32 { return load<i32>(b, M_OFFSET); }
@inline export function m_size(b: usize): i32 { return load<i32>(b, M_SIZE); }
@inline export function m_dir(b: usize): i32 { return load<i32>(b, M_DIR); }
@inline export function m_sg_next(b: usize): i32 { return load<i32>(b, M_SG_NEXT); }
@inline export function set_m_sg_next(b: usize, slot: i32): void { store<i32>(b, slot, M_SG_NEXT); }
/** Where a trace recorded the block's memory (its first byte), or −1: a page of the simulation's own. */
@inline export function b_recorded(b: usize): i64 { return load<i64>(b, B_REC); }
@inline export function m_how(b: usize): i32 { return load<i32>(b, M_OUT + OUT_HOW); }
@inline export function m_first(b: usize): i32 { return load<i32>(b, M_OUT + OUT_FIRST); }
@inline export function m_count(b: usize): i32 { return load<i32>(b, M_OUT + OUT_COUNT); }

/** After rec_start: the block. The exchanged order starts at −1 (none). */
export function buf_set(b: usize, pfn: i32, order: i32, pages: i32, zone: i32, recorded: i64 = -1): void {
  store<i32>(b, pfn, B_PFN); store<i32>(b, order, B_ORDER); store<i32>(b, pages, B_PAGES); store<i32>(b, zone, B_ZONE);
  set_b_exch(b, -1);
  store<i64>(b, recorded, B_REC);
}

/** A map's result, after dma_map_phys wrote its outcome into M_OUT. */
export function set_mapping(b: usize, dma: u64, offset: i32, size: i32, dir: i32): void {
  store<i32>(b, 1, M_HAS); store<i32>(b, m_how(b) == MAP_FAILED ? 0 : 1, M_LIVE);
  store<u64>(b, dma, M_DMA); store<i32>(b, offset, M_OFFSET); store<i32>(b, size, M_SIZE); store<i32>(b, dir, M_DIR);
}

/** After a free emptied the slot (rec_clear): keeps the freed memory's handle, for a kernel trace's second free (buffer_ops.ts dma_free_at). */
export function keep_freed_handle(b: usize, handle: u64): void { store<u64>(b, handle, B_COH + COH_HANDLE); store<i32>(b, 1, B_FREED); }
@inline export function freed_handle_kept(b: usize): bool { return load<i32>(b, B_FREED) != 0; }

@inline export function kill_mapping(b: usize): void { store<i32>(b, 0, M_LIVE); }
/** The mapping's address as the driver now holds it (a failed dma_map_sg's entries: dma/mapping.ts). */
@inline export function set_m_dma(b: usize, dma: u64): void { store<u64>(b, dma, M_DMA); }

/** Does the buffer's last mapping (live or dead) cover byte `at`? */
@inline function in_mapping(b: usize, at: i32): bool { return m_has(b) && at >= m_offset(b) && at - m_offset(b) < m_size(b); }

/** Does the driver hold a dma address for byte `at`: a coherent buffer's, or a mapping's that covers it? */
@inline function holds_handle(b: usize, at: i32): bool { return rec_kind(b) == KIND_COHERENT || in_mapping(b, at); }

/**
 * The dma address a driver uses for buffer byte `offset` (GART PTEs, device access, sync; D10):
 * the coherent handle, the last mapping (live or dead) if it covers the byte, else virt_to_phys
 * as a careless driver would. A failed map's error address stays the error address (a GART PTE,
 * a device access: page_handle_failed); a sync adds the offset to it (driver_handle).
 */
export function byte_handle(b: usize, offset: i32): u64 {
  if (rec_kind(b) == KIND_COHERENT) return b_handle(b) + <u64>offset;
  if (in_mapping(b, offset)) {
    const dma = m_dma(b);
    if (dma == DMA_MAPPING_ERROR) return dma;
    return dma + <u64>(offset - m_offset(b));
  }
  return (<u64>b_pfn(b) << PAGE_SHIFT) + <u64>offset;
}

@inline export function page_handle(b: usize, i: i32): u64 { return byte_handle(b, i * PAGE_SIZE); }

/** What agp_generic_insert_memory writes for page i of a replay's buffer: its handle (page_to_phys
 * of a page neither mapped nor coherent), but with a table made through the fsb hooks the driver's
 * virt_to_fsb of such a page, its machine address (phys_to_machine under Xen, itself elsewhere). */
export function agp_page_addr(b: usize, i: i32): u64 {
  return gatt_fsb() && !holds_handle(b, i * PAGE_SIZE) ? <u64>pfn_to_mfn(b_pfn(b) + i) << PAGE_SHIFT : page_handle(b, i);
}

/** The handle a driver computes for byte `offset` of its mapping (a sync at handle + offset): the
 * mapping's handle plus the offset, a failed map's too (6.12's DMA_MAPPING_ERROR + k wraps to k − 1
 * as a dma_addr_t); elsewhere byte_handle. */
export function driver_handle(b: usize, offset: i32): u64 {
  if (rec_kind(b) != KIND_COHERENT && in_mapping(b, offset)) return m_dma(b) + <u64>(offset - m_offset(b));
  return byte_handle(b, offset);
}

/**
 * A device access to bytes [a, …) of page i goes through the handle of its first byte (the kernel's
 * device uses handle + delta: a mapping that starts mid-page covers no byte 0), laid over the page:
 * that handle − a, so base + k is byte k's address.
 */
@inline export function dev_page_handle(b: usize, i: i32, a: i32): u64 {
  const h = byte_handle(b, i * PAGE_SIZE + a);
  return h == DMA_MAPPING_ERROR ? h : h - <u64>a;
}

/**
 * D24: does page i's handle (a device access's: at its first byte `a`) come from a map that failed
 * — an address dma_mapping_error would have refused (`err`: the platform's, dma/mapping.ts
 * dma_error_addr), which a driver that did not check hands on? The device or GPU then reaches
 * whatever is there, and the page does not move.
 */
export function page_handle_failed(b: usize, i: i32, err: u64, a: i32 = 0): bool {
  const at = i * PAGE_SIZE + a;
  return rec_kind(b) != KIND_COHERENT && in_mapping(b, at) && m_dma(b) == err;
}

/** The handle reported with a CPU read's violation (D4): −1 when the driver holds no dma address. */
export function cpu_page_handle(b: usize, i: i32): u64 {
  const at = i * PAGE_SIZE;
  return holds_handle(b, at) ? byte_handle(b, at) : DMA_MAPPING_ERROR; // −1 as i64
}

/** The address a driver passes to unmap (D10): its last mapping's, else the coherent handle, else phys. */
export function unmap_handle(b: usize): u64 {
  if (m_has(b)) return m_dma(b);
  if (rec_kind(b) == KIND_COHERENT) return b_handle(b);
  return <u64>b_pfn(b) << PAGE_SHIFT;
}
