// A user's command as its own process: `node bin/gartbench.mjs ARGV… --json`, started by the
// bench's launcher (bench/startup.ts runProcess), with bench/childUsage.ts preloaded to report the
// process's own page faults. The end-to-end section times a run this way because that is what a
// user's `gartbench run` is: a fresh process, whose engine builds its machine on fresh memory and
// whose reference model starts with a cold JIT and an empty heap. In the bench's own process the
// model's later runs reuse the heap its earlier runs grew, while the Wasm engine's memory is fresh
// for every run (src/run/pool.ts drops it at a run's end), so there the model takes fewer faults
// than it would for a user.
import { type ChildUsage, USAGE_MARK } from './childUsage.js';
import { BIN, runProcess } from './startup.js';
import type { Result } from '../src/report/result.js';
import { interleavedRounds } from './rounds.js';
import { type CommandVariant, commandLine } from './userRun.js';

/** dist/bench/childUsage.js, as node's --import takes it. */
const CHILD_USAGE = new URL('./childUsage.js', import.meta.url).href;

export interface ProcessRun {
  /** Spawn to exit, measured by the launcher. */
  wallMs: number;
  result: Result;
  /** The process's own minor page faults, start-up included. */
  minorFaults: number;
  maxRssKiB: number;
}

/** Runs `gartbench ARGV… --json` (a `run` of one result) as its own process. */
export async function processRun(argv: readonly string[]): Promise<ProcessRun> {
  const command = commandLine(argv);
  const { ms, stdout, stderr } = await runProcess(['--import', CHILD_USAGE, BIN, ...argv, '--json'], command, true);
  const line = stderr.split('\n').find((l) => l.startsWith(USAGE_MARK));
  if (!line) throw new Error(`${command}: its process did not report its page faults (bench/childUsage.ts)`);
  const usage = JSON.parse(line.slice(USAGE_MARK.length)) as ChildUsage;
  const doc = JSON.parse(stdout) as Result | { cells: Result[] };
  if ('cells' in doc) throw new Error(`${command}: processRun takes a run of one result, not a matrix`);
  return { wallMs: ms, result: doc, ...usage };
}

/** Interleaved rounds of the commands, each as its own process (bench/rounds.ts). */
export function processRunRounds(variants: CommandVariant[], rounds: number, warmup: number, log?: (l: string) => void): Promise<Record<string, ProcessRun[]>> {
  return interleavedRounds(variants, rounds, warmup, (v) => processRun(v.argv), log, ' as processes');
}
