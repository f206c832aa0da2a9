// Runs cells: on this thread for one worker, on a piscina pool for more (src/pool/). Either way
// the outputs come back in cell order, so merged counters never depend on --workers.
import { wasmModule } from '../engine/factory.js';
import { type Cell, type CellOutput, runCell } from './scenario.js';

export interface ExecOptions {
  workers: number;
  onProgress?: (done: number, total: number) => void;
}

export async function runCells(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  if (o.workers > 1 && cells.length > 1) {
    const { runOnPool } = await import('../pool/pool.js');
    return runOnPool(cells, o);
  }
  const mod = cells.some((c) => c.spec.engine === 'wasm') ? await wasmModule() : undefined;
  const outs: CellOutput[] = [];
  for (const c of cells) {
    outs.push(await runCell(c, mod));
    o.onProgress?.(outs.length, cells.length);
  }
  return outs;
}
