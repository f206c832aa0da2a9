// mm/page_alloc.c buddy allocator as of 2010 (__rmqueue_smallest, __free_one_page), used for
// the guest's DMA32/Normal zones (Xen's own heap is xen/heap.ts).
// Different: free lists are LIFO and the upper half of every split goes back on the list,
// so allocation order is fully determined by history — both engines must agree page for page.

import { MAX_ORDER } from '../abi';
import { ZONES_PTR, ZONE_DESC_BYTES, BUDDY_REC_BYTES, buddy_top_ptr } from '../layout';

// Zone descriptor (ZONE_DESC_BYTES): the per-frame records, the frame number of record 0, the
// zone's frames [start, end), and one list head per order (i32 frame, -1 = empty).
// A frame's record (BUDDY_REC_BYTES), one cache line for everything a list operation touches:
// next/prev i32 links (-1 = none), then the tag: the order of a free block head plus one, 0 when
// the frame heads no free block (so fresh memory needs no fill).
// Different, for speed only: a block of the top order keeps its links in a dense table by block
// number (buddy_top_ptr) and no tag, since no merge asks for one (a merge looks for buddies below
// the top order); so the boot's thousands of top blocks touch a few pages, not one page each.
@inline const Z_REC: i32 = 0;
@inline const Z_BASE: i32 = Z_REC + 4;
@inline const Z_START: i32 = Z_BASE + 4;
@inline const Z_END: i32 = Z_START + 4;
@inline const Z_HEADS: i32 = 32;
@inline export const ZONE_DMA32_ID: i32 = 0;
@inline export const ZONE_NORMAL_ID: i32 = 1;
@inline const NOT_FREE: u8 = 0;
@inline const TOP_ORDER: i32 = MAX_ORDER - 1;
@inline const R_NEXT: usize = 0;
@inline const R_PREV: usize = 4;
@inline const R_TAG: usize = 8;

@inline function zd(z: i32): usize {
  assert(z >= ZONE_DMA32_ID && z <= ZONE_NORMAL_ID, 'zone id');
  return ZONES_PTR + <usize>(z * ZONE_DESC_BYTES);
}
@inline function rec_of(z: usize, f: i32): usize {
  assert(f >= load<i32>(z, Z_START) && f < load<i32>(z, Z_END), 'frame outside its zone');
  return <usize>load<u32>(z, Z_REC) + <usize>(f - load<i32>(z, Z_BASE)) * BUDDY_REC_BYTES;
}
@inline function tag_at(z: usize, f: i32): usize { return rec_of(z, f) + R_TAG; }
@inline function next_at(z: usize, f: i32): usize { return rec_of(z, f) + R_NEXT; }
@inline function prev_at(z: usize, f: i32): usize { return rec_of(z, f) + R_PREV; }
@inline function head_at(z: usize, order: i32): usize { return z + Z_HEADS + (<usize>order << 2); }
@inline function top_at(f: i32): usize { return buddy_top_ptr + (<usize>(f >> TOP_ORDER) << 3); }
/** Link words of the free block headed by f: its record's, or the top table's. */
@inline function link_at(z: usize, f: i32, order: i32): usize { return order == TOP_ORDER ? top_at(f) : next_at(z, f); }

function list_add(z: usize, f: i32, order: i32): void {
  const h = head_at(z, order);
  if (order == TOP_ORDER) {
    const old = load<i32>(h);
    store<i32>(top_at(f), old); store<i32>(top_at(f), -1, 4);
    if (old >= 0) store<i32>(top_at(old), f, 4);
    store<i32>(h, f);
    return;
  }
  const old = load<i32>(h);
  store<i32>(next_at(z, f), old);
  store<i32>(prev_at(z, f), -1);
  if (old >= 0) store<i32>(prev_at(z, old), f);
  store<i32>(h, f);
  store<u8>(tag_at(z, f), <u8>(order + 1));
}

function list_del(z: usize, f: i32, order: i32): void {
  const l = link_at(z, f, order);
  const n = load<i32>(l);
  const p = load<i32>(l, 4);
  if (p >= 0) store<i32>(link_at(z, p, order), n); else store<i32>(head_at(z, order), n);
  if (n >= 0) store<i32>(link_at(z, n, order), p, 4);
  if (order != TOP_ORDER) store<u8>(tag_at(z, f), NOT_FREE);
}

export function zone_init(z: i32, rec: usize, base: i32, start: i32, end: i32): void {
  const d = zd(z);
  store<u32>(d, <u32>rec, Z_REC);
  store<i32>(d, base, Z_BASE); store<i32>(d, start, Z_START); store<i32>(d, end, Z_END);
  for (let o = 0; o < MAX_ORDER; o++) store<i32>(head_at(d, o), -1);
  // Tags start at NOT_FREE: the records are fresh (zero) memory.
}

/** Boot: the zone's frames go in as the largest aligned blocks, ascending, each at a list head. */
export function zone_free_range(z: i32, start: i32, end: i32): void {
  const d = zd(z);
  let f = start;
  while (f < end) {
    let order = TOP_ORDER;
    while (order > 0 && ((f & ((1 << order) - 1)) != 0 || f + (1 << order) > end)) order--;
    list_add(d, f, order);
    f += 1 << order;
  }
}

/** __rmqueue_smallest: the head of the first non-empty list at or above `order`, split down; -1 when none. */
export function buddy_alloc(z: i32, order: i32): i32 {
  const d = zd(z);
  for (let j = order; j < MAX_ORDER; j++) {
    const f = load<i32>(head_at(d, j));
    if (f < 0) continue;
    list_del(d, f, j);
    let k = j;
    while (k > order) {
      k--;
      list_add(d, f + (1 << k), k);
    }
    return f;
  }
  return -1;
}

/** __free_one_page: coalesce with free buddies of the same order inside the zone, then push. */
export function buddy_free(z: i32, f: i32, order: i32): void {
  const d = zd(z);
  const start = load<i32>(d, Z_START);
  const end = load<i32>(d, Z_END);
  let k = order;
  while (k < TOP_ORDER) {
    const b = f ^ (1 << k);
    if (b < start || b + (1 << k) > end) break;
    if (load<u8>(tag_at(d, b)) != <u8>(k + 1)) break;
    list_del(d, b, k);
    if (b < f) f = b;
    k++;
  }
  list_add(d, f, k);
}

/** Free frames in the zone (checkInvariants only): walks every free list. */
export function zone_free_frames(z: i32): i64 {
  const d = zd(z);
  let n: i64 = 0;
  for (let o = 0; o < MAX_ORDER; o++) {
    for (let f = load<i32>(head_at(d, o)); f >= 0; f = load<i32>(link_at(d, f, o))) n += 1 << o;
  }
  return n;
}
