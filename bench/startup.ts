// Question: how long does a small command take as a whole process — node's own start-up, loading
// the CLI and the engine, building a machine, running, printing — against a bare `node -e 0`?
// (Issue 11: `run --pages 64` ≤ 3× `node -e 0`.) Each is a child process, timed from spawn to exit.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { timedMetric } from './metrics.js';
import { pairedRatios, statCell, summarize } from './stats.js';
import type { Bar, BenchContext, BenchModule, Metric, Ratio, Section, Target } from './types.js';

/** The target: a 64-page run at most 3× a bare node, whole process. */
export const TARGET_STARTUP = 3;

/** bin/gartbench.mjs, from dist/bench/startup.js. */
export const BIN = fileURLToPath(new URL('../../bin/gartbench.mjs', import.meta.url));

export interface StartupCase {
  id: string;
  /** As a user types it. */
  command: string;
  argv: string[];
}

export function startupCases(): StartupCase[] {
  const g = (...a: string[]) => ({ command: `gartbench ${a.join(' ')}`, argv: [BIN, ...a] });
  return [
    { id: 'node', command: 'node -e 0', argv: ['-e', '0'] },
    { id: 'run', ...g('run', '--pages', '64') },
    { id: 'run-json', ...g('run', '--pages', '64', '--json') },
    { id: 'help', ...g('run', '--help') },
  ];
}

/** Runs `node ARGV…` as a child process: its wall time in ms (spawn to exit) and, with
 * `keepOutput`, its standard output; a non-zero exit is an error naming the command. */
export function runProcess(argv: string[], command: string, keepOutput = false): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', keepOutput ? 'pipe' : 'ignore', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, stdout: out });
      else reject(new Error(`${command} exited ${code}: ${err.trim()}`));
    });
  });
}

/** Whole-process wall time of `node ARGV…` in ms. */
export async function timeProcess(argv: string[], command: string): Promise<number> {
  return (await runProcess(argv, `start-up: ${command}`)).ms;
}

/** Each process (`node ARGV…`) `rounds` times after `warmup`, interleaved so that a burst of
 * load from elsewhere falls on every command alike: wall ms by id. */
export async function processRounds(procs: { id: string; argv: string[]; command: string }[], rounds: number, warmup: number): Promise<Record<string, number[]>> {
  const ms: Record<string, number[]> = Object.fromEntries(procs.map((p) => [p.id, [] as number[]]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const p of procs) {
      const t = await timeProcess(p.argv, p.command);
      if (r >= warmup) ms[p.id]!.push(t);
    }
  }
  return ms;
}

export async function measureStartup(rounds: number, warmup: number, log: (l: string) => void): Promise<Section> {
  const cases = startupCases();
  log(`start-up: ${rounds} rounds (after ${warmup} warm-up) of ${cases.length} processes`);
  const ms = await processRounds(cases, rounds, warmup);
  const base = ms.node!;
  const rows: (string | number)[][] = [];
  const bars: Bar[] = [];
  const metrics: Metric[] = [];
  const targets: Target[] = [];
  const ratios: Record<string, Ratio> = {};
  for (const c of cases) {
    const s = summarize(ms[c.id]!);
    const times = summarize(pairedRatios(ms[c.id]!, base)); // command ÷ node -e 0, round by round
    rows.push([c.command, statCell(s, (v) => v.toFixed(0)), s.samples, c.id === 'node' ? 'baseline' : `${statCell(times, (v) => v.toFixed(2))}×`]);
    bars.push({ label: c.command, value: s.median, lo: s.min, hi: s.max, text: `${s.median.toFixed(0)} ms` });
    if (c.id === 'node') continue;
    // Bigger is better in benchmark.json and in the CI comparison: node ÷ command.
    const share = pairedRatios(base, ms[c.id]!);
    ratios[`start-up: node -e 0 ÷ ${c.command}, whole process`] = { kind: 'micro', samples: share };
    metrics.push(timedMetric(`start-up: node -e 0 ÷ ${c.command}, whole process`, 'x', summarize(share)));
    if (c.id === 'run') targets.push({ what: `${c.command} ≤ ${TARGET_STARTUP}× node -e 0, whole process (median of round-by-round ratios)`, measured: `${statCell(times, (v) => v.toFixed(2))}×, ${times.samples} rounds`, met: times.median <= TARGET_STARTUP });
  }
  return {
    id: 'startup',
    title: 'Start-up: a small command as a whole process',
    question: 'How long does `gartbench run --pages 64` take from spawn to exit, against a bare `node -e 0` on the same machine?',
    tables: [{
      caption: `Each command is a child process of this node (${process.version}), timed from spawn to exit; ${rounds} rounds after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, each round runs every command in turn, so each ratio is taken round by round. Median (min–max) in ms.`,
      columns: ['command', 'wall ms', 'samples', '÷ node -e 0'],
      rows,
    }],
    metrics,
    charts: [{ title: 'Whole-process wall time, ms (whiskers: min–max)', unit: 'ms', bars }],
    targets,
    notes: ['A command loads only what it uses (test/startup.test.ts checks which modules each loads): no charting or benchmark library, no worker pool for one worker, no reference model for the Wasm engine.'],
    ratios,
  };
}

export const startup: BenchModule = {
  id: 'startup',
  run: (ctx: BenchContext) => measureStartup(ctx.quick ? 10 : 20, 2, ctx.log),
};
