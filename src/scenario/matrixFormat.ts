// The matrix for a person: verdicts side by side, with what each cell cost.
import { num } from '../cli/format.js';
import type { Result } from '../result.js';

export function formatMatrix(cells: Result[]): string {
  const first = cells[0]!.scenario;
  const variants = [...new Set(cells.map((c) => c.scenario.strategy ?? c.scenario.gatt ?? ''))];
  const platforms = [...new Set(cells.map((c) => c.scenario.platform))];
  const cell = (p: string, v: string) => cells.find((c) => c.scenario.platform === p && (c.scenario.strategy ?? c.scenario.gatt) === v)!;
  const out: string[] = [];
  out.push(`gartbench matrix — device ${first.device}, workload ${first.workload} (${num(first.pages ?? 0)} pages, ${first.boPages} per BO, ${first.rounds} round${first.rounds === 1 ? '' : 's'}), kernel ${first.kernel}, seed ${first.seed}, engine ${first.engine}`);
  out.push('');
  const w0 = Math.max(...platforms.map((p) => p.length), 8) + 2;
  const w = Math.max(...variants.map((v) => v.length), 9) + 3;
  out.push(''.padEnd(w0) + variants.map((v) => v.padEnd(w)).join(''));
  for (const p of platforms) {
    out.push(p.padEnd(w0) + variants.map((v) => cell(p, v).verdict.padEnd(w)).join(''));
  }
  out.push('');
  out.push('details (stale / lost / foreign reads, modelled MiB/s, bounce MiB, hypercalls, swiotlb peak slots, failures):');
  for (const p of platforms) {
    for (const v of variants) {
      const r = cell(p, v);
      const c = r.counters;
      const fails = c.mappingErrors! + c.allocFailures!;
      out.push(`  ${(p + ' ' + v).padEnd(w0 + w)} ${num(c.staleReads!)} / ${num(c.lostWrites!)} / ${num(c.foreignReads!)}  ${num(r.modeled.mibPerSec)} MiB/s  ${num(Math.round(c.bounceBytes! / 2 ** 20))} MiB bounced  ${num(c.hypercalls!)} hypercalls  peak ${num(c.swiotlbPeakSlots!)}  ${fails ? `${num(fails)} failures` : 'no failures'}`);
    }
  }
  return out.join('\n') + '\n';
}
