// Machine memory contents as version stamps (one per 2 KiB swiotlb slot-sized unit) plus the
// optional payload bytes. Models no single kernel file: it is the RAM every other file moves.
// Different: a stamp is (bufId << 32 | dev << 31 | version), so one i64 compare tells whether
// a reader saw the last write; payload bytes are stored sparsely, only for frames ever written.
// Machine memory is addressed by *store address* (sfn << PAGE_SHIFT | offset, sim/translate.ts):
// the same frames in an order that keeps the guest's pages together.

import { PAGE_SHIFT, PAGE_MASK, IO_TLB_SHIFT, UNIT_SIZE, UNIT_MASK, VERSION_MASK } from '../abi';
import { cur_op } from './counters';
import { stamps_ptr, xstamps_ptr, direct_frames, expected_ptr, payload_bytes, unit_payload, ram_pages,
  pay_mach_ptr, pay_shadow_ptr, bump_alloc, XSTAMP_CHUNK_SHIFT, XSTAMP_CHUNK_BYTES,
  stamps_written_ptr, expected_written_ptr, STAMP_BLOCK_SHIFT, written_bits_bytes, written_bit, set_written_bit } from '../layout';
import { phys_to_store, device_machine_to_store, bus_to_store, bus_to_store_write } from './translate';

// How an access reaches machine memory.
@inline export const MODE_PHYS: i32 = 0; // the CPU: guest phys through p2m
@inline export const MODE_BUS: i32 = 1;  // a device: bus address through the IOMMU, if any
@inline export const MODE_NONE: i32 = 2; // a fault: reads see nothing, writes are dropped
@inline export const MODE_MACH: i32 = 3; // the AGP chipset: a machine address, no IOMMU, no p2m
@inline export const MODE_BUS_WRITE: i32 = 4; // a device writing: as MODE_BUS, but a read-only IOVA faults

//  stamp (i64):  63            32 31 30                0
//               |    bufId       |dev|     version      |
@inline export function make_stamp(buf_id: u32, dev: u32, version: u32): u64 {
  return (<u64>buf_id << 32) | (<u64>dev << 31) | <u64>version;
}

/** A write op's stamp: its version is the op's index + 1, so a stamp names the op that wrote it. */
@inline export function next_stamp(buf_id: i32, dev: u32): u64 {
  return make_stamp(<u32>buf_id, dev, <u32>(cur_op + 1) & VERSION_MASK);
}

// Buffer ids: every alloc, alloc_coherent and tt populate takes the next, whether or not it succeeds.
let buf_counter: i32 = 0;
@inline export function next_buf_id(): i32 { return ++buf_counter; }

// Different, for speed only: a page of the direct stamps table, or of the expected table, that no
// stamp was ever written to is never touched: a written-bit per page (STAMP_BLOCK_SHIFT) answers 0
// for it, as a chunk never committed does. An exchange's zeroing (xen/exchange.ts) of pages the
// run never wrote would otherwise fault in a fresh page of each table for every frame it gives up
// (a fault costs microseconds on a VM), and a read would map the shared zero page, whose later
// write takes a second fault and flushes the TLB of every CPU the process runs on (layout.ts).
@inline function block_written(bits: usize, i: i32): bool { return written_bit(bits, i >> STAMP_BLOCK_SHIFT); }
@inline function mark_written(bits: usize, i: i32): void { set_written_bit(bits, i >> STAMP_BLOCK_SHIFT); }

/** Nothing written yet: both written-bit maps zero, written now so that they fault in as written pages. */
export function stamps_reset(): void {
  memory.fill(stamps_written_ptr, 0, <usize>written_bits_bytes(<u64>direct_frames));
  memory.fill(expected_written_ptr, 0, <usize>written_bits_bytes(<u64>ram_pages));
}

/**
 * The 16 bytes that hold store frame sfn's two unit stamps: the guest's and the low frames in one
 * table, the others in chunks (layout.ts). `create` commits a missing chunk or marks a table page
 * written (a write); else a missing chunk or a page never written gives 0 (its units read 0).
 */
@inline export function frame_stamps(sfn: i64, create: bool): usize {
  if (sfn < <i64>direct_frames) {
    if (create) mark_written(stamps_written_ptr, <i32>sfn);
    else if (!block_written(stamps_written_ptr, <i32>sfn)) return 0;
    return stamps_ptr + (<usize>sfn << 4);
  }
  const x = <i32>sfn - direct_frames;
  const t = xstamps_ptr + (<usize>(x >> XSTAMP_CHUNK_SHIFT) << 2);
  let chunk = <usize>load<u32>(t);
  if (chunk == 0) {
    if (!create) return 0;
    chunk = bump_alloc(XSTAMP_CHUNK_BYTES);
    store<u32>(t, <u32>chunk);
  }
  return chunk + (<usize>(x & ((1 << XSTAMP_CHUNK_SHIFT) - 1)) << 4);
}

/** A unit's place in its frame's 16 bytes, from a store address (or a page offset). */
@inline function unit_off(m: i64): usize { return <usize>((m >> IO_TLB_SHIFT) & 1) << 3; }

/** Where the stamp of the unit holding store address m ≥ 0 is kept (frame_stamps). */
@inline function unit_at(m: i64, create: bool): usize {
  const f = frame_stamps(m >> PAGE_SHIFT, create);
  return f == 0 ? 0 : f + unit_off(m);
}

/** Stamp s into the unit holding store address m ≥ 0. */
@inline function set_machine_stamp(m: i64, s: u64): void { store<u64>(unit_at(m, true), s); }

/** The stamp of the unit holding store address m (0 when nothing is there). */
@inline export function machine_stamp(m: i64): u64 {
  if (m < 0) return 0;
  const at = unit_at(m, false);
  return at == 0 ? 0 : load<u64>(at);
}

/** Both units of store frame sfn read 0 (an exchange's memset; a chunk never written already does). */
export function zero_frame_stamps(sfn: i32): void {
  const at = frame_stamps(sfn, false);
  if (at != 0) { store<u64>(at, 0); store<u64>(at, 0, 8); }
}

@inline export function expected_stamp(pfn: i32, unit: i32): u64 {
  if (!block_written(expected_written_ptr, pfn)) return 0;
  return load<u64>(expected_ptr + (<usize>((pfn << 1) + unit) << 3));
}

@inline export function set_expected(pfn: i32, unit: i32, s: u64): void {
  assert(<u32>pfn < <u32>ram_pages, 'expected stamp past RAM');
  mark_written(expected_written_ptr, pfn);
  store<u64>(expected_ptr + (<usize>((pfn << 1) + unit) << 3), s);
}

/** Store address of logical byte `k` of a page whose byte 0 sits at `base` in `mode`. The sum is
 * signed, as the model's: a device's page handle laid over its page (driver/access.ts) lies below 0
 * where a mapping at bus address 0 starts inside the page (2.6.37's failed sg entry keeps 0), and
 * its bytes from the mapping's start on are at 0 and up; below 0, or at 2^63 and up (no handle but
 * the error handle lies there), is nothing. */
@inline export function reach(mode: i32, base: u64, k: i32): i64 {
  if (mode == MODE_NONE) return -1;
  const sx = <i64>base + <i64>k;
  if (sx < 0) return -1;
  const x = <u64>sx;
  if (mode == MODE_PHYS) return phys_to_store(x);
  if (mode == MODE_MACH) return device_machine_to_store(x);
  if (mode == MODE_BUS_WRITE) return bus_to_store_write(x);
  return bus_to_store(x);
}

/**
 * reach(mode, base, k) when base is page-aligned and m0 = reach(mode, base, 0): the bytes of one
 * page sit in one frame whatever the route (a p2m entry, an IOVA entry, a machine frame).
 */
@inline export function reach_in(m0: i64, k: i32): i64 { return m0 < 0 ? -1 : m0 + <i64>k; }

// ---- payload bytes ----
// Store frame slot: 2 × unit_payload bytes (the first unit_payload bytes of each unit), so a
// page bounced into an odd slot keeps its logical bytes. Shadow slot: payload_bytes per pfn.

@inline export function payload_byte(s: u64, k: i32): u8 {
  return <u8>((<u32>s * 31 + <u32>(s >> 32) * 17 + <u32>k * 7) & 0xFF);
}

export function mach_slot(sfn: i32, create: bool): usize {
  const p = pay_mach_ptr + (<usize>sfn << 2);
  let at = <usize>load<u32>(p);
  if (at == 0 && create) { at = bump_alloc(unit_payload << 1); store<u32>(p, <u32>at); }
  return at;
}

export function shadow_slot(pfn: i32, create: bool): usize {
  const p = pay_shadow_ptr + (<usize>pfn << 2);
  let at = <usize>load<u32>(p);
  if (at == 0 && create) { at = bump_alloc(payload_bytes); store<u32>(p, <u32>at); }
  return at;
}

/** Byte at store address m (0 when unstored). */
export function machine_byte(m: i64): u8 {
  if (m < 0) return 0;
  const o = <i32>(m & UNIT_MASK);
  if (o >= unit_payload) return 0;
  const slot = mach_slot(<i32>(m >> PAGE_SHIFT), false);
  if (slot == 0) return 0;
  return load<u8>(slot + <usize>((<i32>(m >> IO_TLB_SHIFT) & 1) * unit_payload + o));
}

function set_machine_byte(m: i64, v: u8): void {
  const o = <i32>(m & UNIT_MASK);
  if (o >= unit_payload) return;
  const slot = mach_slot(<i32>(m >> PAGE_SHIFT), true);
  store<u8>(slot + <usize>((<i32>(m >> IO_TLB_SHIFT) & 1) * unit_payload + o), v);
}

export function shadow_byte(pfn: i32, k: i32): u8 {
  const slot = shadow_slot(pfn, false);
  return slot == 0 ? 0 : load<u8>(slot + <usize>k);
}

/** Length of the piece starting at logical byte k that stays in one logical and one reached unit. */
@inline export function piece_len(k: i32, end: i32, x: u64): i32 {
  let n = end - k;
  const lu = UNIT_SIZE - (k & UNIT_MASK);
  if (lu < n) n = lu;
  const mu = UNIT_SIZE - <i32>(x & UNIT_MASK);
  if (mu < n) n = mu;
  return n;
}

/**
 * One write operation's effect on bytes [a, b) of one logical page: every reached machine unit
 * takes stamp s, and the oracle's expectation for the logical unit (pfn ≥ 0) becomes s.
 */
export function write_page(s: u64, pfn: i32, mode: i32, base: u64, a: i32, b: i32): void {
  // Different, for speed only: without payload, a range of whole units reached at unit boundaries
  // is one stamp per unit, the loop below without its piece arithmetic.
  if (payload_bytes == 0 && ((<i32>base | a | b) & UNIT_MASK) == 0) {
    if ((<i32>base & PAGE_MASK) == 0) { // a page-aligned base: one frame
      const m0 = reach(mode, base, 0);
      const f: usize = m0 < 0 ? 0 : frame_stamps(m0 >> PAGE_SHIFT, true);
      assert(pfn < ram_pages, 'expected stamp past RAM');
      if (pfn >= 0) mark_written(expected_written_ptr, pfn); // once for the page's units
      const e: usize = pfn >= 0 ? expected_ptr + (<usize>pfn << 4) : 0;
      for (let k = a; k < b; k += UNIT_SIZE) {
        if (f != 0) store<u64>(f + unit_off(k), s);
        if (e != 0) store<u64>(e + unit_off(k), s);
      }
      return;
    }
    for (let k = a; k < b; k += UNIT_SIZE) {
      const m = reach(mode, base, k);
      if (m >= 0) set_machine_stamp(m, s);
      if (pfn >= 0) set_expected(pfn, k >> IO_TLB_SHIFT, s);
    }
    return;
  }
  let k = a;
  while (k < b) {
    const x = base + <u64>k;
    const n = piece_len(k, b, x);
    const m = reach(mode, base, k);
    if (m >= 0) set_machine_stamp(m, s);
    if (pfn >= 0) set_expected(pfn, k >> IO_TLB_SHIFT, s);
    if (payload_bytes > 0 && k < payload_bytes) {
      const top = min(k + n, payload_bytes);
      const sh = pfn >= 0 ? shadow_slot(pfn, true) : 0;
      for (let j = k; j < top; j++) {
        const v = payload_byte(s, j);
        if (sh != 0) store<u8>(sh + <usize>j, v);
        if (m >= 0) set_machine_byte(m + <i64>(j - k), v);
      }
    }
    k += n;
  }
}

/**
 * The CPU copies n bytes between two guest phys ranges (a bounce copy). Each destination unit
 * takes the stamp of the source unit holding the first byte copied into it.
 */
export function copy_phys(src: u64, dst: u64, n: i32): void {
  // Different, for speed only: without payload, whole units at unit boundaries copy one stamp
  // each, each side's page translated once.
  if (payload_bytes == 0 && ((<i32>src | <i32>dst | n) & UNIT_MASK) == 0) {
    // Each side's page, its store address and its frame's stamps (0: none).
    let sp: u64 = u64.MAX_VALUE; let sm: i64 = -1; let sf: usize = 0;
    let dp: u64 = u64.MAX_VALUE; let df: usize = 0;
    for (let done = 0; done < n; done += UNIT_SIZE) {
      const xs = src + <u64>done;
      const xd = dst + <u64>done;
      if ((xs >> PAGE_SHIFT) != sp) {
        sp = xs >> PAGE_SHIFT;
        sm = phys_to_store(sp << PAGE_SHIFT);
        sf = sm < 0 ? 0 : frame_stamps(sm >> PAGE_SHIFT, false);
      }
      if ((xd >> PAGE_SHIFT) != dp) {
        dp = xd >> PAGE_SHIFT;
        const dm = phys_to_store(dp << PAGE_SHIFT);
        df = dm < 0 ? 0 : frame_stamps(dm >> PAGE_SHIFT, true);
      }
      if (df == 0) continue;
      // A source frame without stamps reads 0 (looked up again: this copy may have just made them).
      if (sf == 0 && sm >= 0) sf = frame_stamps(sm >> PAGE_SHIFT, false);
      store<u64>(df + unit_off(<i64>xd), sf == 0 ? 0 : load<u64>(sf + unit_off(<i64>xs)));
    }
    return;
  }
  let done = 0;
  while (done < n) {
    const xs = src + <u64>done;
    const xd = dst + <u64>done;
    let len = n - done;
    const ls = UNIT_SIZE - <i32>(xs & UNIT_MASK);
    if (ls < len) len = ls;
    const ld = UNIT_SIZE - <i32>(xd & UNIT_MASK);
    if (ld < len) len = ld;
    const ms = phys_to_store(xs);
    const md = phys_to_store(xd);
    if (md >= 0) {
      if (done == 0 || (xd & UNIT_MASK) == 0) {
        set_machine_stamp(md, machine_stamp(ms));
      }
      if (payload_bytes > 0) {
        for (let j = 0; j < len; j++) {
          if (<i32>((md + j) & UNIT_MASK) >= unit_payload) break;
          set_machine_byte(md + j, machine_byte(ms < 0 ? -1 : ms + j));
        }
      }
    }
    done += len;
  }
}

/** Zeroes the oracle's memory of a freed block: nobody owns its contents any more. */
export function forget_pages(pfn: i32, pages: i32): void {
  // Different, for speed only: a few pages are cleared by stores (memory.fill is a call out of Wasm),
  // and a table page never written is left alone (it reads 0).
  if (pages <= 4) {
    for (let i = pfn; i < pfn + pages; i++) {
      if (!block_written(expected_written_ptr, i)) continue;
      const at = expected_ptr + (<usize>i << 4);
      store<u64>(at, 0); store<u64>(at, 0, 8);
    }
  } else {
    for (let i = pfn; i < pfn + pages;) {
      const next = min(((i >> STAMP_BLOCK_SHIFT) + 1) << STAMP_BLOCK_SHIFT, pfn + pages);
      if (block_written(expected_written_ptr, i)) memory.fill(expected_ptr + (<usize>i << 4), 0, <usize>(next - i) << 4);
      i = next;
    }
  }
  if (payload_bytes > 0) {
    for (let i = 0; i < pages; i++) {
      const sh = shadow_slot(pfn + i, false);
      if (sh != 0) memory.fill(sh, 0, <usize>payload_bytes);
    }
  }
}
