// The worker threads of a run started before the command line is fully read: bin/gartbench.mjs
// calls prestart() first, so a worker thread boots (node's worker bootstrap, its own module
// loading: ~50 ms on the 2-core VMs) while this thread loads the CLI, reads the options and
// builds the plan, instead of after (run/pool.ts took a worker lane's first cell that much later
// than the main lane's). Different, for speed only: a guess from the command line, made only where
// it shows several cells (a matrix, `run --replicas R` with R ≥ 2, `replay --platform all`) and
// never past the cores (no guess under --oversubscribe) nor past `--workers`' range. The run takes
// the pool only when it has the threads chooseWorkers gives (run/executor.ts); a guess that does
// not fit (fewer cells, the options refused) is torn down by release(), at once when the run makes
// its own, which waits for its workers to have loaded (run/piscina.ts says why). Counters never
// depend on it.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LaneOutput, LaneTask } from './lanes.js';
import type { WorkerPool } from './piscina.js';

const COMMANDS = new Set(['run', 'matrix', 'replay']);

let early: { threads: number; pool: WorkerPool<LaneTask, LaneOutput> } | undefined;

/** The worker threads (besides this one) that `argv` will surely get, as chooseWorkers caps them by
 * the cells and the cores; 0 when that is not plain from the command line. */
export function guessThreads(argv: readonly string[], cores = availableParallelism()): number {
  if (!COMMANDS.has(argv[0] ?? '')) return 0;
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  if (words.some((a) => a === '-h' || a === '--help' || a === '--oversubscribe' || a.startsWith('--shard'))) return 0;
  // The last value of an option, as the parser takes it.
  const last = (name: string): string | undefined => {
    let v: string | undefined;
    words.forEach((a, i) => {
      if (a === `--${name}`) v = words[i + 1];
      else if (a.startsWith(`--${name}=`)) v = a.slice(name.length + 3);
    });
    return v;
  };
  const int = (v: string | undefined, dflt: number) => (v === undefined ? dflt : /^\d{1,3}$/.test(v) ? Number(v) : 0);
  const asked = int(last('workers'), 1);
  if (asked < 2 || asked > 256) return 0;
  // At least this many cells: a matrix has 4 platforms or more; replay --platform all as many.
  const cells = argv[0] === 'run' ? int(last('replicas'), 1) : argv[0] === 'matrix' || last('platform') === 'all' ? 4 : 1;
  return Math.max(0, Math.min(asked, cells, cores) - 1);
}

/** A pool of `threads` lane workers (run/worker.ts behind its CommonJS task file); the piscina
 * library loads only here, when a run has worker lanes. */
export async function lanePool(threads: number): Promise<WorkerPool<LaneTask, LaneOutput>> {
  const { createPool } = await import('./piscina.js');
  return createPool<LaneTask, LaneOutput>(fileURLToPath(new URL('./workerEntry.cjs', import.meta.url)), threads, {});
}

/** Starts the pool `argv` will probably want. */
export async function prestart(argv: readonly string[]): Promise<void> {
  const threads = guessThreads(argv);
  if (threads === 0 || early) return;
  early = { threads, pool: await lanePool(threads) };
}

/** The prestarted pool, if it has `threads` threads; once (a later run makes its own). One that
 * does not fit starts going at once. */
export function takePrestarted(threads: number): WorkerPool<LaneTask, LaneOutput> | undefined {
  if (!early) return undefined;
  if (early.threads !== threads) return void release();
  const { pool } = early;
  early = undefined;
  return pool;
}

let releasing: Promise<void> | undefined;

/** Tears down a prestarted pool no run took (after its workers loaded); the same promise each call. */
export function release(): Promise<void> {
  const e = early;
  early = undefined;
  if (e) releasing = e.pool.destroy();
  return releasing ?? Promise.resolve();
}
