// A traced dma_map_sg list's entries as the replay maps them (source/trace.ts): physical address,
// length and the dma address the recording machine gave each.
import { PAGE_SIZE } from '../engine/abi.js';
import type { Addr, TraceEvent } from './traceEvents.js';

export interface SgEntry { phys: Addr; size: number; dma: Addr }

/**
 * Unmerged (as many dma segments as entries: dma-direct, or an IOMMU that merged nothing), each
 * entry is its segment. Merged by the recording IOMMU (ents < nents; __finalise_sg folds entries
 * into segments), the trace gives each segment's length, not each entry's: the list's length is
 * split over its entries, whole pages each but the last, which takes the rest; each entry's dma
 * address is its place in the segments laid end to end.
 */
export function sgEntries(ev: Extract<TraceEvent, { kind: 'map_sg' }>): { list: SgEntry[]; merged: boolean } {
  if (ev.dmas.length === ev.phys.length && ev.ents === ev.nents) {
    return { list: ev.phys.map((phys, i) => ({ phys, size: ev.sizes[i]!, dma: ev.dmas[i]! })), merged: false };
  }
  const total = ev.sizes.reduce((a, b) => a + b, 0);
  const n = ev.phys.length;
  const base = Math.max(PAGE_SIZE, Math.floor(total / n / PAGE_SIZE) * PAGE_SIZE);
  const list: SgEntry[] = [];
  let left = total;
  let at = 0;
  for (let i = 0; i < n && left > 0; i++) {
    const size = i === n - 1 ? left : Math.min(base, left);
    list.push({ phys: ev.phys[i]!, size, dma: segmentAddr(ev.dmas, ev.sizes, at) });
    left -= size;
    at += size;
  }
  return { list, merged: true };
}

/** Where stream offset `at` lies in dma segments laid end to end (the last segment's end past them). */
function segmentAddr(dmas: Addr[], sizes: number[], at: number): Addr {
  let start = 0;
  for (let i = 0; i < dmas.length; i++) {
    if (at < start + sizes[i]! || i === dmas.length - 1) return dmas[i]! + (at - start);
    start += sizes[i]!;
  }
  return 0;
}
