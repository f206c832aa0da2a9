// Lines report.md and report.html share: the environment header, each section's "made by", a target's state.
import { toolText } from './environment.js';
import type { BenchReport, Section, Target } from './types.js';

/** The header line: what ran where, and how busy the machine was (1-minute load average). */
export function environmentLine(r: BenchReport): string {
  const e = r.environment;
  const load = e.loadAverage ? ` · load ${e.loadAverage.start} → ${e.loadAverage.end}` : '';
  const parts = r.shards ? ` · merged from ${r.shards} shards (each section names its machine and tool; the header, with the slowest part's wall, is shard 1's)` : r.shard ? ` · shard ${r.shard.index}/${r.shard.count} (sections ${r.shard.sections.join(', ')})` : '';
  const tool = toolText(e) ? `${toolText(e)} · ` : '';
  const cmd = e.command ? `\`${e.command}\` · ` : '';
  return `${tool}${cmd}node ${e.node} · ${e.cpu} · ${e.cores} cores · ${e.memoryGiB} GiB · ${e.platform} · commit ${e.commit} · seed ${e.seed}${e.quick ? ' · --quick' : ''} · ${e.date} · ${r.wallSeconds.toFixed(0)} s${load}${parts}`;
}

/** Under each section's title: how long it took in the run that made it (the header's command, or
 * in a merge its shard's), and the command that makes it alone. */
export function madeBy(s: Section): string {
  const e = s.environment;
  const tool = e && toolText(e) ? `${toolText(e)}, ` : '';
  const where = e ? ` by ${tool}on ${e.cpu}, ${e.cores} cores, ${e.memoryGiB} GiB, node ${e.node}, commit ${e.commit}, ${e.date}${e.loadAverage ? `, load ${e.loadAverage.start} → ${e.loadAverage.end}` : ''}` : '';
  const run = e?.command ? ` of \`${e.command}\`` : '';
  return `Made${s.seconds !== undefined ? ` in ${s.seconds} s` : ''} of this run${run}${where}; alone: \`${s.command ?? 'gartbench bench'}\`.`;
}

/** A target is printed as met or not met beside what was measured, or not judged when measured
 * at another size than the target's (--quick) or not at all (its notJudged); none gates CI. */
export const metText = (t: Pick<Target, 'met'> & { notJudged?: string }) => (t.met === null ? `not judged: ${t.notJudged ?? 'another size'}` : t.met ? 'met' : 'not met');
