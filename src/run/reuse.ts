// Whether a thread hands the memory of the Wasm engine it just released to its next one
// (src/engine/wasm.ts: the released engine zeroes what it may have written, so the first hand-over
// faults in the pages of the tables it zeroes whole that it never touched, and from then on a cell
// faults only pages no machine of the thread touched before). Decided from what the thread
// measured: a cell on a fresh memory took T page faults (measured cell by cell until reuse pays),
// its hand-over would zero S pages (scrubBytes), so the first hand-over costs at least about S − T
// faults (T counts faults outside S too) and saves T for each cell still to run. Linux only (the
// thread's own fault count is in /proc/thread-self/stat); elsewhere every engine gets a fresh memory.
import { readFileSync } from 'node:fs';
import type { Engine } from '../engine/types.js';

const PAGE_BYTES = 4096;

/** This thread's minor page faults so far, or undefined where the system does not say. */
export function threadFaults(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the parenthesised command name, from the third (state); minflt is the tenth.
    const v = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
    return Number.isSafeInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether handing a memory on pays: `left` cells to run, each of which would take `touched`
 * faults on a fresh memory, against `scrubbed − touched` faults once. */
export function reusePays(left: number, touched: number, scrubbed: number): boolean {
  return left * touched > scrubbed - touched;
}

/** One thread's cells of one run: how many it expects, and whether its memory is being handed on. */
export class ThreadMemory {
  private readonly leftAfter: () => number;
  private handing = false;
  private faultsAtStart: number | undefined;

  /** `cells`: the cells this thread will run in the run; or, for a thread that takes cells from a
   * queue it shares (run/lanes.ts), how many it may still take, asked after each cell. */
  constructor(cells: number | (() => number)) {
    if (typeof cells !== 'number') this.leftAfter = cells;
    else {
      let left = cells;
      this.leftAfter = () => --left;
    }
  }

  /** Before a cell's engine is made. */
  start(): void {
    this.faultsAtStart = this.handing ? undefined : threadFaults();
  }

  /** After a cell: releases its engine, keeping the memory when that pays (always, once begun). */
  finish(engine: Engine): void {
    const left = this.leftAfter();
    const scrubbed = (engine as Engine & { scrubBytes?: () => number }).scrubBytes?.();
    const now = this.faultsAtStart === undefined ? undefined : threadFaults();
    if (!this.handing && now !== undefined && scrubbed !== undefined) {
      this.handing = reusePays(left, now - this.faultsAtStart!, scrubbed / PAGE_BYTES);
    }
    engine.release?.(this.handing && left > 0);
  }
}
