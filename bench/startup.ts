// Question: how long does a small command take as a whole process — node's own start-up, loading
// the CLI and the engine, building a machine, running, printing — against a bare `node -e 0`?
// (Issue 11: `run --pages 64` ≤ 3× `node -e 0`.) Each is a child process, timed from spawn to exit
// by a small launcher process (bench/launcher.ts), not forked from the bench's own large one.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { timedMetric } from './metrics.js';
import { interleavedRounds } from './rounds.js';
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

/** dist/bench/launcher.js: the small process the children start from (its header says why). */
const LAUNCHER = fileURLToPath(new URL('./launcher.js', import.meta.url));

interface Launcher { child: ChildProcess; lines: AsyncIterator<string>; queue: Promise<unknown> }
let launcher: Launcher | undefined;

/** The launcher, started on first use; it holds the event loop only while a request is out. */
function theLauncher(): Launcher {
  if (!launcher) {
    const child = spawn(process.execPath, [LAUNCHER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    launcher = { child, lines, queue: Promise.resolve() };
    child.on('exit', () => { launcher = undefined; });
    idle(launcher, true);
  }
  return launcher;
}

function idle(l: Launcher, yes: boolean): void {
  const handles = [l.child, l.child.stdin as unknown as { ref(): void; unref(): void }, l.child.stdout as unknown as { ref(): void; unref(): void }];
  for (const h of handles) if (yes) h.unref(); else h.ref();
}

/** Runs `node ARGV…` as a child of the launcher: its wall time in ms (spawn to exit, measured
 * there), with `keepOutput` its standard output, and its standard error; a non-zero exit is an
 * error naming the command. */
export function runProcess(argv: string[], command: string, keepOutput = false): Promise<{ ms: number; stdout: string; stderr: string }> {
  const l = theLauncher();
  const next = l.queue.then(async () => {
    idle(l, false);
    try {
      l.child.stdin!.write(`${JSON.stringify({ argv, keepOutput })}\n`);
      const { value, done } = await l.lines.next();
      if (done) throw new Error(`${command}: the bench's process launcher ended`);
      const r = JSON.parse(value) as { ms: number; code: number | null; stdout: string; stderr: string };
      if (r.code !== 0) throw new Error(`${command} exited ${r.code}: ${r.stderr.trim()}`);
      return { ms: r.ms, stdout: r.stdout, stderr: r.stderr };
    } finally {
      idle(l, true);
    }
  });
  l.queue = next.catch(() => undefined);
  return next;
}

/** Whole-process wall time of `node ARGV…` in ms. */
export async function timeProcess(argv: string[], command: string): Promise<number> {
  return (await runProcess(argv, `start-up: ${command}`)).ms;
}

/** Each process (`node ARGV…`) `rounds` times after `warmup`, interleaved so that a burst of
 * load from elsewhere falls on every command alike: wall ms by id. */
export async function processRounds(procs: { id: string; argv: string[]; command: string }[], rounds: number, warmup: number): Promise<Record<string, number[]>> {
  return interleavedRounds(procs.map((p) => ({ name: p.id, ...p })), rounds, warmup, (p) => timeProcess(p.argv, p.command));
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
      caption: `Each command is a process of this node (${process.version}), started and timed from spawn to exit by a small launcher process (bench/launcher.ts: a child of the bench itself would pay to fork the bench's few hundred MiB); ${rounds} rounds after ${warmup} warm-up round${warmup === 1 ? '' : 's'}, each round runs every command in turn, so each ratio is taken round by round. Median (min–max) in ms.`,
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
