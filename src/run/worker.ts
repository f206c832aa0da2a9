// A piscina worker: one lane of a run (run/lanes.ts). It instantiates nothing until asked, then
// runs the cells it takes from the run's queue with the module its task brings (compiled once, on
// the main thread), handing each engine's memory on to the next when that pays (run/reuse.ts).
import { workerData } from 'node:worker_threads';
import { runCell } from './cell.js';
import { CellQueue, type LaneOutput, type LaneTask, laneError } from './lanes.js';
import { markLoaded } from './loadGate.js';
import { ThreadMemory } from './reuse.js';

/** One run's lane (a worker lives for one run: the pool is made per run, or before it: run/prestart.ts). A failure comes back as
 * data (laneError), so that its class, and with it the exit code, survives the crossing. */
export default async function run(task: LaneTask): Promise<LaneOutput> {
  const queue = new CellQueue(task.queue);
  const memory = new ThreadMemory(() => queue.share(task.cells.length, task.lanes));
  const outs: LaneOutput['outs'] = [];
  try {
    await queue.drain(task.cells, task.lane, (c) => runCell(c, task.module, undefined, memory), (i, o) => outs.push([i, o]));
    return { outs };
  } catch (e) {
    return { outs, error: laneError(e) };
  }
}

// Last: the pool may be torn down from here on (run/loadGate.ts).
markLoaded(workerData);
