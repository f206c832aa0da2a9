// A piscina worker: one lane of a run (run/lanes.ts). It instantiates nothing until asked, then
// runs the cells it takes from the run's queue with the module it was given at start, handing
// each engine's memory on to the next when that pays (run/reuse.ts).
import { workerData } from 'node:worker_threads';
import { runCell } from './cell.js';
import { CellQueue, type LaneOutput, type LaneTask } from './lanes.js';
import { markLoaded } from './loadGate.js';
import { ThreadMemory } from './reuse.js';
import type { WorkerData } from './pool.js';

const data = workerData as WorkerData | undefined;
const mod = data?.module;
// A worker lives for one run (the pool is made per run), so its cells are that run's.
const memory = new ThreadMemory(data?.cellsPerWorker ?? 1);

export default async function run(task: LaneTask): Promise<LaneOutput> {
  const out: LaneOutput = [];
  await new CellQueue(task.queue).drain(task.cells, task.lane, (c) => runCell(c, mod, undefined, memory), (i, o) => out.push([i, o]));
  return out;
}

// Last: the pool may be torn down from here on (run/loadGate.ts).
markLoaded(workerData);
