// The matrix for a person: verdicts side by side, with what each cell cost. A shard's part shows
// its own cells and leaves the others' places empty.
import { bytesText, completionText, machineLine, num, ruleParts, simulatorText, verdictCell } from './format.js';
import { columnOf, matrixOrder } from '../run/matrix.js';
import { formatSize } from '../units.js';
import type { EngineRecord, Result } from './result.js';
import type { ShardRecord } from './shard.js';

export interface MatrixView {
  /** How the whole run went. */
  engine?: EngineRecord;
  /** A shard's part: which one, and the matrix indices of `cells`. */
  shard?: ShardRecord;
  indices?: number[];
}

export function formatMatrix(cells: Result[], view: MatrixView = {}): string {
  const out: string[] = [];
  const { shard } = view;
  if (shard) {
    out.push(`shard ${shard.index}/${shard.count}: ${cells.length} of the matrix's ${shard.total} cells (those whose index i, from 0, has i mod ${shard.count} = ${shard.index - 1}); \`gartbench merge\` joins the parts' --out files`);
    if (cells.length === 0) return `${out.join('\n')}\nthis shard has no cells: the matrix has fewer cells than shards\n`;
  }
  const first = cells[0]!.scenario;
  // A part lays out the whole matrix (its own cells filled in); a whole matrix, the cells it has.
  const layout = shard ? matrixOrder(first.device, first.kernel) : cells.map((c) => c.scenario);
  const variants = [...new Set(layout.map(columnOf))];
  const platforms = [...new Set(layout.map((c) => c.platform))];
  const cell = (p: string, v: string) => cells.find((c) => c.scenario.platform === p && columnOf(c.scenario) === v);
  out.push(`gartbench matrix — device ${first.device}, workload ${first.workload} (${num(first.pages ?? 0)} pages, ${first.boPages} per BO, ${first.rounds} round${first.rounds === 1 ? '' : 's'}), ${[`kernel ${first.kernel}`, ...ruleParts(cells.map((c) => c.scenario))].join(', ')}, seed ${first.seed}, engine ${first.engine}`);
  const xen = cells.find((c) => c.machine.hostRamBytes !== null);
  out.push(machineLine(xen ?? cells[0]!).replace(/^machine: /, xen ? 'machine (the Xen sizes on xen-pv only): ' : 'machine: '));
  // A coco guest boots with its own swiotlb size (6 % of RAM; docs/ENGINE.md §16).
  const coco = cells.find((c) => c.scenario.platform === 'coco');
  if (coco && coco.machine.swiotlbBytes !== (xen ?? cells[0]!).machine.swiotlbBytes) {
    out.push(`coco boots with swiotlb ${formatSize(coco.machine.swiotlbBytes)} (6% of RAM, 64M-1G, as Linux 6.12 sizes it)`);
  }
  out.push('');
  const w0 = Math.max(...platforms.map((p) => p.length), 8) + 2;
  const shown = (p: string, v: string) => { const r = cell(p, v); return r ? verdictCell(r) : '·'; };
  const w = Math.max(...variants.map((v) => v.length), ...cells.map((c) => verdictCell(c).length)) + 3;
  out.push(''.padEnd(w0) + variants.map((v) => v.padEnd(w)).join(''));
  for (const p of platforms) {
    out.push(p.padEnd(w0) + variants.map((v) => shown(p, v).padEnd(w)).join(''));
  }
  if (shard) out.push(`(· another shard's cell)`);
  out.push('');
  out.push('details (stale / lost / foreign reads, modelled throughput of the moved pages, bytes bounced, hypercalls, swiotlb peak slots, completion):');
  const wd = Math.max(...platforms.map((p) => p.length)) + Math.max(...variants.map((v) => (v === 'auto' ? v.length + 10 : v.length))) + 2;
  for (const p of platforms) {
    for (const v of variants) {
      const r = cell(p, v);
      if (!r) continue;
      const c = r.counters;
      const mib = r.modeled.mibPerSec !== null ? `${num(r.modeled.mibPerSec)} MiB/s` : r.modeled.nsPerPage === null ? 'no page moved' : 'zero modelled cost';
      const label = v === 'auto' ? `${v}→${r.scenario.strategy}` : v;
      out.push(`  ${(p + ' ' + label).padEnd(wd)} ${num(c.staleReads!)} / ${num(c.lostWrites!)} / ${num(c.foreignReads!)}  ${mib}  ${bytesText(c.bounceBytes!)} bounced  ${num(c.hypercalls!)} hypercalls  peak ${num(c.swiotlbPeakSlots!)}  ${completionText(r) || 'complete'}`);
    }
  }
  if (view.engine) {
    out.push('');
    out.push(`simulator: ${simulatorText(view.engine)}`);
  }
  return out.join('\n') + '\n';
}
