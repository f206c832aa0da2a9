// How an address reaches machine memory (twin of assembly/sim/translate.ts): the CPU's
// guest-physical address through the p2m table (Xen PV), a device's bus address through the
// IOMMU's table (an IOVA), or as itself. It only reads the tables; xen/p2m.ts and dma/iommu.ts
// fill them, and a machine without the table is the identity.
import { IOMMU_BASE, IOMMU_PFN_MASK, IOMMU_READ_ONLY, IOMMU_WINDOW_PAGES, PAGE_SIZE } from '../../engine/abi.js';

/** The tables a translation reads; the arrays are shared with their owners, so they stay current. */
export interface Translation {
  readonly ramPages: number;
  readonly hostPages: number;
  /** Guest pfn → machine frame (Xen PV), else null. */
  readonly p2m: Int32Array | null;
  /** Per IOVA page: pfn + 1 under IOMMU_PFN_MASK (0 = no translation), the read-only and IOTLB bits above (an IOMMU), else null. */
  readonly iova: Int32Array | null;
  /** Per pfn: 1 when shared with the host (a confidential guest, coco: mm/setMemory.ts), else null. */
  readonly ccShared: Uint8Array | null;
}

export function pfnToMfn(t: Translation, pfn: number): number {
  return t.p2m ? t.p2m[pfn]! : pfn;
}

/** Guest physical byte address → machine byte address, or -1 outside RAM. */
export function physToMachine(t: Translation, phys: number): number {
  if (phys < 0) return -1;
  const pfn = Math.floor(phys / PAGE_SIZE);
  if (pfn >= t.ramPages) return -1;
  return pfnToMfn(t, pfn) * PAGE_SIZE + (phys % PAGE_SIZE);
}

/** The IOVA entry a bus address falls in, or -1 outside the window. */
export function iovaEntryOf(bus: number): number {
  if (bus < IOMMU_BASE) return -1;
  const entry = Math.floor((bus - IOMMU_BASE) / PAGE_SIZE);
  return entry < IOMMU_WINDOW_PAGES ? entry : -1;
}

/** The page an IOVA entry maps, or -1 when it is empty or held by the flush queue without a translation. */
export function iovaEntryPfn(t: Translation, entry: number): number {
  return (t.iova![entry]! & IOMMU_PFN_MASK) - 1;
}

/** Is machine frame `mfn` private to a confidential guest (coco), out of every device's reach? The
 * guest's frames are its pfns there. */
export function ccPrivate(t: Translation, mfn: number): boolean {
  return t.ccShared !== null && mfn >= 0 && mfn < t.ramPages && t.ccShared[mfn] === 0;
}

/** A device's machine address as it lands: -1 beyond the last frame or at a private frame. */
export function deviceMachine(t: Translation, machine: number): number {
  if (machine < 0 || machine >= t.hostPages * PAGE_SIZE) return -1;
  return ccPrivate(t, Math.floor(machine / PAGE_SIZE)) ? -1 : machine;
}

/** Where a device access to `bus` lands in machine memory, or -1 (an IOMMU fault, nothing there, a
 * confidential guest's private frame). `write`: a device write, which a read-only IOVA faults. */
export function busToMachine(t: Translation, bus: number, write = false): number {
  if (bus < 0) return -1;
  let machine = bus;
  if (t.iova) {
    const e = iovaEntryOf(bus);
    if (write && e >= 0 && (t.iova[e]! & IOMMU_READ_ONLY) !== 0) return -1;
    const pfn = e < 0 ? -1 : iovaEntryPfn(t, e);
    if (pfn < 0) return -1;
    machine = pfn * PAGE_SIZE + (bus % PAGE_SIZE);
  }
  return deviceMachine(t, machine);
}
