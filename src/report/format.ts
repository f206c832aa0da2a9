// The human-readable report: what a person debugging a DMA problem wants first — the verdict,
// the counters that explain it, and where the first bad read came from.
import type { DebugRecord, EngineRecord, Result } from './result.js';
import { formatSize } from '../units.js';
import { escapeText } from '../errors.js';
import { DEVICE_INFO } from '../run/machine.js';

const GROUPS: [string, string[]][] = [
  ['oracle', ['staleReads', 'lostWrites', 'foreignReads']],
  ['DMA API', ['maps', 'unmaps', 'mappingErrors', 'bounces', 'bounceBytes', 'syncsForDevice', 'syncsForCpu', 'swiotlbFull', 'swiotlbPeakSlots']],
  ['memory', ['pagesAllocated', 'pagesFreed', 'coherentAllocs', 'allocFailures', 'hypercalls', 'exchangedFrames']],
  ['GPU', ['gartWrites', 'tlbFlushes', 'gpuReads', 'gpuWrites', 'cpuReads', 'cpuWrites']],
  ['TTM/AGP', ['poolRefills', 'cachingChangeCalls', 'cachingChangePages', 'bindFailures', 'gpuSkippedPages', 'gattBusy']],
  ['dma-debug', ['dmaDebugErrors']],
];

/** A number as toLocaleString('en-US') writes it (1,234,567.891), without starting ICU for it
 * (which costs a short command a good part of its start-up): the shortest decimal form, rounded
 * half away from zero to 3 decimals, digits grouped by three. */
export function num(n: number): string {
  const s = String(Math.abs(n));
  if (!/^\d+(\.\d+)?$/.test(s)) return n.toLocaleString('en-US'); // exponents, NaN, Infinity
  let [int, frac = ''] = s.split('.') as [string, string?];
  if (frac.length > 3) {
    const up = frac[3]! >= '5';
    frac = frac.slice(0, 3);
    if (up) {
      const d = (int + frac).split('').map(Number);
      let i = d.length - 1;
      for (; i >= 0 && d[i] === 9; i--) d[i] = 0;
      if (i < 0) d.unshift(1);
      else d[i]!++;
      const all = d.join('');
      [int, frac] = [all.slice(0, -3), all.slice(-3)];
    }
  }
  frac = frac.replace(/0+$/, '');
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  return `${sign}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

/** Bytes in MiB or GiB, for memory figures. */
/** Bytes for a person, never rounded to a misleading 0: 0 B, KiB below a MiB, then MiB, then GiB. */
export function bytesText(b: number): string {
  if (b === 0) return '0 B';
  if (b < 2 ** 20) return `${num(Math.max(1, Math.round(b / 1024)))} KiB`;
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${num(Math.round(b / 2 ** 20))} MiB`;
}

/** How the simulator ran, for a person: the wall time, the workers (and what capped them), the
 * memory one worker needed, the machines built on a memory handed on, and the process's peak. */
export function simulatorText(e: EngineRecord): string {
  const w = `${e.workers} worker${e.workers === 1 ? '' : 's'}`;
  const capped = e.workersCappedBy === 'cells'
    ? ` (asked ${e.workersAsked}; capped at ${e.workers}, one per cell)`
    : e.workersCappedBy === 'cores' ? ` (asked ${e.workersAsked}; capped at the ${e.workers} core${e.workers === 1 ? '' : 's'} — --oversubscribe goes beyond)` : '';
  // Merged shards ran apart (on other machines, or one after another): their wall is the slowest's.
  const shards = (e as EngineRecord & { shards?: number }).shards;
  if (shards) {
    return `${shards} shards, merged: the slowest took ${e.wallMs} ms of engine wall, all together ${e.cellMs} ms of engine time on ${w} (${num(e.pageOpsPerSec)} page-ops/s over the slowest's wall, as if they had run side by side), ${bytesText(e.machineBytes)} per machine, peak RSS ${bytesText(e.peakRssBytes)} in the largest`;
  }
  const busy = e.workers > 1 ? ` (${e.cellMs} ms of engine time over the workers)` : '';
  // Results from before it was recorded have no workersRan.
  const idle = typeof e.workersRan === 'number' && e.workersRan < e.workers
    ? `, ${e.workersRan} of which ran cells (${e.workers - e.workersRan === 1 ? 'the other was' : 'the rest were'} still starting when the last cell was taken)` : '';
  // Results from before it was recorded have no reusedMemories; merged shards of them, null.
  const reused = (e.reusedMemories ?? 0) > 0 ? `, ${plural(e.reusedMemories!, 'machine')} built on a memory handed on (zeroed) by the cell before on the same thread` : '';
  return `${e.wallMs} ms wall${busy}, ${num(e.pageOpsPerSec)} page-ops/s, ${w}${capped}${idle}, ${bytesText(e.machineBytes)} per machine (one per worker at a time)${reused}, peak RSS ${bytesText(e.peakRssBytes)}`;
}

export function duration(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${num(Math.round(ns))} ns`;
}

const FAILURES: [string, string, string][] = [
  ['allocFailures', 'allocation failure', 'allocation failures'],
  ['mappingErrors', 'map error', 'map errors'],
  ['bindFailures', 'bind failure', 'bind failures'],
  ['gattBusy', 'GATT insert refused (-EBUSY)', 'GATT inserts refused (-EBUSY)'],
  ['failedMapPages', 'page reached though its map failed', 'pages reached though their map failed'],
];

/** The failures that kept pages from moving, in words: "35 allocation failures, 17 bind failures". */
export function failureText(r: Result): string {
  return FAILURES.map(([k, one, many]) => [r.counters[k] ?? r.extra[k] ?? 0, one, many] as const)
    .filter(([n]) => n > 0).map(([n, one, many]) => `${num(n)} ${n === 1 ? one : many}`).join(', ');
}

/** Percent of requested page moves made, never rounded up to 100 or down to 0 when it is neither. */
export function movedPercent(moved: number, requested: number): string {
  if (requested === 0) return '—';
  let p = Math.round((moved / requested) * 100);
  if (moved < requested) p = Math.min(p, 99);
  if (moved > 0) p = Math.max(p, 1);
  return `${p}%`;
}

/**
 * Completion beside a verdict: '' when every requested page moved; else
 * "47% moved (3,840 of 8,192 page moves): 35 allocation failures, 17 bind failures". A page the
 * workload moves twice (churn's readbacks, every round) counts twice: these are moves, not pages.
 */
export function completionText(r: Result): string {
  const { pagesRequested: req, pagesMoved: moved } = r.completion;
  if (moved === req) return '';
  const why = r.completion.deviceDown ?? failureText(r);
  return `${movedPercent(moved, req)} moved (${num(moved)} of ${num(req)} page ${req === 1 ? 'move' : 'moves'})${why ? `: ${why}` : ''}`;
}

/** A trace with no swiotlb_bounced line for its device: a trace of `-e dma` alone reads the same. */
export const NO_BOUNCED_LINE = 'the trace has no swiotlb_bounced line for this device (nothing bounced when it was recorded, or it was recorded without -e swiotlb)';

/** The short form for tables: "coherent" or "coherent, 47% moved"; as the verdict line says it,
 * "no driver" where the driver never came up and "vacuously coherent" where no read was checked. */
export function verdictCell(r: Result): string {
  if (r.completion.deviceDown) return 'no driver';
  const { pagesRequested: req, pagesMoved: moved } = r.completion;
  const reads = (r.counters.cpuReads ?? 0) + (r.counters.gpuReads ?? 0);
  const verdict = r.verdict === 'coherent' && reads === 0 ? 'vacuously coherent' : r.verdict;
  return moved === req ? verdict : `${verdict}, ${movedPercent(moved, req)} moved`;
}

/** A report table's cell: verdictCell and, when the work did not all get done, why, as INTERFACE's
 * "coherent, 47% moved: 35 allocation failures, 17 bind failures". */
export function verdictWhyCell(r: Result): string {
  const cell = verdictCell(r);
  const why = r.completion.pagesMoved === r.completion.pagesRequested || r.completion.deviceDown ? '' : failureText(r);
  return why ? `${cell}: ${why}` : cell;
}

export function scenarioLine(r: Result): string {
  const s = r.scenario;
  const parts = [`platform ${s.platform}`, `device ${s.device}`];
  // A kernel trace has no tt_* ops: the TTM pool of --strategy plays no part in it.
  if (s.strategy && s.scriptFormat !== 'ftrace') parts.push(`strategy ${s.strategy}${s.strategyAsked ? ` (${s.strategyAsked}: the kernel's own choice)` : ''}`);
  if (s.gatt) parts.push(`gatt ${s.gatt}`);
  if (s.workload) parts.push(`workload ${s.workload} (${num(s.pages ?? 0)} pages, ${s.boPages} per BO, ${s.rounds} round${s.rounds === 1 ? '' : 's'})`);
  if (s.script) parts.push(s.scriptFormat === 'ftrace' ? `trace ${escapeText(s.script)}` : `script ${escapeText(s.script)}`);
  parts.push(`kernel ${s.kernel}`, ...ruleParts([s]));
  // Replicas: independent machines whose counters the result sums (run/plan.ts replicaSeed).
  parts.push(s.replicas > 1 ? `${s.replicas} replicas summed (seeds derived from ${s.seed})` : `seed ${s.seed}`, `engine ${s.engine}`);
  return parts.join(', ');
}

/** The options that change the machines' rules, when given (the rest is on the machine line): of
 * one result, or of a matrix's cells (the iommu mode is its iommu cells'). */
export function ruleParts(scenarios: Result['scenario'][]): string[] {
  const parts: string[] = [];
  const iommu = scenarios.find((s) => s.platform === 'iommu' && s.iommuMode);
  if (iommu) parts.push(`iommu ${iommu.iommuMode}`);
  if (scenarios[0]?.swiotlbDynamic) parts.push('swiotlb dynamic');
  if (scenarios[0]?.minAlignMask) parts.push(`min_align_mask ${scenarios[0].minAlignMask}`);
  return parts;
}

/** The simulated machine and the build that simulated it, so a printed result can be rerun. */
/** `cocoSwiotlbBytes`: beside the swiotlb size, the pool a coco cell of the same run booted with. */
export function machineLine(r: Result, cocoSwiotlbBytes?: number): string {
  const m = r.machine;
  const parts = [`RAM ${formatSize(m.ramBytes)}`];
  if (m.hostRamBytes !== null) parts.push(`Xen host ${formatSize(m.hostRamBytes)}`);
  if (m.xenLowFreeBytes !== null) parts.push(`Xen low free ${formatSize(m.xenLowFreeBytes)}`);
  const coco = cocoSwiotlbBytes !== undefined && cocoSwiotlbBytes !== m.swiotlbBytes ? ` (coco: ${formatSize(cocoSwiotlbBytes)})` : '';
  parts.push(`swiotlb ${formatSize(m.swiotlbBytes)}${coco}`);
  if (r.scenario.payloadBytes) parts.push(`payload ${r.scenario.payloadBytes} B/page`);
  parts.push(m.costs === 'default' ? 'default costs' : `costs ${escapeText(m.costs.path)} (sha256 ${m.costs.sha256.slice(0, 12)}…)`);
  return `machine: ${parts.join(', ')} · gartbench ${r.tool.version}, engine ${r.scenario.engine} ${r.tool.engineSha256.slice(0, 12)}, node ${r.tool.node.replace(/^v/, '')}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;

/** The recording device's DMA masks (swiotlb_bounced's dma_mask), when one reaches other memory of
 * this machine than --device's mask does, on a platform where the mask decides what bounces
 * (dma_capable: bare metal, Xen PV; swiotlb-force and coco bounce every map, an IOMMU none);
 * `where`: the platforms it holds for (replay --platform all), else this result's. */
export function maskNote(r: Result, where?: string[]): string | undefined {
  const bits = DEVICE_INFO[r.scenario.device].maskBits, recorded = r.trace!.recordedMaskBits;
  const top = Math.max(r.machine.ramBytes, r.machine.hostRamBytes ?? 0);
  const reach = (b: number) => Math.min(2 ** b, top);
  if (!['bare-metal', 'xen-pv'].includes(r.scenario.platform) || !recorded.some((b) => reach(b) !== reach(bits))) return undefined;
  const devices = Object.keys(DEVICE_INFO) as (keyof typeof DEVICE_INFO)[];
  const list = (ds: string[]) => (ds.length === 1 ? ds[0]! : `${ds.slice(0, -1).join(', ')} and ${ds.at(-1)}`);
  const last = recorded.at(-1)!, same = devices.filter((d) => d !== r.scenario.device && DEVICE_INFO[d].maskBits === last);
  // The widest modelled mask, when it reaches all of this machine's memory as the recorded one does.
  const widest = Math.max(...devices.map((d) => DEVICE_INFO[d].maskBits)), wide = devices.filter((d) => DEVICE_INFO[d].maskBits === widest);
  const advice = reach(last) === reach(bits) ? `the last, ${last} bits, reaches what --device's does`
    : same.length ? `${list(same)} ${same.length === 1 ? 'has' : 'have'} ${last} bits: --device ${same[0]}`
    : reach(widest) === reach(last) ? `${list(wide)} ${wide.length === 1 ? 'has' : 'have'} ${widest} bits, which reach all of this machine's memory as the recorded mask does: --device ${wide[0]}`
    : last < Math.min(...devices.map((d) => DEVICE_INFO[d].maskBits)) ? 'no modelled device has a mask that narrow' : '';
  const widths = recorded.map((b) => `${b} bit${b === 1 ? '' : 's'}`).join(', then ');
  return `  the recording device's DMA mask: ${widths} (swiotlb_bounced's dma_mask); --device ${r.scenario.device} has ${bits} bits, and what bounces ${where ? `on ${where.join(', ')}` : 'here'} follows --device's mask${advice ? ` (${advice})` : ''}`;
}

/** What a replayed kernel trace held, and what of it was not replayed or was inferred; `shared`:
 * only what every platform's replay shares (replayFormat.ts says the rest platform by platform). */
export function traceLines(r: Result, shared = false): string[] {
  const t = r.trace!;
  const others = t.devices.filter((d) => d.name !== t.device);
  const events = Object.values(t.events).reduce((a, b) => a + b, 0);
  const out = [`trace: device ${escapeText(t.device)}, ${plural(events, 'event')} of ${plural(t.lines, 'line')}${others.length ? `; not replayed: ${others.map((d) => `${escapeText(d.name)} (${plural(d.events, 'event')})`).join(', ')} (--trace-device)` : ''}`];
  // swiotlb_map traces swiotlb_bounced before it looks for slots: a bounce that found the pool full counts too.
  const full = r.counters.swiotlbFull ?? 0;
  const attempts = (r.counters.bounces ?? 0) + full;
  const k = t.skipped;
  // No swiotlb_bounced line at all: nothing bounced there, or the trace was recorded without the swiotlb events.
  const recorded = t.recordedBounces > 0 ? `the trace recorded ${num(t.recordedBounces)} (swiotlb_bounced${k.failedOnRecording ? `, with those of the calls that failed when recorded` : ''})`
    : NO_BOUNCED_LINE;
  out.push(`  bounce attempts: ${recorded}; simulated on ${r.scenario.platform}: ${num(attempts)}${full ? ` (${num(full)} of them found no room: the pool full, or the map larger than one 256 KiB segment — the kernel says "swiotlb buffer is full" either way)` : ''}`);
  // 6.11+ (every kernel with these events) skips a coherent device's syncs before tracing them
  // until its first swiotlb bounce (dma_dev_need_sync: dev->dma_skip_sync, set by
  // dma_setup_need_sync, cleared by swiotlb_tbl_map_single), unless CONFIG_DMA_API_DEBUG.
  // After a bounce (a swiotlb_bounced line) syncs are traced again (dma_reset_need_sync): no note then.
  const names = Object.keys(t.events);
  if (names.some((n) => n.startsWith('dma_map_')) && !names.some((n) => n.startsWith('dma_sync_')) && t.recordedBounces === 0) {
    out.push('  no dma_sync_* line for this device: 6.11 and later skip a coherent device\'s syncs under dma-direct or the IOMMU before tracing them (dma_dev_need_sync) until its first swiotlb bounce, unless the kernel has CONFIG_DMA_API_DEBUG, so on a platform that bounces, the syncs its driver makes are missing from this replay (record with CONFIG_DMA_API_DEBUG=y to see them)');
  }
  const masks = shared ? undefined : maskNote(r);
  if (masks) out.push(masks);
  const skipped = [
    k.mmio && `${plural(k.mmio, 'MMIO call')} (dma_map_resource or DMA_ATTR_MMIO maps, their syncs and unmaps: never RAM, never bounced)`,
    k.ccShared && `${plural(k.ccShared, 'call')} on memory already shared with the host (DMA_ATTR_CC_SHARED maps, their syncs and unmaps: never bounced)`,
    k.failedOnRecording && `${plural(k.failedOnRecording, 'call')} that failed when recorded, or synced an sg list whose map failed`,
    k.beforeTrace && `${plural(k.beforeTrace, 'unmap, sync or free', 'unmaps, syncs or frees')} of mappings the trace did not show being made (made before it began, lost from it, ${t.sgTruncated ? 'entries past the 128 a [TRUNCATED] sg list printed, ' : ''}or addresses the driver passed wrongly)`,
    k.afterUnmap && `${plural(k.afterUnmap, 'unmap, sync or free', 'unmaps, syncs or frees')} of mappings already unmapped whose pages were since taken again`,
    k.tooLarge && `${plural(k.tooLarge, 'call')} on memory larger than the simulator's largest allocation (maps and allocations over 4 MiB, their syncs, unmaps and frees; a map that large could not bounce either: swiotlb maps at most 256 KiB)`,
    k.zeroLength && `${plural(k.zeroLength, 'zero-length call')} (maps and allocations, their syncs, unmaps and frees; syncs of no bytes)`,
    k.cut && `the last line (${num(t.lines)}), which has no line break after it: the kernel ends every line it prints, so a file ends so where it was cut short (a trace-cmd report > FILE killed mid-write, a full disk, a truncated copy), and a field cut there would still read as a value (a shorter address or size); if the line is whole, add a line break after it to replay it`,
    !shared && r.scenario.kernel !== 'modern' && t.allocSyncs && `${plural(t.allocSyncs, 'sync')} starting inside DMA-API allocations held as coherent memory (dma_alloc's, and dma_alloc_pages or noncontiguous memory: never bounced on ${r.scenario.platform}; 2.6.37 had no dma_alloc_pages)`,
  ].filter(Boolean);
  if (skipped.length) out.push(`  not replayed: ${skipped.join('; ')}`);
  const inferred = [
    t.sgMerged && `${plural(t.sgMerged, 'sg list')} merged by the recording IOMMU (entry lengths not in the trace: each segment a share of the entries by its pages, whole pages each, its last taking the rest of the segment)`,
    t.sgTruncated && `${plural(t.sgTruncated, 'sg list')} printed in part ([TRUNCATED]: the first 128 entries replayed)`,
  ].filter(Boolean);
  if (inferred.length) out.push(`  inferred: ${inferred.join('; ')}`);
  if (t.allocFormat612) out.push('  the trace is from 6.12.0–6.12.47 (dma_alloc prints no dir=): those kernels traced dma_alloc_pages as dma_map_page and dma_alloc_noncontiguous as dma_map_sg, so such memory replays as streaming maps, which may bounce');
  if (t.allocsMapped && !shared) out.push(`  ${plural(t.allocsMapped, 'dma_alloc_pages / noncontiguous allocation')} replayed as pages xen-swiotlb maps (dma_common_alloc_pages → xen_swiotlb_map_page: bounced when a frame lies above the mask or the pages straddle machine frames or, 6.12.0, are not aligned to their size), their syncs copied, their frees unmapped without a copy back (DMA_ATTR_SKIP_CPU_SYNC)`);
  if (t.afterUnmap) out.push(`  ${plural(t.afterUnmap, 'unmap, sync or free', 'unmaps, syncs or frees')} (an sg list's call: one per entry) of mappings the trace had already unmapped (a double unmap, a use after unmap, the rest of one a smaller unmap at its handle left): replayed on their unmapped pages (a free for dma-debug only), so dma-debug sees ${t.afterUnmap === 1 ? 'it' : 'them'} as the kernel would ("has not allocated"; but an sg list's sync: nothing, as debug_dma_sync_sg_* checks only entries still mapped), and the platform copies or frees only where the simulation has not given the handle to another mapping since (the recording had nothing live there)`);
  if (t.allocSyncs && !shared && r.scenario.kernel === 'modern') out.push(`  ${plural(t.allocSyncs, 'sync')} starting inside DMA-API allocations held as memory of their own (dma_alloc's${t.allocsMapped ? '' : ', dma_alloc_pages or noncontiguous'}: replayed for dma-debug, which checks a single sync against the entry 6.12 files for that memory, coherent, noncoherent or an sg table's, the direction of the last two included, and an sg call's entries only where its first starts an sg table's entry; never bounced)`);
  if (t.allocUnmaps) out.push(`  ${plural(t.allocUnmaps, 'dma_unmap_page')} of a live DMA-API allocation's handle (dma_alloc or its _pages, _sgt forms: replayed on it, as check_unmap sees it: the wrong function while its entry lives, which that call takes away, "has not allocated" after; the platform unmaps what it mapped there, and the memory stays allocated)`);
  if (t.freesAgain) out.push(`  ${plural(t.freesAgain, 'second free')} (dma_free or its _pages, _sgt forms) of an allocation the trace had freed (a double free, at its dma_addr or inside it: dma-debug reports ${t.freesAgain === 1 ? 'it' : 'each'} as the call's hook does, "has not allocated", at the handle the allocation had here plus the same offset, or not at all where that allocation failed here; the kernel's second free of the pages is not simulated)`);
  if (t.mappingFrees) out.push(`  ${plural(t.mappingFrees, 'dma_free')} (or its _pages, _sgt forms) of a live streaming mapping's handle (replayed for dma-debug only, as check_unmap finds the mapping's entry: the wrong function, and the size and direction where they differ, then the entry goes, so the mapping's unmap is "has not allocated" later; where the map failed here, its error handle, as its unmap; the kernel's free of pages the allocator does not hold is not simulated, and the mapping stays)`);
  if (t.insideCalls) out.push(`  ${plural(t.insideCalls, 'unmap or free', 'unmaps or frees')} at an address inside a live mapping the recording bounced (or any, where the device's sg lists show an IOMMU) or a live DMA-API allocation, not at its start (a handle with an offset added: check_unmap finds no entry starting there, "has not allocated"; replayed for dma-debug, at the same offset into the simulated one — a map that failed here: its error handle plus the offset; nothing where the allocation failed here; an unmap is also the platform's there, as the kernel's: on the iommu platform it unmaps from that IOVA page (docs/ENGINE.md §8), in a live mapping's bounce slots it copies the size back and releases slots from there (§5); a free in the middle of an allocation is not simulated; the mapping or allocation stays live for its own unmap or free)`);
  if (t.sgEntryUnmaps) out.push(`  ${plural(t.sgEntryUnmaps, 'single unmap')} of an sg list's entry (replayed: dma-debug's wrong function; the list's dma_unmap_sg then unmaps it again: has not allocated)`);
  const eh = t.errorHandle;
  if (eh.unmaps + eh.syncs) out.push(`  ${[eh.unmaps && plural(eh.unmaps, 'unmap'), eh.syncs && plural(eh.syncs, 'sync')].filter(Boolean).join(' and ')} of DMA_MAPPING_ERROR (first at line ${num(eh.firstLine ?? 0)}): the driver used a failed map's handle without checking dma_mapping_error(), a bug wherever it runs; replayed at the handle a failed map gives here (the map itself was not replayed), so dma-debug reports ${eh.unmaps + eh.syncs === 1 ? 'it' : 'them'} as this kernel would`);
  const pastClass = r.scenario.kernel === 'modern' ? 'sync-unknown: no entry holds it all' : r.scenario.platform === 'iommu' ? 'sync-unknown where it starts inside the mapping (ppc64 has no range hook), else sync-outside' : 'sync-outside, checked from the mapping\'s handle as 2.6.37\'s range form does';
  if (t.syncsPastMapping) out.push(`  ${plural(t.syncsPastMapping, 'sync')} ran past the ${t.syncsPastMapping === 1 ? 'mapping it' : 'mappings they'} started in (dma-debug reports each: ${pastClass})`);
  // A map that succeeded when recorded but fails here: the trace goes on to sync and unmap it.
  const failedHere = r.counters.mappingErrors ?? 0;
  if (failedHere) out.push(`  ${plural(failedHere, 'map')} failed here that the recording machine made; the trace's later syncs and unmaps of ${failedHere === 1 ? 'it' : 'them'} show in dma-debug (an unmap as unmap-unknown; a sync as the kernel's lookup answers at the failed handle), where a driver would have taken its error path (dma_mapping_error(), or dma_map_sg returning 0: a list fails as a whole, its other entries unmapped with it)${panicsOf(r) ? ` (but for ${panicsOf(r) === 1 ? 'the one' : `the ${num(panicsOf(r))}`} over the overflow buffer: see the panic line)` : ''}`);
  const allocFailed = r.counters.allocFailures ?? 0;
  if (allocFailed) out.push(`  ${plural(allocFailed, 'allocation')} failed here (pages for the trace's maps, dma_alloc memory, or on xen-pv dma_alloc_pages memory whose pages xen-swiotlb could not map: dma_common_alloc_pages gives them back and returns NULL): the trace's later calls on ${allocFailed === 1 ? 'it' : 'them'} do nothing here, where a driver would have taken its error path`);
  if (t.highestPhys > r.machine.ramBytes) out.push(`  the trace's pages reach ${(t.highestPhys / 2 ** 30).toFixed(1)} GiB of physical memory; with RAM ${formatSize(r.machine.ramBytes)} here, pages the recording kernel had above ${formatSize(r.machine.ramBytes)} come from lower memory (give --ram to match the recording machine)`);
  if (t.lostMarkers) out.push(`  INCOMPLETE: the ring buffer dropped ${t.lostEvents ? plural(t.lostEvents, 'event') : 'events'} while recording (${plural(t.lostMarkers, 'LOST / DROPPED line')}): the replay saw less than the machine did, and may count an unmap whose map was dropped as made before the trace`);
  if (t.liveAtEnd) out.push(`  ${plural(t.liveAtEnd, 'mapping or allocation', 'mappings and allocations')} still live when the trace ended: the replay then releases the device, and dma-debug reports ${t.liveAtEnd === 1 ? 'it' : 'them'} as a driver unbind would${t.allocUnmaps || t.mappingFrees ? ' (but for any whose entry a wrong-function call above took away)' : ''} (usual for a trace that stops mid-run)`);
  // dma_alloc_attrs traces an allocation from the device's own pool (dma_alloc_from_dev_coherent,
  // 6.13 and 6.12.48 on); dma_free_attrs returns before its tracepoint for one (dma_release_from_dev_coherent).
  if (t.allocsLiveAtEnd) out.push(`  of those, ${plural(t.allocsLiveAtEnd, 'DMA-API allocation')} (dma_alloc and its _pages, _sgt forms) never freed in the trace: still in use when it ended (a driver keeps its rings until its remove)${t.allocFormat612 ? ' or a leak' : ", a leak, or, for dma_alloc, memory from the device's own coherent pool, which dma-debug does not track (from 6.13 and 6.12.48 its allocation is traced, its dma_free never is)"}`);
  return out;
}

/** 2.6.37 swiotlb_full(…, do_panic): a streaming map larger than the 32 KiB overflow buffer that
 * found the pool full panics the kernel; the simulation goes on past it (extra.swiotlbPanics). */
export const panicsOf = (r: Result): number => r.extra.swiotlbPanics ?? 0;
export function panicLine(n: number): string {
  return `kernel: PANIC — 2.6.37 would have panicked ${n === 1 ? 'once' : `${num(n)} times`} in this run: a streaming map larger than swiotlb's 32 KiB overflow buffer found the pool full, and swiotlb_full panics ("DMA: Random memory could be DMA …") rather than hand back the overflow buffer; the simulation went on past it, so the rest is what the same calls do without the panic`;
}

export function formatResult(r: Result): string {
  const out: string[] = [];
  const opWord = r.scenario.script ? 'line' : 'op';
  out.push(`gartbench — ${scenarioLine(r)}`);
  const bad = r.counters.staleReads! + r.counters.lostWrites! + r.counters.foreignReads!;
  const { pagesRequested: req, pagesMoved: moved } = r.completion;
  const reads = r.counters.cpuReads! + r.counters.gpuReads!;
  // Beside the verdict, as in a matrix cell: how much of the work it speaks for.
  const part = moved === req ? '' : `, ${movedPercent(moved, req)} moved`;
  const down = r.completion.deviceDown;
  out.push(r.verdict === 'coherent'
    ? down ? `verdict: COHERENT, vacuously${part} — nothing ran on this machine (below), so the oracle checked nothing`
    : r.trace ? 'verdict: not checked — a kernel trace holds no CPU or GPU accesses, so the oracle had nothing to check; the counters and dma-debug below are the result'
      : reads === 0 ? `verdict: COHERENT, vacuously${part} — no CPU or GPU read happened, so the oracle checked nothing`
      : `verdict: COHERENT${part} — every CPU and GPU read saw the latest write (${num(reads)} page read${reads === 1 ? '' : 's'})`
    : `verdict: CORRUPT${part} — ${num(bad)} page read${bad === 1 ? '' : 's'} failed the oracle`);
  const incomplete = completionText(r);
  out.push(down ? `completion: NOTHING RAN — ${down}${req > 0 ? `; 0 of ${num(req)} page ${req === 1 ? 'move' : 'moves'} made` : ''}`
    : req === 0
    ? 'completion: no page was asked to move through the device'
    : incomplete ? `completion: INCOMPLETE — ${incomplete}; ${(r.extra.failedMapPages ?? 0) > 0 ? 'the verdict speaks of the pages that moved and of what was read where a map had failed' : 'the verdict speaks only of the pages that moved'}`
      : `completion: COMPLETE — ${req === 1 ? 'the one page move' : `all ${num(req)} page moves`} the work asked for went through the device`);
  out.push(machineLine(r));
  if (panicsOf(r)) out.push(panicLine(panicsOf(r)));
  if (r.trace) out.push(...traceLines(r));
  out.push('');
  for (const [title, keys] of GROUPS) {
    const cells = keys.map((k) => `${k} ${num(r.counters[k] ?? r.extra[k] ?? 0)}`);
    out.push(`  ${title.padEnd(10)} ${cells.join('  ')}`);
  }
  // A confidential guest's conversions (extras a coco result alone carries): often most of its cost.
  if (r.extra.ccConversions !== undefined) out.push(`  ${'coco'.padEnd(10)} ccConversions ${num(r.extra.ccConversions)}  ccConvertedPages ${num(r.extra.ccConvertedPages ?? 0)}`);
  out.push('');
  const m = r.modeled;
  const rate = m.mibPerSec === null ? ' (the cost table charges nothing for what ran: no rate)' : `, ${num(m.mibPerSec)} MiB/s`;
  out.push(`  modelled   ${duration(m.totalNs)} kernel+bus time${m.nsPerPage === null ? ' (no page moved, so no per-page figure)' : `, ${num(m.nsPerPage)} ns per moved page${rate}`}`);
  out.push(`  simulator  ${simulatorText(r.engine)}`);
  if (r.firstViolation) {
    const v = r.firstViolation;
    out.push('');
    out.push(`first violation (${v.kind}) at ${opWord} ${v.op}:`);
    out.push(`  ${v.detail}`);
  }
  if (r.dmaDebug.length) {
    out.push('');
    out.push(`dma-debug (${num(r.counters.dmaDebugErrors ?? 0)} report${r.counters.dmaDebugErrors === 1 ? '' : 's'}):`);
    for (const d of r.dmaDebug.slice(0, 10)) out.push(`  ${opWord} ${d.op} ${d.class}: ${d.message}${recordedNote(d, opWord)}`);
    // --json keeps the first MAX_DEBUG_RECORDS; dmaDebugErrors counts them all.
    const total = r.counters.dmaDebugErrors ?? r.dmaDebug.length;
    const beyond = total > r.dmaDebug.length ? `, which keeps the first ${num(r.dmaDebug.length)} of the ${num(total)}` : '';
    if (r.dmaDebug.length > 10) out.push(`  … ${num(r.dmaDebug.length - 10)} more in --json${beyond}`);
  }
  return out.join('\n') + '\n';
}

/** Where a report's entry came from (the map or allocation dma-debug filed it at; not for an
 * overlap, whose entry is its own call's), and, for a trace replay, the device address the trace
 * recorded where the simulated one the message names differs (the one in the reader's dmesg). */
export function recordedNote(d: DebugRecord, opWord = 'line'): string {
  const notes: string[] = [];
  if (d.entryOp !== undefined && d.class !== 'overlap') notes.push(`dma-debug's entry from ${opWord} ${d.entryOp}`); // an overlap's is its own call
  const simulated = d.traceAddress && /device address[= ](0x[0-9a-f]+)/.exec(d.message)?.[1];
  if (d.traceAddress && (simulated === undefined || BigInt(simulated) !== BigInt(d.traceAddress))) notes.push(`the trace recorded device address ${d.traceAddress}`);
  return notes.length ? ` (${notes.join('; ')})` : '';
}
