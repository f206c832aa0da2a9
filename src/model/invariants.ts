// The accounting invariants of ENGINE.md §13 (and §15 T21), checked on demand: nothing lost or
// doubled between the guest's p2m, Xen's heap and low reserve, the swiotlb slot lists, the TTM
// pools and the buddy allocator. No kernel file: these are what the kernel relies on silently.
import { DMA32_LIMIT_PFN, IO_TLB_SEGSIZE } from '../engine/abi.js';
import type { Model } from './model.js';

export const Invariant = {
  p2mM2p: 1 << 0,
  frameOwners: 1 << 1,
  swiotlbIdle: 1 << 2,
  poolsAndLowReserve: 1 << 3,
  buddyAccounting: 1 << 4,
} as const;

/** A bitmask of the invariants that do not hold; 0 when all hold. */
export function checkInvariants(model: Model): number {
  let violated = 0;
  if (model.machine.isXen) {
    if (!p2mAgrees(model)) violated |= Invariant.p2mM2p;
    if (!framesOwnedOnce(model)) violated |= Invariant.frameOwners;
  }
  if (!swiotlbIdle(model)) violated |= Invariant.swiotlbIdle;
  if (!poolsAndLowReserve(model)) violated |= Invariant.poolsAndLowReserve;
  if (!buddyAccounts(model)) violated |= Invariant.buddyAccounting;
  return violated;
}

/** bit 0: m2p[p2m[pfn]] == pfn for every pfn (so no two pfns share a frame). */
function p2mAgrees(model: Model): boolean {
  const { p2m, m2p, hostPages } = model.machine;
  for (let pfn = 0; pfn < p2m!.length; pfn++) {
    const mfn = p2m![pfn];
    if (mfn < 0 || mfn >= hostPages || m2p![mfn] !== pfn) return false;
  }
  return true;
}

/**
 * bit 1: each frame's owners among the guest (m2p), Xen's heap and the low reserve's free blocks:
 * exactly one for low-reserve frames and frames >= 4 GiB, none for other domains' frames.
 */
function framesOwnedOnce(model: Model): boolean {
  const { m2p, xenHeap, xenLow, hostPages } = model.machine;
  const owners = new Uint8Array(hostPages);
  for (let mfn = 0; mfn < hostPages; mfn++) if (m2p![mfn] >= 0) owners[mfn]++;
  for (let i = 0; i < xenHeap!.size; i++) owners[xenHeap!.at(i)]++;
  xenLow!.forEachFreeBlock((block, order) => {
    for (let k = 0; k < 2 ** order; k++) owners[block + k]++;
  });
  for (let mfn = 0; mfn < hostPages; mfn++) {
    const owned = (mfn >= xenLow!.start && mfn < xenLow!.end) || mfn >= DMA32_LIMIT_PFN;
    if (owners[mfn] !== (owned ? 1 : 0)) return false;
  }
  return true;
}

/** bit 2: with no streaming mapping live, swiotlb is back to its boot state. */
function swiotlbIdle(model: Model): boolean {
  if (model.debug.liveSingles > 0) return true;
  const pool = model.swiotlb;
  if (pool.slotsInUse !== 0) return false;
  for (let i = 0; i < pool.nslabs; i++) if (pool.list[i] !== IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE)) return false;
  return true;
}

/** bit 3: pools empty after RELEASE; Xen's low frames all accounted for. */
function poolsAndLowReserve(model: Model): boolean {
  if (model.released && model.ttmPools.all().some(({ pool }) => pool.size > 0)) return false;
  const { p2m, xenLow } = model.machine;
  if (!xenLow) return true;
  let held = 0;
  for (let pfn = 0; pfn < p2m!.length; pfn++) if (p2m![pfn] >= xenLow.start && p2m![pfn] < xenLow.end) held++;
  return xenLow.freeFrames + held === xenLow.end - xenLow.start;
}

/** bit 4: free pages + (pagesAllocated - pagesFreed) == the pages the buddy was given at boot. */
function buddyAccounts(model: Model): boolean {
  const { dma32, normal } = model.zones;
  const free = dma32.freeFrames + (normal ? normal.freeFrames : 0);
  const c = model.counters;
  return free + c.pagesAllocated - c.pagesFreed === model.cfg.ramPages - model.layout.firstFreePfn;
}
