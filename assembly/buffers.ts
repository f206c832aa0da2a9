// The driver's view of its buffers: struct page blocks from alloc_pages or dma_alloc_coherent,
// and the dma handle a 2010 driver would program (include/linux/dma-mapping.h users: TTM, radeon).
// Different: each buffer remembers only its *last* streaming mapping, exactly like a driver
// that keeps one dma_addr per page and overwrites it on every map.

import { PAGE_SHIFT, PAGE_SIZE, DMA_MAPPING_ERROR } from './abi';
import { buffers_ptr, BUF_BYTES, max_buffers } from './layout';

// Record (BUF_BYTES):
//   +0 id  +4 kind  +8 failed  +12 pfn  +16 order  +20 pages  +24 zone  +28 exchanged order
//   +32 coherent handle (u64)
//   mapping: +40 has  +44 live  +48 dma (u64)  +56 offset  +60 size  +64 dir  +68 how
//            +72 first slot / iova entry  +76 nslots / iova pages
@inline export const KIND_NONE: i32 = 0;
@inline export const KIND_PAGE: i32 = 1;
@inline export const KIND_COHERENT: i32 = 2;
@inline export const KIND_TT: i32 = 3; // a TTM tt: see ttm_tt.ts for its record
@inline export const MAP_DIRECT: i32 = 0;
@inline export const MAP_BOUNCE: i32 = 1;
@inline export const MAP_IOMMU: i32 = 2;
@inline export const MAP_FAILED: i32 = 3;

@inline export function buf(slot: i32): usize { return buffers_ptr + <usize>(slot * BUF_BYTES); }
@inline export function valid_slot(slot: i32): bool { return <u32>slot < <u32>max_buffers; }

@inline export function b_id(b: usize): i32 { return load<i32>(b); }
@inline export function b_kind(b: usize): i32 { return load<i32>(b, 4); }
@inline export function b_failed(b: usize): bool { return load<i32>(b, 8) != 0; }
@inline export function b_pfn(b: usize): i32 { return load<i32>(b, 12); }
@inline export function b_order(b: usize): i32 { return load<i32>(b, 16); }
@inline export function b_pages(b: usize): i32 { return load<i32>(b, 20); }
@inline export function b_exch(b: usize): i32 { return load<i32>(b, 28); }
@inline export function b_handle(b: usize): u64 { return load<u64>(b, 32); }
@inline export function m_has(b: usize): bool { return load<i32>(b, 40) != 0; }
@inline export function m_live(b: usize): bool { return load<i32>(b, 44) != 0; }
@inline export function m_dma(b: usize): u64 { return load<u64>(b, 48); }
@inline export function m_offset(b: usize): i32 { return load<i32>(b, 56); }
@inline export function m_size(b: usize): i32 { return load<i32>(b, 60); }
@inline export function m_dir(b: usize): i32 { return load<i32>(b, 64); }
@inline export function m_how(b: usize): i32 { return load<i32>(b, 68); }
@inline export function m_first(b: usize): i32 { return load<i32>(b, 72); }
@inline export function m_count(b: usize): i32 { return load<i32>(b, 76); }

/** A slot on which ops act: holds a live, successfully allocated buffer. */
@inline export function usable(b: usize): bool { return b_kind(b) != KIND_NONE && !b_failed(b); }

export function buf_set(b: usize, id: i32, kind: i32, failed: bool, pfn: i32, order: i32, pages: i32, zone: i32): void {
  memory.fill(b, 0, BUF_BYTES);
  store<i32>(b, id); store<i32>(b, kind, 4); store<i32>(b, failed ? 1 : 0, 8);
  store<i32>(b, pfn, 12); store<i32>(b, order, 16); store<i32>(b, pages, 20); store<i32>(b, zone, 24);
  store<i32>(b, -1, 28);
}

export function buf_clear(b: usize): void { memory.fill(b, 0, BUF_BYTES); }

export function set_mapping(b: usize, dma: u64, offset: i32, size: i32, dir: i32, how: i32, first: i32, n: i32): void {
  store<i32>(b, 1, 40); store<i32>(b, how == MAP_FAILED ? 0 : 1, 44);
  store<u64>(b, dma, 48); store<i32>(b, offset, 56); store<i32>(b, size, 60); store<i32>(b, dir, 64);
  store<i32>(b, how, 68); store<i32>(b, first, 72); store<i32>(b, n, 76);
}

@inline export function kill_mapping(b: usize): void { store<i32>(b, 0, 44); }

/**
 * The dma address a driver uses for buffer byte `offset` (GART PTEs, device access, sync; D10):
 * the coherent handle, the last mapping (live or dead) if it covers the byte, else virt_to_phys
 * as a careless driver would. A failed map's error address stays the error address.
 */
export function byte_handle(b: usize, offset: i32): u64 {
  if (b_kind(b) == KIND_COHERENT) return b_handle(b) + <u64>offset;
  if (m_has(b) && offset >= m_offset(b) && offset - m_offset(b) < m_size(b)) {
    const dma = m_dma(b);
    if (dma == DMA_MAPPING_ERROR) return dma;
    return dma + <u64>(offset - m_offset(b));
  }
  return (<u64>b_pfn(b) << PAGE_SHIFT) + <u64>offset;
}

@inline export function page_handle(b: usize, i: i32): u64 { return byte_handle(b, i * PAGE_SIZE); }

/** The handle reported with a CPU read's violation (D4): −1 when the driver holds no dma address. */
export function cpu_page_handle(b: usize, i: i32): u64 {
  const at = i * PAGE_SIZE;
  if (b_kind(b) != KIND_COHERENT && !(m_has(b) && at >= m_offset(b) && at - m_offset(b) < m_size(b))) {
    return DMA_MAPPING_ERROR; // −1 as i64
  }
  return byte_handle(b, at);
}

/** The address a driver passes to unmap (D10): its last mapping's, else the coherent handle, else phys. */
export function unmap_handle(b: usize): u64 {
  if (m_has(b)) return m_dma(b);
  if (b_kind(b) == KIND_COHERENT) return b_handle(b);
  return <u64>b_pfn(b) << PAGE_SHIFT;
}
