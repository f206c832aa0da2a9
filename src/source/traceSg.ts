// A traced dma_map_sg list's entries as the replay maps them (source/trace.ts): physical address,
// length and the dma address the recording machine gave each; and what of a dma_sync_sg it syncs.
import { PAGE_SIZE } from '../engine/abi.js';
import { ADDR_ERROR, ADDR_ERROR_32 } from './traceAddr.js';
import type { Addr, TraceEvent } from './traceEvents.js';

export interface SgEntry { phys: Addr; size: number; dma: Addr }

/**
 * Unmerged (as many dma segments as entries: dma-direct, or an IOMMU that merged nothing), each
 * entry is its segment. Merged by the recording IOMMU (ents < nents), the trace gives each
 * segment's address and length, not each entry's. 6.12's __finalise_sg (drivers/iommu/dma-iommu.c)
 * folds whole entries, in order, into segments: an entry joins the segment before it only when it
 * starts on an IOVA page boundary and the one before ended on one, so within a segment only the
 * first entry has an offset into its page (the segment address keeps it) and only the last ends
 * mid-page, and no entry spans two segments. Which entries a segment holds is not printed: each
 * segment gets a share of the entries in proportion to the pages it spans (at least one, at most
 * one a page), and its entries whole pages each, the last taking the rest; each entry's dma
 * address is its place in its segment. Exact when the entries are alike (one page each, or n
 * pages each); the phys addresses are the trace's own. A list whose segments cannot hold its
 * entries that way (fewer pages than entries: an inconsistent line) is split over the segments
 * laid end to end instead.
 */
export function sgEntries(ev: Extract<TraceEvent, { kind: 'map_sg' }>): { list: SgEntry[]; merged: boolean } {
  if (ev.dmas.length === ev.phys.length && ev.ents === ev.nents) {
    return { list: ev.phys.map((phys, i) => ({ phys, size: ev.sizes[i]!, dma: ev.dmas[i]! })), merged: false };
  }
  return { list: bySegment(ev) ?? endToEnd(ev), merged: true };
}

/** The entries of a merged list, segment by segment (above); undefined when they do not fit. A
 * list printed in part (nents=128/N) shares out its full length, or the printed segments' part of
 * it when they are cut too, and places only the printed entries: the segments past them hold
 * entries the trace did not print. */
function bySegment(ev: Extract<TraceEvent, { kind: 'map_sg' }>): SgEntry[] | undefined {
  const printed = ev.phys.length, m = Math.min(ev.dmas.length, ev.sizes.length);
  if (m === 0 || printed < m || ev.sizes.some((z, j) => j < m && z <= 0)) return undefined;
  const off = (j: number) => ((ev.dmas[j]! % PAGE_SIZE) + PAGE_SIZE) % PAGE_SIZE; // a folded address keeps its low bits
  const pages = Array.from({ length: m }, (_, j) => Math.ceil((off(j) + ev.sizes[j]!) / PAGE_SIZE));
  const total = pages.reduce((a, b) => a + b, 0);
  // The entries the printed segments hold: all of a whole list; of a cut one its estimate, at
  // least the printed entries and at most one a page.
  const n = printed >= ev.nents ? printed : Math.min(total, Math.max(printed, m < ev.ents ? Math.round((ev.nents * m) / ev.ents) : ev.nents));
  if (total < n) return undefined;
  const list: SgEntry[] = [];
  let first = 0, before = 0, after = total;
  for (let j = 0; j < m; j++) {
    before += pages[j]!;
    after -= pages[j]!;
    // Entries [first, end): a share by pages, at least one, at most one a page, leaving each later
    // segment one entry and no more than its pages hold.
    const end = j === m - 1 ? n : Math.min(first + pages[j]!, n - (m - 1 - j), Math.max(first + 1, n - after, Math.round((n * before) / total)));
    const k = end - first, o = off(j), span = o + ev.sizes[j]!;
    const q = Math.max(1, Math.floor(pages[j]! / k)) * PAGE_SIZE;
    for (let t = 0; t < k && first + t < printed; t++) {
      const from = t === 0 ? o : t * q, to = t === k - 1 ? span : (t + 1) * q;
      list.push({ phys: ev.phys[first + t]!, size: to - from, dma: ev.dmas[j]! + (from - o) });
    }
    first = end;
  }
  return list;
}

/** The list's length split over its entries, whole pages each but the last, laid over the
 * segments end to end (the fallback for segments too small for the entries); a page each for a
 * list printed in part. */
function endToEnd(ev: Extract<TraceEvent, { kind: 'map_sg' }>): SgEntry[] {
  const total = ev.sizes.reduce((a, b) => a + b, 0);
  const n = ev.phys.length;
  // A cut list: the printed segments hold entries past the printed ones too, so a page each.
  const cut = n < ev.nents;
  const base = cut ? PAGE_SIZE : Math.max(PAGE_SIZE, Math.floor(total / n / PAGE_SIZE) * PAGE_SIZE);
  const list: SgEntry[] = [];
  let left = total;
  let at = 0;
  for (let i = 0; i < n && left > 0; i++) {
    const size = i === n - 1 && !cut ? left : Math.min(base, left);
    list.push({ phys: ev.phys[i]!, size, dma: segmentAddr(ev.dmas, ev.sizes, at) });
    left -= size;
    at += size;
  }
  return list;
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
