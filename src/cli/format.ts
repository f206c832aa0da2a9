// The human-readable report: what a person debugging a DMA problem wants first — the verdict,
// the counters that explain it, and where the first bad read came from.
import type { Result } from '../result.js';

const GROUPS: [string, string[]][] = [
  ['oracle', ['staleReads', 'lostWrites', 'foreignReads']],
  ['DMA API', ['maps', 'unmaps', 'mappingErrors', 'bounces', 'bounceBytes', 'syncsForDevice', 'syncsForCpu', 'swiotlbFull', 'swiotlbPeakSlots']],
  ['memory', ['pagesAllocated', 'pagesFreed', 'coherentAllocs', 'allocFailures', 'hypercalls', 'exchangedFrames']],
  ['GPU', ['gartWrites', 'tlbFlushes', 'gpuReads', 'gpuWrites', 'cpuReads', 'cpuWrites']],
  ['TTM/AGP', ['poolRefills', 'cachingChangeCalls', 'cachingChangePages', 'bindFailures', 'gpuSkippedPages', 'gattBusy']],
  ['dma-debug', ['dmaDebugErrors']],
];

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

export function duration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}

export function scenarioLine(r: Result): string {
  const s = r.scenario;
  const parts = [`platform ${s.platform}`, `device ${s.device}`];
  if (s.strategy) parts.push(`strategy ${s.strategy}`);
  if (s.gatt) parts.push(`gatt ${s.gatt}`);
  if (s.workload) parts.push(`workload ${s.workload} (${num(s.pages ?? 0)} pages, ${s.boPages} per BO, ${s.rounds} round${s.rounds === 1 ? '' : 's'})`);
  if (s.script) parts.push(`script ${s.script}`);
  parts.push(`kernel ${s.kernel}`, `seed ${s.seed}`, `engine ${s.engine}`);
  return parts.join(', ');
}

export function formatResult(r: Result): string {
  const out: string[] = [];
  out.push(`gartbench — ${scenarioLine(r)}`);
  const bad = r.counters.staleReads! + r.counters.lostWrites! + r.counters.foreignReads!;
  out.push(r.verdict === 'coherent'
    ? `verdict: COHERENT — every CPU and GPU read saw the latest write`
    : `verdict: CORRUPT — ${num(bad)} page read${bad === 1 ? '' : 's'} failed the oracle`);
  out.push('');
  for (const [title, keys] of GROUPS) {
    const cells = keys.map((k) => `${k} ${num(r.counters[k] ?? r.extra[k] ?? 0)}`);
    out.push(`  ${title.padEnd(10)} ${cells.join('  ')}`);
  }
  out.push('');
  out.push(`  modelled   ${duration(r.modeled.totalNs)} kernel+bus time, ${r.modeled.nsPerPage} ns/page, ${num(r.modeled.mibPerSec)} MiB/s`);
  out.push(`  simulator  ${r.engine.wallMs} ms wall, ${num(r.engine.pageOpsPerSec)} page-ops/s, ${r.engine.workers} worker${r.engine.workers === 1 ? '' : 's'}`);
  if (r.firstViolation) {
    const v = r.firstViolation;
    out.push('');
    out.push(`first violation (${v.kind}) at op ${v.op}:`);
    out.push(`  ${v.detail}`);
  }
  if (r.dmaDebug.length) {
    out.push('');
    out.push(`dma-debug (${num(r.counters.dmaDebugErrors ?? 0)} report${r.counters.dmaDebugErrors === 1 ? '' : 's'}):`);
    for (const d of r.dmaDebug.slice(0, 10)) out.push(`  op ${d.op} ${d.class}: ${d.message}`);
    if (r.dmaDebug.length > 10) out.push(`  … ${r.dmaDebug.length - 10} more in --json`);
  }
  return out.join('\n') + '\n';
}
