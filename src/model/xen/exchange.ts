// XENMEM_exchange as the guest sees it (twin of assembly/xen/exchange.ts): xen_create_contiguous_region
// and xen_destroy_contiguous_region (arch/x86/xen/mmu.c, 2010) trade frames with Xen's free heap
// (high memory, LIFO) and its low reserve below 4 GiB (a buddy zone). All or nothing; the new
// frames keep whatever contents they had.
import { DMA32_LIMIT_PFN, PAGE_SHIFT, PAGE_SIZE, XEN_LOW_BASE_MFN, XEN_MAX_EXCHANGE_ORDER, type MachineConfig } from '../../engine/abi.js';
import { Buddy } from '../mm/buddy.js';
import type { MmState } from '../mm/pageAlloc.js';
import { P2m } from './p2m.js';

/** Xen's free heap: a LIFO stack of machine frames (>= 4 GiB) owned by nobody. */
export class FrameStack {
  private frames: Int32Array;
  private top = 0;
  constructor(capacity: number) {
    this.frames = new Int32Array(Math.max(16, capacity));
  }
  get size(): number {
    return this.top;
  }
  push(mfn: number): void {
    if (this.top === this.frames.length) {
      const bigger = new Int32Array(this.frames.length * 2);
      bigger.set(this.frames);
      this.frames = bigger;
    }
    this.frames[this.top++] = mfn;
  }
  pop(): number {
    return this.top === 0 ? -1 : this.frames[--this.top]!;
  }
  /** The i-th frame from the bottom (for the invariant checks). */
  at(i: number): number {
    return this.frames[i]!;
  }
}

/** The frames Xen trades with: its heap and its low reserve. */
export class XenFrames {
  readonly heap: FrameStack;
  readonly low: Buddy;

  /** At boot the heap holds every frame >= 4 GiB the guest was not given, ascending (first pop: the highest). */
  constructor(cfg: MachineConfig, machine: P2m) {
    const lowEnd = XEN_LOW_BASE_MFN + cfg.xenLowPages;
    this.low = new Buddy(XEN_LOW_BASE_MFN, lowEnd);
    this.low.freeRangeAtInit();
    const guestBase = machine.hostPages - machine.ramPages;
    this.heap = new FrameStack(Math.max(0, guestBase - DMA32_LIMIT_PFN));
    for (let mfn = DMA32_LIMIT_PFN; mfn < guestBase; mfn++) {
      if (mfn < XEN_LOW_BASE_MFN || mfn >= lowEnd) this.heap.push(mfn);
    }
  }

  isLowFrame(mfn: number): boolean {
    return mfn >= this.low.start && mfn < this.low.end;
  }
}

export interface XenState extends MmState {
  readonly machine: P2m;
  /** Xen's frames (Xen PV only). */
  readonly xen: XenFrames | null;
}

/** A frame the guest gives up (D6): low-reserve frames go back to the reserve, others to the heap. */
function giveBackFrame(s: XenState, mfn: number): void {
  s.machine.m2p![mfn] = -1;
  if (s.xen!.isLowFrame(mfn)) s.xen!.low.free(mfn, 0);
  else s.xen!.heap.push(mfn);
}

/**
 * xen_create_contiguous_region for pfns [pfn, pfn + 2^order): low frames below 2^addressBits, all
 * or nothing. `counted` is false for the boot-time exchanges of the xen-swiotlb pool (§6).
 */
export function xenCreateContiguousRegion(s: XenState, pfn: number, order: number, addressBits: number, counted: boolean): boolean {
  const c = s.counters;
  if (order > XEN_MAX_EXCHANGE_ORDER) {
    if (counted) c.allocFailures++;
    return false;
  }
  if (counted) c.hypercalls++;
  const base = s.xen!.low.alloc(order, 2 ** (addressBits - PAGE_SHIFT));
  if (base < 0) {
    if (counted) c.allocFailures++;
    return false;
  }
  for (let i = 0; i < 2 ** order; i++) {
    giveBackFrame(s, s.machine.mfnOf(pfn + i));
    s.machine.setP2m(pfn + i, base + i);
  }
  if (counted) c.exchangedFrames += 2 ** order;
  return true;
}

/**
 * xen_destroy_contiguous_region: each pfn in turn takes a frame popped from Xen's heap and gives
 * its old (low) frame back (D6, D16); a heap too short to refill every pfn changes nothing.
 */
export function xenDestroyContiguousRegion(s: XenState, pfn: number, order: number): void {
  s.counters.hypercalls++;
  const heap = s.xen!.heap;
  const pages = 2 ** order;
  if (heap.size < pages) return;
  for (let i = 0; i < pages; i++) {
    const old = s.machine.mfnOf(pfn + i);
    s.machine.setP2m(pfn + i, heap.pop());
    giveBackFrame(s, old);
  }
  s.counters.exchangedFrames += pages;
}

/** Is page `pfn`'s machine frame above a mask of `bits` bits? Never off Xen (T9). */
export function xenFrameAbove(s: XenState, pfn: number, bits: number): boolean {
  return s.machine.isXen && s.machine.mfnOf(pfn) * PAGE_SIZE + PAGE_SIZE - 1 > 2 ** bits - 1;
}

/** checkInvariants bits 0, 1 and the low-reserve half of 3 (T21); 0 off Xen. */
export function xenCheckFrames(s: XenState): number {
  if (!s.machine.isXen) return 0;
  const { p2m, m2p, hostPages } = s.machine;
  const { heap, low } = s.xen!;
  let bad = 0;
  let held = 0;
  for (let pfn = 0; pfn < p2m!.length; pfn++) {
    const mfn = p2m![pfn]!;
    if (mfn < 0 || mfn >= hostPages || m2p![mfn] !== pfn) bad |= 1 << 0;
    if (low.start <= mfn && mfn < low.end) held++;
  }
  const owners = new Uint8Array(hostPages);
  for (let mfn = 0; mfn < hostPages; mfn++) if (m2p![mfn]! >= 0) owners[mfn]++;
  for (let i = 0; i < heap.size; i++) owners[heap.at(i)]++;
  low.forEachFreeBlock((block, order) => {
    for (let k = 0; k < 2 ** order; k++) owners[block + k]++;
  });
  for (let mfn = 0; mfn < hostPages; mfn++) {
    const owned = low.start <= mfn && mfn < low.end || mfn >= DMA32_LIMIT_PFN;
    if (owners[mfn] !== (owned ? 1 : 0)) {
      bad |= 1 << 1;
      break;
    }
  }
  if (low.freeFrames + held !== low.end - low.start) bad |= 1 << 3;
  return bad;
}
