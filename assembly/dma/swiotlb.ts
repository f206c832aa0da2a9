// lib/swiotlb.c as of 2010: the io_tlb_list "free slots left in this segment" counters,
// next-fit from io_tlb_index with a page stride for multi-page maps, and the 32 KiB overflow
// buffer handed back when the pool is full. Different from modern kernel/dma/swiotlb.c: a full
// pool is not an error value, so only dma_mapping_error() (the overflow address) tells.

import { IO_TLB_SEGSIZE, IO_TLB_SHIFT, UNIT_SIZE, PAGE_SIZE, PAGE_SHIFT, PAGE_MASK,
  C_SWIOTLB_SLOTS_IN_USE } from '../abi';
import { nslabs, slots_list_ptr, slots_rec_ptr, TLB_SLOT_BYTES, io_tlb_start_pfn, overflow_pfn } from '../layout';
import { count, slots_in_use_add } from '../sim/counters';
import { pfn_to_mfn } from '../sim/translate';
import { xen_pv_domain, mfn_to_pfn } from '../xen/p2m';

// Slot record (TLB_SLOT_BYTES): io_tlb_orig_addr of every slot; at a run's first slot also the
// mapped size and the run's slot count (0 = no run starts here).
@inline const S_ORIG: i32 = 0;
@inline const S_SIZE: i32 = S_ORIG + 8;
@inline const S_NSLOTS: i32 = S_SIZE + 4;

let io_tlb_index: i32 = 0;
// The run the GART dummy page holds for the device's life (dma/mapping.ts), −1 when it holds none.
let held_index: i32 = -1;

@inline function list_at(i: i32): usize {
  assert(<u32>i < <u32>nslabs, 'swiotlb slot out of range');
  return slots_list_ptr + (<usize>i << 2);
}
@inline function rec_at(i: i32): usize {
  assert(<u32>i < <u32>nslabs, 'swiotlb slot out of range');
  return slots_rec_ptr + <usize>(i * TLB_SLOT_BYTES);
}

export function swiotlb_init(): void {
  for (let i = 0; i < nslabs; i++) store<i32>(list_at(i), IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE));
  io_tlb_index = 0;
  held_index = -1;
}

/** The dummy page's bounce run: held until the device goes away, which no op does. */
export function swiotlb_hold(index: i32): void { held_index = index; }

/** Guest phys of slot i: the pool is plain guest memory to the CPU that copies through it. */
@inline export function slot_phys(i: i32): u64 {
  return (<u64>io_tlb_start_pfn << PAGE_SHIFT) + (<u64>i << IO_TLB_SHIFT);
}

/** Bus address of slot i: under Xen each 256 KiB piece sits wherever the boot exchange put it. */
export function slot_bus(i: i32): u64 {
  const pfn = io_tlb_start_pfn + (i >> 1);
  return (<u64>pfn_to_mfn(pfn) << PAGE_SHIFT) | (<u64>(i & 1) << IO_TLB_SHIFT);
}

export function overflow_bus(): u64 {
  return <u64>pfn_to_mfn(overflow_pfn) << PAGE_SHIFT;
}

/**
 * Slot whose bus address is `bus`, or −1: is_swiotlb_buffer after the bus address is turned back
 * into a guest one (xen_bus_to_phys under Xen: bus → machine frame → m2p → pseudo-physical), so
 * one lookup whatever the size of the pool or the machine.
 */
export function bus_to_slot(bus: u64): i32 {
  let phys = bus;
  if (xen_pv_domain()) {
    const pfn = mfn_to_pfn(<i64>(bus >> PAGE_SHIFT));
    if (pfn < 0) return -1;
    phys = (<u64>pfn << PAGE_SHIFT) | (bus & PAGE_MASK);
  }
  const start = slot_phys(0);
  if (phys < start) return -1;
  const i = (phys - start) >> IO_TLB_SHIFT;
  return i < <u64>nslabs ? <i32>i : -1;
}

/**
 * swiotlb_tbl_map_single's slot search for `size` bytes from guest phys `orig`.
 * Returns the first slot, or −1 when the pool is full (or the request exceeds a segment).
 */
export function swiotlb_tbl_map_single(orig: u64, size: i32): i32 {
  const nslots = (size + UNIT_SIZE - 1) >> IO_TLB_SHIFT;
  if (nslots > IO_TLB_SEGSIZE || nslots > nslabs || nslots <= 0) return -1;
  const stride = size > PAGE_SIZE ? 2 : 1;
  let index = (io_tlb_index + stride - 1) & ~(stride - 1);
  if (index >= nslabs) index = 0;
  const wrap = index;
  while (true) {
    if (load<i32>(list_at(index)) >= nslots && index + nslots <= nslabs) break;
    index += stride;
    if (index >= nslabs) index = 0;
    if (index == wrap) return -1;
  }
  for (let i = index; i < index + nslots; i++) store<i32>(list_at(i), 0);
  let c = 0;
  for (let i = index - 1; i >= 0 && (i % IO_TLB_SEGSIZE) != IO_TLB_SEGSIZE - 1 && load<i32>(list_at(i)) != 0; i--) {
    store<i32>(list_at(i), ++c);
  }
  io_tlb_index = index + nslots;
  if (io_tlb_index >= nslabs) io_tlb_index = 0;
  for (let i = 0; i < nslots; i++) store<u64>(rec_at(index + i), orig + (<u64>i << IO_TLB_SHIFT), S_ORIG);
  store<i32>(rec_at(index), size, S_SIZE);
  store<i32>(rec_at(index), nslots, S_NSLOTS);
  slots_in_use_add(nslots);
  return index;
}

/** Recorded size of the live mapping starting at slot i (0 = none starts there). */
@inline export function slot_size(i: i32): i32 { return load<i32>(rec_at(i), S_SIZE); }
@inline export function slot_orig(i: i32): u64 { return load<u64>(rec_at(i), S_ORIG); }
/** Is slot i part of a live run (io_tlb_list 0)? */
@inline export function slot_in_use(i: i32): bool { return load<i32>(list_at(i)) == 0; }

/** swiotlb_tbl_unmap_single's list repair: the freed run merges with free slots either side. */
export function swiotlb_tbl_unmap_single(index: i32): void {
  const nslots = load<i32>(rec_at(index), S_NSLOTS);
  if (nslots <= 0) return;
  const end = index + nslots;
  let c = (end % IO_TLB_SEGSIZE) != 0 && end < nslabs ? load<i32>(list_at(end)) : 0;
  for (let i = end - 1; i >= index; i--) store<i32>(list_at(i), ++c);
  for (let i = index - 1; i >= 0 && (i % IO_TLB_SEGSIZE) != IO_TLB_SEGSIZE - 1 && load<i32>(list_at(i)) != 0; i--) {
    store<i32>(list_at(i), ++c);
  }
  store<i32>(rec_at(index), 0, S_SIZE);
  store<i32>(rec_at(index), 0, S_NSLOTS);
  count(C_SWIOTLB_SLOTS_IN_USE, -nslots);
}

/**
 * checkInvariants bit 2, asked when no streaming mapping is live: only the dummy page's run is in
 * use, and every list counter is what a fresh pool with just that run taken holds.
 */
export function swiotlb_idle_pristine(in_use: i64): bool {
  const held = held_index >= 0 ? load<i32>(rec_at(held_index), S_NSLOTS) : 0;
  if (in_use != <i64>held) return false;
  for (let i = 0; i < nslabs; i++) {
    let want = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    if (held > 0 && i >= held_index && i < held_index + held) want = 0;
    else if (held > 0 && i < held_index && i / IO_TLB_SEGSIZE == held_index / IO_TLB_SEGSIZE) want = held_index - i;
    if (load<i32>(list_at(i)) != want) return false;
  }
  return true;
}
