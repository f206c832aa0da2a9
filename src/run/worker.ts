// A piscina worker: instantiates nothing until asked, then serves many cells with the module it
// was given at start, handing each engine's memory on to the next when that pays (run/reuse.ts).
import { workerData } from 'node:worker_threads';
import { type CellOutput, runCell } from './cell.js';
import type { Cell } from './plan.js';
import { markLoaded } from './loadGate.js';
import { ThreadMemory } from './reuse.js';
import type { WorkerData } from './pool.js';

const data = workerData as WorkerData | undefined;
const mod = data?.module;
// A worker lives for one run (the pool is made per run), so its cells are that run's.
const memory = new ThreadMemory(data?.cellsPerWorker ?? 1);

export default async function run(cell: Cell): Promise<CellOutput> {
  return runCell(cell, mod, undefined, memory);
}

// Last: the pool may be torn down from here on (run/loadGate.ts).
markLoaded(workerData);
