// The statistics every timed figure carries: median, min, max and the number of samples, in the
// figure's own unit (convert times to rates first, then summarise). Pure functions, no timing.

/** A timed figure: a summary of its samples. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  /** How many samples the figure summarises. */
  samples: number;
}

/** The fewest samples a timed figure may rest on (INTERFACE: "at least 5 samples"). */
export const MIN_SAMPLES = 5;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no samples');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(values: readonly number[]): Stat {
  if (values.length === 0) throw new Error('summary of no samples');
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`a sample is not a finite number: ${values.join(', ')}`);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), samples: values.length };
}

/** Each sample mapped through f (e.g. milliseconds → operations per second), then summarised. */
export function summarizeAs(values: readonly number[], f: (v: number) => number): Stat {
  return summarize(values.map(f));
}

/** A figure in another unit by a positive factor (e.g. ns per byte → ns per page). */
export function scaled(s: Stat, k: number): Stat {
  if (!(k > 0)) throw new Error('scaled: the factor must be positive');
  return { median: s.median * k, min: s.min * k, max: s.max * k, samples: s.samples };
}

/** Round-by-round ratios a[i] / b[i] of two sample series taken in the same rounds. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`paired samples differ in count: ${a.length} vs ${b.length}`);
  return a.map((v, i) => v / b[i]!);
}

/** Rounds a figure for a table: 3 significant digits, never in exponent form. */
export function round3(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return v.toFixed(Math.min(digits, 6));
}

/** A figure for a person: three significant digits, and from 1,000 up whole, with thousands separators. */
export function readable(v: number): string {
  const r = Number(round3(v)); // 999.6 is 1,000
  return Number.isFinite(v) && Math.abs(r) >= 1000 ? Math.round(r).toLocaleString('en-US') : round3(v);
}

/** A count for a person: whole, with thousands separators. */
export const countText = (n: number): string => n.toLocaleString('en-US');

/** "37.9 (35.1–40.2)": the median with the smallest and largest sample. */
export function statCell(s: Stat, fmt: (v: number) => string = round3): string {
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/**
 * The `range` of a benchmark.json entry: "± x", where x is the largest distance from the median
 * to any sample, so the range covers every sample. github-action-benchmark shows it as given.
 */
export function rangeText(s: Stat, fmt: (v: number) => string = round3): string {
  return `± ${fmt(Math.max(s.median - s.min, s.max - s.median))}`;
}

/** The `extra` of a timed benchmark.json entry: how the figure was reached. */
export function sampleText(s: Stat, unit: string, fmt: (v: number) => string = round3): string {
  return `median of ${s.samples} samples; min ${fmt(s.min)}, max ${fmt(s.max)} ${unit}`;
}
