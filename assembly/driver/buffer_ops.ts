// The script's DMA-API calls on its own buffers (alloc_pages, dma_alloc_coherent, dma_map_single,
// dma_sync_single_*, dma_unmap_single, xen_create_contiguous_region, a GART bind): what a 2010
// driver does with one buffer, checked by dma-debug. Different: a buffer keeps only its last
// mapping, and an op on a slot that holds nothing usable is a no-op (ops.ts decides).

import { ZONE_DMA32, DMA_BIDIRECTIONAL, DEBUG_TYPE_SINGLE, DEBUG_TYPE_COHERENT, PAGE_SHIFT, PAGE_SIZE,
  C_ALLOC_FAILURES, C_PAGES_ALLOCATED, C_UNMAPS, C_SYNCS_FOR_CPU, C_SYNCS_FOR_DEVICE, KERNEL_MODERN } from '../abi';
import { mask_bits, gart_pages, kernel_era, KIND_PAGE, KIND_COHERENT, KIND_NONE, rec_start, rec_clear, rec_kind,
  rec_failed, rec_usable, rec_id } from '../layout';
import { count } from '../sim/counters';
import { forget_pages, next_buf_id } from '../sim/stamps';
import { get_order, alloc_block, free_block } from '../mm/page_alloc';
import { xen_pv_domain } from '../xen/p2m';
import { xen_create_contiguous_region } from '../xen/exchange';
import { dma_map_phys, dma_unmap_addr, swiotlb_sync_2010, swiotlb_sync_modern, dma_error_addr } from '../dma/mapping';
import { coherent_alloc_block, coherent_free_block } from '../dma/coherent';
import { check_unmap, check_sync, debug_mapping_error, debug_type } from '../dma/debug';
import { gart_set, gart_tlb_flush } from '../drm/gart';
import { buf, buf_set, b_pfn, b_order, b_pages, b_exch, b_handle, set_b_exch, set_mapping, kill_mapping,
  m_has, m_dma, byte_handle, page_handle, page_handle_failed, unmap_handle, B_COH, M_OUT } from './buffers';
import { buffer_write } from './access';

export function op_alloc(slot: i32, pages: i32, zone: i32): void {
  const b = buf(slot);
  const id = next_buf_id();
  const order = get_order(pages);
  const pfn = alloc_block(order, zone == ZONE_DMA32);
  rec_start(b, id, KIND_PAGE, pfn < 0);
  buf_set(b, pfn, order, pages, zone);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    return;
  }
  count(C_PAGES_ALLOCATED, 1 << order);
  buffer_write(b, 0, pages << PAGE_SHIFT, false); // the zeroing: a CPU write nobody counts
}

export function op_free(slot: i32): void {
  const b = buf(slot);
  if (rec_usable(b)) {
    forget_pages(b_pfn(b), 1 << b_order(b));
    free_block(b_pfn(b), b_order(b));
  }
  rec_clear(b);
}

/** The Xen-aware driver's explicit exchange (fix 3 of the RFC); nothing to trade off Xen. */
export function op_exchange(slot: i32, address_bits: i32): void {
  if (!xen_pv_domain()) return;
  const b = buf(slot);
  if (xen_create_contiguous_region(b_pfn(b), b_order(b), address_bits, true)) set_b_exch(b, b_order(b));
}

export function op_alloc_coherent(slot: i32, pages: i32): void {
  const b = buf(slot);
  const id = next_buf_id();
  const order = get_order(pages);
  rec_start(b, id, KIND_COHERENT, false);
  const pfn = coherent_alloc_block(order, true, pages * PAGE_SIZE, b + B_COH);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    rec_start(b, id, KIND_COHERENT, true);
    buf_set(b, -1, order, pages, ZONE_DMA32);
    return;
  }
  const exch = b_exch(b);
  buf_set(b, pfn, order, pages, mask_bits <= 32 ? 0 : 1);
  set_b_exch(b, exch);
  buffer_write(b, 0, pages * PAGE_SIZE, false);
}

export function op_free_coherent(slot: i32): void {
  const b = buf(slot);
  if (rec_kind(b) == KIND_NONE) return;
  if (rec_failed(b)) { rec_clear(b); return; }
  if (rec_kind(b) == KIND_COHERENT) {
    coherent_free_block(b_pfn(b), b_order(b), b_handle(b), b_exch(b), b_pages(b) * PAGE_SIZE, true);
  } else {
    // dma_free_coherent on alloc_pages memory (D1): dma-debug sees it, the pages are freed as by free.
    check_unmap(page_handle(b, 0), b_pages(b) * PAGE_SIZE, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
    forget_pages(b_pfn(b), 1 << b_order(b));
    free_block(b_pfn(b), b_order(b));
  }
  rec_clear(b);
}

/** dma_map_page, or (`nents` > 0) one entry of a dma_map_sg of `nents` entries (dma-debug's sg type). */
export function dma_map(slot: i32, dir: i32, offset: i32, size: i32, nents: i32): void {
  const b = buf(slot);
  const dma = dma_map_phys((<u64>b_pfn(b) << PAGE_SHIFT) + <u64>offset, size, dir, b + M_OUT, debug_type(nents));
  set_mapping(b, dma, offset, size, dir);
}

export function dma_unmap(slot: i32, dir: i32, size: i32, nents: i32): void {
  const b = buf(slot);
  count(C_UNMAPS);
  const dma = unmap_handle(b);
  check_unmap(dma, size, dir, debug_type(nents));
  dma_unmap_addr(dma, size, dir);
  kill_mapping(b);
}

/**
 * dma_sync_single_for_{cpu,device} on buffer bytes [offset, offset + size), at their handle (D10),
 * copied as the era's swiotlb does at that address (dma/mapping.ts swiotlb_sync_2010,
 * swiotlb_sync_modern): whoever holds the slot there now, live mapping or not.
 */
export function dma_sync(slot: i32, dir: i32, offset: i32, size: i32, to_cpu: bool, nents: i32, index: i32): void {
  const b = buf(slot);
  count(to_cpu ? C_SYNCS_FOR_CPU : C_SYNCS_FOR_DEVICE);
  const dma = byte_handle(b, offset);
  check_sync(dma, size, dir, debug_type(nents), to_cpu, index);
  if (kernel_era != KERNEL_MODERN) swiotlb_sync_2010(dma, size, dir, to_cpu);
  else swiotlb_sync_modern(dma, size, dir, to_cpu);
}

/** dma_mapping_error on the buffer's last mapping address, live or dead (D7). */
export function dma_mapping_error(slot: i32): void {
  const b = buf(slot);
  if (!m_has(b)) return;
  debug_mapping_error(m_dma(b));
}

/** radeon_gart_bind / nouveau_sgdma_bind: one PTE per page of the buffer's handle, then the family's TLB flushes. */
export function gart_bind(slot: i32, first: i32): void {
  const b = buf(slot);
  const pages = b_pages(b);
  const err = dma_error_addr();
  for (let i = 0; i < pages; i++) {
    const p = first + i;
    if (<u32>p >= <u32>gart_pages) break;
    gart_set(p, page_handle(b, i), slot, rec_id(b), b_pfn(b) + i, page_handle_failed(b, i, err)); // D24
  }
  gart_tlb_flush();
}
