// The shape every benchmark file returns; bench/report.ts turns sections into report.md,
// report.html, report.json and benchmark.json.

export interface BenchContext {
  quick: boolean;
  seed: number;
  log: (line: string) => void;
}

export interface Table {
  caption?: string;
  columns: string[];
  rows: (string | number)[][];
}

/** One entry of benchmark.json (customBiggerIsBetter). */
export interface Metric {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

/** A bar chart drawn as SVG in report.html. */
export interface Chart {
  title: string;
  unit: string;
  bars: { label: string; value: number; group?: string }[];
  log?: boolean;
}

/** A target from an issue, checked against what was measured. */
export interface Target {
  what: string;
  measured: string;
  met: boolean;
}

export interface Section {
  id: string;
  title: string;
  /** The one question this benchmark answers. */
  question: string;
  tables: Table[];
  metrics: Metric[];
  charts: Chart[];
  targets: Target[];
  notes: string[];
  /** Machine-independent ratios CI compares with the committed baseline. */
  ratios: Record<string, number>;
  data?: unknown;
}

export interface BenchModule {
  id: string;
  run(ctx: BenchContext): Promise<Section>;
}
