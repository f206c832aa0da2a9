// Where dma-debug's containing lookup finds the live entries that may hold a sync's address (twin
// of src/model/dma/debugIndex.ts). Models no kernel code: 6.12's bucket_find_contain walks hash
// buckets back from the sync's (dma/debug.ts); this index only makes the set of entries it must
// look at small, and debug.ts's consider() decides, whatever order they come in. Different, for
// speed only. An entry is in exactly one chain, through its PAGE_LINK: a narrow entry (its last
// byte at most DEBUG_NARROW_SPAN pages past its first page) by its first page; a wide one at level
// k (spanning at most DEBUG_NARROW_SPAN << k pages) by the 2^(4+k)-page granule its first page is
// in, so a sync looks at two granules a level, not at every wide entry; an empty or vast one on
// the vast list. The page and level chains share one table of heads (keys differ; walks compare).

import { DEBUG_NARROW_SPAN, DEBUG_WIDE_LEVELS } from '../abi';
import { debug_entries_ptr, debug_page_ptr, debug_span_ptr, DEBUG_ENTRY_BYTES, DEBUG_HASH_BITS, DEBUG_HASH_SIZE, debug_capacity } from '../layout';

// An entry's fields the index reads (dma/debug.ts lays out the rest around them).
@inline export const E_DMA: i32 = 0;
@inline export const E_SIZE: i32 = E_DMA + 8;
@inline export const PAGE_LINK: usize = 40; // next, prev (index + 1, 0 = none)
@inline const VAST: i32 = DEBUG_WIDE_LEVELS + 1;
@inline const LEVEL_KEY: u64 = <u64>1 << 62; // keeps level keys apart from page numbers

let max_span: i32 = 0; // the largest page span of a live narrow entry

@inline export function ent(i: i32): usize {
  assert(i >= 0 && i < debug_capacity, 'dma-debug entry out of range');
  return debug_entries_ptr + <usize>(i * DEBUG_ENTRY_BYTES);
}
// A key's bucket: its bits folded. Lookups compare exact keys, so any function answers the same; this one keeps neighbouring keys (pages mapped in a row) in neighbouring buckets, sharing cache lines.
@inline export function hash(key: u64): usize {
  return <usize>((key ^ (key >> DEBUG_HASH_BITS) ^ (key >> (2 * DEBUG_HASH_BITS)) ^ (key >> (3 * DEBUG_HASH_BITS))) & <u64>(DEBUG_HASH_SIZE - 1));
}
@inline function page_head(page: u64): usize { return debug_page_ptr + (hash(page) << 2); }
@inline function level_key(level: i32, granule: u64): u64 { return LEVEL_KEY | (granule << 5) | <u64>level; }
@inline function vast_head(): usize { return debug_page_ptr + (<usize>DEBUG_HASH_SIZE << 2); }
/** Live entries per narrow span 0..DEBUG_NARROW_SPAN, then per wide level 1..DEBUG_WIDE_LEVELS, then on the vast list (kept, never read). */
@inline function count_at(k: i32): usize { return debug_span_ptr + (<usize>k << 2); }
@inline function level_count(level: i32): usize { return count_at(DEBUG_NARROW_SPAN + level); }

/** Pages past its first that an entry reaches, or −1 if it is empty. */
function span_of(dma: u64, size: i32): i64 {
  if (size <= 0) return -1;
  return <i64>(((dma & 0xFFF) + <u64>size - 1) >> 12);
}
/** The level of an entry reaching `span` pages past its first (span_of): 0 narrow, 1..DEBUG_WIDE_LEVELS wide, VAST otherwise. */
function level_of(span: i64): i32 {
  if (span < 0) return VAST;
  if (span <= <i64>DEBUG_NARROW_SPAN) return 0;
  const k = 64 - <i32>clz<u64>(<u64>(span - 1) >> 4);
  return k <= DEBUG_WIDE_LEVELS ? k : VAST;
}
/** The head of the chain of an entry at `dma` of this level. */
function head_of(level: i32, dma: u64): usize {
  if (level == 0) return page_head(dma >> 12);
  if (level == VAST) return vast_head();
  return debug_page_ptr + (hash(level_key(level, (dma >> 12) >> <u64>(4 + level))) << 2);
}
/** The live-entry count an entry of this level and span adds to. */
@inline function count_of(level: i32, span: i64): usize { return level == 0 ? count_at(<i32>span) : level_count(level); }

export function link(head: usize, i: i32, off: usize): void {
  const e = ent(i), h = load<i32>(head);
  store<i32>(e + off, h); store<i32>(e + off, 0, 4);
  if (h != 0) store<i32>(ent(h - 1) + off, i + 1, 4);
  store<i32>(head, i + 1);
}
export function unlink(head: usize, i: i32, off: usize): void {
  const e = ent(i), n = load<i32>(e + off), p = load<i32>(e + off, 4);
  if (p != 0) store<i32>(ent(p - 1) + off, n); else store<i32>(head, n);
  if (n != 0) store<i32>(ent(n - 1) + off, p, 4);
}
/** Entry i was just moved into slot i: its neighbours (or its head) point at it again. */
export function repoint(head: usize, i: i32, off: usize): void {
  const e = ent(i), n = load<i32>(e + off), p = load<i32>(e + off, 4);
  if (p != 0) store<i32>(ent(p - 1) + off, i + 1); else store<i32>(head, i + 1);
  if (n != 0) store<i32>(ent(n - 1) + off, i + 1, 4);
}

/** Entry i (its dma and size set) joins its chain. */
export function index_add(i: i32): void {
  const e = ent(i), dma = load<u64>(e, E_DMA), span = span_of(dma, load<i32>(e, E_SIZE)), level = level_of(span);
  link(head_of(level, dma), i, PAGE_LINK);
  const c = count_of(level, span);
  store<i32>(c, load<i32>(c) + 1);
  if (level == 0 && <i32>span > max_span) max_span = <i32>span;
}
/** Entry i leaves its chain. */
export function index_remove(i: i32): void {
  const e = ent(i), dma = load<u64>(e, E_DMA), span = span_of(dma, load<i32>(e, E_SIZE)), level = level_of(span);
  unlink(head_of(level, dma), i, PAGE_LINK);
  const c = count_of(level, span);
  store<i32>(c, load<i32>(c) - 1);
  while (max_span > 0 && load<i32>(count_at(max_span)) == 0) max_span--;
}
/** Entry i was moved into slot i: its chain points at it again. */
export function index_repoint(i: i32): void {
  const e = ent(i), dma = load<u64>(e, E_DMA);
  repoint(head_of(level_of(span_of(dma, load<i32>(e, E_SIZE))), dma), i, PAGE_LINK);
}
export function index_reset(): void {
  max_span = 0;
  memory.fill(debug_page_ptr, 0, <usize>(DEBUG_HASH_SIZE + 1) * 4);
  memory.fill(debug_span_ptr, 0, <usize>(DEBUG_NARROW_SPAN + DEBUG_WIDE_LEVELS + 2) * 4);
}

// The candidates for a sync at page `page`, chain by chain: the narrow entries starting on the
// pages page − max_span .. page; for each wide level with live entries, those in the granule of
// page − (DEBUG_NARROW_SPAN << k) and in that of page (the next one, or the same); the vast list.
@inline const NARROW: i32 = 0;
@inline const WIDE: i32 = 1;
@inline const VAST_LIST: i32 = 2;
@inline const DONE: i32 = 3;
let w_page: u64 = 0; let w_phase: i32 = 0; let w_d: i32 = 0; let w_level: i32 = 0; let w_half: i32 = 0;
let w_key: u64 = 0; let w_next: i32 = 0;

export function candidates_start(page: u64): void {
  w_page = page; w_phase = NARROW; w_d = -1; w_level = 1; w_half = 0; w_next = 0;
}

/** The next candidate entry, or −1 when none is left. Every live entry that can hold the page
 * comes exactly once (the chains' other entries are skipped by their key). */
export function candidates_next(): i32 {
  while (true) {
    while (w_next != 0) {
      const i = w_next - 1;
      const e = ent(i);
      w_next = load<i32>(e + PAGE_LINK);
      if (w_phase == VAST_LIST) return i;
      const dma = load<u64>(e, E_DMA);
      const level = level_of(span_of(dma, load<i32>(e, E_SIZE)));
      if (w_phase == NARROW ? level == 0 && dma >> 12 == w_key
        : level == w_level && level_key(level, (dma >> 12) >> <u64>(4 + level)) == w_key) return i;
    }
    if (!next_chain()) return -1;
  }
}

/** Moves to the next chain; false when every one was walked. */
function next_chain(): bool {
  if (w_phase == NARROW) {
    if (++w_d <= max_span && <u64>w_d <= w_page) {
      w_key = w_page - <u64>w_d;
      w_next = load<i32>(page_head(w_key));
      return true;
    }
    w_phase = WIDE;
  }
  if (w_phase == WIDE) {
    for (; w_level <= DEBUG_WIDE_LEVELS; w_level++, w_half = 0) {
      if (load<i32>(level_count(w_level)) == 0) continue;
      const shift = <u64>(4 + w_level);
      const back = <u64>DEBUG_NARROW_SPAN << <u64>w_level;
      const lo = w_page >= back ? (w_page - back) >> shift : 0;
      const hi = w_page >> shift;
      if (w_half == 0 || (w_half == 1 && hi != lo)) {
        w_key = level_key(w_level, w_half == 0 ? lo : hi);
        w_half++;
        w_next = load<i32>(debug_page_ptr + (hash(w_key) << 2));
        return true;
      }
    }
    w_phase = VAST_LIST;
    w_next = load<i32>(vast_head());
    return true;
  }
  w_phase = DONE;
  return false;
}
