// The accounting invariants of ENGINE.md §13 (and §15 T21; twin of assembly/invariants.ts), checked
// on demand: nothing lost or doubled between the guest's p2m, Xen's zone heap and low range, the
// swiotlb slot lists, the TTM pools and the buddy allocator. No kernel file: these are what the
// kernel relies on silently.
import { DynKind } from './dma/swiotlbDyn.js';
import { IO_TLB_SEGSIZE } from '../engine/abi.js';
import type { TtState } from './drm/ttmTt.js';
import { xenCheckFrames } from './xen/exchange.js';

export const Invariant = {
  p2mM2p: 1 << 0,
  frameOwners: 1 << 1,
  swiotlbIdle: 1 << 2,
  poolsAndLowReserve: 1 << 3,
  buddyAccounting: 1 << 4,
} as const;

/** A bitmask of the invariants that do not hold; 0 when all hold. */
export function checkInvariants(s: TtState & { released: boolean }): number {
  let violated = xenCheckFrames(s); // bits 0, 1 and the low-range half of 3
  if (!swiotlbIdle(s)) violated |= Invariant.swiotlbIdle;
  if (s.released && (s.ttmPools.all().some(({ pool }) => pool.size > 0) || s.modernPools.allocatedPages > 0)) violated |= Invariant.poolsAndLowReserve;
  if (!buddyAccounts(s)) violated |= Invariant.buddyAccounting;
  return violated;
}

/**
 * bit 2: with no streaming mapping live, swiotlb is back to its boot state: only the GART dummy
 * page's run in use, every list counter what a fresh pool with just that run taken holds.
 */
function swiotlbIdle(s: TtState): boolean {
  if (s.debug.liveSingles > 0) return true;
  const pool = s.swiotlb;
  const held = pool.heldIndex >= 0 ? pool.runSlots[pool.heldIndex]! : 0;
  if (pool.slotsInUse !== held) return false;
  const segment = (i: number) => Math.floor(i / IO_TLB_SEGSIZE);
  for (let i = 0; i < pool.nslabs; i++) {
    let want = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    if (held > 0 && i >= pool.heldIndex && i < pool.heldIndex + held) want = 0;
    else if (held > 0 && i < pool.heldIndex && segment(i) === segment(pool.heldIndex)) want = pool.heldIndex - i;
    if (pool.list[i] !== want) return false;
  }
  // the worker's pools are back to fresh (none holds a run; transient pools are gone with theirs)
  for (const dyn of pool.dyn ? pool.dyn.pools : []) {
    if (!dyn) continue;
    if (dyn.kind === DynKind.transient) return false;
    for (let i = 0; i < dyn.nslabs; i++) if (pool.list[dyn.base + i] !== IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE)) return false;
  }
  return true;
}

/** bit 4: free pages + (pagesAllocated - pagesFreed) + the GATT's table (the machine's, held
 * uncounted: drm/agpGatt.ts gattCreate) == the pages the buddy was given at boot. */
function buddyAccounts(s: TtState): boolean {
  const { dma32, normal } = s.zones;
  const free = dma32.freeFrames + (normal ? normal.freeFrames : 0);
  const c = s.counters;
  const table = s.gatt ? s.gatt.tablePages : 0;
  return free + c.pagesAllocated - c.pagesFreed + table === s.cfg.ramPages - s.layout.firstFreePfn;
}
