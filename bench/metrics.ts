// benchmark.json entries, made one way: a timed figure always carries its range and sample
// count; an exact figure (modelled or counted) says what it is and carries none. Bigger is always better.
import { type Stat, rangeText, round3, sampleText } from './stats.js';
import { type Environment, toolText } from './environment.js';
import type { Metric } from './types.js';

/** A timed figure in a bigger-is-better unit (a rate or a speed ratio, never a time). */
export function timedMetric(name: string, unit: string, s: Stat, fmt: (v: number) => string = round3): Metric {
  return { name, unit, value: Number(fmt(s.median)), range: rangeText(s, fmt), extra: sampleText(s, unit, fmt), timed: true };
}

/**
 * A figure that cannot vary by chance (modelled or counted): the same for the same code, seed and
 * cost table on every machine. No range.
 */
export function exactMetric(name: string, unit: string, value: number, extra: string): Metric {
  return { name, unit, value, extra, timed: false };
}

/** What made a figure, for its benchmark.json entry: the tool, the engine build, the machine and the
 * bench's options (benchmark.json carries no header of its own). */
export function provenance(e: Environment): string {
  return `${toolText(e) || 'gartbench'}, node ${e.node}, ${e.cpu}, ${e.cores} cores, commit ${e.commit}, seed ${e.seed}${e.quick ? ', --quick' : ''}, ${e.date}`;
}

/**
 * The benchmark.json form of the entries: exactly name, unit, value and the optional range and
 * extra, which ends with what made the figure (provenance; `env`: its section's machine). A
 * --quick figure is measured at smaller sizes than the full bench's: its name says so, so that a
 * chart keyed on names never joins the two.
 */
export function benchmarkJson(metrics: Metric[], env?: Environment): object[] {
  return metrics.map((m) => {
    if (!Number.isFinite(m.value)) throw new Error(`benchmark.json: '${m.name}' has no finite value`);
    if (m.timed && !m.range) throw new Error(`benchmark.json: timed figure '${m.name}' carries no range`);
    const extra = [m.extra, env && `made by ${provenance(env)}`].filter(Boolean).join('; ');
    const name = env?.quick ? `${m.name} [--quick]` : m.name;
    return { name, unit: m.unit, value: m.value, ...(m.range ? { range: m.range } : {}), ...(extra ? { extra } : {}) };
  });
}
