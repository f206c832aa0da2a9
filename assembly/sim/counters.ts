// The counter region the host reads straight from memory: one i64 per COUNTERS entry.
// Models no kernel file; it is the harness's view of what the kernel did.
// Different: swiotlbSlotsInUse is a gauge that swiotlbPeakSlots follows, everything else only grows.

import { C_SWIOTLB_SLOTS_IN_USE, C_SWIOTLB_PEAK_SLOTS, COUNTER_COUNT } from '../abi';
import { COUNTERS_PTR } from '../layout';

@inline export function count(c: i32, n: i64 = 1): void {
  const p = COUNTERS_PTR + (<usize>c << 3);
  store<i64>(p, load<i64>(p) + n);
}

@inline export function counter(c: i32): i64 {
  return load<i64>(COUNTERS_PTR + (<usize>c << 3));
}

export function slots_in_use_add(n: i32): void {
  count(C_SWIOTLB_SLOTS_IN_USE, n);
  const used = counter(C_SWIOTLB_SLOTS_IN_USE);
  if (used > counter(C_SWIOTLB_PEAK_SLOTS)) store<i64>(COUNTERS_PTR + (<usize>C_SWIOTLB_PEAK_SLOTS << 3), used);
}

// What the driver does once when the device comes up or goes away (the AGP GATT) belongs to the
// machine and is not counted (INTERFACE.md): its work runs between a save and a restore of every
// counter but the swiotlbSlotsInUse gauge, which follows what is held (the table keeps it).
const SAVED: usize = memory.data(COUNTER_COUNT * 8, 8);

/** Saves every counter before uncounted work (machine_work_end restores them). */
export function machine_work_begin(): void { memory.copy(SAVED, COUNTERS_PTR, <usize>COUNTER_COUNT * 8); }

/** Restores the counters machine_work_begin saved, but for the slots-in-use gauge. */
export function machine_work_end(): void {
  const in_use = counter(C_SWIOTLB_SLOTS_IN_USE);
  memory.copy(COUNTERS_PTR, SAVED, <usize>COUNTER_COUNT * 8);
  store<i64>(COUNTERS_PTR + (<usize>C_SWIOTLB_SLOTS_IN_USE << 3), in_use);
}

/** Index of the op being executed, for violation and dma-debug records. */
export let cur_op: i64 = 0;
export function set_cur_op(i: i64): void { cur_op = i; }
