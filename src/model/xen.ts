// xen_create_contiguous_region / xen_destroy_contiguous_region (arch/x86/xen/mmu.c, 2010) over
// XENMEM_exchange: trade a buffer's scattered frames for one aligned block of Xen's low reserve.
// All or nothing; the new frames keep whatever contents they had.
import { PAGE_SHIFT, XEN_MAX_EXCHANGE_ORDER } from '../engine/abi.js';
import type { Machine } from './machine.js';

/** Exchanges pfns [pfn, pfn + 2^order) for low frames below 2^addressBits. No counters. */
export function createContiguousRegion(machine: Machine, pfn: number, order: number, addressBits: number): boolean {
  if (order > XEN_MAX_EXCHANGE_ORDER) return false;
  const limitMfn = 2 ** (addressBits - PAGE_SHIFT);
  const base = machine.xenLow!.alloc(order, limitMfn);
  if (base < 0) return false;
  for (let i = 0; i < 2 ** order; i++) {
    giveBackFrame(machine, machine.mfnOf(pfn + i));
    machine.setP2m(pfn + i, base + i);
  }
  return true;
}

/**
 * The reverse trade: each pfn in turn takes a frame popped from Xen's heap and gives its old
 * (low) frame back (D6, D16). Fails, changing nothing, if the heap is short.
 */
export function destroyContiguousRegion(machine: Machine, pfn: number, order: number): boolean {
  const heap = machine.xenHeap!;
  const pages = 2 ** order;
  if (heap.size < pages) return false;
  for (let i = 0; i < pages; i++) {
    const old = machine.mfnOf(pfn + i);
    machine.setP2m(pfn + i, heap.pop());
    giveBackFrame(machine, old);
  }
  return true;
}

function isLowFrame(machine: Machine, mfn: number): boolean {
  const low = machine.xenLow!;
  return mfn >= low.start && mfn < low.end;
}

/** A frame the guest gives up: low-reserve frames go back to the reserve, others to the heap. */
function giveBackFrame(machine: Machine, mfn: number): void {
  machine.m2p![mfn] = -1;
  if (isLowFrame(machine, mfn)) machine.xenLow!.free(mfn, 0);
  else machine.xenHeap!.push(mfn);
}
