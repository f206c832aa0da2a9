// How a worker tells its pool that its module has loaded (run/piscina.ts says why the pool waits
// for it). Its own file, so a worker does not load the piscina library to say so.

/** What the pool adds to the workers' workerData: an Int32Array's buffer, [0] = workers loaded. */
export interface LoadGate { loaded: SharedArrayBuffer }

/** Called once by a worker's task file, last in its module's top level. */
export function markLoaded(workerData: unknown): void {
  const gate = (workerData as Partial<LoadGate> | undefined)?.loaded;
  if (gate) Atomics.add(new Int32Array(gate), 0, 1);
}
