// Xen's domain heap (xen/common/page_alloc.c, Xen 4.0/4.1): one binary buddy per zone, where zone
// z holds the machine frames [2^z, 2^(z+1)) (page_to_zone: fls(mfn) - 1). Free lists are FIFO
// (page_list_add_tail, page_list_remove_head). alloc_heap_pages walks the zones from the highest
// allowed down and takes the head of the smallest sufficient order, splitting it so that the lower
// halves go back on the lists and the top piece is returned; free_heap_pages merges with a free
// buddy of the same order and appends the result at the tail. Different: one NUMA node, no tmem,
// no offlining, and dma_bitsize 0 (a single-node host: alloc_domheap_pages makes no first pass).
// There is no separate low reserve: memory below 4 GiB is just the heap's bottom zones.

import { XEN_HEAP_MAX_ORDER, XEN_NR_ZONES, XEN_NO_LIMIT_BITS, PAGE_SHIFT } from '../abi';
import { xen_frames_ptr, XEN_FRAME_BYTES, XF_NEXT, XF_M2P, XF_M2P_NONE, XF_LINK_TAG, heap_heads_ptr, heap_lists_ptr,
  host_pages, heads_init, mark_xen_frame, xen_frames_written_ptr, written_bits_bytes, XEN_FRAME_BLOCK_SHIFT, STAMP_BLOCK_SHIFT } from '../layout';
import { mfn_to_sfn, sfn_to_mfn } from '../sim/translate';

// A free block's head frame keeps its links in its Xen record (layout.ts), which sits at the frame's
// store frame (sim/translate.ts): the lists link store frames (-1 = none), so walking them reads
// no table; the prev link takes the m2p word, tagged, and goes back to "no guest page" when the
// block leaves its list; the machine frame comes from the store frame. In machine order, for a merge's look at a
// frame's neighbour: per order k, one bit per 2^k-aligned block (does a free block of order k start
// there), small tables that stay in cache; a block's buddy at order 0 sits in the same word as the
// block. Zeros are "no free block" (written at boot: layout.ts heads_init says why).
@inline const ORDERS: i32 = XEN_HEAP_MAX_ORDER + 1;
@inline const AVAIL_AT: usize = <usize>(XEN_NR_ZONES * ORDERS * 8);

@inline function rec_of(s: i32): usize {
  assert(<u32>s < <u32>host_pages, 'heap store frame out of range');
  return xen_frames_ptr + <usize>s * XEN_FRAME_BYTES;
}
/** The word of order `order`'s bitmap holding block f's bit (f aligned to the order). */
@inline function heads_word(f: i32, order: i32): usize {
  assert(<u32>f < <u32>host_pages && <u32>order < <u32>ORDERS, 'heap frame out of range');
  return <usize>load<u32>(heap_heads_ptr + (<usize>order << 2)) + (<usize>(f >> order >> 6) << 3);
}
@inline function head_bit(f: i32, order: i32): u64 { return <u64>1 << <u64>((f >> order) & 63); }
@inline function set_free_head(f: i32, order: i32): void {
  const w = heads_word(f, order);
  store<u64>(w, load<u64>(w) | head_bit(f, order));
}
@inline function clear_free_head(f: i32, order: i32): void {
  const w = heads_word(f, order);
  store<u64>(w, load<u64>(w) & ~head_bit(f, order));
}
/** Does frame f head a free block of this order? */
@inline function free_head_of_order(f: i32, order: i32): bool {
  return (load<u64>(heads_word(f, order)) & head_bit(f, order)) != 0;
}
@inline function head_at(zone: i32, order: i32): usize {
  assert(<u32>zone < <u32>XEN_NR_ZONES && <u32>order < <u32>ORDERS, 'heap list');
  return heap_lists_ptr + (<usize>(zone * ORDERS + order) << 3);
}
@inline function tail_at(zone: i32, order: i32): usize { return head_at(zone, order) + 4; }
@inline function avail_at(zone: i32): usize { return heap_lists_ptr + AVAIL_AT + (<usize>zone << 2); }

/** page_to_zone for a domain-heap frame: the index of its top bit. */
@inline export function heap_zone(mfn: i32): i32 { return 31 - clz<i32>(mfn); }

/** bits_to_zone: the highest zone whose frames all lie below 2^bits (0 for bits <= PAGE_SHIFT). */
@inline function bits_to_zone(bits: i32): i32 { return bits < PAGE_SHIFT + 1 ? 0 : bits - (PAGE_SHIFT + 1); }

/** A free head's prev link (store frame, -1 = none) in its tagged m2p word. */
@inline function prev_of(r: usize): i32 { return <i32>(load<u32>(r, XF_M2P) & ~XF_LINK_TAG) - 1; }
@inline function set_prev(r: usize, p: i32): void { store<u32>(r, XF_LINK_TAG | <u32>(p + 1), XF_M2P); }

/** page_list_add_tail of the free block headed by frame f, whose store frame is s. */
function list_add_tail(zone: i32, order: i32, f: i32, s: i32): void {
  const t = load<i32>(tail_at(zone, order));
  mark_xen_frame(s); // its neighbours on the list were marked when they joined it
  const r = rec_of(s);
  store<i32>(r, -1, XF_NEXT);
  set_prev(r, t);
  if (t >= 0) store<i32>(rec_of(t), s, XF_NEXT); else store<i32>(head_at(zone, order), s);
  store<i32>(tail_at(zone, order), s);
  set_free_head(f, order);
}

/** page_list_del of the free block whose head is at store frame s (frame f, or −1: not known);
 * returns the head's frame. */
function list_del(zone: i32, order: i32, s: i32, f: i32 = -1): i32 {
  const r = rec_of(s);
  const n = load<i32>(r, XF_NEXT);
  const p = prev_of(r);
  if (p >= 0) store<i32>(rec_of(p), n, XF_NEXT); else store<i32>(head_at(zone, order), n);
  if (n >= 0) set_prev(rec_of(n), p); else store<i32>(tail_at(zone, order), p);
  store<u32>(r, XF_M2P_NONE, XF_M2P);
  if (f < 0) f = sfn_to_mfn(s);
  clear_free_head(f, order);
  return f;
}

/** init_node_heap: every list empty, nothing available, no frame a free head. */
export function xen_heap_reset(): void {
  heads_init(heap_heads_ptr, <u64>host_pages, XEN_HEAP_MAX_ORDER); // no free block: zero bitmaps, written
  memory.fill(xen_frames_written_ptr, 0, <usize>written_bits_bytes(<u64>host_pages >> <u64>(XEN_FRAME_BLOCK_SHIFT - STAMP_BLOCK_SHIFT))); // likewise
  for (let z = 0; z < XEN_NR_ZONES; z++) {
    for (let o = 0; o < ORDERS; o++) { store<i32>(head_at(z, o), -1); store<i32>(tail_at(z, o), -1); }
    store<i32>(avail_at(z), 0);
  }
}

/**
 * init_heap_pages for [start, end): Xen frees the frames one by one in ascending order, merging,
 * which leaves the largest aligned blocks (at most order 20, never across a zone) appended in
 * ascending order; this builds that result directly.
 */
export function xen_heap_add_range(start: i32, end: i32): void {
  let f = start;
  while (f < end) {
    let order = XEN_HEAP_MAX_ORDER;
    while (order > 0 && ((f & ((1 << order) - 1)) != 0 || f + (1 << order) > end)) order--;
    const z = heap_zone(f);
    list_add_tail(z, order, f, mfn_to_sfn(f));
    store<i32>(avail_at(z), load<i32>(avail_at(z)) + (1 << order));
    f += 1 << order;
  }
}

/**
 * alloc_heap_pages(zone_lo 1, zone_hi, order): zones from zone_hi down, in each the head of the
 * smallest non-empty list at or above `order`; the block is halved, each lower half appended to
 * its list, and the top 2^order piece returned. −1 when no zone can serve it. The piece's store
 * frame goes to `out_sfn` (an i32 the caller passes; 0: not wanted).
 */
function alloc_heap_pages(zone_hi: i32, order: i32, out_sfn: usize): i32 {
  for (let zone = zone_hi; zone >= 1; zone--) {
    if (load<i32>(avail_at(zone)) < (1 << order)) continue;
    for (let j = order; j < ORDERS; j++) {
      const head = load<i32>(head_at(zone, j));
      if (head < 0) continue;
      let pg = list_del(zone, j, head);
      const split = j != order;
      let pg_sfn = head; // the first lower half starts at the block's head, whose store frame the list gave
      while (j != order) {
        j--;
        list_add_tail(zone, j, pg, pg_sfn >= 0 ? pg_sfn : mfn_to_sfn(pg));
        pg += 1 << j;
        pg_sfn = -1;
      }
      store<i32>(avail_at(zone), load<i32>(avail_at(zone)) - (1 << order));
      if (out_sfn != 0) store<i32>(out_sfn, split ? mfn_to_sfn(pg) : head);
      return pg;
    }
  }
  return -1;
}

/**
 * alloc_domheap_pages(NULL, order, MEMF_bits(address_bits)): 0 bits means no limit; zone_hi =
 * min(bits_to_zone(bits), NR_ZONES - 1), and zone 0 (MEMZONE_XEN) never serves a domain.
 */
export function alloc_domheap_pages(order: i32, address_bits: i32, out_sfn: usize = 0): i32 {
  const bits = address_bits == 0 ? XEN_NO_LIMIT_BITS : address_bits;
  const zone_hi = min(bits_to_zone(bits), XEN_NR_ZONES - 1);
  if (zone_hi == 0) return -1;
  // Different, for speed only: the walk starts at the host's top zone (the zones above it hold no frame).
  return alloc_heap_pages(min(zone_hi, heap_zone(host_pages - 1)), order, out_sfn);
}

/**
 * free_heap_pages: merge with the predecessor or successor block of the same order while free.
 * `sfn` is the frame's store frame when the caller knows it (a guest page's), else −1.
 */
export function free_heap_pages(mfn: i32, order: i32, sfn: i32 = -1): void {
  const zone = heap_zone(mfn);
  store<i32>(avail_at(zone), load<i32>(avail_at(zone)) + (1 << order));
  let pg = mfn;
  let pg_sfn = sfn; // pg's store frame when known, else -1
  // The frame backs no guest page now. Its m2p word says so at once: a head's link overwrites it
  // below, and a frame merged into a lower buddy keeps it (set_p2m would write it after reading
  // it, and a record page read before it is written costs a zero-page fault: ARCHITECTURE.md).
  if (sfn >= 0) store<u32>(rec_of(sfn), XF_M2P_NONE, XF_M2P);
  while (order < XEN_HEAP_MAX_ORDER) {
    const mask = 1 << order;
    const buddy = (pg & mask) != 0 ? pg - mask : pg + mask;
    if (buddy < 0 || buddy >= host_pages || !free_head_of_order(buddy, order)) break;
    assert(heap_zone(buddy) == zone, 'a heap merge across zones');
    const bs = mfn_to_sfn(buddy);
    list_del(zone, order, bs, buddy);
    if (buddy < pg) { pg = buddy; pg_sfn = bs; }
    order++;
  }
  list_add_tail(zone, order, pg, pg_sfn >= 0 ? pg_sfn : mfn_to_sfn(pg));
}

/** Free frames in all zones (avail summed). */
export function xen_heap_free_frames(): i64 {
  let n: i64 = 0;
  for (let z = 0; z < XEN_NR_ZONES; z++) n += load<i32>(avail_at(z));
  return n;
}

/** Free list walking for checkInvariants, by store frame (−1 ends a list): a list's head, a block's
 * successor, and the block's first frame. */
export function heap_list_head(zone: i32, order: i32): i32 { return load<i32>(head_at(zone, order)); }
export function heap_list_next(s: i32): i32 { return load<i32>(rec_of(s), XF_NEXT); }
export function heap_block_mfn(s: i32): i32 { return sfn_to_mfn(s); }
