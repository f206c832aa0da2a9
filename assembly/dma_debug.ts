// kernel/dma/debug.c (CONFIG_DMA_API_DEBUG): a table of live mappings and the checks
// check_unmap / check_sync apply against it; debug_dma_mapping_error marks entries checked.
// Different: it sees only what the driver tells the DMA API — never a missing sync, which is
// the oracle's job — and it reports every failed check of an op, not just the first.

import { DEBUG_WORDS, MAX_DEBUG_RECORDS, DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE,
  DBG_UNMAP_UNKNOWN, DBG_UNMAP_SIZE, DBG_UNMAP_DIRECTION,
  DBG_UNMAP_WRONG_FUNCTION, DBG_MAP_ERROR_UNCHECKED, DBG_SYNC_UNKNOWN, DBG_SYNC_OUTSIDE,
  DBG_SYNC_DIRECTION, DBG_SYNC_CPU_READONLY, DBG_SYNC_DEVICE_WRITEONLY, DBG_LEAK,
  C_DMA_DEBUG_ERRORS, DEBUG_TYPE_SINGLE } from './abi';
import { DEBUG_PTR, debug_entries_ptr, DEBUG_ENTRY_BYTES, DEBUG_ENTRY_CAPACITY } from './layout';
import { count, counter, cur_op } from './counters';

// Entry (DEBUG_ENTRY_BYTES): +0 dma u64, +8 size, +12 dir, +16 type, +20 checked, +24 seq u64.
let live: i32 = 0;
let seq: u64 = 0;
// Device teardown after release (ENGINE.md §13) frees through the same paths but reports nothing.
let quiet = false;
export function debug_set_quiet(q: bool): void { quiet = q; }
// dma_entry_alloc out of preallocated entries: "DMA-API: debugging out of memory - disabling".
// From then on every hook returns at once, as the kernel's global_disable makes them (T22).
let global_disable = false;

@inline function ent(i: i32): usize { return debug_entries_ptr + <usize>(i * DEBUG_ENTRY_BYTES); }

export function debug_add(dma: u64, size: i32, dir: i32, type: i32, checked: bool): void {
  if (global_disable) return;
  if (live >= DEBUG_ENTRY_CAPACITY) { global_disable = true; return; }
  const e = ent(live++);
  store<u64>(e, dma); store<i32>(e, size, 8); store<i32>(e, dir, 12); store<i32>(e, type, 16);
  store<i32>(e, checked ? 1 : 0, 20); store<u64>(e, ++seq, 24);
}

function remove(i: i32): void {
  live--;
  if (i != live) memory.copy(ent(i), ent(live), DEBUG_ENTRY_BYTES);
}

function report(cls: i32, dma: i64, size: i64, edir: i64, rdir: i64, etype: i64, rtype: i64, n: i64, esize: i64): void {
  if (quiet) return;
  const total = counter(C_DMA_DEBUG_ERRORS);
  count(C_DMA_DEBUG_ERRORS);
  if (total >= MAX_DEBUG_RECORDS) return;
  const r = DEBUG_PTR + <usize>(<i32>total * DEBUG_WORDS * 8);
  store<i64>(r, cls); store<i64>(r, cur_op, 8); store<i64>(r, dma, 16); store<i64>(r, size, 24);
  store<i64>(r, edir, 32); store<i64>(r, rdir, 40); store<i64>(r, etype, 48); store<i64>(r, rtype, 56);
  store<i64>(r, n, 64); store<i64>(r, esize, 72);
}

/** Newest entry at exactly `dma` (hash_bucket_find's exact match), or −1. */
function find_exact(dma: u64): i32 {
  let best = -1;
  let best_seq: u64 = 0;
  for (let i = 0; i < live; i++) {
    const e = ent(i);
    if (load<u64>(e) == dma && load<u64>(e, 24) > best_seq) { best = i; best_seq = load<u64>(e, 24); }
  }
  return best;
}

/** Newest entry whose range contains `dma` (bucket_find_contain), or −1. */
function find_contain(dma: u64): i32 {
  let best = -1;
  let best_seq: u64 = 0;
  for (let i = 0; i < live; i++) {
    const e = ent(i);
    const start = load<u64>(e);
    if (dma >= start && dma - start < <u64>load<i32>(e, 8) && load<u64>(e, 24) > best_seq) {
      best = i; best_seq = load<u64>(e, 24);
    }
  }
  return best;
}

export function check_unmap(dma: u64, size: i32, dir: i32, type: i32): void {
  if (global_disable) return;
  const i = find_exact(dma);
  if (i < 0) {
    report(DBG_UNMAP_UNKNOWN, <i64>dma, size, -1, dir, -1, type, -1, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, 8);
  const edir = load<i32>(e, 12);
  const etype = load<i32>(e, 16);
  if (esize != size) report(DBG_UNMAP_SIZE, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (etype != type) report(DBG_UNMAP_WRONG_FUNCTION, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (edir != dir) report(DBG_UNMAP_DIRECTION, <i64>dma, size, edir, dir, etype, type, -1, esize);
  if (load<i32>(e, 20) == 0) report(DBG_MAP_ERROR_UNCHECKED, <i64>dma, size, edir, dir, etype, type, -1, esize);
  remove(i);
}

export function check_sync(dma: u64, size: i32, dir: i32, type: i32, to_cpu: bool): void {
  if (global_disable) return;
  const i = find_contain(dma);
  if (i < 0) {
    report(DBG_SYNC_UNKNOWN, <i64>dma, size, -1, dir, -1, type, -1, -1);
    return;
  }
  const e = ent(i);
  const esize = load<i32>(e, 8);
  const edir = load<i32>(e, 12);
  const etype = load<i32>(e, 16);
  if (<u64>size + (dma - load<u64>(e)) > <u64>esize) {
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

/** debug_dma_mapping_error: the oldest live unchecked single entry at exactly `dma` becomes checked (D7). */
export function debug_mapping_error(dma: u64): void {
  if (global_disable) return;
  let best = -1;
  let best_seq: u64 = u64.MAX_VALUE;
  for (let i = 0; i < live; i++) {
    const e = ent(i);
    if (load<u64>(e) == dma && load<i32>(e, 16) == DEBUG_TYPE_SINGLE && load<i32>(e, 20) == 0 && load<u64>(e, 24) < best_seq) {
      best = i; best_seq = load<u64>(e, 24);
    }
  }
  if (best >= 0) store<i32>(ent(best), 1, 20);
}

/** Device release: whatever is still mapped leaked. */
export function debug_release(): void {
  if (global_disable) return;
  if (live > 0) report(DBG_LEAK, -1, -1, -1, -1, -1, -1, live, -1);
}

export function debug_reset(): void { live = 0; seq = 0; quiet = false; global_disable = false; }


/** Live single (streaming) entries: checkInvariants' "no streaming mapping is live" (T21). */
export function debug_live_single(): i32 {
  let n = 0;
  for (let i = 0; i < live; i++) if (load<i32>(ent(i), 16) == DEBUG_TYPE_SINGLE) n++;
  return n;
}
