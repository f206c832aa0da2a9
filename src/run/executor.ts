// Runs cells: on this thread, and for more than one worker also on a piscina pool of one worker
// thread fewer (run/pool.ts). Either way the outputs come back in cell order, so merged counters
// never depend on --workers. An aborted `signal` (Ctrl-C) stops the run: the cells in flight are
// dropped and its reason is thrown.
// Workers never exceed the cells, nor (unless `oversubscribe`) the cores: chooseWorkers.
import { availableParallelism } from 'node:os';
import { wasmModule } from '../engine/factory.js';
import { wasmTablesBytes } from '../engine/wasm.js';
import { UsageError } from '../errors.js';
import { formatSize } from '../units.js';
import type { CellOutput } from './cell.js';
import type { Cell } from './plan.js';
import { type ExecOptions, runLanes } from './pool.js';

export type { ExecOptions };

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
  if (cells.some((c) => c.plan.scenario.engine === 'wasm')) checkMachinesFit(cells, await wasmModule());
  const { workers } = chooseWorkers(o.workers, cells.length, o.oversubscribe);
  return runLanes(cells, { ...o, workers });
}

/**
 * Before anything runs: every machine the Wasm engine is asked to build fits its linear memory
 * (4 GiB), or the run is a usage error naming the options that size it (exit 2, nothing written),
 * never a failed cell. Payload storage comes on top as pages are written (--payload-bytes).
 */
export function checkMachinesFit(cells: Cell[], mod: WebAssembly.Module): void {
  const seen = new Set<string>();
  for (const c of cells) {
    if (c.plan.scenario.engine !== 'wasm') continue;
    const key = JSON.stringify({ ...c.plan.cfg, seed: 0 });
    if (seen.has(key)) continue;
    seen.add(key);
    const { need, limit } = wasmTablesBytes(mod, c.plan.cfg);
    if (need <= limit) continue;
    const { ram, hostRam } = c.plan.sizes;
    const xen = c.plan.scenario.platform === 'xen-pv';
    // The coarsest unit that does not print the need and the limit alike.
    const units = [[2 ** 30, 2, 'GiB'], [2 ** 20, 1, 'MiB'], [1, 0, 'bytes']] as const;
    const [unit, places, name] = units.find(([u, p]) => (need / u).toFixed(p) !== (limit / u).toFixed(p)) ?? units[2];
    const size = (b: number) => `${(b / unit).toFixed(places)} ${name}`;
    throw new UsageError(`--ram ${formatSize(ram)}${xen ? ` with --host-ram ${formatSize(hostRam)}` : ''}: the Wasm engine's tables for this machine need ${size(need)}, more than its ${size(limit)} of linear memory; use a smaller --ram${xen ? ' or --host-ram' : ''}, or --engine js (the reference model)`);
  }
}
