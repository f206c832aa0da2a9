// The 2010 buddy allocator of mm/page_alloc.c (twin of assembly/mm/buddy.ts: __rmqueue_smallest,
// __free_one_page), one zone. Free lists are LIFO per order; alloc keeps the lower half when
// splitting. (Xen's own heap is xen/heap.ts.)
import { MAX_ORDER } from '../../engine/abi.js';

const TOP_ORDER = MAX_ORDER - 1;
const NONE = -1;

export class Buddy {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Order of the free block starting at this frame, or -1 if it heads no free block. */
  private readonly headOrder: Int8Array;
  private readonly heads = new Int32Array(MAX_ORDER).fill(NONE);
  private freeCount = 0;

  /** Manages frames [start, end); all start out allocated until freeRangeAtInit. */
  constructor(readonly start: number, readonly end: number) {
    const n = Math.max(0, end - start);
    this.next = new Int32Array(n);
    this.prev = new Int32Array(n);
    this.headOrder = new Int8Array(n).fill(NONE);
  }

  /** Boot: the largest aligned blocks in ascending order, each pushed at its list's head. */
  freeRangeAtInit(): void {
    let frame = this.start;
    while (frame < this.end) {
      let order = TOP_ORDER;
      while (order > 0 && (frame % 2 ** order !== 0 || frame + 2 ** order > this.end)) order--;
      this.push(frame, order);
      frame += 2 ** order;
    }
  }

  get freeFrames(): number {
    return this.freeCount;
  }

  /** __rmqueue_smallest: a block of 2^order frames (the head of the first non-empty list at or above it, split down), or -1. */
  alloc(order: number): number {
    for (let j = order; j <= TOP_ORDER; j++) {
      const block = this.heads[j];
      if (block === NONE) continue;
      this.unlink(block, j);
      while (j > order) {
        j--;
        this.push(block + 2 ** j, j);
      }
      return block;
    }
    return NONE;
  }

  free(block: number, order: number): void {
    while (order < TOP_ORDER) {
      const buddy = block ^ (2 ** order);
      if (buddy < this.start || buddy >= this.end || this.headOrder[buddy - this.start] !== order) break;
      this.unlink(buddy, order);
      block = Math.min(block, buddy);
      order++;
    }
    this.push(block, order);
  }

  private push(block: number, order: number): void {
    const i = block - this.start;
    const head = this.heads[order];
    this.next[i] = head;
    this.prev[i] = NONE;
    if (head !== NONE) this.prev[head - this.start] = block;
    this.heads[order] = block;
    this.headOrder[i] = order;
    this.freeCount += 2 ** order;
  }

  private unlink(block: number, order: number): void {
    const i = block - this.start;
    const next = this.next[i];
    const prev = this.prev[i];
    if (prev !== NONE) this.next[prev - this.start] = next;
    else this.heads[order] = next;
    if (next !== NONE) this.prev[next - this.start] = prev;
    this.headOrder[i] = NONE;
    this.freeCount -= 2 ** order;
  }
}
