// A user's command as a thread's later cell: the cell `gartbench run ARGV…` would run, run here
// again and again on one thread, the way a matrix's or `--replicas`' cells after the first run on
// each thread (src/run/pool.ts). The Wasm engine then builds each machine on the memory the
// thread's previous Wasm cell handed on (src/run/reuse.ts), zeroed where it was written, so it does
// not pay again for the first touches of its memory, whose cost is the machine's (the end-to-end
// section's own-process table pays them). The reference model makes its tables afresh for each
// cell, as it does in any run (its heap is warm, its typed arrays new).
import { wasmModule } from '../src/engine/factory.js';
import { dropSpareMemory } from '../src/engine/wasm.js';
import { type CellOutput, runCell } from '../src/run/cell.js';
import { cellsOf } from '../src/run/plan.js';
import { ThreadMemory } from '../src/run/reuse.js';
import { interleavedRounds } from './rounds.js';
import { type CommandVariant, collectGarbage, userPlan } from './userRun.js';

export interface LaterCell {
  out: CellOutput;
  /** This process's minor page faults during the cell (as bench/userRun.ts counts a command's). */
  minorFaults: number;
}

/** Interleaved rounds of the commands' cells on this thread, one memory handed from each Wasm cell
 * to the next (the thread always has cells left, so the hand-over always pays); the thread lets it
 * go at the end. */
export async function laterCellRounds(variants: CommandVariant[], rounds: number, warmup: number, log?: (l: string) => void): Promise<Record<string, LaterCell[]>> {
  const module = await wasmModule();
  const memory = new ThreadMemory(() => Number.MAX_SAFE_INTEGER);
  try {
    return await interleavedRounds(variants, rounds, warmup, async ({ argv }) => {
      const cells = cellsOf(userPlan(argv));
      if (cells.length !== 1) throw new Error(`laterCellRounds: one cell per command, not ${cells.length}`);
      collectGarbage();
      const f0 = process.resourceUsage().minorPageFault;
      // With a signal, as a run's cells have (the workload then lets the event loop in now and then).
      const out = await runCell(cells[0]!, module, new AbortController().signal, memory);
      return { out, minorFaults: process.resourceUsage().minorPageFault - f0 };
    }, log, ' as later cells');
  } finally {
    dropSpareMemory();
  }
}
