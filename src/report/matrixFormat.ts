// The matrix for a person: verdicts side by side, with what each cell cost.
import { completionText, machineLine, num, verdictCell } from './format.js';
import type { Result } from './result.js';

export function formatMatrix(cells: Result[]): string {
  const first = cells[0]!.scenario;
  const variants = [...new Set(cells.map((c) => c.scenario.strategy ?? c.scenario.gatt ?? ''))];
  const platforms = [...new Set(cells.map((c) => c.scenario.platform))];
  const cell = (p: string, v: string) => cells.find((c) => c.scenario.platform === p && (c.scenario.strategy ?? c.scenario.gatt) === v)!;
  const out: string[] = [];
  out.push(`gartbench matrix — device ${first.device}, workload ${first.workload} (${num(first.pages ?? 0)} pages, ${first.boPages} per BO, ${first.rounds} round${first.rounds === 1 ? '' : 's'}), kernel ${first.kernel}, seed ${first.seed}, engine ${first.engine}`);
  const xen = cells.find((c) => c.machine.hostRamBytes !== null);
  out.push(machineLine(xen ?? cells[0]!).replace(/^machine: /, xen ? 'machine (the Xen sizes on xen-pv only): ' : 'machine: '));
  out.push('');
  const w0 = Math.max(...platforms.map((p) => p.length), 8) + 2;
  const w = Math.max(...variants.map((v) => v.length), ...cells.map((c) => verdictCell(c).length)) + 3;
  out.push(''.padEnd(w0) + variants.map((v) => v.padEnd(w)).join(''));
  for (const p of platforms) {
    out.push(p.padEnd(w0) + variants.map((v) => verdictCell(cell(p, v)).padEnd(w)).join(''));
  }
  out.push('');
  out.push('details (stale / lost / foreign reads, modelled MiB/s per moved page, bounce MiB, hypercalls, swiotlb peak slots, completion):');
  const wd = Math.max(...platforms.map((p) => p.length)) + Math.max(...variants.map((v) => v.length)) + 2;
  for (const p of platforms) {
    for (const v of variants) {
      const r = cell(p, v);
      const c = r.counters;
      const mib = r.modeled.mibPerSec === null ? 'no page moved' : `${num(r.modeled.mibPerSec)} MiB/s`;
      out.push(`  ${(p + ' ' + v).padEnd(wd)} ${num(c.staleReads!)} / ${num(c.lostWrites!)} / ${num(c.foreignReads!)}  ${mib}  ${num(Math.round(c.bounceBytes! / 2 ** 20))} MiB bounced  ${num(c.hypercalls!)} hypercalls  peak ${num(c.swiotlbPeakSlots!)}  ${completionText(r) || 'complete'}`);
    }
  }
  return out.join('\n') + '\n';
}
