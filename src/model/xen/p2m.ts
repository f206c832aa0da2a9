// Xen PV pseudo-physical map (twin of assembly/xen/p2m.ts; arch/x86/xen/mmu.c, p2m.c, 2010): the
// guest's "physical" frames are the host's highest machine frames in a seeded order (a keyed
// permutation, sim/rand.ts); m2p is kept as the inverse. Elsewhere mfn == pfn.
import { PAGE_SIZE, Platform, type MachineConfig } from '../../engine/abi.js';
import { Permutation, Xorshift32 } from '../sim/rand.js';

export class P2m {
  readonly isXen: boolean;
  readonly ramPages: number;
  readonly hostPages: number;
  /** Guest pfn -> machine frame (Xen only; identity elsewhere). */
  readonly p2m: Int32Array | null;
  /** Machine frame -> guest pfn or -1 (Xen only). */
  readonly m2p: Int32Array | null;

  constructor(cfg: MachineConfig) {
    this.isXen = cfg.platform === Platform['xen-pv'];
    this.ramPages = cfg.ramPages;
    this.hostPages = this.isXen ? cfg.hostPages : cfg.ramPages;
    if (!this.isXen) {
      this.p2m = this.m2p = null;
      return;
    }
    const guestBase = this.hostPages - this.ramPages; // the highest ramPages frames
    const place = new Permutation(this.ramPages, new Xorshift32(cfg.seed));
    const p2m = new Int32Array(this.ramPages);
    for (let pfn = 0; pfn < this.ramPages; pfn++) p2m[pfn] = guestBase + place.of(pfn);
    const m2p = new Int32Array(this.hostPages).fill(-1);
    for (let pfn = 0; pfn < this.ramPages; pfn++) m2p[p2m[pfn]!] = pfn;
    this.p2m = p2m;
    this.m2p = m2p;
  }

  mfnOf(pfn: number): number {
    return this.p2m ? this.p2m[pfn]! : pfn;
  }

  /** Points pfn at mfn (Xen), keeping m2p the inverse. */
  setP2m(pfn: number, mfn: number): void {
    const p2m = this.p2m!;
    const m2p = this.m2p!;
    if (m2p[p2m[pfn]!] === pfn) m2p[p2m[pfn]!] = -1;
    p2m[pfn] = mfn;
    m2p[mfn] = pfn;
  }

  /** m2p for one frame: the guest page it backs, or -1. */
  mfnToPfn(mfn: number): number {
    if (mfn < 0 || mfn >= this.hostPages) return -1;
    return this.m2p ? this.m2p[mfn]! : mfn < this.ramPages ? mfn : -1;
  }

  /** Machine byte address -> guest physical byte address, or -1 (bus_to_phys for swiotlb). */
  machineToPhys(machine: number): number {
    if (machine < 0 || machine >= this.hostPages * PAGE_SIZE) return -1;
    const pfn = this.mfnToPfn(Math.floor(machine / PAGE_SIZE));
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

/** xen_pv_domain(): the one question the rest of the kernel asks about Xen. */
export function xenPvDomain(s: { readonly machine: P2m }): boolean {
  return s.machine.isXen;
}
