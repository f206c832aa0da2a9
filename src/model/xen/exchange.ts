// XENMEM_exchange as the guest sees it (twin of assembly/xen/exchange.ts): xen_create_contiguous_region
// and xen_destroy_contiguous_region (arch/x86/xen/mmu.c, 2.6.36+; arch/x86/xen/mmu_pv.c in 6.12.0,
// the same steps and the same order-9 limit, MAX_CONTIG_ORDER — later 6.12.y allows larger regions,
// "x86/xen: allow larger contiguous memory regions in PV guests", which gartbench does not follow),
// served by Xen's memory_exchange (xen/common/memory.c, Xen 4.1) from its zone heap (heap.ts). One
// chunk per call: all or nothing.
// Both calls zero the range first; the new frames keep whatever contents they had.
import { DMA32_LIMIT_PFN, PAGE_SIZE, XEN_LOW_BASE_MFN, XEN_MAX_EXCHANGE_ORDER, type MachineConfig } from '../../engine/abi.js';
import type { MmState } from '../mm/pageAlloc.js';
import { XenHeap } from './heap.js';
import { P2m } from './p2m.js';

/** What Xen trades with: its heap, and the low range it started with below 4 GiB. */
export class XenFrames {
  readonly heap: XenHeap;
  /** The low range [XEN_LOW_BASE_MFN, lowEnd): what the booted guest leaves free plus the pool's frames. */
  readonly lowEnd: number;

  /**
   * Xen's free heap when the guest boots: the low range, and every frame from 4 GiB up to the
   * guest's (the host's highest); the rest belongs to other domains.
   */
  constructor(cfg: MachineConfig, machine: P2m, poolPages: number) {
    this.lowEnd = XEN_LOW_BASE_MFN + cfg.xenLowPages + poolPages;
    this.heap = new XenHeap(machine.hostPages);
    this.heap.addRange(XEN_LOW_BASE_MFN, this.lowEnd);
    this.heap.addRange(DMA32_LIMIT_PFN, machine.hostPages - machine.ramPages);
  }

  isLowFrame(mfn: number): boolean {
    return mfn >= XEN_LOW_BASE_MFN && mfn < this.lowEnd;
  }
}

export interface XenState extends MmState {
  readonly machine: P2m;
  /** Xen's frames (Xen PV only). */
  readonly xen: XenFrames | null;
}

/**
 * The memset both region calls start with, through the guest's mapping into the frames it holds
 * now: the frames read zero, and so do the pages as the oracle expects them.
 */
function zeroRange(s: XenState, pfn: number, pages: number): void {
  for (let i = 0; i < pages; i++) s.ram.clearPages(s.machine.mfnOf(pfn + i), 1);
  s.expected.clearPages(pfn, pages);
}

/**
 * xen_create_contiguous_region for pfns [pfn, pfn + 2^order): above order 9 it fails before
 * anything happens; else the range is zeroed, memory_exchange steals the frames, allocates one
 * order-k block under 2^addressBits (alloc_domheap_pages) and, only then, frees the stolen frames
 * one by one, the last pfn's first (in_chunk_list is LIFO). `counted` is false at boot (§1).
 */
export function xenCreateContiguousRegion(s: XenState, pfn: number, order: number, addressBits: number, counted: boolean): boolean {
  const c = s.counters;
  if (order > XEN_MAX_EXCHANGE_ORDER) {
    if (counted) c.allocFailures++;
    return false;
  }
  const pages = 2 ** order;
  zeroRange(s, pfn, pages);
  if (counted) c.hypercalls++;
  const heap = s.xen!.heap;
  const base = heap.allocDomheapPages(order, addressBits);
  if (base < 0) {
    if (counted) c.allocFailures++;
    return false;
  }
  for (let i = pages - 1; i >= 0; i--) {
    heap.freeHeapPages(s.machine.mfnOf(pfn + i), 0);
    s.machine.setP2m(pfn + i, base + i);
  }
  if (counted) c.exchangedFrames += pages;
  return true;
}

/**
 * xen_destroy_contiguous_region: nothing above order 9; else zero the range, then 2^k single
 * frames with no address limit, all allocated before the old block is freed frame by frame (last
 * first); pfn + i gets the (2^k - 1 - i)-th allocated (out_chunk_list is LIFO). If Xen runs out
 * part way, what it got goes back newest first and nothing else changes (D16).
 */
export function xenDestroyContiguousRegion(s: XenState, pfn: number, order: number): void {
  if (order > XEN_MAX_EXCHANGE_ORDER) return;
  const pages = 2 ** order;
  zeroRange(s, pfn, pages);
  s.counters.hypercalls++;
  const heap = s.xen!.heap;
  const got: number[] = [];
  for (let j = 0; j < pages; j++) {
    const f = heap.allocDomheapPages(0, 0);
    if (f < 0) {
      for (let i = got.length - 1; i >= 0; i--) heap.freeHeapPages(got[i]!, 0);
      return;
    }
    got.push(f);
  }
  for (let i = pages - 1; i >= 0; i--) heap.freeHeapPages(s.machine.mfnOf(pfn + i), 0);
  for (let i = 0; i < pages; i++) s.machine.setP2m(pfn + i, got[pages - 1 - i]!);
  s.counters.exchangedFrames += pages;
}

/** Is page `pfn`'s machine frame above a mask of `bits` bits? Never off Xen (T9). */
export function xenFrameAbove(s: XenState, pfn: number, bits: number): boolean {
  return s.machine.isXen && s.machine.mfnOf(pfn) * PAGE_SIZE + PAGE_SIZE - 1 > 2 ** bits - 1;
}

/** checkInvariants bits 0, 1 and the low-range half of 3 (T21); 0 off Xen. */
export function xenCheckFrames(s: XenState): number {
  if (!s.machine.isXen) return 0;
  const { p2m, m2p, hostPages } = s.machine;
  const xen = s.xen!;
  let bad = 0;
  let held = 0;
  for (let pfn = 0; pfn < p2m!.length; pfn++) {
    const mfn = p2m![pfn]!;
    if (mfn < 0 || mfn >= hostPages || m2p![mfn] !== pfn) bad |= 1 << 0;
    if (xen.isLowFrame(mfn)) held++;
  }
  const owners = new Uint8Array(hostPages);
  for (let mfn = 0; mfn < hostPages; mfn++) if (m2p![mfn]! >= 0) owners[mfn]++;
  let lowFree = 0;
  xen.heap.forEachFreeBlock((block, order) => {
    for (let k = 0; k < 2 ** order; k++) {
      owners[block + k]++;
      if (xen.isLowFrame(block + k)) lowFree++;
    }
  });
  for (let mfn = 0; mfn < hostPages; mfn++) {
    const owned = xen.isLowFrame(mfn) || mfn >= DMA32_LIMIT_PFN;
    if (owners[mfn] !== (owned ? 1 : 0)) {
      bad |= 1 << 1;
      break;
    }
  }
  if (lowFree + held !== xen.lowEnd - XEN_LOW_BASE_MFN) bad |= 1 << 3;
  return bad;
}
