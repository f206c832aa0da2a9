// The worker threads of a run started before the command line is fully read: bin/gartbench.mjs
// calls prestart() first, so a worker thread boots (node's worker bootstrap, its own module
// loading: ~50 ms on the 2-core VMs) while this thread loads the CLI, reads the options and
// builds the plan, instead of after (run/pool.ts took a worker lane's first cell that much later
// than the main lane's). Different, for speed only: it is a guess from `--workers` alone. The run
// takes the pool only when it has the threads chooseWorkers gives (run/executor.ts); a guess that
// does not fit (one cell, or the options are refused) is torn down by release(), which waits for
// its workers to have loaded (run/piscina.ts says why). Counters never depend on it.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LaneOutput, LaneTask } from './lanes.js';
import type { WorkerPool } from './piscina.js';

const COMMANDS = new Set(['run', 'matrix', 'replay']);

let early: { threads: number; pool: WorkerPool<LaneTask, LaneOutput> } | undefined;

/** The worker threads (besides this one) that `argv` asks for, as chooseWorkers would cap them by
 * the cores; 0 when none or when the command line is not one that runs cells. */
export function guessThreads(argv: readonly string[], cores = availableParallelism()): number {
  if (!COMMANDS.has(argv[0] ?? '')) return 0;
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  if (words.some((a) => a === '-h' || a === '--help')) return 0;
  let asked = 1;
  words.forEach((a, i) => {
    const v = a === '--workers' ? words[i + 1] : a.startsWith('--workers=') ? a.slice('--workers='.length) : undefined;
    if (v !== undefined && /^\d{1,4}$/.test(v)) asked = Number(v);
  });
  const workers = words.includes('--oversubscribe') ? asked : Math.min(asked, cores);
  return Math.max(0, workers - 1);
}

/** Starts the pool `argv` will probably want. */
export async function prestart(argv: readonly string[]): Promise<void> {
  const threads = guessThreads(argv);
  if (threads === 0 || early) return;
  const { createPool } = await import('./piscina.js');
  early = { threads, pool: createPool<LaneTask, LaneOutput>(fileURLToPath(new URL('./workerEntry.cjs', import.meta.url)), threads, {}) };
}

/** The prestarted pool, if it has `threads` threads; once (a later run makes its own). */
export function takePrestarted(threads: number): WorkerPool<LaneTask, LaneOutput> | undefined {
  if (!early || early.threads !== threads) return undefined;
  const { pool } = early;
  early = undefined;
  return pool;
}

/** Tears down a prestarted pool no run took (after its workers loaded). */
export async function release(): Promise<void> {
  const e = early;
  early = undefined;
  await e?.pool.destroy();
}
