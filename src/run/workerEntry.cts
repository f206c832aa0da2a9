// The file piscina loads in each worker thread, as CommonJS. Piscina require()s its task file, and
// Node 20.19+ loads an ES module given to require() synchronously; a thread terminated while that
// load builds the module's facade (ModuleWrap::CreateRequiredModuleFacade) aborts the whole
// process (SIGABRT, "IsGraphAsync must be used on an instantiated module" or a failed assertion)
// — a Ctrl-C while the pool was still starting did that about once in 15 runs. require() of
// CommonJS has no such window, and the ES worker (worker.ts) arrives through import(), which a
// termination interrupts cleanly.
import type { LaneOutput, LaneTask } from './lanes.js';

const worker: Promise<typeof import('./worker.js')> = import('./worker.js');
// A worker module that fails to load has still ended its load (the require above is long done): it
// says so, or the pool's destroy() waits its whole LOAD_WAIT_MS for a mark that never comes.
worker.catch(async () => (await import('./loadGate.js')).markLoaded((await import('node:worker_threads')).workerData));

async function run(task: LaneTask): Promise<LaneOutput> {
  return (await worker).default(task);
}

export = run;
