// The coherence oracle: every read is compared with the last write to the same logical unit,
// from either side, in program order. Models no kernel file; it is what the kernel cannot see.
// Different: it classifies by *whose* data was seen — an older version of the right buffer is
// stale (or lost, when the CPU misses a device write), anything else is a foreign read.

import { IO_TLB_SHIFT, UNIT_SIZE, PAGE_SHIFT, PAGE_MASK, VERSION_MASK, DEV_BIT, READER_CPU,
  VIOLATION_NONE, VIOLATION_STALE, VIOLATION_LOST, VIOLATION_FOREIGN, C_STALE_READS,
  C_LOST_WRITES, C_FOREIGN_READS } from '../abi';
import { VIOLATION_PTR, payload_bytes } from '../layout';
import { count, cur_op } from './counters';
import { reach, reach_in, machine_stamp, expected_stamp, machine_byte, shadow_byte, piece_len } from './stamps';
import { sfn_to_mfn } from './translate';

// The violation record (VIOLATION_WORDS i64, src/engine/abi.ts VIOLATION_FIELDS): the words the
// oracle fills; the hop words after them are the driver's (driver/hops.ts).
@inline export const V_KIND: i32 = 0;
@inline export const V_OP: i32 = V_KIND + 8;
@inline export const V_READER: i32 = V_OP + 8;
@inline export const V_PFN: i32 = V_READER + 8;
@inline export const V_MFN: i32 = V_PFN + 8;
@inline export const V_DMA: i32 = V_MFN + 8;
@inline export const V_GPU_PAGE: i32 = V_DMA + 8;
@inline export const V_PTE: i32 = V_GPU_PAGE + 8;
@inline export const V_UNIT: i32 = V_PTE + 8;
@inline export const V_SEEN_HI: i32 = V_UNIT + 8;
@inline export const V_SEEN_LO: i32 = V_SEEN_HI + 8;
@inline export const V_EXP_HI: i32 = V_SEEN_LO + 8;
@inline export const V_EXP_LO: i32 = V_EXP_HI + 8;
@inline export const V_BUF_ID: i32 = V_EXP_LO + 8;
// The hops behind the address the reader used (driver/hops.ts, dma/mapping.ts dma_describe).
@inline export const V_PAGE_MFN: i32 = V_BUF_ID + 8;
@inline export const V_VIA: i32 = V_PAGE_MFN + 8;
@inline export const V_SLOT: i32 = V_VIA + 8;
@inline export const V_HOP_PFN: i32 = V_SLOT + 8;
@inline export const V_GATT_ENTRY_ADDR: i32 = V_HOP_PFN + 8;
@inline export const V_GATT_TABLE_MFN: i32 = V_GATT_ENTRY_ADDR + 8;
@inline export const V_IOVA_UNMAP_OP: i32 = V_GATT_TABLE_MFN + 8; // dma/iommu.ts: a queued IOVA's unmap
@inline export const V_CC_PRIVATE: i32 = V_IOVA_UNMAP_OP + 8; // coco: the frames a device found private (mm/set_memory.ts)
@inline export const V_BYTE: i32 = V_CC_PRIVATE + 8; // payload: the first logical byte that differs, when the stamps matched
@inline export const V_IOVA_READ_ONLY: i32 = V_BYTE + 8; // iommu: the IOVA at the address is read-only (dma/mapping.ts dma_describe)
@inline export const V_FAILED_MAP: i32 = V_IOVA_READ_ONLY + 8; // the address is a failed map's error value (driver/hops.ts)
@inline export const V_HOP_DUMMY: i32 = V_FAILED_MAP + 8; // hopPfn is the GART's dummy page (driver/hops.ts)

// Set when the first violation is recorded, until its hops are filled in after the op.
let fresh = false;
@inline export function violation_fresh(): bool { return fresh; }
@inline export function violation_explained(): void { fresh = false; }

@inline function classify(reader: i32, s: u64, e: u64): i32 {
  if (s == e) return VIOLATION_NONE;
  if ((s >> 32) == (e >> 32) && (<u32>s & VERSION_MASK) < (<u32>e & VERSION_MASK)) {
    return reader == READER_CPU && (<u32>e & DEV_BIT) != 0 ? VIOLATION_LOST : VIOLATION_STALE;
  }
  return VIOLATION_FOREIGN;
}

/** The first of logical bytes [k0, k1) whose payload byte differs from the shadow of the logical
 * page, or −1. */
function first_byte_differing(pfn: i32, mode: i32, base: u64, k0: i32, k1: i32): i32 {
  const top = min(k1, payload_bytes);
  let k = k0;
  while (k < top) {
    const n = piece_len(k, top, base + <u64>k);
    const m = reach(mode, base, k);
    for (let j = 0; j < n; j++) {
      if (machine_byte(m < 0 ? -1 : m + j) != shadow_byte(pfn, k + j)) return k + j;
    }
    k += n;
  }
  return -1;
}

function record(kind: i32, reader: i32, pfn: i32, m: i64, dma: u64, gpu_page: i64, pte: u64, unit: i32,
                seen: u64, exp: u64, buf_id: i64, byte: i32): void {
  if (load<i64>(VIOLATION_PTR) != VIOLATION_NONE) return;
  const v = VIOLATION_PTR;
  store<i64>(v, kind, V_KIND); store<i64>(v, cur_op, V_OP); store<i64>(v, reader, V_READER); store<i64>(v, pfn, V_PFN);
  store<i64>(v, m < 0 ? -1 : sfn_to_mfn(<i32>(m >> PAGE_SHIFT)), V_MFN); // m is a store address
  store<u64>(v, dma, V_DMA); store<i64>(v, gpu_page, V_GPU_PAGE);
  store<u64>(v, pte, V_PTE); store<i64>(v, unit, V_UNIT);
  store<i64>(v, <i64>(seen >> 32), V_SEEN_HI); store<i64>(v, <i64>(seen & 0xFFFF_FFFF), V_SEEN_LO);
  store<i64>(v, <i64>(exp >> 32), V_EXP_HI); store<i64>(v, <i64>(exp & 0xFFFF_FFFF), V_EXP_LO);
  store<i64>(v, buf_id, V_BUF_ID); store<i64>(v, byte, V_BYTE);
  fresh = true;
}

@inline function tally(kind: i32): void {
  if (kind == VIOLATION_STALE) count(C_STALE_READS);
  else if (kind == VIOLATION_LOST) count(C_LOST_WRITES);
  else if (kind == VIOLATION_FOREIGN) count(C_FOREIGN_READS);
}

/**
 * Checks one read of logical bytes [a, b) of page `pfn` reached through (mode, base).
 * The page counts once, by its worst unit; the first failing page ever is recorded.
 */
export function check_page(reader: i32, pfn: i32, buf_id: i32, mode: i32, base: u64, a: i32, b: i32,
                           dma: u64, gpu_page: i64, pte: u64): void {
  let worst = VIOLATION_NONE;
  let w_unit = 0;
  let w_m: i64 = -1;
  let w_seen: u64 = 0;
  let w_exp: u64 = 0;
  let w_byte = -1;
  const last = (b - 1) >> IO_TLB_SHIFT;
  const m0 = (<i32>base & PAGE_MASK) == 0 ? reach(mode, base, 0) : -2; // a page-aligned base: one frame
  for (let u = a >> IO_TLB_SHIFT; u <= last; u++) {
    const k0 = max(a, u * UNIT_SIZE);
    const k1 = min(b, (u + 1) * UNIT_SIZE);
    const m = m0 == -2 ? reach(mode, base, k0) : reach_in(m0, k0);
    const s = machine_stamp(m);
    const e = expected_stamp(pfn, u);
    let kind = classify(reader, s, e);
    let byte = -1;
    if (kind == VIOLATION_NONE && payload_bytes > 0 && k0 < payload_bytes) {
      byte = first_byte_differing(pfn, mode, base, k0, k1);
      // The right write's stamp with older bytes: the CPU missing bytes of a device write lost them.
      if (byte >= 0) kind = reader == READER_CPU && (<u32>e & DEV_BIT) != 0 ? VIOLATION_LOST : VIOLATION_STALE;
    }
    if (kind > worst) { worst = kind; w_unit = u; w_m = m; w_seen = s; w_exp = e; w_byte = byte; }
  }
  if (worst == VIOLATION_NONE) return;
  tally(worst);
  record(worst, reader, pfn, w_m, dma, gpu_page, pte, w_unit, w_seen, w_exp, buf_id, w_byte);
}

/** A GPU read through a GART entry that no live buffer owns: one foreign page. */
export function foreign_page(reader: i32, mode: i32, base: u64, dma: u64, gpu_page: i64, pte: u64): void {
  const m = reach(mode, base, 0);
  tally(VIOLATION_FOREIGN);
  record(VIOLATION_FOREIGN, reader, -1, m, dma, gpu_page, pte, 0, machine_stamp(m), 0, -1, -1);
}
