// Runs cells: on this thread for one worker, on a piscina pool for more (src/pool/). Either way
// the outputs come back in cell order, so merged counters never depend on --workers. An aborted
// `signal` (Ctrl-C) stops the run: the cells in flight are dropped and its reason is thrown.
import { setImmediate as turn } from 'node:timers/promises';
import { wasmModule } from '../engine/factory.js';
import { type CellOutput, runCell } from './cell.js';
import type { Cell } from './plan.js';

export interface ExecOptions {
  workers: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function runCells(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  if (o.workers > 1 && cells.length > 1) {
    const { runOnPool } = await import('./pool.js');
    return runOnPool(cells, o);
  }
  const mod = cells.some((c) => c.plan.scenario.engine === 'wasm') ? await wasmModule() : undefined;
  const outs: CellOutput[] = [];
  for (const c of cells) {
    if (o.signal) {
      await turn();
      o.signal.throwIfAborted();
    }
    outs.push(await runCell(c, mod, o.signal));
    o.onProgress?.(outs.length, cells.length);
  }
  if (o.signal) {
    await turn();
    o.signal.throwIfAborted();
  }
  return outs;
}
