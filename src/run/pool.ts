// Cells on worker threads. Outputs are returned in cell order, so merging never depends on
// which worker finished first. A failing cell fails the run naming the cell and its seed; the
// pool is always torn down. An aborted signal (Ctrl-C) ends the workers' tasks and throws its reason.
import { fileURLToPath } from 'node:url';
import { CellError } from '../errors.js';
import { wasmModule } from '../engine/factory.js';
import type { CellOutput } from './cell.js';
import { type Cell, describeCell } from './plan.js';
import type { ExecOptions } from './executor.js';
import { createPool } from './piscina.js';

/** What each worker is given at start (src/run/worker.ts). */
export interface WorkerData {
  module?: WebAssembly.Module;
  /** The cells each worker expects to run (run/reuse.ts). */
  cellsPerWorker: number;
}

export async function runOnPool(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  // Compiled once here and sent to each worker once (it shares the compiled code).
  const module = cells.some((c) => c.plan.scenario.engine === 'wasm') ? await wasmModule() : undefined;
  const filename = fileURLToPath(new URL('./workerEntry.cjs', import.meta.url));
  const pool = createPool<Cell, CellOutput>(filename, o.workers, { module, cellsPerWorker: Math.ceil(cells.length / o.workers) } satisfies WorkerData);
  // One listener for the whole run: tearing the pool down ends every task, running or queued.
  const stop = () => void pool.destroy();
  o.signal?.addEventListener('abort', stop, { once: true });
  let done = 0;
  try {
    o.signal?.throwIfAborted();
    const outs = await Promise.all(cells.map(async (c) => {
      try {
        const out = await pool.run(c);
        o.onProgress?.(++done, cells.length);
        return out;
      } catch (e) {
        o.signal?.throwIfAborted();
        const m = (e as Error).message ?? String(e);
        throw new CellError(m.includes(`seed ${c.seed}`) ? m : `cell ${describeCell(c)} failed: ${m}`);
      }
    }));
    o.signal?.throwIfAborted();
    return outs;
  } finally {
    o.signal?.removeEventListener('abort', stop);
    await pool.destroy();
  }
}
