// The struct page fields TTM leans on (include/linux/mm_types.h, 2010): the lru link that threads
// a page through a tt's page list or a pool's list, the dma_address TTM keeps beside each page
// (ttm_tt.c, 2011), and the caching/exchange state. Different: per-pfn arrays, not page structs,
// so a page list costs 12 bytes per guest page and nothing is allocated while ops run.

import { DMA_MAPPING_ERROR, PAGE_SHIFT } from './abi';
import { tt_next_ptr, tt_dma_ptr, tt_coh_ptr } from './layout';


//  handle word (u32):  31                                 0
//                     |      dma_addr >> 11 (2 KiB units)   |   0 = none, ~0 = DMA_MAPPING_ERROR
// Every handle a page can get is 2 KiB aligned (a page, a bounce slot, an IOVA page), and the
// largest bus address (a 256 GiB host, a 40-bit mask) fits in 29 bits of it.
@inline const HANDLE_NONE: u32 = 0;
@inline const HANDLE_ERROR: u32 = 0xFFFF_FFFF;
@inline const HANDLE_SHIFT: u64 = 11;

@inline function encode(dma: u64): u32 { return dma == DMA_MAPPING_ERROR ? HANDLE_ERROR : <u32>(dma >> HANDLE_SHIFT); }
@inline function decode(h: u32): u64 { return h == HANDLE_ERROR ? DMA_MAPPING_ERROR : <u64>h << HANDLE_SHIFT; }

@inline export function page_next(pfn: i32): i32 { return load<i32>(tt_next_ptr + (<usize>pfn << 2)); }
@inline export function set_page_next(pfn: i32, next: i32): void { store<i32>(tt_next_ptr + (<usize>pfn << 2), next); }

// The exchanged flag rides in the coh word's top bit: a coherent handle needs at most 29 bits.
//  coh word (u32):  31  30 29                          0
//                  | X | 0 |  coherent handle >> 11     |   X = traded below the mask (order 0)
@inline const EXCHANGED_BIT: u32 = 0x8000_0000;
@inline const COH_BITS: u32 = 0x3FFF_FFFF;
@inline function coh_at(pfn: i32): usize { return tt_coh_ptr + (<usize>pfn << 2); }
@inline export function page_exchanged(pfn: i32): bool { return (load<u32>(coh_at(pfn)) & EXCHANGED_BIT) != 0; }
@inline export function set_page_exchanged(pfn: i32): void { store<u32>(coh_at(pfn), load<u32>(coh_at(pfn)) | EXCHANGED_BIT); }

// dma: the address of the page's last successful mode-0 map, live or dead (ENGINE.md T11).
@inline export function page_has_dma(pfn: i32): bool { return load<u32>(tt_dma_ptr + (<usize>pfn << 2)) != HANDLE_NONE; }
@inline export function page_dma(pfn: i32): u64 { return decode(load<u32>(tt_dma_ptr + (<usize>pfn << 2))); }
@inline export function set_page_dma(pfn: i32, dma: u64): void { store<u32>(tt_dma_ptr + (<usize>pfn << 2), encode(dma)); }
@inline export function clear_page_dma(pfn: i32): void { store<u32>(tt_dma_ptr + (<usize>pfn << 2), HANDLE_NONE); }

// coh: the coherent handle a dma pool or agp-coherent page came with.
@inline export function page_has_coh(pfn: i32): bool { return (load<u32>(coh_at(pfn)) & COH_BITS) != HANDLE_NONE; }
@inline export function page_coh(pfn: i32): u64 { return <u64>(load<u32>(coh_at(pfn)) & COH_BITS) << HANDLE_SHIFT; }
@inline export function set_page_coh(pfn: i32, dma: u64): void {
  store<u32>(coh_at(pfn), (load<u32>(coh_at(pfn)) & EXCHANGED_BIT) | (<u32>(dma >> HANDLE_SHIFT) & COH_BITS));
}

/** The page's current handle (T11): dma, else coh, else its phys as a careless driver would. */
export function page_current_handle(pfn: i32): u64 {
  if (page_has_dma(pfn)) return page_dma(pfn);
  if (page_has_coh(pfn)) return page_coh(pfn);
  return page_phys(pfn);
}

/** A page leaving the buddy for a tt allocator starts clean. */
export function page_reset(pfn: i32): void {
  set_page_next(pfn, -1);
  clear_page_dma(pfn);
  store<u32>(coh_at(pfn), HANDLE_NONE);
}

@inline export function page_phys(pfn: i32): u64 { return <u64>pfn << PAGE_SHIFT; }

// The page list a populate is building (ttm_tt's pages[] in the making): head, tail, length.
export let list_head: i32 = -1;
export let list_tail: i32 = -1;
export let list_len: i32 = 0;

export function list_begin(): void { list_head = -1; list_tail = -1; list_len = 0; }

export function list_append(pfn: i32): void {
  set_page_next(pfn, -1);
  if (list_tail < 0) list_head = pfn; else set_page_next(list_tail, pfn);
  list_tail = pfn;
  list_len++;
}
