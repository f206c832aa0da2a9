// CI: timings printed beside their committed baseline (bench/baseline.json), failing only on
// what cannot happen by chance: an end-to-end ratio (the Wasm engine ÷ the reference model on a
// user's whole `gartbench run`, bench/endToEnd.ts) whose MEDIAN over at least 5 samples fell below
// half its baseline. A micro ratio (one primitive, one loop), a parallel speed-up (it depends on
// free cores), a scale ratio (one engine at two sizes; a fixed cost such as the machine's build
// moves it) or a later-cell ratio (the engines on memory their thread touched before: what first
// touches cost this machine) never fails, nor does an absolute timing (it depends on the machine),
// nor a target.
// usage: node dist/bench/compare.js REPORT.json BASELINE.json [--write]
//   --write records the report's medians as the new baseline (commit it with the reason).
import { readFileSync, writeFileSync } from 'node:fs';
import { MIN_SAMPLES, type Stat, round3, statCell, summarize } from './stats.js';
import type { BenchReport, Ratio } from './types.js';

const NOISE = 0.25; // ±25%: the band within which a ratio is called unchanged
const FAIL = 2; // an end-to-end ratio whose median fell below half its baseline fails the run

export function ratiosOf(r: BenchReport): Record<string, Ratio> {
  return Object.assign({}, ...r.sections.map((s) => s.ratios));
}

export type Verdict = 'same' | 'better' | 'worse' | 'regression' | 'new' | 'too few samples';

export interface Comparison {
  key: string;
  kind: Ratio['kind'];
  base: number | null;
  now: Stat;
  /** now.median ÷ base */
  change: number | null;
  verdict: Verdict;
  /** Only an end-to-end regression over at least MIN_SAMPLES samples fails CI. */
  fails: boolean;
}

export function compareOne(key: string, r: Ratio, base: number | undefined): Comparison {
  const now = summarize(r.samples);
  if (base === undefined || !(base > 0)) return { key, kind: r.kind, base: null, now, change: null, verdict: 'new', fails: false };
  const change = now.median / base;
  const halved = change < 1 / FAIL;
  if (halved && r.kind === 'end-to-end') {
    return now.samples >= MIN_SAMPLES
      ? { key, kind: r.kind, base, now, change, verdict: 'regression', fails: true }
      : { key, kind: r.kind, base, now, change, verdict: 'too few samples', fails: false };
  }
  const verdict: Verdict = change < 1 - NOISE ? 'worse' : change > 1 + NOISE ? 'better' : 'same';
  return { key, kind: r.kind, base, now, change, verdict, fails: false };
}

export function compare(now: Record<string, Ratio>, base: Record<string, number>): Comparison[] {
  return Object.keys(now).sort().map((key) => compareOne(key, now[key]!, base[key]));
}

export interface Baseline {
  about: string;
  environment: BenchReport['environment'];
  /** Median of each ratio. */
  ratios: Record<string, number>;
  /** Median of each timed benchmark.json figure, for reading beside the new one (never compared for failure). */
  timings: Record<string, { value: number; unit: string }>;
}

export function baselineOf(r: BenchReport): Baseline {
  const ratios = Object.fromEntries(Object.entries(ratiosOf(r)).map(([k, v]) => [k, summarize(v.samples).median]));
  const timings = Object.fromEntries(r.sections.flatMap((s) => s.metrics).filter((m) => m.timed).map((m) => [m.name, { value: m.value, unit: m.unit }]));
  return {
    about: `Medians from \`npm run bench -- --quick\`, read by bench/compare.ts. Only an end-to-end ratio fails CI, when its median over at least ${MIN_SAMPLES} samples falls below 1/${FAIL} of the value here. Rewrite with: node dist/bench/compare.js bench-results/report.json bench/baseline.json --write`,
    environment: r.environment,
    ratios,
    timings,
  };
}

const pct = (c: number | null) => (c === null ? '—' : `${c >= 1 ? '+' : ''}${((c - 1) * 100).toFixed(0)}%`);

/** The printed comparison (markdown) and whether CI fails. */
export function render(r: BenchReport, base: Baseline): { text: string; fails: Comparison[] } {
  const rows = compare(ratiosOf(r), base.ratios);
  const out: string[] = [];
  out.push('', '## Ratios compared with the baseline', '', `Only an end-to-end ratio can fail: its median over at least ${MIN_SAMPLES} samples below 1/${FAIL} of the baseline. Micro, parallel, scale and later-cell ratios are printed, never failed.`, '');
  out.push('| ratio | kind | baseline | now: median (min–max) | samples | change | verdict |', '|---|---|---|---|---|---|---|');
  for (const c of rows) {
    const v = c.fails ? '**REGRESSION (fails)**' : c.verdict === 'worse' && c.kind !== 'end-to-end' ? 'worse (never fails)' : c.verdict;
    out.push(`| ${c.key} | ${c.kind} | ${c.base === null ? '—' : round3(c.base)} | ${statCell(c.now)} | ${c.now.samples} | ${pct(c.change)} | ${v} |`);
  }
  out.push('', '## Timings beside the baseline (machine-dependent: never failed)', '', '| figure | unit | baseline | now: median | range | samples | change |', '|---|---|---|---|---|---|---|');
  for (const m of r.sections.flatMap((s) => s.metrics).filter((x) => x.timed)) {
    const b = base.timings?.[m.name];
    const n = /median of (\d+) samples/.exec(m.extra ?? '')?.[1] ?? '?';
    out.push(`| ${m.name} | ${m.unit} | ${b ? round3(b.value) : '—'} | ${round3(m.value)} | ${m.range ?? '—'} | ${n} | ${b ? pct(m.value / b.value) : '—'} |`);
  }
  const gone = Object.keys(base.ratios).filter((k) => !rows.some((c) => c.key === k)).sort();
  if (gone.length) out.push('', `In the baseline, not measured in this run (another size, --only, or renamed): ${gone.join('; ')}.`);
  const fails = rows.filter((c) => c.fails);
  out.push('', fails.length
    ? `FAIL: ${fails.map((c) => `${c.key} (median ${round3(c.now.median)} < ${round3(c.base! / FAIL)}, half its baseline ${round3(c.base!)})`).join('; ')}`
    : `no end-to-end ratio fell below 1/${FAIL} of its baseline (noise band ±${NOISE * 100}%)`, '');
  return { text: out.join('\n'), fails };
}

function main(argv: string[]): number {
  const [reportPath, basePath] = argv;
  if (!reportPath || !basePath) {
    process.stderr.write('usage: compare REPORT.json BASELINE.json [--write]\n');
    return 2;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as BenchReport;
  if (argv.includes('--write')) {
    writeFileSync(basePath, JSON.stringify(baselineOf(report), null, 2) + '\n');
    process.stdout.write(`baseline written to ${basePath}\n`);
    return 0;
  }
  const { text, fails } = render(report, JSON.parse(readFileSync(basePath, 'utf8')) as Baseline);
  process.stdout.write(text);
  return fails.length ? 1 : 0;
}

if (process.argv[1]?.endsWith('compare.js')) process.exitCode = main(process.argv.slice(2));
