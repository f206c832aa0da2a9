// mm/page_alloc.c buddy allocator as of 2010 (__rmqueue_smallest, __free_one_page), used for
// the guest's DMA32/Normal zones (Xen's own heap is xen/heap.ts).
// Different: free lists are LIFO and the upper half of every split goes back on the list,
// so allocation order is fully determined by history — both engines must agree page for page.

import { MAX_ORDER } from '../abi';
import { ZONES_PTR, ZONE_DESC_BYTES, page_rec_ptr, PAGE_REC_BYTES, TP_NEXT, TP_PREV, buddy_top_ptr, buddy_heads_ptr,
  heads_init, ram_pages, page_rec_written_ptr, written_bits_bytes, set_written_bit, STAMP_BLOCK_SHIFT } from '../layout';

// Zone descriptor (ZONE_DESC_BYTES): the zone's frames [start, end), and one list head per order
// (i32 frame, -1 = empty). A free block's head keeps its list links in its page record's lru
// words (layout.ts PAGE_REC_BYTES; page->lru in the kernel), which TTM uses while a tt holds the
// page. Which frames head a free block of order k: one bit per 2^k-aligned block (PageBuddy and
// page_private's order in the kernel), bitmaps small enough to stay in cache (zeros, written at boot: none).
// Different, for speed only: a block of the top order keeps its links in a dense table by block
// number (buddy_top_ptr) and no bit, since no merge asks for one (a merge looks for buddies below
// the top order); so the boot's thousands of top blocks touch a few pages, not one page each.
@inline const Z_START: i32 = 8;
@inline const Z_END: i32 = Z_START + 4;
@inline const Z_HEADS: i32 = 32;
@inline export const ZONE_DMA32_ID: i32 = 0;
@inline export const ZONE_NORMAL_ID: i32 = 1;
@inline const TOP_ORDER: i32 = MAX_ORDER - 1;

@inline function zd(z: i32): usize {
  assert(z >= ZONE_DMA32_ID && z <= ZONE_NORMAL_ID, 'zone id');
  return ZONES_PTR + <usize>(z * ZONE_DESC_BYTES);
}
@inline function rec_of(z: usize, f: i32): usize {
  assert(f >= load<i32>(z, Z_START) && f < load<i32>(z, Z_END), 'frame outside its zone');
  return page_rec_ptr + <usize>f * PAGE_REC_BYTES;
}
@inline function head_at(z: usize, order: i32): usize { return z + Z_HEADS + (<usize>order << 2); }
@inline function top_at(f: i32): usize { return buddy_top_ptr + (<usize>(f >> TOP_ORDER) << 3); }
/** Link words (next, then prev) of the free block headed by f: its page record's lru, or the top table's. */
@inline function link_at(z: usize, f: i32, order: i32): usize { return order == TOP_ORDER ? top_at(f) : rec_of(z, f) + TP_NEXT; }
@inline const PREV: usize = TP_PREV - TP_NEXT;

// ---- free heads below the top order ----
@inline function heads_word(f: i32, order: i32): usize {
  assert(<u32>f < <u32>ram_pages && <u32>order < <u32>TOP_ORDER, 'buddy head out of range');
  return <usize>load<u32>(buddy_heads_ptr + (<usize>order << 2)) + (<usize>(f >> order >> 6) << 3);
}
@inline function head_bit(f: i32, order: i32): u64 { return <u64>1 << <u64>((f >> order) & 63); }
@inline function is_free_head(f: i32, order: i32): bool { return (load<u64>(heads_word(f, order)) & head_bit(f, order)) != 0; }
@inline function mark_head(f: i32, order: i32, on: bool): void {
  if (order == TOP_ORDER) return;
  const w = heads_word(f, order);
  const v = load<u64>(w);
  store<u64>(w, on ? v | head_bit(f, order) : v & ~head_bit(f, order));
}

/**
 * Says that the page records of frames [f, f + n) may be written, for scrub (index.ts): every record
 * written lies in a block the buddy listed (list_add) or handed out (buddy_alloc), where TTM and the
 * DMA layer keep their words. Different, for speed only: a bit per 4 KiB of records, per block.
 */
function mark_records(f: i32, n: i32): void {
  for (let b = f >> STAMP_BLOCK_SHIFT; b <= (f + n - 1) >> STAMP_BLOCK_SHIFT; b++) set_written_bit(page_rec_written_ptr, b);
}

function list_add(z: usize, f: i32, order: i32): void {
  if (order != TOP_ORDER) mark_records(f, 1);
  const h = head_at(z, order);
  const old = load<i32>(h);
  const l = link_at(z, f, order);
  store<i32>(l, old);
  store<i32>(l + PREV, -1);
  if (old >= 0) store<i32>(link_at(z, old, order) + PREV, f);
  store<i32>(h, f);
  mark_head(f, order, true);
}

function list_del(z: usize, f: i32, order: i32): void {
  const l = link_at(z, f, order);
  const n = load<i32>(l);
  const p = load<i32>(l + PREV);
  if (p >= 0) store<i32>(link_at(z, p, order), n); else store<i32>(head_at(z, order), n);
  if (n >= 0) store<i32>(link_at(z, n, order) + PREV, p);
  mark_head(f, order, false);
}

/** The free-head bitmaps' table, once per machine (before either zone). */
export function buddy_init(): void {
  heads_init(buddy_heads_ptr, <u64>ram_pages, TOP_ORDER - 1);
  memory.fill(page_rec_written_ptr, 0, <usize>written_bits_bytes(<u64>ram_pages)); // written, not read first (layout.ts heads_init)
}

export function zone_init(z: i32, start: i32, end: i32): void {
  const d = zd(z);
  store<i32>(d, start, Z_START); store<i32>(d, end, Z_END);
  for (let o = 0; o < MAX_ORDER; o++) store<i32>(head_at(d, o), -1);
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
    mark_records(f, 1 << order);
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
    if (!is_free_head(b, k)) break;
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
