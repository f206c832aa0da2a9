// A hardware IOMMU window (twin of assembly/dma/iommu.ts) in the style of arch/powerpc/kernel/iommu.c (iommu_range_alloc):
// a bitmap of IOVA pages, next-fit from a hint, one wrap to 0. Entries hold the pfn they map
// (mfn == pfn on these platforms). Devices translate through it; a miss faults.
import { IOMMU_BASE, IOMMU_WINDOW_PAGES, PAGE_SIZE } from '../../engine/abi.js';

export class Iommu {
  /** pfn + 1 per IOVA page; 0 = empty (sim/translate.ts reads it). */
  readonly entries = new Int32Array(IOMMU_WINDOW_PAGES);
  /** First entry of each live allocation -> its length. */
  private readonly runs = new Map<number, number>();
  private hint = 0;

  /** First entry of n free consecutive pages, or -1 when the window is exhausted. */
  allocate(n: number): number {
    let first = this.findFrom(this.hint, n);
    if (first < 0) first = this.findFrom(0, n);
    if (first < 0) return -1;
    this.hint = first + n;
    this.runs.set(first, n);
    return first;
  }

  private findFrom(start: number, n: number): number {
    let run = 0;
    for (let i = start; i < IOMMU_WINDOW_PAGES; i++) {
      run = this.entries[i] === 0 ? run + 1 : 0;
      if (run === n) return i - n + 1;
    }
    return -1;
  }

  /** Callers fill an allocation right after taking it, so an empty entry is a free one. */
  fill(first: number, pfn: number, n: number): void {
    for (let k = 0; k < n; k++) this.entries[first + k] = pfn + k + 1;
  }

  /** Frees the allocation starting at the entry `bus` falls in; returns its length (0 if none). */
  freeAt(bus: number): number {
    const first = this.entryOf(bus);
    const n = first < 0 ? undefined : this.runs.get(first);
    if (n === undefined) return 0;
    for (let k = 0; k < n; k++) this.entries[first + k] = 0;
    this.runs.delete(first);
    return n;
  }

  busOf(first: number, offsetInPage: number): number {
    return IOMMU_BASE + first * PAGE_SIZE + offsetInPage;
  }

  /** Bus address -> guest physical (= machine) address, or -1 on a fault. */
  translate(bus: number): number {
    const entry = this.entryOf(bus);
    if (entry < 0 || this.entries[entry] === 0) return -1;
    return (this.entries[entry] - 1) * PAGE_SIZE + (bus % PAGE_SIZE);
  }

  private entryOf(bus: number): number {
    if (bus < IOMMU_BASE) return -1;
    const entry = Math.floor((bus - IOMMU_BASE) / PAGE_SIZE);
    return entry < IOMMU_WINDOW_PAGES ? entry : -1;
  }
}
