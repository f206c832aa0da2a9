// The machine: guest layout (arch/x86 setup + lib/swiotlb.c's boot pool), and under Xen PV the
// p2m/m2p tables (arch/x86/xen/p2m.c) over a host whose heap (xen/common/page_alloc.c) hands out
// high memory first and keeps a low reserve. Elsewhere mfn == pfn.
import {
  DMA32_LIMIT_PFN, IO_TLB_OVERFLOW_PAGES, KERNEL_RESERVED_PAGES, PAGE_SIZE, Platform,
  XEN_LOW_BASE_MFN, type MachineConfig,
} from '../engine/abi.js';
import { Buddy } from './buddy.js';

/** Where the fixed pieces of guest memory sit (pfns). */
export interface Layout {
  poolPfn: number;
  poolPages: number;
  overflowPfn: number;
  dummyPfn: number;
  firstFreePfn: number;
}

export function layoutFor(cfg: MachineConfig): Layout {
  const poolPfn = KERNEL_RESERVED_PAGES;
  const poolPages = Math.ceil(cfg.nslabs / 2);
  const overflowPfn = poolPfn + poolPages;
  const dummyPfn = overflowPfn + IO_TLB_OVERFLOW_PAGES;
  return { poolPfn, poolPages, overflowPfn, dummyPfn, firstFreePfn: dummyPfn + 1 };
}

/** xorshift32, the engine PRNG (only the p2m shuffle draws from it). */
export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    const s = (seed ^ 0x9e3779b9) >>> 0;
    this.state = s === 0 ? 0x9e3779b9 : s;
  }
  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }
}

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
    return this.top === 0 ? -1 : this.frames[--this.top];
  }
  /** The i-th frame from the bottom (for the invariant checks). */
  at(i: number): number {
    return this.frames[i];
  }
}

export class Machine {
  readonly isXen: boolean;
  readonly ramPages: number;
  readonly hostPages: number;
  /** Guest pfn -> machine frame (Xen only; identity elsewhere). */
  readonly p2m: Int32Array | null;
  /** Machine frame -> guest pfn or -1 (Xen only). */
  readonly m2p: Int32Array | null;
  readonly xenHeap: FrameStack | null;
  readonly xenLow: Buddy | null;

  constructor(cfg: MachineConfig) {
    this.isXen = cfg.platform === Platform['xen-pv'];
    this.ramPages = cfg.ramPages;
    this.hostPages = this.isXen ? cfg.hostPages : cfg.ramPages;
    if (!this.isXen) {
      this.p2m = this.m2p = null;
      this.xenHeap = null;
      this.xenLow = null;
      return;
    }
    const guestBase = this.hostPages - this.ramPages; // the highest ramPages frames
    const p2m = new Int32Array(this.ramPages);
    for (let pfn = 0; pfn < this.ramPages; pfn++) p2m[pfn] = guestBase + pfn;
    const rng = new Xorshift32(cfg.seed);
    for (let i = this.ramPages - 1; i >= 1; i--) {
      const j = rng.next() % (i + 1);
      const t = p2m[i];
      p2m[i] = p2m[j];
      p2m[j] = t;
    }
    const m2p = new Int32Array(this.hostPages).fill(-1);
    for (let pfn = 0; pfn < this.ramPages; pfn++) m2p[p2m[pfn]] = pfn;
    this.p2m = p2m;
    this.m2p = m2p;

    const lowEnd = XEN_LOW_BASE_MFN + cfg.xenLowPages;
    this.xenLow = new Buddy(XEN_LOW_BASE_MFN, lowEnd);
    this.xenLow.freeRangeAtInit();
    this.xenHeap = new FrameStack(Math.max(0, guestBase - DMA32_LIMIT_PFN));
    for (let mfn = DMA32_LIMIT_PFN; mfn < guestBase; mfn++) {
      if (mfn < XEN_LOW_BASE_MFN || mfn >= lowEnd) this.xenHeap.push(mfn);
    }
  }

  get hostBytes(): number {
    return this.hostPages * PAGE_SIZE;
  }

  mfnOf(pfn: number): number {
    return this.p2m ? this.p2m[pfn] : pfn;
  }

  /** Points pfn at mfn (Xen), keeping m2p the inverse. */
  setP2m(pfn: number, mfn: number): void {
    const p2m = this.p2m!;
    const m2p = this.m2p!;
    if (m2p[p2m[pfn]] === pfn) m2p[p2m[pfn]] = -1;
    p2m[pfn] = mfn;
    m2p[mfn] = pfn;
  }

  /** Guest physical byte address -> machine byte address, or -1 outside RAM. */
  physToMachine(phys: number): number {
    if (phys < 0) return -1;
    const pfn = Math.floor(phys / PAGE_SIZE);
    if (pfn >= this.ramPages) return -1;
    return this.mfnOf(pfn) * PAGE_SIZE + (phys % PAGE_SIZE);
  }

  /** Machine byte address -> guest physical byte address, or -1 (bus_to_phys for swiotlb). */
  machineToPhys(machine: number): number {
    if (machine < 0 || machine >= this.hostBytes) return -1;
    const mfn = Math.floor(machine / PAGE_SIZE);
    const pfn = this.m2p ? this.m2p[mfn] : mfn;
    return pfn < 0 ? -1 : pfn * PAGE_SIZE + (machine % PAGE_SIZE);
  }

  /** Are the machine frames behind pfns [pfn, pfn+pages) consecutive? */
  machineContiguous(pfn: number, pages: number): boolean {
    for (let k = 0; k + 1 < pages; k++) {
      if (this.mfnOf(pfn + k + 1) !== this.mfnOf(pfn + k) + 1) return false;
    }
    return true;
  }
}
