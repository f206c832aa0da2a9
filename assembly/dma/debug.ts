// DMA-API debugging (CONFIG_DMA_API_DEBUG): a table of live mappings and the checks
// check_unmap / check_sync apply against it. Per era (docs/ENGINE.md §9): `2010` is
// lib/dma-debug.c of 2.6.37 (best-fit hash_bucket_find, exact-handle check_sync, dma_mapping_error
// first in check_unmap, no map-error tracking); `modern` is kernel/dma/debug.c of 6.12 (the same
// best fit, bucket_find_contain for syncs, map-error tracking, active cachelines → `overlap`).
// Different: it sees only what the driver tells the DMA API — never a missing sync, which is
// the oracle's job — and it reports every failed check of an op, not just the first. An entry's
// type word holds the type (DebugType) and, above SG_SHIFT, an sg entry's list count (sg_call_ents).

import { DEBUG_WORDS, DEBUG_ENTRY_OP_MAX, MAX_DEBUG_RECORDS, DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
  DBG_UNMAP_UNKNOWN, DBG_UNMAP_SIZE, DBG_UNMAP_DIRECTION,
  DBG_UNMAP_WRONG_FUNCTION, DBG_MAP_ERROR_UNCHECKED, DBG_SYNC_UNKNOWN, DBG_SYNC_OUTSIDE,
  DBG_SYNC_DIRECTION, DBG_SYNC_CPU_READONLY, DBG_SYNC_DEVICE_WRITEONLY, DBG_LEAK, DBG_OVERLAP,
  DMA_DEBUG_HASH_FN_SHIFT, DMA_DEBUG_HASH_SIZE, L1_CACHE_SHIFT,
  C_DMA_DEBUG_ERRORS, DEBUG_TYPE_SINGLE, DEBUG_TYPE_COHERENT, DEBUG_TYPE_SG, DMA_MAPPING_ERROR,
  KERNEL_MODERN, OP_ATTR_SKIP_CPU_SYNC, RECORDED_CLN_BIT } from '../abi';
import { active_cacheline_insert, active_cacheline_remove, active_cacheline_reset } from './debug_cacheline';
import { DEBUG_PTR, debug_hash_ptr, DEBUG_ENTRY_BYTES, DEBUG_HASH_SIZE, kernel_era, debug_capacity } from '../layout';
import { E_DMA, E_SIZE, PAGE_LINK, ent, hash, link, unlink, repoint, index_add, index_remove, index_repoint, index_reset, candidates_start, candidates_next } from './debug_index';
import { count, counter, cur_op } from '../sim/counters';

// Entry (DEBUG_ENTRY_BYTES): dma address, size, direction and whether dma_mapping_error saw it
// (16 bits each), type, the op that made it (E_OP below), a sequence number (newer is larger),
// two doubly linked chains: by exact address, and the containing lookup's index (dma/debug_index.ts; links are index + 1, 0 = none), then its active
// cacheline (modern, not to_device; NO_CLN otherwise). Entries stay dense: a removal moves the last
// one into the hole. Chains run newest → oldest; the kernel's buckets run oldest first
// (list_add_tail), so the lookups take the last match. Address buckets: by exact dma address, one
// per preallocated entry, so unmap, mapping_error and an exact sync walk about one entry. A
// containing lookup asks the index for the entries that can hold the address: the same answer as
// a scan of every entry (D21), without the scan. No allocation after init.
let live: i32 = 0; let live_single: i32 = 0; // all; streaming (single or sg)
let seq: u64 = 0; // entries made
/** The most entries ever live at once: every entry written lies below it (remove moves the last
 * into the gap), so scrub (index.ts) zeroes the entries up to it. Different, for speed only. */
export let debug_high: i32 = 0;
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
let matches: i32 = 0; // live entries at exactly the last lookup's address (hash_bucket_find's `matches`)
@inline const SG_SHIFT: i32 = 8; // the type word of a single map (nents 0) or an entry of an sg call of nents
let sg_mapped: i32 = 0; // get_nr_mapped_entries of the sg sync in progress (its first entry's list count, 0: not found)
export function debug_type(nents: i32): i32 { return nents > 0 ? DEBUG_TYPE_SG | (nents << SG_SHIFT) : DEBUG_TYPE_SINGLE; }
@inline function kind(t: i32): i32 { return t & ((1 << SG_SHIFT) - 1); }

// E_DMA, E_SIZE and PAGE_LINK are dma/debug_index.ts's (the index reads them).
// Direction and the checked flag take 16 bits each, which leaves a word for the op that made the
// entry (E_OP: u32, DEBUG_ENTRY_OP_MAX + 1 when past it) in the entry's 56 bytes.
@inline const E_DIR: i32 = E_SIZE + 4; @inline const E_CHECKED: i32 = E_DIR + 2;
@inline const E_TYPE: i32 = E_CHECKED + 2; @inline const E_OP: i32 = E_TYPE + 4;
@inline const E_SEQ: i32 = E_OP + 4;
@inline const ADDR_LINK: usize = E_SEQ + 8; // next, prev; PAGE_LINK follows it
@inline const E_CLN: i32 = 48; @inline const NO_CLN: u64 = u64.MAX_VALUE; // after PAGE_LINK's two links
// A debug record (DEBUG_WORDS i64, src/engine/abi.ts): class, op, dma, size, entry dir, ref dir,
// entry type, ref type, count, entry size, entry op.
@inline const R_CLASS: i32 = 0; @inline const R_OP: i32 = R_CLASS + 8;
@inline const R_DMA: i32 = R_OP + 8; @inline const R_SIZE: i32 = R_DMA + 8;
@inline const R_EDIR: i32 = R_SIZE + 8; @inline const R_RDIR: i32 = R_EDIR + 8;
@inline const R_ETYPE: i32 = R_RDIR + 8; @inline const R_RTYPE: i32 = R_ETYPE + 8;
@inline const R_COUNT: i32 = R_RTYPE + 8; @inline const R_ESIZE: i32 = R_COUNT + 8;
@inline const R_EOP: i32 = R_ESIZE + 8;

@inline function hash_fn(dma: u64): u64 { return (dma >> DMA_DEBUG_HASH_FN_SHIFT) & <u64>(DMA_DEBUG_HASH_SIZE - 1); } // the kernel's bucket
@inline function addr_head(dma: u64): usize { return debug_hash_ptr + (hash(dma >> 11) << 2); } // by 2 KiB unit

/**
 * add_dma_entry: the entry joins its buckets (hash_bucket_add). Modern (6.12): first D7 at `dma` for
 * a streaming map (debug_dma_map_page's dma_mapping_error, before the entry exists); then tracks the
 * cacheline of `phys` (to_cacheline_number: memory, not dma address, so a bounce or IOVA of a page
 * overlaps a direct mapping of it), unless DMA_TO_DEVICE (active_cacheline_insert). Its EEXIST is
 * one `overlap` record per mapping, but not under DMA_ATTR_SKIP_CPU_SYNC (`attrs`, a trace's map;
 * the script's map and 6.12 ttm_pool_map pass 0), whose entry is still tracked. `recorded`: where a
 * kernel trace had the memory, whose cachelines are those then (tagged RECORDED_CLN_BIT: never a
 * simulated page's), else −1. 2010: no tracking.
 */
export function debug_add(dma: u64, size: i32, dir: i32, type: i32, checked: bool, phys: u64, recorded: i64 = -1, attrs: i32 = 0): void {
  if (global_disable) return;
  if (type == DEBUG_TYPE_SINGLE) debug_mapping_error(dma);
  if (live >= debug_capacity) { global_disable = true; return; }
  const i = live++;
  if (live > debug_high) debug_high = live;
  if (kind(type) != DEBUG_TYPE_COHERENT) live_single++; // streaming: single or sg
  const e = ent(i);
  store<u64>(e, dma, E_DMA); store<i32>(e, size, E_SIZE); store<u16>(e, <u16>dir, E_DIR); store<i32>(e, type, E_TYPE);
  store<u16>(e, checked ? 1 : 0, E_CHECKED); store<u32>(e, cur_op <= <i64>DEBUG_ENTRY_OP_MAX ? <u32>cur_op : DEBUG_ENTRY_OP_MAX + 1, E_OP); store<u64>(e, ++seq, E_SEQ); store<u64>(e, NO_CLN, E_CLN);
  link(addr_head(dma), i, ADDR_LINK);
  index_add(i);
  if (kernel_era == KERNEL_MODERN && dir != DMA_TO_DEVICE) {
    const cln = recorded >= 0 ? (<u64>recorded >> L1_CACHE_SHIFT) | (<u64>1 << RECORDED_CLN_BIT) : phys >> L1_CACHE_SHIFT;
    store<u64>(e, cln, E_CLN);
    const overlap = active_cacheline_insert(cln);
    if (overlap > 0 && (attrs & OP_ATTR_SKIP_CPU_SYNC) == 0) report(DBG_OVERLAP, <i64>dma, size, dir, -1, kind(type), -1, overlap, size, entry_op(e));
  }
}

function remove(i: i32): void {
  const e = ent(i);
  const dma = load<u64>(e, E_DMA);
  // dma_entry_free → active_cacheline_remove (modern; to_device entries were never tracked).
  const cln = load<u64>(e, E_CLN);
  if (cln != NO_CLN) active_cacheline_remove(cln);
  if (kind(load<i32>(e, E_TYPE)) != DEBUG_TYPE_COHERENT) live_single--;
  unlink(addr_head(dma), i, ADDR_LINK);
  index_remove(i);
  live--;
  if (i == live) return;
  memory.copy(e, ent(live), DEBUG_ENTRY_BYTES);
  repoint(addr_head(load<u64>(e, E_DMA)), i, ADDR_LINK);
  index_repoint(i);
}

/** The op that made entry `e` (−1: past DEBUG_ENTRY_OP_MAX). */
@inline function entry_op(e: usize): i64 { const o = load<u32>(e, E_OP); return o > DEBUG_ENTRY_OP_MAX ? -1 : <i64>o; }

function report(cls: i32, dma: i64, size: i64, edir: i64, rdir: i64, etype: i64, rtype: i64, n: i64, esize: i64, eop: i64 = -1): void {
  if (quiet) return;
  const total = counter(C_DMA_DEBUG_ERRORS);
  count(C_DMA_DEBUG_ERRORS);
  if (total >= MAX_DEBUG_RECORDS) return;
  const r = DEBUG_PTR + <usize>(<i32>total * DEBUG_WORDS * 8);
  store<i64>(r, cls, R_CLASS); store<i64>(r, cur_op, R_OP); store<i64>(r, dma, R_DMA); store<i64>(r, size, R_SIZE);
  store<i64>(r, edir, R_EDIR); store<i64>(r, rdir, R_RDIR); store<i64>(r, etype, R_ETYPE); store<i64>(r, rtype, R_RTYPE);
  store<i64>(r, n, R_COUNT); store<i64>(r, esize, R_ESIZE); store<i64>(r, eop, R_EOP);
}

/** Live entries at exactly `dma` (a modern sync-unknown record's count, D13). */
function count_at(dma: u64): i32 {
  let n = 0;
  for (let k = load<i32>(addr_head(dma)); k != 0; k = load<i32>(ent(k - 1), ADDR_LINK)) {
    if (load<u64>(ent(k - 1), E_DMA) == dma) n++;
  }
  return n;
}

/**
 * lib/dma-debug.c hash_bucket_find (2.6.35–3.0, so 2.6.37); kernel/dma/debug.c 6.12
 * bucket_find_exact → __hash_bucket_find, exact_match, whose last level starts at −1: a lone
 * candidate is found even when nothing matches (2010's starts at 0). Of the live entries at exactly `dma`, one point each for
 * equal size, type, direction and sg entry count (0 for a single). The first perfect score
 * in insertion order (the kernel's buckets are list_add_tail: oldest first) wins; otherwise the
 * best counts only as the lone candidate — several, none perfect: nothing ("has not allocated").
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
    const t = load<i32>(e, E_TYPE);
    const lvl = (load<i32>(e, E_SIZE) == size ? 1 : 0) + (kind(t) == kind(type) ? 1 : 0) +
      (<i32>load<u16>(e, E_DIR) == dir ? 1 : 0) + ((t >> SG_SHIFT) == (type >> SG_SHIFT) ? 1 : 0);
    if (lvl == 4) perfect = k - 1;
    else if (lvl > 0 || kernel_era == KERNEL_MODERN) best = k - 1; // only used when it is the lone candidate
  }
  if (perfect >= 0) return perfect;
  return matches == 1 ? best : -1;
}

// bucket_find_contain's state: the sync; a counting pass (c_target −1), a scoring pass.
let c_dma: u64 = 0; let c_end: u64 = 0; let c_size: i32 = 0; let c_dir: i32 = 0; let c_type: i32 = 0;
let c_after: i32 = -1; let c_min: i32 = 0; let c_target: i32 = -1;
let c_matches: i32 = 0; let c_perfect: i32 = -1; let c_perfect_seq: u64 = 0; let c_lone: i32 = -1;

/**
 * containing_match (6.12): the entry holds all of [dma, dma + size), sums in u64 as the
 * kernel's (a sync at DMA_MAPPING_ERROR wraps its end). Its step is how many 8 KiB hash buckets
 * back from the sync's bucket the walk meets the entry's bucket (hash_fn, mod HASH_SIZE).
 */
function consider(i: i32): void {
  const e = ent(i);
  const start = load<u64>(e, E_DMA);
  if (start > c_dma || start + <u64>load<i32>(e, E_SIZE) < c_end) return;
  const step = <i32>((hash_fn(c_dma) - hash_fn(start)) & <u64>(DMA_DEBUG_HASH_SIZE - 1));
  if (c_target < 0) {
    if (step > c_after && step < c_min) c_min = step;
    return;
  }
  if (step != c_target) return;
  c_matches++;
  c_lone = i;
  if (load<i32>(e, E_SIZE) == c_size && load<i32>(e, E_TYPE) == c_type && <i32>load<u16>(e, E_DIR) == c_dir) {
    const sq = load<u64>(e, E_SEQ);
    if (c_perfect < 0 || sq < c_perfect_seq) { c_perfect = i; c_perfect_seq = sq; }
  }
}

/** Every live entry that can contain the sync (dma/debug_index.ts: each once); all of them if the
 * end wrapped, or if the sync is 0 bytes (an entry ending at its address holds it; the model says more). */
function walk_containing(): void {
  if (c_end <= c_dma) {
    for (let i = 0; i < live; i++) consider(i);
    return;
  }
  candidates_start(c_dma >> 12);
  for (let i = candidates_next(); i >= 0; i = candidates_next()) consider(i);
}

/**
 * kernel/dma/debug.c 6.12 bucket_find_contain: from the sync's hash bucket back one bucket
 * (8 KiB of dma address) at a time, at most HASH_SIZE of them and not below address 0 (which
 * still meets every containing entry), __hash_bucket_find with containing_match in each: the
 * oldest entry of that bucket with equal size, type and direction, else the bucket's only
 * containing entry; several and none perfect → that bucket gives nothing and the walk goes on.
 * No containing entry → −1 ("has not allocated"), so a sync running past a mapping's end is
 * unknown, not outside.
 */
function bucket_find_contain(dma: u64, size: i32, dir: i32, type: i32): i32 {
  c_dma = dma; c_end = dma + <u64>size; c_size = size; c_dir = dir; c_type = type;
  let after = -1;
  while (true) {
    c_target = -1; c_after = after; c_min = DMA_DEBUG_HASH_SIZE;
    walk_containing();
    if (c_min >= DMA_DEBUG_HASH_SIZE) return -1;
    c_target = c_min; c_matches = 0; c_perfect = -1; c_lone = -1;
    walk_containing();
    if (c_perfect >= 0) return c_perfect;
    if (c_matches == 1) return c_lone;
    after = c_min;
  }
}

/**
 * check_unmap. 2010 (lib/dma-debug.c 2.6.35–3.0): dma_mapping_error(addr) first — "tries to free
 * an invalid DMA memory address", no lookup; then the best fit. Modern (6.12 check_unmap): the best
 * fit first, dma_mapping_error when nothing is found (no entry sits at the error address: the same).
 * The invalid address is `unmap-unknown` with count −1 (INTERFACE has no class of its own). Then
 * every mismatch: size, wrong function (e.g. an sg entry unmapped as single), direction, and (modern
 * only, after 3.0) a map error nobody checked; the entry goes. An sg list's "different entry
 * count" has no INTERFACE class: the count only scores in the best fit.
 */
export function check_unmap(dma: u64, size: i32, dir: i32, type: i32): void {
  if (global_disable) return;
  const rtype = kind(type);
  if (dma == error_addr) {
    report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, rtype, -1, -1);
    return;
  }
  const modern = kernel_era == KERNEL_MODERN;
  const i = find_best_fit(dma, size, dir, type);
  if (i < 0) { // then dma_mapping_error(), whose 6.12 debug hook checks an entry there (none on 2010)
    const n = matches;
    debug_mapping_error(dma);
    report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, rtype, n, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, E_SIZE);
  const edir = <i32>load<u16>(e, E_DIR);
  const etype = kind(load<i32>(e, E_TYPE));
  if (esize != size) report(DBG_UNMAP_SIZE, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  if (etype != rtype) report(DBG_UNMAP_WRONG_FUNCTION, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  if (edir != dir) report(DBG_UNMAP_DIRECTION, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  if (modern && load<u16>(e, E_CHECKED) == 0) report(DBG_MAP_ERROR_UNCHECKED, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  remove(i);
}

/** check_unmap's answer when no entry can hold the handle (a kernel trace's call where the recorded
 * address holds nothing live, whatever the simulation has at the handle): at the era's error handle
 * (a map that failed here) "invalid DMA memory address", as check_unmap answers it; else "has not allocated". */
export function report_unmap_unknown(dma: u64, size: i32, dir: i32, type: i32): void {
  if (!global_disable) report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, kind(type), dma == error_addr ? -1 : 0, -1);
}

/** debug_dma_sync_sg_*'s mapped_ents for the call in progress, where its first entry's lookup is not replayed (a kernel trace's). */
export function debug_set_sg_mapped(n: i32): void { sg_mapped = n; }

/** check_sync's answer where no entry holds the address (a kernel trace's sync of a mapping it had
 * unmapped: no live mapping was at the recorded address, whatever the simulation gave the handle to
 * since), with no lookup: a single sync "has not allocated"; an sg call whose first entry finds no
 * mapped_ents (0) checks none of its entries (debug_dma_sync_sg_*), one whose first did checks this one. */
export function report_sync_unknown(dma: u64, size: i32, dir: i32, type: i32, index: i32): void {
  if (global_disable) return;
  if (kind(type) == DEBUG_TYPE_SG) {
    if (index == 0) sg_mapped = 0;
    if (index >= sg_mapped) return;
  }
  report(DBG_SYNC_UNKNOWN, <i64>dma, size, -1, dir, -1, kind(type), 0, -1);
}

/**
 * check_sync. 2010 (lib/dma-debug.c 2.6.35/36; 2.6.37 unpinned, ENGINE.md §9): the best fit at
 * exactly the handle: a sync starting inside a mapping is "has not allocated", one running past its
 * end "outside allocated range". Modern (6.12): bucket_find_contain (D21), "outside" only when the
 * sync is larger than the entry (a sync at DMA_MAPPING_ERROR wraps its end). Then the BIDIRECTIONAL
 * early exit and the direction checks. An sg sync's entry: as debug_dma_sync_sg_* (`index` in the call).
 */
export function check_sync(dma: u64, size: i32, dir: i32, type: i32, to_cpu: bool, index: i32 = 0): void {
  if (global_disable) return;
  const modern = kernel_era == KERNEL_MODERN;
  if (kind(type) == DEBUG_TYPE_SG) { // debug_dma_sync_sg_*: entry `index` of the call, checked below mapped_ents
    if (index == 0) { const f = find_best_fit(dma, size, dir, type); sg_mapped = f < 0 ? 0 : load<i32>(ent(f), E_TYPE) >> SG_SHIFT; }
    if (index >= sg_mapped) return;
  }
  let i: i32;
  if (modern) {
    i = bucket_find_contain(dma, size, dir, type);
    matches = i < 0 ? count_at(dma) : 0;
  } else {
    i = find_best_fit(dma, size, dir, type);
  }
  const rtype = kind(type);
  if (i < 0) {
    report(DBG_SYNC_UNKNOWN, <i64>dma, size, -1, dir, -1, rtype, matches, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, E_SIZE);
  const edir = <i32>load<u16>(e, E_DIR);
  const etype = kind(load<i32>(e, E_TYPE));
  if (modern ? size > esize : <u64>size + (dma - load<u64>(e, E_DMA)) > <u64>esize) { // the entry's address
    report(DBG_SYNC_OUTSIDE, <i64>load<u64>(e, E_DMA), size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  }
  if (edir == DMA_BIDIRECTIONAL) return;
  if (dir != edir) report(DBG_SYNC_DIRECTION, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  if (to_cpu && edir != DMA_FROM_DEVICE && dir != DMA_TO_DEVICE) {
    report(DBG_SYNC_CPU_READONLY, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
  }
  if (!to_cpu && edir != DMA_TO_DEVICE && dir != DMA_FROM_DEVICE) {
    report(DBG_SYNC_DEVICE_WRITEONLY, <i64>dma, size, edir, dir, etype, rtype, -1, esize, entry_op(e));
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
    if (load<u64>(e, E_DMA) == dma && load<i32>(e, E_TYPE) == DEBUG_TYPE_SINGLE && load<u16>(e, E_CHECKED) == 0) best = k - 1;
  }
  if (best >= 0) store<u16>(ent(best), 1, E_CHECKED);
}

/** Device release: all that is still mapped or allocated leaked, but the `pooled` entries (T20). 6.12
 * (dma_debug_device_change) names one, device_dma_allocations' last: the newest of the highest hash
 * bucket; only when none is pooled (which entries a pool holds is not known here). */
export function debug_release(pooled: i32): void {
  if (global_disable || live <= pooled) return;
  let b = -1; let best: u64 = 0; // the highest (hash_fn << 40 | seq): newest of the highest bucket
  if (kernel_era == KERNEL_MODERN && pooled == 0) for (let i = 0; i < live; i++) { const k = hash_fn(load<u64>(ent(i), E_DMA)) << 40 | load<u64>(ent(i), E_SEQ); if (b < 0 || k > best) { b = i; best = k; } }
  if (b < 0) { report(DBG_LEAK, -1, -1, -1, -1, -1, -1, live - pooled, -1); return; }
  const e = ent(b);
  report(DBG_LEAK, <i64>load<u64>(e, E_DMA), load<i32>(e, E_SIZE), <i32>load<u16>(e, E_DIR), -1, kind(load<i32>(e, E_TYPE)), -1, live, load<i32>(e, E_SIZE), entry_op(e));
}

export function debug_reset(): void {
  assert(PAGE_LINK == ADDR_LINK + 8 && <usize>E_CLN == PAGE_LINK + 8, 'dma-debug entry layout');
  live = 0; live_single = 0; seq = 0; quiet = false; global_disable = false;
  active_cacheline_reset();
  if (debug_hash_ptr != 0) {
    memory.fill(debug_hash_ptr, 0, <usize>DEBUG_HASH_SIZE * 4);
    index_reset();
  }
}

/** Live single (streaming) entries: checkInvariants' "no streaming mapping is live" (T21). */
export function debug_live_single(): i32 { return live_single; }
