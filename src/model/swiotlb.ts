// The swiotlb slot allocator of lib/swiotlb.c (2010; kernel/dma/swiotlb.c keeps the scheme):
// per-slot "free slots left in this 128-slot segment" counters, next-fit from a rotating cursor,
// page-aligned (stride 2) runs above a page, merge with free neighbours on release.
import { IO_TLB_SEGSIZE, UNIT_SIZE } from '../engine/abi.js';

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

  constructor(readonly nslabs: number) {
    this.list = new Int32Array(nslabs);
    for (let i = 0; i < nslabs; i++) this.list[i] = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    this.orig = new Float64Array(nslabs);
    this.runSlots = new Int32Array(nslabs);
    this.runBytes = new Float64Array(nslabs);
  }

  /** swiotlb_tbl_map_single's search: the first slot of a run for `size` bytes, or -1 (full). */
  allocate(origPhys: number, size: number): number {
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
  release(index: number): void {
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
