// Question: did any figure that cannot vary by chance change? The quick strategy sweep (seed 1)
// is deterministic — verdicts, completion, every counter and the modelled figures are the same on
// every machine and with any number of workers — so CI compares them EXACTLY with the committed
// bench/golden.json. Timings (wallMs, pageOpsPerSec) and the host are left out: they vary.
//
//   node dist/bench/golden.js REPORT.json [GOLDEN]   compare a `bench --quick` report (exit 1 on any difference)
//   npm run golden                                   rerun the quick sweep and rewrite bench/golden.json
//
// Regenerate only when a change of semantics is intended, and commit the diff with that change.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from '../src/report/result.js';
import { packageFile } from '../src/paths.js';
import { type Sweep, runSpecs, strategySpecs, sweep } from './strategies.js';
import type { BenchReport } from './types.js';

export const GOLDEN_SEED = 1;
export const REGENERATE = 'npm run golden';

/** The deterministic part of one cell's result. */
export interface GoldenCell {
  verdict: string;
  completion: Result['completion'];
  counters: Record<string, number>;
  extra: Record<string, number>;
  modeled: Result['modeled'];
}

export interface Golden {
  about: string;
  seed: number;
  sweep: Sweep;
  /** Keyed "workload device platform strategy-or-gatt". */
  cells: Record<string, GoldenCell>;
}

export function cellKey(r: Result): string {
  const s = r.scenario;
  return `${s.workload} ${s.device} ${s.platform} ${s.strategy ?? s.gatt}`;
}

export function goldenOf(results: Result[], seed: number, sw: Sweep): Golden {
  const cells: Record<string, GoldenCell> = {};
  for (const r of results) {
    const key = cellKey(r);
    if (cells[key]) throw new Error(`golden: two cells named '${key}'`);
    cells[key] = { verdict: r.verdict, completion: r.completion, counters: r.counters, extra: r.extra, modeled: r.modeled };
  }
  return {
    about: `The quick strategy sweep's deterministic figures (verdict, completion, counters, modelled cost), compared exactly by CI. Regenerate with \`${REGENERATE}\` when a semantic change is intended, and commit the diff with it.`,
    seed, sweep: sw, cells,
  };
}

/** The strategy sweep's results from a `gartbench bench` report.json. */
export function resultsOf(report: BenchReport): Result[] {
  const s = report.sections.find((x) => x.id === 'strategies');
  if (!s) throw new Error('golden: the report has no strategies section (run `gartbench bench --quick`, not --only …)');
  return s.data as Result[];
}

export interface Difference { cell: string; field: string; old: unknown; now: unknown }

/** Every field that differs, as "cell / field: old → new"; [] when identical. */
export function diffGolden(old: Golden, now: Golden): Difference[] {
  const out: Difference[] = [];
  if (old.seed !== now.seed) out.push({ cell: '(sweep)', field: 'seed', old: old.seed, now: now.seed });
  for (const k of Object.keys({ ...old.sweep, ...now.sweep }) as (keyof Sweep)[]) {
    if (old.sweep[k] !== now.sweep[k]) out.push({ cell: '(sweep)', field: k, old: old.sweep[k], now: now.sweep[k] });
  }
  for (const key of new Set([...Object.keys(old.cells), ...Object.keys(now.cells)])) {
    const a = old.cells[key];
    const b = now.cells[key];
    if (!a || !b) {
      out.push({ cell: key, field: '(cell)', old: a ? 'present' : 'absent', now: b ? 'present' : 'absent' });
      continue;
    }
    const flat = (c: GoldenCell) => ({
      verdict: c.verdict,
      ...prefixed('completion', c.completion), ...prefixed('counters', c.counters), ...prefixed('extra', c.extra), ...prefixed('modeled', c.modeled),
    });
    const fa: Record<string, unknown> = flat(a);
    const fb: Record<string, unknown> = flat(b);
    for (const f of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
      if (!Object.is(fa[f], fb[f])) out.push({ cell: key, field: f, old: fa[f], now: fb[f] });
    }
  }
  return out;
}

function prefixed(p: string, o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}.${k}`, v]));
}

/** JSON with one line per cell field, so a changed counter shows as a readable diff. */
export function goldenText(g: Golden): string {
  const cells = Object.entries(g.cells).map(([key, c]) => {
    const fields = Object.entries(c).map(([f, v]) => `      ${JSON.stringify(f)}: ${JSON.stringify(v)}`).join(',\n');
    return `    ${JSON.stringify(key)}: {\n${fields}\n    }`;
  });
  return `{\n  "about": ${JSON.stringify(g.about)},\n  "seed": ${g.seed},\n  "sweep": ${JSON.stringify(g.sweep)},\n  "cells": {\n${cells.join(',\n')}\n  }\n}\n`;
}

const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));

async function main(argv: string[]): Promise<number> {
  const file = (p?: string) => p ?? packageFile('bench', 'golden.json');
  if (argv[0] === '--write') {
    const sw = sweep(true);
    const { results } = await runSpecs(strategySpecs(sw, GOLDEN_SEED), 2, (l) => process.stderr.write(`${l}\n`));
    const path = file(argv[1]);
    writeFileSync(path, goldenText(goldenOf(results, GOLDEN_SEED, sw)));
    process.stdout.write(`golden file written to ${path} (${results.length} cells); commit its diff with the change that caused it\n`);
    return 0;
  }
  if (!argv[0] || argv[0].startsWith('-')) {
    process.stderr.write('usage: golden REPORT.json [GOLDEN]   |   golden --write [GOLDEN]\n');
    return 2;
  }
  const report = JSON.parse(readFileSync(argv[0], 'utf8')) as BenchReport;
  const old = JSON.parse(readFileSync(file(argv[1]), 'utf8')) as Golden;
  const diffs = diffGolden(old, goldenOf(resultsOf(report), report.environment.seed, sweep(report.environment.quick)));
  if (!diffs.length) {
    process.stdout.write(`golden: all ${Object.keys(old.cells).length} cells of the quick strategy sweep match ${file(argv[1])} exactly\n`);
    return 0;
  }
  process.stdout.write(`golden: ${diffs.length} difference${diffs.length === 1 ? '' : 's'} from ${file(argv[1])} (cell / field: golden → now):\n`);
  for (const d of diffs.slice(0, 50)) process.stdout.write(`  ${d.cell} / ${d.field}: ${show(d.old)} → ${show(d.now)}\n`);
  if (diffs.length > 50) process.stdout.write(`  … ${diffs.length - 50} more\n`);
  process.stdout.write(`FAIL: a deterministic figure changed. If the change is intended, run \`${REGENERATE}\` and commit bench/golden.json with it.\n`);
  return 1;
}

if (process.argv[1]?.endsWith('golden.js')) process.exitCode = await main(process.argv.slice(2));
