// DMA-API debugging (CONFIG_DMA_API_DEBUG): a table of live mappings and the checks
// check_unmap / check_sync apply against it. Per era (docs/ENGINE.md §9): `2010` is
// lib/dma-debug.c of 2.6.37 (best-fit hash_bucket_find, exact-handle check_sync, the
// dma_mapping_error test first in check_unmap, no map-error tracking); `modern` is
// kernel/dma/debug.c as the engine has long modelled it (newest exact entry, D21's containing
// sync lookup, debug_dma_mapping_error marking entries checked).
// Different: it sees only what the driver tells the DMA API — never a missing sync, which is
// the oracle's job — and it reports every failed check of an op, not just the first.

import { DEBUG_WORDS, MAX_DEBUG_RECORDS, DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
  DBG_UNMAP_UNKNOWN, DBG_UNMAP_SIZE, DBG_UNMAP_DIRECTION,
  DBG_UNMAP_WRONG_FUNCTION, DBG_MAP_ERROR_UNCHECKED, DBG_SYNC_UNKNOWN, DBG_SYNC_OUTSIDE,
  DBG_SYNC_DIRECTION, DBG_SYNC_CPU_READONLY, DBG_SYNC_DEVICE_WRITEONLY, DBG_LEAK,
  C_DMA_DEBUG_ERRORS, DEBUG_TYPE_SINGLE, DEBUG_ENTRY_CAPACITY, DEBUG_NARROW_SPAN, DMA_MAPPING_ERROR,
  KERNEL_MODERN } from '../abi';
import { DEBUG_PTR, debug_entries_ptr, debug_hash_ptr, debug_page_ptr, debug_span_ptr,
  DEBUG_ENTRY_BYTES, DEBUG_HASH_BITS, DEBUG_HASH_SIZE, kernel_era } from '../layout';
import { count, counter, cur_op } from '../sim/counters';

// Entry (DEBUG_ENTRY_BYTES): dma address, size, direction, type, whether dma_mapping_error saw
// it, a sequence number (newer is larger), then two doubly linked chains: by exact address, and
// by first page or on the wide list (links are index + 1, 0 = none). Entries stay dense: a removal moves the last one into the
// hole. Chains run newest → oldest, as the kernel's hash_bucket_add puts new entries at a
// bucket's head. Address buckets: by exact dma address, one per preallocated entry, so unmap,
// mapping_error and an exact sync walk about one entry. Page buckets: by the entry's first page,
// for the narrow entries (size > 0, last byte at most DEBUG_NARROW_SPAN pages past the first
// page); the others are on the wide list. A containing lookup then probes the pages an entry
// holding the address could start on, plus the wide list: the same answer as a scan of every
// entry (D21), without the scan. No allocation after init.
let live: i32 = 0;
let live_single: i32 = 0;
let max_span: i32 = 0; // largest page span of a live narrow entry
let seq: u64 = 0;
// Device teardown after release (ENGINE.md §13) frees through the same paths but reports nothing.
let quiet = false;
export function debug_set_quiet(q: bool): void { quiet = q; }
// dma_entry_alloc out of preallocated entries: "DMA-API: debugging out of memory - disabling".
// From then on every hook returns at once, as the kernel's global_disable makes them (T22).
let global_disable = false;
// The one bus address for which the platform's dma_mapping_error() is true (ENGINE.md §9): the
// 2010 overflow buffer (swiotlb_dma_mapping_error), 0 on 2010 Xen (xen_swiotlb_dma_mapping_error
// is !dma_addr), DMA_MAPPING_ERROR otherwise. Set once at init by the layer that knows the
// platform (dma/mapping.ts dma_error_addr).
let error_addr: u64 = DMA_MAPPING_ERROR;
export function debug_set_error_addr(addr: u64): void { error_addr = addr; }
// Live entries at exactly the address of the last lookup (hash_bucket_find's `matches`).
let matches: i32 = 0;

@inline const E_DMA: i32 = 0;
@inline const E_SIZE: i32 = E_DMA + 8;
@inline const E_DIR: i32 = E_SIZE + 4;
@inline const E_TYPE: i32 = E_DIR + 4;
@inline const E_CHECKED: i32 = E_TYPE + 4;
@inline const E_SEQ: i32 = E_CHECKED + 4;
@inline const ADDR_LINK: usize = E_SEQ + 8;   // next, prev
@inline const PAGE_LINK: usize = ADDR_LINK + 8; // next, prev
// A debug record (DEBUG_WORDS i64, src/engine/abi.ts): class, op, dma, size, entry dir, ref dir,
// entry type, ref type, count, entry size.
@inline const R_CLASS: i32 = 0;
@inline const R_OP: i32 = R_CLASS + 8;
@inline const R_DMA: i32 = R_OP + 8;
@inline const R_SIZE: i32 = R_DMA + 8;
@inline const R_EDIR: i32 = R_SIZE + 8;
@inline const R_RDIR: i32 = R_EDIR + 8;
@inline const R_ETYPE: i32 = R_RDIR + 8;
@inline const R_RTYPE: i32 = R_ETYPE + 8;
@inline const R_COUNT: i32 = R_RTYPE + 8;
@inline const R_ESIZE: i32 = R_COUNT + 8;

@inline function ent(i: i32): usize {
  assert(i >= 0 && i < DEBUG_ENTRY_CAPACITY, 'dma-debug entry out of range');
  return debug_entries_ptr + <usize>(i * DEBUG_ENTRY_BYTES);
}
/** Fibonacci hashing: every key bit reaches the top bits. */
@inline function hash(key: u64): usize {
  return <usize>((key * 0x9E3779B97F4A7C15) >> (64 - DEBUG_HASH_BITS));
}
@inline function addr_head(dma: u64): usize { return debug_hash_ptr + (hash(dma) << 2); }
@inline function page_head(page: u64): usize { return debug_page_ptr + (hash(page) << 2); }
@inline function wide_head(): usize { return debug_page_ptr + (<usize>DEBUG_HASH_SIZE << 2); }

/** Pages past its first that an entry reaches, or −1 if it is wide (empty, or reaching further). */
function span_of(dma: u64, size: i32): i32 {
  if (size <= 0) return -1;
  const span = ((dma & 0xFFF) + <u64>size - 1) >> 12;
  return span <= <u64>DEBUG_NARROW_SPAN ? <i32>span : -1;
}

/** The head of entry `e`'s page chain (narrow) or of the wide list. */
function second_head(e: usize): usize {
  const dma = load<u64>(e);
  return span_of(dma, load<i32>(e, E_SIZE)) >= 0 ? page_head(dma >> 12) : wide_head();
}

function link(head: usize, i: i32, off: usize): void {
  const e = ent(i);
  const h = load<i32>(head);
  store<i32>(e + off, h); store<i32>(e + off, 0, 4);
  if (h != 0) store<i32>(ent(h - 1) + off, i + 1, 4);
  store<i32>(head, i + 1);
}

function unlink(head: usize, i: i32, off: usize): void {
  const e = ent(i);
  const n = load<i32>(e + off);
  const p = load<i32>(e + off, 4);
  if (p != 0) store<i32>(ent(p - 1) + off, n); else store<i32>(head, n);
  if (n != 0) store<i32>(ent(n - 1) + off, p, 4);
}

/** Entry i was just moved into slot i: its neighbours (or its head) point at it again. */
function repoint(head: usize, i: i32, off: usize): void {
  const e = ent(i);
  const n = load<i32>(e + off);
  const p = load<i32>(e + off, 4);
  if (p != 0) store<i32>(ent(p - 1) + off, i + 1); else store<i32>(head, i + 1);
  if (n != 0) store<i32>(ent(n - 1) + off, i + 1, 4);
}

export function debug_add(dma: u64, size: i32, dir: i32, type: i32, checked: bool): void {
  if (global_disable) return;
  if (live >= DEBUG_ENTRY_CAPACITY) { global_disable = true; return; }
  const i = live++;
  if (type == DEBUG_TYPE_SINGLE) live_single++;
  const e = ent(i);
  store<u64>(e, dma, E_DMA); store<i32>(e, size, E_SIZE); store<i32>(e, dir, E_DIR); store<i32>(e, type, E_TYPE);
  store<i32>(e, checked ? 1 : 0, E_CHECKED); store<u64>(e, ++seq, E_SEQ);
  link(addr_head(dma), i, ADDR_LINK);
  const span = span_of(dma, size);
  if (span >= 0) {
    link(page_head(dma >> 12), i, PAGE_LINK);
    const c = debug_span_ptr + (<usize>span << 2);
    store<i32>(c, load<i32>(c) + 1);
    if (span > max_span) max_span = span;
  } else {
    link(wide_head(), i, PAGE_LINK);
  }
}

function remove(i: i32): void {
  const e = ent(i);
  const dma = load<u64>(e, E_DMA);
  if (load<i32>(e, E_TYPE) == DEBUG_TYPE_SINGLE) live_single--;
  unlink(addr_head(dma), i, ADDR_LINK);
  const span = span_of(dma, load<i32>(e, E_SIZE));
  if (span >= 0) {
    unlink(page_head(dma >> 12), i, PAGE_LINK);
    const c = debug_span_ptr + (<usize>span << 2);
    store<i32>(c, load<i32>(c) - 1);
    while (max_span > 0 && load<i32>(debug_span_ptr + (<usize>max_span << 2)) == 0) max_span--;
  } else {
    unlink(wide_head(), i, PAGE_LINK);
  }
  live--;
  if (i == live) return;
  memory.copy(e, ent(live), DEBUG_ENTRY_BYTES);
  repoint(addr_head(load<u64>(e, E_DMA)), i, ADDR_LINK);
  repoint(second_head(e), i, PAGE_LINK);
}

function report(cls: i32, dma: i64, size: i64, edir: i64, rdir: i64, etype: i64, rtype: i64, n: i64, esize: i64): void {
  if (quiet) return;
  const total = counter(C_DMA_DEBUG_ERRORS);
  count(C_DMA_DEBUG_ERRORS);
  if (total >= MAX_DEBUG_RECORDS) return;
  const r = DEBUG_PTR + <usize>(<i32>total * DEBUG_WORDS * 8);
  store<i64>(r, cls, R_CLASS); store<i64>(r, cur_op, R_OP); store<i64>(r, dma, R_DMA); store<i64>(r, size, R_SIZE);
  store<i64>(r, edir, R_EDIR); store<i64>(r, rdir, R_RDIR); store<i64>(r, etype, R_ETYPE); store<i64>(r, rtype, R_RTYPE);
  store<i64>(r, n, R_COUNT); store<i64>(r, esize, R_ESIZE);
}

/** Newest entry at exactly `dma`, or −1 (modern; ENGINE.md D14): a chain's first match. */
function find_exact(dma: u64): i32 {
  matches = 0;
  for (let k = load<i32>(addr_head(dma)); k != 0; k = load<i32>(ent(k - 1), ADDR_LINK)) {
    if (load<u64>(ent(k - 1), E_DMA) == dma) { matches = 1; return k - 1; }
  }
  return -1;
}

/**
 * lib/dma-debug.c hash_bucket_find (2.6.35–3.0, so 2.6.37): of the live entries at exactly `dma`
 * (one device), score one point each for equal size, type and direction, plus one for the sg entry
 * count (0 on both sides here, so always equal). The first perfect score in insertion order wins
 * at once; otherwise the best score (last level starting at 0, strictly better replaces) counts
 * only if it was the lone candidate — several, none perfect: nothing ("has not allocated").
 * The chain runs newest → oldest, so the last perfect entry met is the oldest.
 */
function find_best_fit(dma: u64, size: i32, dir: i32, type: i32): i32 {
  matches = 0;
  let perfect = -1;
  let best = -1;
  for (let k = load<i32>(addr_head(dma)); k != 0; k = load<i32>(ent(k - 1), ADDR_LINK)) {
    const e = ent(k - 1);
    if (load<u64>(e, E_DMA) != dma) continue;
    matches++;
    const lvl = (load<i32>(e, E_SIZE) == size ? 1 : 0) + (load<i32>(e, E_TYPE) == type ? 1 : 0) +
      (load<i32>(e, E_DIR) == dir ? 1 : 0) + 1;
    if (lvl == 4) perfect = k - 1;
    else if (lvl > 0) best = k - 1; // only used when it is the lone candidate
  }
  if (perfect >= 0) return perfect;
  return matches == 1 ? best : -1;
}

/** Newest of the entries on chain `k` (link field `off`) that contain `dma`, given the best so far. */
@inline function newest_containing(k: i32, off: usize, dma: u64, best: i32): i32 {
  let best_seq: u64 = best >= 0 ? load<u64>(ent(best), E_SEQ) : 0;
  for (; k != 0; k = load<i32>(ent(k - 1) + off)) {
    const e = ent(k - 1);
    const start = load<u64>(e, E_DMA);
    if (dma >= start && dma - start < <u64>load<i32>(e, E_SIZE) && load<u64>(e, E_SEQ) > best_seq) {
      best = k - 1; best_seq = load<u64>(e, E_SEQ);
    }
  }
  return best;
}

/** Newest entry whose range contains `dma` (bucket_find_contain), or −1. A narrow entry holding
 * `dma` starts at most max_span pages before it; wide entries are all looked at. */
function find_contain(dma: u64): i32 {
  let best = -1;
  const page = dma >> 12;
  for (let d = 0; d <= max_span && <u64>d <= page; d++) {
    best = newest_containing(load<i32>(page_head(page - <u64>d)), PAGE_LINK, dma, best);
  }
  return newest_containing(load<i32>(wide_head()), PAGE_LINK, dma, best);
}

/**
 * check_unmap. 2010 (lib/dma-debug.c 2.6.35–3.0): dma_mapping_error(addr) first — "tries to free
 * an invalid DMA memory address", no lookup; then the best-fit lookup. Modern (kernel/dma/debug.c)
 * looks up first and tests dma_mapping_error only when nothing is found; a failed map is never
 * recorded, so no entry sits at the error address and the order changes nothing. The invalid
 * address is reported as `unmap-unknown` with count −1 (INTERFACE has no class of its own).
 * Then every mismatch: size, wrong function, direction, and (modern only: map_err_type came
 * with debug_dma_mapping_error, after 3.0) a map error nobody checked. The entry goes.
 */
export function check_unmap(dma: u64, size: i32, dir: i32, type: i32): void {
  if (global_disable) return;
  if (dma == error_addr) {
    report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, type, -1, -1);
    return;
  }
  const modern = kernel_era == KERNEL_MODERN;
  const i = modern ? find_exact(dma) : find_best_fit(dma, size, dir, type);
  if (i < 0) {
    report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, type, matches, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, E_SIZE);
  const edir = load<i32>(e, E_DIR);
  const etype = load<i32>(e, E_TYPE);
  if (esize != size) report(DBG_UNMAP_SIZE, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (etype != type) report(DBG_UNMAP_WRONG_FUNCTION, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (edir != dir) report(DBG_UNMAP_DIRECTION, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (modern && load<i32>(e, E_CHECKED) == 0) report(DBG_MAP_ERROR_UNCHECKED, <i64>dma, size, edir, dir, etype, type, -1, esize);
  remove(i);
}

/**
 * check_sync. 2010 (lib/dma-debug.c 2.6.35/36; the containing lookup is in 3.0, 2.6.37 itself is
 * unpinned — ENGINE.md §9): the best-fit lookup at exactly the handle, ref type single; so a sync
 * starting inside a mapping is "has not allocated", and one running past the end is "outside
 * allocated range". Modern: D21 (exact, else the newest containing entry). Then the
 * BIDIRECTIONAL early exit and the direction checks.
 */
export function check_sync(dma: u64, size: i32, dir: i32, type: i32, to_cpu: bool): void {
  if (global_disable) return;
  let i: i32;
  if (kernel_era == KERNEL_MODERN) {
    // D21: an entry at exactly the sync's address first; only without one, the containing scan.
    i = find_exact(dma);
    if (i < 0) i = find_contain(dma);
  } else {
    i = find_best_fit(dma, size, dir, type);
  }
  if (i < 0) {
    report(DBG_SYNC_UNKNOWN, <i64>dma, size, -1, dir, -1, type, matches, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, E_SIZE);
  const edir = load<i32>(e, E_DIR);
  const etype = load<i32>(e, E_TYPE);
  if (<u64>size + (dma - load<u64>(e, E_DMA)) > <u64>esize) {
    report(DBG_SYNC_OUTSIDE, <i64>dma, size, edir, dir, etype, type, -1, esize);
  }
  if (edir == DMA_BIDIRECTIONAL) return;
  if (dir != edir) report(DBG_SYNC_DIRECTION, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (to_cpu && edir != DMA_FROM_DEVICE && dir != DMA_TO_DEVICE) {
    report(DBG_SYNC_CPU_READONLY, <i64>dma, size, edir, dir, etype, type, -1, esize);
  }
  if (!to_cpu && edir != DMA_TO_DEVICE && dir != DMA_FROM_DEVICE) {
    report(DBG_SYNC_DEVICE_WRITEONLY, <i64>dma, size, edir, dir, etype, type, -1, esize);
  }
}

/**
 * debug_dma_mapping_error (modern): the oldest live unchecked single entry at exactly `dma`
 * becomes checked (D7). 2010 has no such hook: 2.6.37's dma_mapping_error never calls dma-debug.
 */
export function debug_mapping_error(dma: u64): void {
  if (global_disable || kernel_era != KERNEL_MODERN) return;
  let best = -1;
  // The chain runs newest → oldest: the last match is the oldest.
  for (let k = load<i32>(addr_head(dma)); k != 0; k = load<i32>(ent(k - 1), ADDR_LINK)) {
    const e = ent(k - 1);
    if (load<u64>(e, E_DMA) == dma && load<i32>(e, E_TYPE) == DEBUG_TYPE_SINGLE && load<i32>(e, E_CHECKED) == 0) best = k - 1;
  }
  if (best >= 0) store<i32>(ent(best), 1, E_CHECKED);
}

/** Device release: whatever is still mapped leaked. */
export function debug_release(): void {
  if (global_disable) return;
  if (live > 0) report(DBG_LEAK, -1, -1, -1, -1, -1, -1, live, -1);
}

export function debug_reset(): void {
  live = 0; live_single = 0; max_span = 0; seq = 0; quiet = false; global_disable = false;
  if (debug_hash_ptr != 0) {
    memory.fill(debug_hash_ptr, 0, <usize>DEBUG_HASH_SIZE * 4);
    memory.fill(debug_page_ptr, 0, <usize>(DEBUG_HASH_SIZE + 1) * 4);
    memory.fill(debug_span_ptr, 0, <usize>(DEBUG_NARROW_SPAN + 1) * 4);
  }
}


/** Live single (streaming) entries: checkInvariants' "no streaming mapping is live" (T21). */
export function debug_live_single(): i32 { return live_single; }
