// The shape every benchmark file returns; bench/report.ts turns sections into report.md,
// report.html, report.json and benchmark.json.

import type { CostEntry } from '../src/report/costs.js';
import type { BENCH_SCHEMA } from '../src/report/shard.js';
import type { Environment } from './environment.js';

/** report.json (`gartbench.bench/1`): everything report.md, report.html and benchmark.json show. */
export interface BenchReport {
  schema: typeof BENCH_SCHEMA;
  environment: Environment;
  wallSeconds: number;
  sections: Section[];
  /** The cost table every modelled figure used (costs/default.json), with each entry's source. */
  costs: CostEntry[];
  /** Only in a part of a sharded bench (`bench --shard K/N`): which sections it holds, of which run. */
  shard?: BenchShardRecord;
  /** Only in a merged report (`gartbench merge` of bench parts): how many parts it joins. */
  shards?: number;
}

/** A bench part's `shard` record: shard `index` of `count`, holding sections `sections` of `all`. */
export interface BenchShardRecord {
  index: number;
  count: number;
  sections: string[];
  /** Every section of the whole run, in order (after --only). */
  all: string[];
  /** What every part of one run shares. */
  of: { quick: boolean; seed: number; version: string };
}

export interface BenchContext {
  quick: boolean;
  seed: number;
  log: (line: string) => void;
}

export interface Table {
  caption?: string;
  columns: string[];
  rows: (string | number)[][];
  /** Charts of this table's figures, drawn just before it in report.html. */
  charts?: Chart[];
}

/**
 * One entry of benchmark.json (customBiggerIsBetter): a bigger value is always better. A timed
 * figure (`timed`) carries `range` and says in `extra` how many samples it rests on; `timed`
 * itself stays in report.json and is not written to benchmark.json. Build them with
 * bench/metrics.ts.
 */
export interface Metric {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
  timed: boolean;
}

/** One bar; bars that share a label and differ in `series` stand side by side. */
export interface Bar {
  /** The category on the y axis. */
  label: string;
  value: number;
  /** Bars of one label with different series are drawn side by side (and coloured by series unless `color` is set). */
  series?: string;
  /** The colour group (e.g. a verdict with its completion). */
  color?: string;
  /** Written at the end of the bar. */
  text?: string;
  /** Whisker from the smallest to the largest sample of a timed figure. */
  lo?: number;
  hi?: number;
}

/** A horizontal bar chart drawn as SVG in report.html. */
export interface Chart {
  title: string;
  unit: string;
  bars: Bar[];
  log?: boolean;
  /** Legend title for `color` (or `series`). */
  legend?: string;
  /** Fixed colours for some colour groups; others get the default scheme. */
  colors?: Record<string, string>;
}

/** A target from an issue, checked against what was measured. */
export interface Target {
  what: string;
  measured: string;
  /** null: not judged, the figure was measured at another size than the target's (--quick), or not
   * at all (notJudged says why). */
  met: boolean | null;
  /** Why a target was not judged, when not for another size (a figure that could not be made). */
  notJudged?: string;
}

export interface Section {
  id: string;
  title: string;
  /** What made this section's figures: the bench command (set by bench/index.ts), whatever user commands the tables name besides. */
  command?: string;
  /** How long this section took, in seconds (so --quick can be kept within CI's budget). */
  seconds?: number;
  /** The machine that made this section, when it is not the report's (a merged sharded bench). */
  environment?: Environment;
  /** The one question this benchmark answers. */
  question: string;
  tables: Table[];
  metrics: Metric[];
  charts: Chart[];
  targets: Target[];
  notes: string[];
  /** Machine-independent ratios CI compares with the committed baseline (bench/compare.ts). */
  ratios: Record<string, Ratio>;
  data?: unknown;
}

/**
 * A ratio of two timed figures (bigger is better), sample by sample. Only an `end-to-end` ratio
 * (the Wasm engine ÷ the reference model on a user's whole command) may fail CI, and only when its
 * median over at least 5 samples falls below half its baseline; a `micro` ratio (one primitive or
 * one loop), a `parallel` one (depends on free cores), a `scale` one (the same engine at two
 * sizes: fixed costs such as building the machine move it legitimately) and a `later-cell` one (the
 * engines on memory their thread already touched: a diagnostic of what first touches cost, measured
 * on one kind of machine only) never do.
 */
export interface Ratio {
  kind: 'end-to-end' | 'micro' | 'parallel' | 'scale' | 'later-cell';
  samples: number[];
}

export interface BenchModule {
  id: string;
  run(ctx: BenchContext): Promise<Section>;
}
