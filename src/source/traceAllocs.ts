// The DMA-API allocations a trace replay holds (source/trace.ts): dma_alloc and its _pages/_sgt
// forms, found again by the dma_addr the recording machine gave them, at their dma_free or at a
// sync inside one.
import { PAGE_SIZE } from '../engine/abi.js';
import type { Addr } from './traceEvents.js';
import { FifoMap } from './fifoMap.js';
import { IDLE_MAX } from './traceMappings.js';

export class LiveAllocations<B extends { pages: number }> {
  /** By recorded dma_addr; a handle given twice while live (another device's? a stale handle) keeps both, the latest taken first. */
  private readonly byDma = new Map<Addr, B[]>();
  private readonly starts = new Map<B, Addr>();
  /** The latest IDLE_MAX dma_allocs freed, by recorded dma_addr, their slots kept: a second dma_free there is replayed on one. */
  private readonly freed = new FifoMap<Addr, B>();

  /** How many are live. */
  get size(): number {
    return this.starts.size;
  }

  add(dma: Addr, b: B): void {
    this.starts.set(b, dma);
    const at = this.byDma.get(dma);
    if (at) at.push(b);
    else this.byDma.set(dma, [b]);
  }

  /** dma_free at `dma`: the latest live allocation there, taken out; undefined when none is. */
  take(dma: Addr): B | undefined {
    const at = this.byDma.get(dma);
    const b = at?.pop();
    if (at && at.length === 0) this.byDma.delete(dma);
    if (b) this.starts.delete(b);
    return b;
  }

  /** The latest live allocation starting at `dma`, left live. */
  at(dma: Addr): B | undefined {
    return this.byDma.get(dma)?.at(-1);
  }

  /** The live allocation holding recorded dma address `dma`, and where it starts. */
  holding(dma: Addr): { b: B; start: Addr } | undefined {
    for (const [b, start] of this.starts) if (dma >= start && dma < start + b.pages * PAGE_SIZE) return { b, start };
    return undefined;
  }

  /** Keeps a freed allocation (its slot); returns those whose slots go free now: one freed before at that address, the oldest past IDLE_MAX. */
  keepFreed(dma: Addr, b: B): B[] {
    const gone: B[] = [];
    const before = this.freed.get(dma);
    if (before) { this.freed.delete(dma); gone.push(before); }
    this.freed.set(dma, b);
    if (this.freed.size > IDLE_MAX) gone.push(this.freed.shift()![1]);
    return gone;
  }

  /** The allocation freed last at `dma`, its slot kept. */
  freedAt(dma: Addr): B | undefined {
    return this.freed.get(dma);
  }

  /** The latest kept freed allocation holding recorded address `dma`, and where it started (a scan: for frees only, which are few). */
  freedHolding(dma: Addr): { b: B; start: Addr } | undefined {
    for (const [start, b] of this.freed.newestFirst()) if (dma >= start && dma < start + b.pages * PAGE_SIZE) return { b, start };
    return undefined;
  }

  /** Gives up the oldest kept one (when slots run out). */
  dropOldestFreed(): B | undefined {
    return this.freed.shift()?.[1];
  }
}
