// One script or kernel trace on every platform, for a person (`replay --platform all`): one row a
// platform, with what the same DMA traffic did there.
import { MAX_DEBUG_RECORDS } from '../engine/abi.js';
import { escapeText } from '../errors.js';
import { formatSize } from '../units.js';
import { NO_BOUNCED_LINE, duration, machineLine, maskNote, num, panicLine, panicsOf, recordedNote, scenarioLine, simulatorText, traceLines, verdictCell } from './format.js';
import type { EngineRecord, Result } from './result.js';

export function formatReplayMatrix(cells: Result[], engine: EngineRecord): string {
  const first = cells[0]!;
  const out: string[] = [];
  let scenario = scenarioLine(first).replace(/^platform [^,]+, /, '');
  // --strategy auto: each platform's own choice, when they differ (the first cell's line names its own).
  if (first.scenario.strategyAsked && new Set(cells.map((r) => r.scenario.strategy)).size > 1) {
    scenario = scenario.replace(/strategy [^,]+ \([^)]*: the kernel's own choice\)/, `strategy ${first.scenario.strategyAsked} (the kernel's own choice: ${cells.map((r) => `${r.scenario.platform} ${r.scenario.strategy}`).join(', ')})`);
  }
  out.push(`gartbench replay on every platform — ${scenario}`);
  // The xen-pv cell's line names the Xen sizes; coco boots its own pool size (6% of RAM).
  const xen = cells.find((r) => r.scenario.platform === 'xen-pv');
  const coco = cells.find((r) => r.scenario.platform === 'coco');
  const machine = machineLine(xen ?? first, coco?.machine.swiotlbBytes);
  out.push(machine.replace(/^machine: /, xen ? 'machine (the Xen sizes on xen-pv only): ' : 'machine: '));
  if (first.trace) {
    // What the trace held is the same on every platform; the simulated bounces differ, and so does
    // how dma_alloc_pages memory replays (mapped pages on 6.12 xen-pv, memory of its own elsewhere).
    out.push(...traceLines(first, true).filter((l) => !l.startsWith('  bounce attempts:') && !l.includes(' failed here ')));
    const where = (f: (r: Result) => number) => cells.filter((r) => f(r) > 0).map((r) => r.scenario.platform);
    const [ownOn, mappedOn] = [where((r) => r.trace!.allocSyncs), where((r) => r.trace!.allocsMapped)];
    const modern = first.scenario.kernel === 'modern';
    if (ownOn.length || mappedOn.length) {
      out.push(`  DMA-API allocations: ${[
        ownOn.length && `syncs starting inside those held as memory of their own (dma_alloc's, and dma_alloc_pages or noncontiguous memory where the platform does not map it) ${modern ? 'checked by dma-debug against the entry 6.12 files for it (coherent, noncoherent or an sg table\'s), ' : 'counted, '}never bounced, on ${ownOn.join(', ')}`,
        mappedOn.length && `dma_alloc_pages / noncontiguous memory replayed as pages xen-swiotlb maps on ${mappedOn.join(', ')} (dma_common_alloc_pages → xen_swiotlb_map_page: its syncs copy, its frees unmap without a copy back)`,
      ].filter(Boolean).join('; ')}`);
    }
    const differ = countsByPlatform(cells);
    if (differ.length) out.push(`  counted otherwise on some platforms (the lines above give ${first.scenario.platform}'s): ${differ.join('; ')}`);
    const masked = cells.filter((r) => maskNote(r) !== undefined);
    if (masked.length) out.push(maskNote(masked[0]!, masked.map((r) => r.scenario.platform))!);
    const recorded = first.trace.recordedBounces;
    out.push(recorded > 0 ? `  the recording machine attempted ${num(recorded)} bounce${recorded === 1 ? '' : 's'} (swiotlb_bounced); here: the bounces column, plus swiotlb full`
      : `  ${NO_BOUNCED_LINE}; here: the bounces column, plus swiotlb full`);
  }
  out.push('');
  const head = ['platform', 'verdict', 'maps', 'bounces', 'bounced', 'swiotlb full', 'map errors', 'peak slots', 'alloc fails', 'dma-debug', 'modelled time'];
  // verdictCell says 'no driver' where the driver never came up, a trace's replay included.
  const rows = cells.map((r) => {
    const c = r.counters;
    return [
      r.scenario.platform, r.trace && !r.completion.deviceDown ? 'not checked' : verdictCell(r), num(c.maps!), num(c.bounces!), formatSize(c.bounceBytes!), num(c.swiotlbFull!),
      num(c.mappingErrors!), num(c.swiotlbPeakSlots!), num(c.allocFailures!), num(c.dmaDebugErrors!), duration(r.modeled.totalNs),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd();
  out.push(line(head));
  for (const row of rows) out.push(line(row));
  for (const r of cells) if (panicsOf(r)) out.push(`${r.scenario.platform}: ${panicLine(panicsOf(r))}`);
  for (const r of cells) if (r.completion.deviceDown) out.push(`${r.scenario.platform}: nothing ran, ${r.completion.deviceDown}`);
  if (first.trace && cells.some((r) => r.counters.mappingErrors! > 0)) {
    out.push('map errors: maps that failed on that platform though the recording machine made them; the trace\'s later syncs and unmaps of them show in dma-debug, where a driver would have taken its error path (dma_mapping_error(), or dma_map_sg returning 0: a list fails as a whole)');
  }
  const firstDebug = cells.filter((r) => r.dmaDebug.length > 0).map((r) => `  ${r.scenario.platform}: line ${r.dmaDebug[0]!.op} ${r.dmaDebug[0]!.class}: ${escapeText(r.dmaDebug[0]!.message)}${recordedNote(r.dmaDebug[0]!)}`);
  if (firstDebug.length) {
    out.push('');
    const kept = cells.some((r) => (r.counters.dmaDebugErrors ?? 0) > r.dmaDebug.length) ? `--json lists each platform's first ${num(MAX_DEBUG_RECORDS)}` : 'all of them in --json';
    out.push(`first dma-debug report per platform (${kept}):`);
    out.push(...firstDebug);
  }
  out.push('');
  out.push(`simulator: ${simulatorText(engine)}`);
  return out.join('\n') + '\n';
}

/** The trace's counts that differ by platform (a call one platform replays, another counts: 6.12 xen-pv
 * maps dma_alloc_pages memory, for one), as "field: platform n, …" — the shared lines give the first's. */
function countsByPlatform(cells: Result[]): string[] {
  const flat = (r: Result): Record<string, number> => {
    const t = r.trace!;
    const out: Record<string, number> = {};
    // (not those the allocations line above gives platform by platform)
    for (const [k, v] of Object.entries(t)) if (typeof v === 'number' && !['lines', 'highestPhys', 'allocSyncs', 'allocsMapped'].includes(k)) out[k] = v;
    for (const [k, v] of Object.entries(t.skipped)) out[`skipped.${k}`] = v;
    return out;
  };
  const all = cells.map(flat);
  return Object.keys(all[0]!).filter((k) => all.some((c) => c[k] !== all[0]![k]))
    .map((k) => `${k}: ${cells.map((r, i) => `${r.scenario.platform} ${num(all[i]![k] ?? 0)}`).join(', ')}`);
}
