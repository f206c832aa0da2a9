// The struct page fields TTM leans on (include/linux/mm_types.h, 2010): the lru link that threads
// a page through a tt's page list or a pool's list, the dma_address TTM keeps beside each page
// (ttm_tt.c, 2011), and the caching/exchange state. Different: one record per pfn (layout.ts
// PAGE_REC_BYTES), not page structs, so nothing is allocated while ops run; the lru links are the
// buddy's while the page is free (mm/buddy.ts), as page->lru is, so a page leaving the buddy gets
// page_reset before a list uses them.

import { DMA_MAPPING_ERROR, PAGE_SHIFT } from '../abi';
import { page_rec_ptr, PAGE_REC_BYTES, TP_NEXT, TP_PREV, TP_DMA, TP_COH, ram_pages } from '../layout';


//  handle word (u32):  31                                 0
//                     |      dma_addr >> 11 (2 KiB units)   |   0 = none, ~0 = DMA_MAPPING_ERROR
// Every handle a page can get is 2 KiB aligned (a page, a bounce slot, an IOVA page), and the
// largest bus address (a 256 GiB host, a 40-bit mask) fits in 29 bits of it.
@inline const HANDLE_NONE: u32 = 0;
@inline const HANDLE_ERROR: u32 = 0xFFFF_FFFF;
@inline const HANDLE_SHIFT: u64 = 11;

@inline function encode(dma: u64): u32 { return dma == DMA_MAPPING_ERROR ? HANDLE_ERROR : <u32>(dma >> HANDLE_SHIFT); }
@inline function decode(h: u32): u64 { return h == HANDLE_ERROR ? DMA_MAPPING_ERROR : <u64>h << HANDLE_SHIFT; }

@inline function at(field: usize, pfn: i32): usize {
  assert(<u32>pfn < <u32>ram_pages, 'pfn out of range');
  return page_rec_ptr + <usize>pfn * PAGE_REC_BYTES + field;
}
@inline export function page_next(pfn: i32): i32 { return load<i32>(at(TP_NEXT, pfn)); }
@inline export function set_page_next(pfn: i32, next: i32): void { store<i32>(at(TP_NEXT, pfn), next); }
// The list_head's back link: only a list (below) keeps it, so its tail can be cut without a walk.
@inline function page_prev(pfn: i32): i32 { return load<i32>(at(TP_PREV, pfn)); }
@inline function set_page_prev(pfn: i32, prev: i32): void { store<i32>(at(TP_PREV, pfn), prev); }
// p->private of a 6.12 ttm_pool block's head while a tt holds it (its order, drm/ttm_pool.ts): the
// back link is never read inside a tt's list, so the head's slot carries it until the block leaves.
@inline export function page_private(pfn: i32): i32 { return page_prev(pfn); }
@inline export function set_page_private(pfn: i32, v: i32): void { set_page_prev(pfn, v); }

// The exchanged flag rides in the coh word's top bit: a coherent handle needs at most 29 bits.
//  coh word (u32):  31  30 29                          0
//                  | X | 0 |  coherent handle >> 11     |   X = traded below the mask (order 0)
@inline const EXCHANGED_BIT: u32 = 0x8000_0000;
@inline const COH_BITS: u32 = 0x3FFF_FFFF;
@inline function coh_at(pfn: i32): usize { return at(TP_COH, pfn); }
@inline export function page_exchanged(pfn: i32): bool { return (load<u32>(coh_at(pfn)) & EXCHANGED_BIT) != 0; }
@inline export function set_page_exchanged(pfn: i32): void { store<u32>(coh_at(pfn), load<u32>(coh_at(pfn)) | EXCHANGED_BIT); }

// dma: the address of the page's last successful mode-0 map, live or dead (ENGINE.md T11).
@inline export function page_has_dma(pfn: i32): bool { return load<u32>(at(TP_DMA, pfn)) != HANDLE_NONE; }
@inline export function page_dma(pfn: i32): u64 { return decode(load<u32>(at(TP_DMA, pfn))); }
@inline export function set_page_dma(pfn: i32, dma: u64): void { store<u32>(at(TP_DMA, pfn), encode(dma)); }
@inline export function clear_page_dma(pfn: i32): void { store<u32>(at(TP_DMA, pfn), HANDLE_NONE); }

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

// A page list (ttm_tt's pages[], a pool's list): a record of head pfn, tail pfn and length, kept
// inside whatever owns the list (drm/ttm_tt.ts's tt record, drm/ttm_page_alloc.ts's pools). Pages
// are linked both ways, as list_head is, so every operation costs only the pages it moves.
@inline export const LIST_HEAD: i32 = 0;
@inline export const LIST_TAIL: i32 = LIST_HEAD + 4;
@inline export const LIST_LEN: i32 = LIST_TAIL + 4;
@inline export const LIST_BYTES: i32 = LIST_LEN + 4;

@inline export function list_head(l: usize): i32 { return load<i32>(l, LIST_HEAD); }
@inline export function list_len(l: usize): i32 { return load<i32>(l, LIST_LEN); }

export function list_init(l: usize): void {
  store<i32>(l, -1, LIST_HEAD); store<i32>(l, -1, LIST_TAIL); store<i32>(l, 0, LIST_LEN);
}

export function list_append(l: usize, pfn: i32): void {
  set_page_next(pfn, -1);
  const tail = load<i32>(l, LIST_TAIL);
  set_page_prev(pfn, tail);
  if (tail < 0) store<i32>(l, pfn, LIST_HEAD); else set_page_next(tail, pfn);
  store<i32>(l, pfn, LIST_TAIL);
  store<i32>(l, load<i32>(l, LIST_LEN) + 1, LIST_LEN);
}

/** list_add: the page becomes the head (a refill leaves its last page first). */
export function list_push_head(l: usize, pfn: i32): void {
  const head = load<i32>(l, LIST_HEAD);
  set_page_next(pfn, head);
  set_page_prev(pfn, -1);
  store<i32>(l, pfn, LIST_HEAD);
  if (head < 0) store<i32>(l, pfn, LIST_TAIL); else set_page_prev(head, pfn);
  store<i32>(l, load<i32>(l, LIST_LEN) + 1, LIST_LEN);
}

/** Unlinks and returns the head, or -1 when the list is empty. */
export function list_take_head(l: usize): i32 {
  const pfn = load<i32>(l, LIST_HEAD);
  if (pfn < 0) return -1;
  const next = page_next(pfn);
  store<i32>(l, next, LIST_HEAD);
  if (next < 0) store<i32>(l, -1, LIST_TAIL); else set_page_prev(next, -1);
  store<i32>(l, load<i32>(l, LIST_LEN) - 1, LIST_LEN);
  set_page_next(pfn, -1);
  return pfn;
}

/**
 * Unlinks the last n pages and returns them as a chain in the order the kernel frees them: from
 * the tail backwards (ttm_page_pool_free walks the list in reverse). Walks only the n pages cut.
 */
export function list_cut_tail(l: usize, n: i32): i32 {
  const have = load<i32>(l, LIST_LEN);
  if (n > have) n = have;
  if (n <= 0) return -1;
  let first = load<i32>(l, LIST_TAIL);
  for (let i = 1; i < n; i++) first = page_prev(first);
  if (n == have) {
    store<i32>(l, -1, LIST_HEAD); store<i32>(l, -1, LIST_TAIL);
  } else {
    const keep = page_prev(first);
    set_page_next(keep, -1);
    store<i32>(l, keep, LIST_TAIL);
  }
  store<i32>(l, have - n, LIST_LEN);
  return chain_reverse(first);
}

/** Reverses a chain of pages linked through page_next (-1 ends it); returns its new first pfn. */
export function chain_reverse(first: i32): i32 {
  let rev = -1;
  while (first >= 0) {
    const next = page_next(first);
    set_page_next(first, rev);
    rev = first;
    first = next;
  }
  return rev;
}
