// The swiotlb slot allocator of lib/swiotlb.c (twin of assembly/dma/swiotlb.ts; 2010, and
// kernel/dma/swiotlb.c keeps the scheme): per-slot "free slots left in this 128-slot segment"
// counters, next-fit from a rotating cursor, page-aligned (stride 2) runs above a page, merge with
// free neighbours on release. Slots live in guest memory right after the kernel (layout.ts).
import { IO_TLB_OVERFLOW_PAGES, IO_TLB_SEGSIZE, PAGE_SIZE, UNIT_SIZE } from '../../engine/abi.js';
import type { Layout } from '../layout.js';
import type { P2m } from '../xen/p2m.js';

export class SwiotlbPool {
  /** Free slots from here to the next used slot or segment end (0 = in use). */
  readonly list: Int32Array;
  /** Guest physical address each slot bounces for. */
  readonly orig: Float64Array;
  /** At a run's first slot: its slot count and byte size (0 elsewhere). */
  readonly runSlots: Int32Array;
  readonly runBytes: Float64Array;
  cursor = 0;
  slotsInUse = 0;
  /** The run the GART dummy page holds for the device's life (dma/mapping.ts), -1 when none. */
  heldIndex = -1;

  constructor(readonly nslabs: number) {
    this.list = new Int32Array(nslabs);
    for (let i = 0; i < nslabs; i++) this.list[i] = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    this.orig = new Float64Array(nslabs);
    this.runSlots = new Int32Array(nslabs);
    this.runBytes = new Float64Array(nslabs);
  }

  /** swiotlb_tbl_map_single's search: the first slot of a run for `size` bytes, or -1 (full). */
  swiotlbTblMapSingle(origPhys: number, size: number): number {
    const nslots = Math.ceil(size / UNIT_SIZE);
    if (nslots > IO_TLB_SEGSIZE || nslots === 0) return -1;
    const stride = size > 2 * UNIT_SIZE ? 2 : 1;
    let index = Math.ceil(this.cursor / stride) * stride;
    if (index >= this.nslabs) index = 0;
    const wrap = index;
    for (;;) {
      if (this.list[index] >= nslots && index + nslots <= this.nslabs) break;
      index += stride;
      if (index >= this.nslabs) index = 0;
      if (index === wrap) return -1;
    }
    for (let i = index; i < index + nslots; i++) this.list[i] = 0;
    let count = 0;
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
    this.cursor = index + nslots >= this.nslabs ? 0 : index + nslots;
    for (let i = 0; i < nslots; i++) this.orig[index + i] = origPhys + i * UNIT_SIZE;
    this.runSlots[index] = nslots;
    this.runBytes[index] = size;
    this.slotsInUse += nslots;
    return index;
  }

  /** swiotlb_tbl_unmap_single's release of the run starting at `index` (its recorded size). */
  swiotlbTblUnmapSingle(index: number): void {
    const nslots = this.runSlots[index];
    const end = index + nslots;
    let count = end % IO_TLB_SEGSIZE !== 0 && end < this.nslabs ? this.list[end] : 0;
    for (let i = end - 1; i >= index; i--) this.list[i] = ++count;
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
    this.runSlots[index] = 0;
    this.runBytes[index] = 0;
    this.slotsInUse -= nslots;
  }

  /** Is `index` the first slot of a live run? */
  isRunStart(index: number): boolean {
    return index >= 0 && index < this.nslabs && this.runSlots[index] > 0;
  }
}

/** Guest phys of slot i: the pool is plain guest memory to the CPU that copies through it. */
export function slotPhys(layout: Layout, index: number): number {
  return layout.poolPfn * PAGE_SIZE + index * UNIT_SIZE;
}

/** The slot bus address `bus` falls in, or -1 (is_swiotlb_buffer after bus → machine → phys). */
export function busToSlot(layout: Layout, machine: P2m, pool: SwiotlbPool, bus: number): number {
  const phys = machine.machineToPhys(bus);
  const offset = phys - slotPhys(layout, 0);
  if (phys < 0 || offset < 0) return -1;
  const index = Math.floor(offset / UNIT_SIZE);
  return index < pool.nslabs ? index : -1;
}

/** Does bus address `bus` fall in the 2010 overflow buffer? */
export function inOverflow(layout: Layout, machine: P2m, bus: number): boolean {
  const phys = machine.machineToPhys(bus);
  return phys >= layout.overflowPfn * PAGE_SIZE && phys < (layout.overflowPfn + IO_TLB_OVERFLOW_PAGES) * PAGE_SIZE;
}
