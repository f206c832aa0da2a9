// Question: where does the time of a whole `gartbench run` go — which engine functions, how much
// in the harness (workload generation, results), in node's start-up and in the garbage collector?
// Each command runs in a child process under node's --cpu-prof; self time is summed by function
// name. The release engine carries no name section: its functions are named from build/engine.wat,
// which the same asc run writes (checked against the module's function count).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageFile } from '../src/paths.js';
import { costPerPageConfig, sweepArgv } from './costPerPage.js';
import { endToEndConfig, uploadArgv } from './endToEnd.js';
import { type Stat, round3, statCell, summarize } from './stats.js';
import type { BenchContext, BenchModule, Section, Table } from './types.js';
import { commandLine, pow2 } from './userRun.js';

/** The parts of a .cpuprofile (Chrome DevTools Profiler.Profile) read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

export type Where = 'Wasm engine' | 'gartbench (JS)' | 'node' | 'garbage collector' | 'V8 (program)';
export const WHERE: Where[] = ['Wasm engine', 'gartbench (JS)', 'node', 'garbage collector', 'V8 (program)'];

/** Function names by index in the module's function space (imports first), from a .wat file. */
export function watFunctionNames(wat: string): string[] {
  const names: string[] = [];
  for (const m of wat.matchAll(/^ \((?:import "[^"]*" "[^"]*" \(func|func) \$(\S+)/gm)) names.push(m[1]!);
  return names;
}

function leb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++]!;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return [v, at];
  }
}

/** Functions in a module's function space: imported ones plus the function section's count. */
export function wasmFunctionCount(bytes: Uint8Array): number {
  const imported = WebAssembly.Module.imports(new WebAssembly.Module(new Uint8Array(bytes))).filter((i) => i.kind === 'function').length;
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, body] = leb(bytes, at + 1);
    if (id === 3) return imported + leb(bytes, body)[0];
    at = body + size;
  }
  return imported;
}

/** The engine's function names, or none when build/engine.wat does not describe build/engine.wasm. */
export function engineFunctionNames(): string[] {
  try {
    const names = watFunctionNames(readFileSync(packageFile('build', 'engine.wat'), 'utf8'));
    return names.length === wasmFunctionCount(readFileSync(packageFile('build', 'engine.wasm'))) ? names : [];
  } catch {
    return [];
  }
}

export interface FunctionTime { name: string; where: Where; us: number }

export interface ProfileSummary {
  /** Self time of every function, in µs (idle excluded). */
  functions: FunctionTime[];
  totalUs: number;
  samples: number;
}

/** Where a call frame runs, and the name it is summed under. */
export function frameName(f: { functionName: string; url: string }, wasmNames: readonly string[]): { name: string; where: Where } | null {
  if (f.functionName === '(idle)' || f.functionName === '(root)') return null;
  if (f.functionName === '(garbage collector)') return { name: '(garbage collector)', where: 'garbage collector' };
  if (f.functionName === '(program)') return { name: '(program)', where: 'V8 (program)' };
  if (f.url.startsWith('wasm://')) {
    const i = /^(?:\$?wasm-function)\[(\d+)\]$/.exec(f.functionName)?.[1];
    const raw = i !== undefined ? (wasmNames[Number(i)] ?? f.functionName) : f.functionName.replace(/^\$/, '');
    return { name: raw.replace(/^assembly\//, ''), where: 'Wasm engine' };
  }
  const name = f.functionName || '(anonymous)';
  const dist = /\/dist\/((?:src|bench)\/.*)$/.exec(f.url)?.[1];
  if (dist) return { name: `${name} (${dist})`, where: 'gartbench (JS)' };
  return { name: `${name} (node)`, where: 'node' };
}

/** Self time by function name: each sample lasts until the next one. */
export function summarizeProfile(p: CpuProfile, wasmNames: readonly string[]): ProfileSummary {
  const frames = new Map(p.nodes.map((n) => [n.id, frameName(n.callFrame, wasmNames)]));
  const by = new Map<string, FunctionTime>();
  let totalUs = 0;
  let samples = 0;
  p.samples.forEach((id, i) => {
    const f = frames.get(id);
    const us = p.timeDeltas[i + 1] ?? 0;
    if (!f || us <= 0) return;
    const t = by.get(f.name) ?? { ...f, us: 0 };
    t.us += us;
    by.set(f.name, t);
    totalUs += us;
    samples++;
  });
  return { functions: [...by.values()].sort((a, b) => b.us - a.us), totalUs, samples };
}

export interface ProfiledCommand {
  argv: string[];
  /** A short name for the chart's title. */
  label: string;
  /** Why this command. */
  why: string;
}

export interface ProfileConfig {
  commands: ProfiledCommand[];
  repeats: number;
  intervalUs: number;
  top: number;
}

export function profileConfig(quick: boolean, seed: number): ProfileConfig {
  const e2e = endToEndConfig(quick, seed);
  const cpp = costPerPageConfig(quick, seed);
  const half = cpp.large / 2;
  return {
    commands: [
      { argv: uploadArgv(e2e, 'legacy', 'wasm'), label: `xen-pv r100 legacy upload, ${pow2(e2e.pages)} pages`, why: 'the end-to-end table\'s first command (the issue\'s example)' },
      { argv: uploadArgv(e2e, 'coherent', 'wasm'), label: `xen-pv r100 coherent upload, ${pow2(e2e.pages)} pages`, why: 'one of the end-to-end table\'s two strategies that trade frames with Xen (coherent, xen-aware): two XENMEM_exchanges a page, in Xen\'s heap' },
      { argv: sweepArgv(cpp, half), label: `swiotlb-force r600 sync upload, ${pow2(half)} pages`, why: `the cost-per-page sweep at ${pow2(half)} pages` },
    ],
    repeats: 5,
    intervalUs: quick ? 200 : 500,
    top: 15,
  };
}

/** One whole run of `gartbench ARGV… --json` in a child process under --cpu-prof. */
export function profileOnce(argv: readonly string[], intervalUs: number): { profile: CpuProfile; wallMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'gartbench-prof-'));
  try {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(intervalUs), packageFile('bin', 'gartbench.mjs'), ...argv, '--json'], {
      encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 256 * 2 ** 20, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const wallMs = performance.now() - t0;
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`profile: ${commandLine(argv)} exited ${r.status}: ${r.stderr.trim()}`);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`profile: expected one .cpuprofile, found ${files.length}`);
    return { profile: JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as CpuProfile, wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (v: number) => v.toFixed(1);

/** The tables of one command's profiles: where time goes by part, then the top functions. */
export function profileTables(argv: readonly string[], why: string, runs: { summary: ProfileSummary; wallMs: number }[], top: number): { tables: Table[]; topStats: { name: string; where: Where; share: Stat }[] } {
  const share = (s: ProfileSummary, pick: (f: FunctionTime) => boolean) => (100 * s.functions.filter(pick).reduce((a, f) => a + f.us, 0)) / s.totalUs;
  const byPart = WHERE.map((w) => ({ w, share: summarize(runs.map((r) => share(r.summary, (f) => f.where === w))) }));
  const names = new Map<string, Where>();
  for (const r of runs) for (const f of r.summary.functions) names.set(f.name, f.where);
  const ranked = [...names].map(([name, where]) => ({ name, where, share: summarize(runs.map((r) => share(r.summary, (f) => f.name === name))) }))
    .sort((a, b) => b.share.median - a.share.median || b.share.max - a.share.max).slice(0, top);
  const wall = summarize(runs.map((r) => r.wallMs));
  const samples = summarize(runs.map((r) => r.summary.samples));
  const cmd = commandLine(argv);
  return {
    tables: [
      {
        caption: `\`${cmd}\` — ${why}. ${runs.length} profiles, each a whole process (node's start-up included) under node --cpu-prof: process wall ${statCell(wall, (v) => v.toFixed(0))} ms, ${statCell(samples, (v) => v.toFixed(0))} profile samples. Share of all non-idle self time, median (min–max) over the profiles.`,
        columns: ['part', 'share of self time %', 'profiles'],
        rows: byPart.map(({ w, share: s }) => [w, statCell(s, pct), s.samples]),
      },
      {
        caption: `Top ${ranked.length} functions by median self time of the same profiles (Wasm names from build/engine.wat; JS functions with their file under dist/).`,
        columns: ['#', 'function', 'where', 'share of self time %', 'profiles'],
        rows: ranked.map((f, i) => [i + 1, f.name, f.where, statCell(f.share, pct), f.share.samples]),
      },
    ],
    topStats: ranked,
  };
}

export async function measureProfile(c: ProfileConfig, log: (l: string) => void): Promise<Section> {
  const names = engineFunctionNames();
  const tables: Table[] = [];
  const charts = [];
  const notes: string[] = [];
  for (const cmd of c.commands) {
    log(`profile: ${c.repeats} × ${commandLine(cmd.argv)}`);
    const runs = Array.from({ length: c.repeats }, () => {
      const { profile, wallMs } = profileOnce(cmd.argv, c.intervalUs);
      return { summary: summarizeProfile(profile, names), wallMs };
    });
    const t = profileTables(cmd.argv, cmd.why, runs, c.top);
    tables.push(...t.tables);
    const engineOnly = t.topStats.filter((f) => f.where === 'Wasm engine').slice(0, 10);
    charts.push({
      title: `Top Wasm engine functions, % of all self time: ${cmd.label} (whiskers: min–max of ${c.repeats} profiles)`,
      unit: '% of self time',
      bars: engineOnly.map((f) => ({ label: f.name, value: +round3(f.share.median), lo: f.share.min, hi: f.share.max, text: `${pct(f.share.median)}%` })),
    });
  }
  if (names.length === 0) notes.push('build/engine.wat did not match build/engine.wasm: Wasm functions are shown by index (wasm-function[N]).');
  notes.push(`Sampling interval ${c.intervalUs} µs. Each sample's self time lasts until the next sample; (idle) is left out. "node" is node's own JavaScript and native code (module loading, file I/O); "V8 (program)" is time V8 attributes to no function.`);
  notes.push('The optimised engine inlines small functions into their callers: a function\'s time here includes what was inlined into it.');
  return {
    id: 'profile',
    title: 'Where engine time goes: CPU profiles of whole runs',
    question: 'In a whole `gartbench run`, which functions take the time — the Wasm engine\'s, the harness\'s, node\'s start-up, the garbage collector?',
    tables,
    metrics: [],
    charts,
    targets: [],
    notes,
    ratios: {},
  };
}

export const profile: BenchModule = {
  id: 'profile',
  run: (ctx: BenchContext) => measureProfile(profileConfig(ctx.quick, ctx.seed), ctx.log),
};
