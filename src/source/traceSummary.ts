// What a replayed kernel trace was, beside the counters: a result's `trace` (source/trace.ts
// fills it in).
import { UsageError, escapeText, msg, shown } from '../errors.js';
import { NO_TRACE_EVENTS, deviceList } from './traceEvents.js';

/** What a replayed trace was, beside the counters (a result's `trace`). */
export interface TraceSummary {
  format: 'ftrace';
  /** The recording device whose events were replayed (its dev_name). */
  device: string;
  /** Every device with dma or swiotlb events, most events first. */
  devices: { name: string; events: number }[];
  lines: number;
  /** The replayed device's events, by event name. */
  events: Record<string, number>;
  /** swiotlb_bounced lines of the device: what the recording machine bounced. */
  recordedBounces: number;
  /** The widths of the DMA masks those lines print (dma_mask=: *dev->dma_mask, the streaming mask;
   * 0, a device without one, is left out), each once, as first seen: the recording device's mask,
   * which replay does not take (--device gives the simulated one). */
  recordedMaskBits: number[];
  /** Events the ring buffer dropped ("[LOST N EVENTS]", trace-cmd's "[N EVENTS DROPPED]"), and
   * how many such lines there were (some give no count): the trace is incomplete there. */
  lostEvents: number;
  lostMarkers: number;
  /** Events not replayed, by why (see the file's header); cut: 1 when the last line, with no line
   * break after it, was not read (source/traceFile.ts). */
  skipped: { mmio: number; ccShared: number; failedOnRecording: number; beforeTrace: number; afterUnmap: number; tooLarge: number; zeroLength: number; cut: number };
  /** Unmaps and syncs (an sg list's call: one per entry) of mappings the trace had already unmapped
   * (a double unmap, a use after unmap, at the handle or inside: the rest of one a smaller unmap left), replayed on their unmapped pages so dma-debug sees them as
   * the kernel would (an sg sync then reports nothing); when those pages were taken again or given
   * back, skipped.afterUnmap counts them instead. */
  afterUnmap: number;
  /** Syncs starting inside a DMA-API allocation of its own memory (dma_alloc, and its _pages/_sgt
   * forms where the platform does not map them: dma-direct, the IOMMU, 2.6.37): never bounced. On
   * 6.12 replayed for dma-debug, which checks them against the allocation's entry (coherent: only
   * whether it holds the range; noncoherent or sg: the direction too; debug_dma_alloc_pages,
   * debug_dma_map_sg); on 2.6.37 counted, not replayed. */
  allocSyncs: number;
  /** dma_alloc_pages / dma_alloc_sgt allocations replayed as pages the platform's DMA ops map
   * (6.12 xen-pv: dma_common_alloc_pages through xen_swiotlb_map_page), whose syncs are replayed. */
  allocsMapped: number;
  /** Unmaps and syncs of DMA_MAPPING_ERROR (ffffffffffffffff, or ffffffff with a 32-bit
   * dma_addr_t): the driver used a failed map's handle without checking dma_mapping_error(), a bug
   * wherever it runs. Replayed at the handle a failed map gives on the simulated platform and era
   * (the map itself is not), so dma-debug answers as that kernel would; firstLine: the first (null: none). */
  errorHandle: { unmaps: number; syncs: number; firstLine: number | null };
  /** Single syncs that ran past the mappings they started in, or over separate mappings side by side
   * (6.12 dma-debug: sync-unknown; 2.6.37: sync-outside from the mapping's handle, as its range form
   * checks). An sg call's entries that do are replayed alike but not counted: dma-debug checks them
   * only where the call's first entry starts a live sg entry (get_nr_mapped_entries). */
  syncsPastMapping: number;
  /** dma_unmap_page/phys calls at a live DMA-API allocation's dma_addr (dma_alloc, _pages, _sgt): replayed on
   * it, so dma-debug reports the wrong function (and removes its entry, as check_unmap does); the platform
   * unmaps what it mapped there (6.12 xen-pv's _pages pages, an IOMMU's range); the memory stays allocated. */
  allocUnmaps: number;
  /** Frees (dma_free, _pages, _sgt) at the dma_addr of an allocation the trace had freed (a double
   * free) and at a live streaming mapping's (a dma_map_page handle freed): replayed for dma-debug
   * only, as the call's hook checks them ("has not allocated"; the wrong function). */
  freesAgain: number;
  mappingFrees: number;
  /** dma_unmap_page calls and frees (dma_free, _pages, _sgt) at an address inside a live mapping the recording bounced
   * (a swiotlb_bounced line before its map) or a live DMA-API allocation, not at its start: dma-debug finds no entry there
   * ("has not allocated"), replayed for it at the address inside here; inside any mapping of a device whose sg lists the
   * recording IOMMU merged (its IOVA ranges are each one mapping's). Not inside another mapping: one made before the
   * trace may start in its pages (dma-direct, Xen PV's machine frames; a trace does not otherwise tell an IOVA from those),
   * so those stay `beforeTrace`. */
  insideCalls: number;
  /** dma_unmap_page/phys calls that unmapped one entry of a live sg list by itself. */
  sgEntryUnmaps: number;
  /** sg lists whose entries' lengths the trace does not give (merged by the recording IOMMU),
   * and lists printed only in part ([TRUNCATED], 128 entries). */
  sgMerged: number;
  sgTruncated: number;
  /** Mappings and allocations still live when the trace ended (the release reports them). */
  liveAtEnd: number;
  /** Of those, DMA-API allocations (dma_alloc, _pages, _sgt): still in use when the trace ended, a
   * leak, or (6.13 and 6.12.48 on) dma_alloc memory from the device's own coherent pool, whose
   * allocation dma_alloc_attrs traces but whose dma_free it does not (dma_release_from_dev_coherent
   * returns first). */
  allocsLiveAtEnd: number;
  /** The end of the highest physical page a replayed map named (bytes): the recording machine's
   * RAM reached at least that far. */
  highestPhys: number;
  /** The trace's dma_alloc lines have 6.12's format (no dir=; 6.12.0–6.12.47): in those kernels
   * dma_alloc_pages traced as dma_map_page and dma_alloc_noncontiguous as dma_map_sg, so their
   * memory replays as streaming maps. */
  allocFormat612: boolean;
  /** Always false: a trace has no CPU or device accesses, so the oracle checked no read and the
   * result's `verdict` (coherent when no read failed) says nothing about data. */
  oracleChecked: false;
}

export function emptySummary(device: string | undefined): TraceSummary {
  return {
    format: 'ftrace', device: device ?? '', devices: [], lines: 0, events: {}, recordedBounces: 0, recordedMaskBits: [], lostEvents: 0, lostMarkers: 0,
    skipped: { mmio: 0, ccShared: 0, failedOnRecording: 0, beforeTrace: 0, afterUnmap: 0, tooLarge: 0, zeroLength: 0, cut: 0 },
    afterUnmap: 0, errorHandle: { unmaps: 0, syncs: 0, firstLine: null }, allocSyncs: 0, allocsMapped: 0, syncsPastMapping: 0, allocUnmaps: 0, freesAgain: 0, mappingFrees: 0, insideCalls: 0, sgEntryUnmaps: 0, sgMerged: 0, sgTruncated: 0, liveAtEnd: 0, allocsLiveAtEnd: 0, highestPhys: 0,
    allocFormat612: false, oracleChecked: false,
  };
}

/** Each device's event count, most events first (a tie: by name). */
export function byEvents(counts: Map<string, number>): { name: string; events: number }[] {
  return [...counts].map(([name, events]) => ({ name, events })).sort((a, b) => b.events - a.events || (a.name < b.name ? -1 : 1));
}

/** What an error adds when the trace's last line, cut short, was not read (source/traceFile.ts): '' if it was read. */
export function cutNote(cut: boolean): string {
  return cut ? '; its last line, with no line break after it, was not read (a file cut short ends so)' : '';
}

/** The end of a replay (source/trace.ts finish): which device ran, whether the user chose one with
 * no events (exit 2), whether the last line was cut (not read). */
export function finishSummary(s: TraceSummary, at: { file: string; lines: number; cut: boolean; deviceEvents: Map<string, number>;
  chosen: string | undefined; allocsLive: number; liveMappings: number }): TraceSummary {
  s.lines = at.lines;
  s.skipped.cut = at.cut ? 1 : 0;
  s.devices = byEvents(at.deviceEvents);
  const cut = cutNote(at.cut);
  if (s.devices.length === 0) throw new UsageError(msg.scriptLine(at.file, at.lines, NO_TRACE_EVENTS + cut));
  if (at.chosen !== undefined && !at.deviceEvents.has(at.chosen)) {
    throw new UsageError(`--trace-device: ${shown(at.chosen)} has no events in ${escapeText(at.file)} (devices: ${deviceList(s.devices)})${cut}`);
  }
  s.device = at.chosen!;
  s.allocsLiveAtEnd = at.allocsLive;
  s.liveAtEnd = at.liveMappings + at.allocsLive;
  return s;
}
