// Runs cells: on this thread for one worker, on a piscina pool for more (src/pool/). Either way
// the outputs come back in cell order, so merged counters never depend on --workers. An aborted
// `signal` (Ctrl-C) stops the run: the cells in flight are dropped and its reason is thrown.
// Workers never exceed the cells, nor (unless `oversubscribe`) the cores: chooseWorkers.
import { availableParallelism } from 'node:os';
import { setImmediate as turn } from 'node:timers/promises';
import { wasmModule } from '../engine/factory.js';
import { type CellOutput, runCell } from './cell.js';
import type { Cell } from './plan.js';

export interface ExecOptions {
  /** Worker threads asked for; chooseWorkers caps them. */
  workers: number;
  /** Let the workers exceed the cores (never the cells). */
  oversubscribe?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The workers a run gets, and why it got fewer than it asked for. */
export interface WorkerChoice {
  workers: number;
  asked: number;
  /** What capped the request: the cells (one worker per cell at most) or the cores; null when not capped. */
  cappedBy: 'cells' | 'cores' | null;
  cores: number;
}

/** At most one worker per cell, and (unless `oversubscribe`) per core: more only adds threads,
 * each with its own machine in memory, that wait for a cell or a core. */
export function chooseWorkers(asked: number, cells: number, oversubscribe = false, cores = availableParallelism()): WorkerChoice {
  const limit = Math.max(1, cells);
  let workers = Math.max(1, asked);
  let cappedBy: WorkerChoice['cappedBy'] = null;
  if (workers > limit) [workers, cappedBy] = [limit, 'cells'];
  if (!oversubscribe && workers > cores) [workers, cappedBy] = [cores, 'cores'];
  return { workers, asked, cappedBy, cores };
}

export async function runCells(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  const { workers } = chooseWorkers(o.workers, cells.length, o.oversubscribe);
  if (workers > 1) {
    const { runOnPool } = await import('./pool.js');
    return runOnPool(cells, { ...o, workers });
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
