// A piscina worker: instantiates nothing until asked, then serves many cells with the module it
// was given at start.
import { workerData } from 'node:worker_threads';
import { type CellOutput, runCell } from './cell.js';
import type { Cell } from './plan.js';
import { markLoaded } from './loadGate.js';

const mod = (workerData as { module?: WebAssembly.Module } | undefined)?.module;

export default async function run(cell: Cell): Promise<CellOutput> {
  return runCell(cell, mod);
}

// Last: the pool may be torn down from here on (run/loadGate.ts).
markLoaded(workerData);
