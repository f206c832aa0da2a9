// Where cells run: on lanes that take the run's cells one by one from a shared queue
// (run/lanes.ts) — this thread, and for `workers` > 1 also `workers − 1` worker threads of a
// piscina pool. Different from a pool of `workers` threads, for speed only: the main thread only
// waited, and on a machine with as many cores as workers it took CPU from them (receiving results,
// its garbage collection), while one more thread started up, compiled its code and was torn down
// (README, Workers). Outputs are returned in cell order, so merging never depends on which lane
// ran a cell. A failing cell fails the run naming the cell and its seed, stops the other lanes and
// tears the pool down; an aborted signal (Ctrl-C) does the same and throws its reason.
import { setImmediate as turn } from 'node:timers/promises';
import { CellError, UsageError } from '../errors.js';
import { wasmModule } from '../engine/factory.js';
import { dropSpareMemory } from '../engine/wasm.js';
import { type CellOutput, runCell } from './cell.js';
import { CellQueue, laneErrorOf } from './lanes.js';
import { type Cell, describeCell } from './plan.js';
import { lanePool, takePrestarted } from './prestart.js';
import { ThreadMemory } from './reuse.js';

export interface ExecOptions {
  /** Worker threads asked for; chooseWorkers caps them. */
  workers: number;
  /** Let the workers exceed the cores (never the cells). */
  oversubscribe?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** How often the progress line hears of cells the worker lanes finished. */
const PROGRESS_MS = 100;

export async function runLanes(cells: Cell[], o: ExecOptions): Promise<CellOutput[]> {
  // Compiled once here, used by the main lane and sent to each worker once (it shares the compiled code).
  const module = cells.some((c) => c.plan.scenario.engine === 'wasm') ? await wasmModule() : undefined;
  const lanes = o.workers;
  // The pool (and the piscina library) only when there are worker lanes: the one started with the
  // process when it guessed these threads (run/prestart.ts), else a new one.
  const pool = lanes > 1
    ? takePrestarted(lanes - 1) ?? await lanePool(lanes - 1)
    : undefined;
  const queue = CellQueue.create(lanes);
  // The first failure ends the run: no lane takes another cell, the main lane's cell stops at its
  // next pause (the signal it runs with), and tearing the pool down ends the workers' cells.
  const ended = new AbortController();
  let failed = false;
  let failure: unknown;
  const end = (e: unknown) => {
    if (!failed) [failed, failure] = [true, e];
    queue.stop();
    ended.abort(failure);
    void pool?.destroy();
  };
  const onAbort = () => end(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  // The main lane's cells stop at the user's signal or at another lane's failure (none without a pool).
  const signal = !pool ? o.signal : o.signal ? AbortSignal.any([o.signal, ended.signal]) : ended.signal;
  const outs: CellOutput[] = new Array(cells.length);
  let reported = 0;
  const progress = () => {
    const done = queue.done();
    if (done > reported) o.onProgress?.((reported = done), cells.length);
  };
  const ticker = o.onProgress && pool ? setInterval(() => { try { progress(); } catch (e) { end(e); } }, PROGRESS_MS) : undefined;
  try {
    o.signal?.throwIfAborted();
    const workerLanes = Array.from({ length: lanes - 1 }, (_, k) => k + 1).map((lane) =>
      pool!.run({ cells, queue: queue.buffer, lane, lanes, module }).then(
        (got) => {
          for (const [i, out] of got.outs) outs[i] = out;
          if (got.error) end(named(laneErrorOf(got.error), cells[queue.at(lane)]));
        },
        (e: unknown) => end(named(e, cells[queue.at(lane)])),
      ));
    const memory = new ThreadMemory(() => queue.share(cells.length, lanes));
    // Between two cells the main lane lets the event loop in, so that a Ctrl-C already pending is
    // heard before it takes another cell, and before the run counts as done (as run/executor.ts).
    const runHere = async (c: Cell) => {
      await turn();
      signal?.throwIfAborted();
      return runCell(c, module, signal, memory);
    };
    try {
      await queue.drain(cells, 0, runHere, (i, out) => { outs[i] = out; progress(); });
    } catch (e) {
      end(e);
    } finally {
      dropSpareMemory(); // a run never starts on another run's memory
    }
    await Promise.all(workerLanes);
    await turn();
    o.signal?.throwIfAborted();
    if (failed) throw failure;
    progress();
    return outs;
  } finally {
    clearInterval(ticker);
    o.signal?.removeEventListener('abort', onAbort);
    await pool?.destroy();
  }
}

/** A worker lane's error as a CellError naming the cell it was running, unless it names it
 * already or is a usage error (a bad script line: exit 2 on any thread). */
function named(e: unknown, c: Cell | undefined): unknown {
  if (e instanceof CellError || e instanceof UsageError) return e;
  const m = (e as Error)?.message ?? String(e);
  if (!c) return e instanceof Error ? e : new Error(m);
  return new CellError(m.includes(`seed ${c.seed}`) ? m : `cell ${describeCell(c)} failed: ${m}`);
}
