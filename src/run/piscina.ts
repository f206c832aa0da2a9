// Our one wrapper around piscina 5: a pool of worker threads that each receive the compiled Wasm
// module once. Errors from starting workers are caught (an unheard 'error' event kills node).
//
// A pool is never torn down while a worker is still loading its module. Piscina loads the task
// file with require(), which on Node 20.19+ loads an ES module synchronously, and terminating a
// thread in that window aborts the whole process (a V8 fatal error, "IsGraphAsync must be used
// on an instantiated module") — seen when one cell failed at once and the run ended while the
// other worker was still starting. So the task file is CommonJS (run/workerEntry.cts), which
// import()s the ES worker; and each worker says it is loaded (loadGate.ts markLoaded, at the end
// of the ES module's top level), and destroy() waits for every worker to have said so, or to have
// failed. The gate alone was not enough: the require() still builds the module's facade after its
// top level has run, and a Ctrl-C at start-up aborted about once in 15 runs.
import { Piscina } from 'piscina';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadGate } from './loadGate.js';

export interface WorkerPool<T, R> {
  run(task: T): Promise<R>;
  destroy(): Promise<void>;
  /** The first pool-level error, if any (a worker that failed to start). */
  readonly failure: Error | undefined;
  /** Workers whose module has loaded (run/loadGate.ts). */
  readonly loaded: number;
}

/** How long destroy() waits for a worker still loading before it tears the pool down anyway. */
const LOAD_WAIT_MS = 10_000;

export function createPool<T, R>(filename: string, threads: number, workerData: object): WorkerPool<T, R> {
  const loaded = new SharedArrayBuffer(4);
  // Atomics 'async': an idle worker waits with Atomics.waitAsync, so its event loop runs and the
  // task file's import() of the ES worker finishes before the first task ('sync' blocks the loop).
  const pool = new Piscina({ filename, minThreads: threads, maxThreads: threads, workerData: { ...workerData, loaded } satisfies LoadGate, idleTimeout: 1000, atomics: 'async' });
  let failure: Error | undefined;
  pool.on('error', (e: Error) => {
    failure ??= e;
  });
  const count = new Int32Array(loaded);
  let destroying: Promise<void> | undefined;
  const destroy = async () => {
    for (const t0 = performance.now(); Atomics.load(count, 0) < threads && failure === undefined && performance.now() - t0 < LOAD_WAIT_MS;) await sleep(1);
    await pool.destroy();
  };
  return {
    run: (task: T) => pool.run(task) as Promise<R>,
    destroy: () => (destroying ??= destroy()),
    get failure() {
      return failure;
    },
    get loaded() {
      return Atomics.load(count, 0);
    },
  };
}
