// The live mappings a trace replay holds (source/trace.ts), found by the recording machine's dma
// pages: an unmap by its start, a sync by any byte it covers (a segment an IOMMU merged holds
// several entries; two mappings may hold the same bytes).
import { Dir, OP_ATTR_SKIP_CPU_SYNC, PAGE_SIZE } from '../engine/abi.js';
import { FifoMap } from './fifoMap.js';
import type { Addr } from './traceEvents.js';

/** How many unmapped things a trace replay remembers (page buffers for a later map of the same pages,
 * mappings and sg lists for a double unmap or a use after unmap), the oldest forgotten first. */
export const IDLE_MAX = 4096;
export const DIR = { BIDIRECTIONAL: Dir.bidirectional, TO_DEVICE: Dir.to_device, FROM_DEVICE: Dir.from_device } as const;
/** A map's, dma_map_sg's or an unmap's attrs word: DMA_ATTR_SKIP_CPU_SYNC (at a map: no cacheline EEXIST report, 6.12
 * add_dma_entry; at an unmap: no copy back, dma_direct_unmap_page, xen_swiotlb_unmap_page). */
export const attrsOf = (ev: { skipSync: boolean }) => (ev.skipSync ? OP_ATTR_SKIP_CPU_SYNC : 0);

/** A replayed buffer: its engine slot, its report id and, for page buffers, the page range it
 * covers (`key`, reused by a later map of the same pages). `map`: the mapping of a dma_alloc_pages
 * or _sgt buffer that the platform maps (TraceLimits.allocPagesMapped). `coherent`: a dma_alloc's
 * (dma-debug files it as coherent, as the kernel does). `made` (here and on a Mapping): the op
 * that made the allocation's, or the mapping's, dma-debug entry (traceState.ts made). `last`: its latest streaming mapping, the
 * one the engine's record of the buffer holds (an older one unmapped is no longer reachable through it). */
export interface Buffer { slot: number; id: number; pages: number; key: string; live: boolean; freed: boolean; map?: Mapping; coherent?: boolean; made?: number; last?: Mapping }
/** A mapping at recorded address `dma` of `size` bytes, `offset` into its buffer. `alloc`: made by a
 * dma_alloc_pages or _sgt (synced by its dma_addr; unmapped only by its free). */
export interface Mapping { dma: Addr; size: number; buf: Buffer; offset: number; sg: boolean; live: boolean; alloc?: boolean; alone?: boolean; synthetic?: boolean; made?: number; segments?: ReadonlySet<Addr> }
/** `segments`: the segment addresses the recording IOMMU printed for the merged list it is an entry
 * of. `synthetic`: an entry of a list the recording IOMMU merged whose dma_addr starts no segment (sgEntries: placed inside
 * one); dma-debug filed no entry there, so an unmap there matches none. `alone`: the recording machine bounced it (a
 * swiotlb_bounced line came before its map) or merged its list, so its dma range is a bounce slot's or an IOVA's, its own; elsewhere a mapping the trace did not show may start in its pages (dma-direct, Xen PV's machine
 * frames, an SME C-bit or a bus offset; behind an IOMMU it could not, but a trace does not tell an IOVA from those). */

/** The part [from, to) of a sync's range that mapping `m` holds. */
export interface Overlap { m: Mapping; from: number; to: number }

export class LiveMappings {
  private readonly byPage = new Map<number, Mapping[]>();

  add(m: Mapping): void {
    for (let p = Math.floor(m.dma / PAGE_SIZE), last = Math.floor((m.dma + m.size - 1) / PAGE_SIZE); p <= last; p++) {
      const at = this.byPage.get(p);
      if (at) at.push(m);
      else this.byPage.set(p, [m]);
    }
  }

  /** Takes `m` out, and marks it dead. */
  remove(m: Mapping): void {
    m.live = false;
    for (let p = Math.floor(m.dma / PAGE_SIZE), last = Math.floor((m.dma + m.size - 1) / PAGE_SIZE); p <= last; p++) {
      const at = this.byPage.get(p)!;
      at.splice(at.lastIndexOf(m), 1);
      if (at.length === 0) this.byPage.delete(p);
    }
  }

  /** The live mapping an unmap at `dma` of `size` bytes means (none: undefined); an allocation's
   * mapping goes only with its free. dma-debug matches an unmap by size too, and under dma-direct
   * a page and an sg entry of the same bytes share a dma_addr (a single unmap means the single
   * mapping). So: one of the unmap's size before one of another size, a single map before an sg
   * entry, the latest first. */
  findStart(dma: Addr, size: number): Mapping | undefined {
    const at = this.byPage.get(Math.floor(dma / PAGE_SIZE));
    let best: Mapping | undefined, rank = -1;
    for (let i = (at?.length ?? 0) - 1; i >= 0; i--) {
      const m = at![i]!;
      if (m.alloc || m.synthetic) continue;
      const r = m.dma !== dma ? -1 : (m.size === size ? 2 : 0) + (m.sg ? 0 : 1);
      if (r > rank) [best, rank] = [m, r];
    }
    return best;
  }

  /** Each live mapping [dma, dma + size) overlaps, and the part it holds: the latest first where
   * two hold the same bytes, each byte once. */
  overlapping(dma: Addr, size: number): Overlap[] {
    const out: Overlap[] = [];
    for (let p = Math.floor(dma / PAGE_SIZE), last = Math.floor((dma + Math.max(size, 1) - 1) / PAGE_SIZE); p <= last; p++) {
      const at = this.byPage.get(p);
      for (let i = (at?.length ?? 0) - 1; i >= 0; i--) {
        const m = at![i]!;
        const from = Math.max(dma, m.dma), to = Math.min(dma + size, m.dma + m.size);
        if (from >= to || out.some((o) => o.m.dma <= from && from < o.m.dma + o.m.size)) continue;
        out.push({ m, from, to });
      }
    }
    return out;
  }

  /** The latest live streaming mapping holding byte `dma` that no mapping the trace did not show can share (`alone`,
   * or any, `iommu`: the device is behind a translating IOMMU, whose IOVA ranges are each one mapping's): its buffer's
   * slot, and where in the buffer that byte is. */
  holdingAlone(dma: Addr, iommu = false): { slot: number; offset: number } | undefined {
    const at = this.byPage.get(Math.floor(dma / PAGE_SIZE)) ?? [];
    for (let i = at.length - 1; i >= 0; i--) {
      const m = at[i]!;
      if ((m.alone || iommu) && !m.alloc && m.dma <= dma && dma < m.dma + m.size) return { slot: m.buf.slot, offset: m.offset + (dma - m.dma) };
    }
    return undefined;
  }

  /** The live streaming mappings starting at `dma` (not an allocation's, not one placed inside a merged segment). */
  startingAt(dma: Addr): Mapping[] {
    return this.byPage.get(Math.floor(dma / PAGE_SIZE))?.filter((m) => m.dma === dma && !m.alloc && !m.synthetic) ?? [];
  }

  /** Does a live mapping hold byte `dma`? */
  holds(dma: Addr): boolean {
    return this.byPage.get(Math.floor(dma / PAGE_SIZE))?.some((m) => m.dma <= dma && dma < m.dma + m.size) ?? false;
  }
}

/** Where DeadMappings files a mapping by the bytes it held: in each 64 KiB it touches (few mappings share one). */
const DEAD_BUCKET = 64 * 1024;

/** The latest IDLE_MAX mappings the trace unmapped (a driver's double unmap or use after unmap), by dma_addr, and by the
 * bytes they held for a call inside one (the piece a smaller unmap at its handle left): only those whose range was their
 * own on the recording machine (`alone`, or any behind an IOMMU: LiveMappings.holdingAlone says why; once the trace
 * shows the IOMMU, those unmapped before count too), not an allocation's nor one placed inside a merged segment, and only
 * until events are lost (a map lost from the trace may lie inside one). */
export class DeadMappings {
  private readonly byStart = new FifoMap<Addr, Mapping>();
  private readonly byBucket = new Map<number, Set<Mapping>>(); // each Set in the order its mappings were unmapped
  /** Those that may be filed by their bytes, unmapped since events were last lost, in the order they were unmapped. */
  private readonly since = new Set<Mapping>();
  private iommu = false;

  get(dma: Addr): Mapping | undefined {
    return this.byStart.get(dma);
  }

  has(dma: Addr): boolean {
    return this.byStart.has(dma);
  }

  /** `m`, just unmapped, is the latest at its address (one unmapped there before goes); past IDLE_MAX the oldest goes. */
  add(m: Mapping): void {
    const old = this.byStart.get(m.dma);
    if (old) this.drop(old);
    this.byStart.set(m.dma, m);
    if (!m.alloc && !m.synthetic) {
      this.since.add(m);
      if (m.alone || this.iommu) this.file(m);
    }
    if (this.byStart.size > IDLE_MAX) this.drop(this.byStart.shift()![1]);
  }

  /** The trace shows the device behind an IOMMU (a merged sg list): every mapping unmapped since events were last lost
   * is filed by its bytes, in the order they were unmapped (a trace without one never pays for its direct mappings). */
  iommuShown(): void {
    if (this.iommu) return;
    this.iommu = true;
    this.byBucket.clear();
    for (const m of this.since) this.file(m);
  }

  /** The latest unmapped mapping filed by its bytes that holds byte `dma` past its start (its bucket's last). */
  holding(dma: Addr): Mapping | undefined {
    let latest: Mapping | undefined;
    for (const m of this.byBucket.get(Math.floor(dma / DEAD_BUCKET)) ?? []) if (m.dma < dma && dma < m.dma + m.size) latest = m;
    return latest;
  }

  /** Events were lost: a map among them may lie inside any mapping unmapped before, so none is looked inside any more. */
  lost(): void {
    this.byBucket.clear();
    this.since.clear();
  }

  private file(m: Mapping): void {
    this.buckets(m, (k) => {
      const at = this.byBucket.get(k);
      if (at) at.add(m);
      else this.byBucket.set(k, new Set([m]));
    });
  }

  private drop(m: Mapping): void {
    this.byStart.delete(m.dma); // nothing when shift() took it already
    this.since.delete(m);
    this.buckets(m, (k) => {
      const at = this.byBucket.get(k);
      if (at?.delete(m) && at.size === 0) this.byBucket.delete(k);
    });
  }

  private buckets(m: Mapping, fn: (k: number) => void): void {
    for (let k = Math.floor(m.dma / DEAD_BUCKET), last = Math.floor((m.dma + Math.max(m.size, 1) - 1) / DEAD_BUCKET); k <= last; k++) fn(k);
  }
}

/** Do the pieces cover [dma, dma + size) without a gap (a sync over one merged IOMMU segment's entries)? */
export function coveredBy(pieces: readonly { from: Addr; to: Addr }[], dma: Addr, size: number): boolean {
  let at = dma;
  for (const p of [...pieces].sort((a, b) => a.from - b.from)) {
    if (p.from > at) return false;
    at = Math.max(at, p.to);
  }
  return at >= dma + size;
}
