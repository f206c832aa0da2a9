// Our one wrapper around piscina 5: a pool of worker threads that each receive the compiled Wasm
// module once. Errors from starting workers are caught (an unheard 'error' event kills node).
import { Piscina } from 'piscina';

export interface WorkerPool<T, R> {
  run(task: T): Promise<R>;
  destroy(): Promise<void>;
  /** The first pool-level error, if any (a worker that failed to start). */
  readonly failure: Error | undefined;
}

export function createPool<T, R>(filename: string, threads: number, workerData: unknown): WorkerPool<T, R> {
  const pool = new Piscina({ filename, minThreads: threads, maxThreads: threads, workerData, idleTimeout: 1000 });
  let failure: Error | undefined;
  pool.on('error', (e: Error) => {
    failure ??= e;
  });
  return {
    run: (task: T) => pool.run(task) as Promise<R>,
    destroy: () => pool.destroy(),
    get failure() {
      return failure;
    },
  };
}
