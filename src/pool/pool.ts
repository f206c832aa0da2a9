// Cells on worker threads. Outputs are returned in cell order, so merging never depends on
// which worker finished first. A failing cell fails the run naming the cell and its seed; the
// pool is always torn down, and Ctrl-C stops it cleanly.
import { fileURLToPath } from 'node:url';
import { CellError } from '../errors.js';
import { wasmModule } from '../engine/factory.js';
import { type Cell, type CellOutput, describeCell } from '../scenario/scenario.js';
import type { ExecOptions } from '../scenario/executor.js';
import { createPool } from './piscina.js';

export async function runOnPool(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  const module = await wasmModule();
  const filename = fileURLToPath(new URL('./worker.js', import.meta.url));
  const pool = createPool<Cell, CellOutput>(filename, o.workers, { module });
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    void pool.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  let done = 0;
  try {
    return await Promise.all(cells.map(async (c) => {
      try {
        const out = await pool.run(c);
        o.onProgress?.(++done, cells.length);
        return out;
      } catch (e) {
        if (interrupted) throw e;
        const m = (e as Error).message ?? String(e);
        throw new CellError(m.includes(`seed ${c.seed}`) ? m : `cell ${describeCell(c)} failed: ${m}`);
      }
    }));
  } finally {
    process.off('SIGINT', onSigint);
    await pool.destroy();
  }
}
