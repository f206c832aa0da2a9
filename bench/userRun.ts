// The commands a user types, run in this process through the CLI's own entry point
// (src/cli/main.ts, what bin/gartbench.mjs calls) with --json: the end-to-end figures time the
// same code path `gartbench run` and `gartbench matrix` take — option parsing, plans, cells on
// this thread or on workers, results — minus the process start-up.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { main } from '../src/cli/main.js';
import { parseOptions } from '../src/cli/options.js';
import { workloadPlanFrom } from '../src/cli/plans.js';
import { RUN_SPECS } from '../src/cli/run.js';
import type { Result } from '../src/report/result.js';
import type { Plan } from '../src/run/plan.js';
import { interleavedRounds } from './rounds.js';

export interface UserRun {
  /** The command as a user would type it (without --json). */
  command: string;
  /** Wall time of the whole command in this process, as the bench measured it. */
  wallMs: number;
  /** One result for `run`, every cell for `matrix`. */
  results: Result[];
  /** Minor page faults this process took during the command (first touches of fresh memory, its
   * engine's and the harness's): what a machine whose faults cost more charges the command. */
  minorFaults: number;
}

/** `gartbench ARGV…`, as typed (a stable order: the argv as given). */
export function commandLine(argv: readonly string[]): string {
  return `gartbench ${argv.join(' ')}`;
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection in this thread, outside the timed part. A user's command starts in a
 * fresh process; here every command runs after the ones before it, whose dead machines (Wasm
 * memories of up to a few hundred MiB, each reserving gigabytes of address space) V8 frees only
 * when it next collects. Left to pile up they slowed later commands: a 2^19-page matrix on 2
 * workers measured 1.28× one worker with them, 1.55× without (3 rounds each). Node exposes gc()
 * only under --expose-gc, which the flag turns on for a fresh context.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Runs `gartbench ARGV… --json` in this process, after collecting the garbage of the commands
 * before it; a non-zero exit is an error naming the command. */
export async function userRun(argv: readonly string[]): Promise<UserRun> {
  let out = '';
  let err = '';
  collectGarbage();
  const f0 = process.resourceUsage().minorPageFault;
  const t0 = performance.now();
  const code = await main([...argv, '--json'], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  const wallMs = performance.now() - t0;
  const minorFaults = process.resourceUsage().minorPageFault - f0;
  if (code !== 0) throw new Error(`${commandLine(argv)} exited ${code}: ${err.trim()}`);
  const doc = JSON.parse(out) as Result | { cells: Result[] };
  return { command: commandLine(argv), wallMs, results: 'cells' in doc ? doc.cells : [doc], minorFaults };
}

/** `--name value` pairs, in order, as argv words. */
export function argvOf(options: Record<string, string | number>): string[] {
  return Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

/** The plan `gartbench run ARGV…` would run (its machine's config included), without running it. */
export function userPlan(argv: readonly string[]): Plan {
  if (argv[0] !== 'run') throw new Error(`userPlan: only 'run' commands, not '${argv[0]}'`);
  const { values, given } = parseOptions('run', argv.slice(1), RUN_SPECS);
  return workloadPlanFrom(values, given);
}

export interface CommandVariant {
  name: string;
  argv: string[];
}

/**
 * Interleaved rounds of user commands in this process (userRun): every round runs each command
 * once, in turn (bench/rounds.ts), so a burst of load from elsewhere falls on all of them alike and
 * ratios can be taken round by round. Returns every timed run of each variant, in round order.
 */
export function commandRounds(variants: CommandVariant[], rounds: number, warmup: number, log?: (l: string) => void): Promise<Record<string, UserRun[]>> {
  return interleavedRounds(variants, rounds, warmup, (v) => userRun(v.argv), log);
}

/** "2^19" for a power of two, else the number with separators. */
export function pow2(n: number): string {
  const k = Math.log2(n);
  return Number.isInteger(k) ? `2^${k}` : n.toLocaleString('en-US');
}
