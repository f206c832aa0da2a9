// A traced dma_map_sg list's entries as the replay maps them (source/trace.ts): physical address,
// length and the dma address the recording machine gave each; and what of a dma_sync_sg it syncs.
import { PAGE_SIZE } from '../engine/abi.js';
import { ADDR_ERROR, ADDR_ERROR_32 } from './traceAddr.js';
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

/**
 * The entries of a dma_sync_sg the replay syncs: those of non-zero length. The event prints each
 * entry's dma address and sg_dma_len, though the kernel syncs every entry's sg->length
 * (dma_direct_sync_sg_*, iommu_dma_sync_sg_*): behind an IOMMU that merged the list, the entries
 * past its segments print DMA_MAPPING_ERROR and length 0, and their bytes lie inside the segments.
 * A call with none is counted instead: as failed when recorded when every address is
 * DMA_MAPPING_ERROR (a list whose map failed: __invalidate_sg; ffffffff with a 32-bit dma_addr_t),
 * else as zero-length.
 */
export function sgSyncs(ev: Extract<TraceEvent, { kind: 'sync_sg' }>): { dma: Addr; size: number; index: number }[] | 'failedOnRecording' | 'zeroLength' {
  const entries = ev.dmas.map((dma, i) => ({ dma, size: ev.sizes[i]!, index: i })).filter((e) => e.size > 0);
  if (entries.length > 0) return entries;
  return ev.dmas.length > 0 && (ev.dmas.every((d) => d === ADDR_ERROR) || ev.dmas.every((d) => d === ADDR_ERROR_32)) ? 'failedOnRecording' : 'zeroLength';
}
