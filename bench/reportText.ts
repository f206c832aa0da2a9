// Lines report.md and report.html share: the environment header, each section's "made by", a target's state.
import type { BenchReport, Section } from './types.js';

/** The header line: what ran where, and how busy the machine was (1-minute load average). */
export function environmentLine(r: BenchReport): string {
  const e = r.environment;
  const load = e.loadAverage ? ` · load ${e.loadAverage.start} → ${e.loadAverage.end}` : '';
  return `node ${e.node} · ${e.cpu} · ${e.cores} cores · ${e.memoryGiB} GiB · ${e.platform} · commit ${e.commit} · seed ${e.seed}${e.quick ? ' · --quick' : ''} · ${e.date} · ${r.wallSeconds.toFixed(0)} s${load}`;
}

/** Under each section's title: the command that made it and how long it took. */
export function madeBy(s: Section): string {
  return `Made by \`${s.command ?? 'gartbench bench'}\`${s.seconds !== undefined ? ` in ${s.seconds} s` : ''}.`;
}

/** A target is printed as met or not met beside what was measured; none gates CI. */
export const metText = (met: boolean) => (met ? 'met' : 'not met');
