// CI: compares a report's machine-independent ratios with the committed baseline. Changes
// beyond the noise band are printed; only a regression worse than 2× fails (exit 1).
// usage: node dist/bench/compare.js REPORT.json BASELINE.json [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import type { BenchReport } from './report.js';

const NOISE = 0.25; // ±25%: the band within which a ratio is called unchanged
const FAIL = 2; // a ratio that fell to less than half its baseline fails the run

export function ratiosOf(r: BenchReport): Record<string, number> {
  return Object.assign({}, ...r.sections.map((s) => s.ratios));
}

export interface Comparison { key: string; base: number; now: number; change: number; verdict: 'same' | 'better' | 'worse' | 'regression' | 'new' }

export function compare(now: Record<string, number>, base: Record<string, number>): Comparison[] {
  return Object.keys(now).sort().map((key) => {
    const b = base[key];
    const n = now[key]!;
    if (b === undefined || !(b > 0)) return { key, base: NaN, now: n, change: NaN, verdict: 'new' as const };
    const change = n / b;
    const verdict = change < 1 / FAIL ? 'regression' : change < 1 - NOISE ? 'worse' : change > 1 + NOISE ? 'better' : 'same';
    return { key, base: b, now: n, change, verdict };
  });
}

function main(argv: string[]): number {
  const [reportPath, basePath] = argv;
  if (!reportPath || !basePath) {
    process.stderr.write('usage: compare REPORT.json BASELINE.json [--write]\n');
    return 2;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as BenchReport;
  const now = ratiosOf(report);
  if (argv.includes('--write')) {
    writeFileSync(basePath, JSON.stringify({ about: 'Machine-independent ratios from `npm run bench -- --quick`; CI fails on a regression worse than 2×.', environment: report.environment, ratios: now }, null, 2) + '\n');
    process.stdout.write(`baseline written to ${basePath}\n`);
    return 0;
  }
  const base = (JSON.parse(readFileSync(basePath, 'utf8')) as { ratios: Record<string, number> }).ratios;
  const rows = compare(now, base);
  process.stdout.write('\n## Compared with the baseline (ratios that do not depend on machine speed)\n\n| ratio | baseline | now | change | |\n|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.key} | ${Number.isNaN(r.base) ? '—' : r.base.toFixed(2)} | ${r.now.toFixed(2)} | ${Number.isNaN(r.change) ? '—' : `${((r.change - 1) * 100).toFixed(0)}%`} | ${r.verdict} |\n`);
  }
  const bad = rows.filter((r) => r.verdict === 'regression');
  if (bad.length) {
    process.stdout.write(`\nFAIL: ${bad.map((r) => r.key).join(', ')} regressed by more than ${FAIL}×\n`);
    return 1;
  }
  process.stdout.write(`\nno regression worse than ${FAIL}× (noise band ±${NOISE * 100}%)\n`);
  return 0;
}

if (process.argv[1]?.endsWith('compare.js')) process.exitCode = main(process.argv.slice(2));
