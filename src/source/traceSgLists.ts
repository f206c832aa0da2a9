// The sg lists a trace mapped (source/trace.ts): dma_unmap_sg names its list only by the physical
// addresses of its entries, so live lists are kept by their first one, and the latest lists the
// trace unmapped by all of them, so that a second dma_unmap_sg of a list (a double unmap) finds
// its entries again: 6.12's debug_dma_unmap_sg then checks every entry (get_nr_mapped_entries
// finds none live, so its "mapped_ents" stop never comes) and each is "has not allocated".
import type { Addr } from './traceEvents.js';
import { FifoMap } from './fifoMap.js';
import { IDLE_MAX } from './traceMappings.js';

/** One list: its key (sgKey of its physical addresses), its replayed entries, and the handle of
 * its entries not replayed (source/traceSkips.ts), if any. */
export interface SgList<M> { key: string; maps: M[]; skipped?: object }

/** An entry of a list the trace unmapped: its recorded dma address and size; `synthetic`: one the
 * replay placed inside a segment a recording IOMMU merged (traceMappings.ts). */
export interface UnmappedEntry { dma: Addr; size: number; live: false; synthetic: boolean }

export class SgLists<M extends { dma: Addr; size: number; synthetic?: boolean }> {
  private readonly live = new Map<Addr, SgList<M>[]>();
  /** Unmapped lists' entries as dma, size, synthetic (1/0) triples (compact: a long trace unmaps many lists). */
  private readonly dead = new FifoMap<string, Float64Array>();

  add(first: Addr, list: SgList<M>): void {
    const lists = this.live.get(first);
    if (lists) lists.push(list);
    else this.live.set(first, [list]);
  }

  /** The live list with this key starting at `first` (the latest), or -1; and how many start there. */
  find(first: Addr | undefined, key: string): { at: number; count: number } {
    const lists = first === undefined ? undefined : this.live.get(first);
    return { at: lists ? lists.map((l) => l.key).lastIndexOf(key) : -1, count: lists?.length ?? 0 };
  }

  /** Takes the live list at index `at` of those starting at `first` (find's), remembering it as
   * unmapped under its key and under the unmap's (`unmapKey`: a dma_unmap_sg of fewer entries). */
  take(first: Addr, at: number, unmapKey: string): SgList<M> {
    const lists = this.live.get(first)!;
    const list = lists.splice(at, 1)[0]!;
    if (lists.length === 0) this.live.delete(first);
    const pairs = Float64Array.from(list.maps.flatMap((m) => [m.dma, m.size, m.synthetic ? 1 : 0]));
    for (const key of new Set([list.key, unmapKey])) {
      this.dead.delete(key);
      this.dead.set(key, pairs);
      if (this.dead.size > IDLE_MAX) this.dead.shift();
    }
    return list;
  }

  /** The entries of the latest unmapped list with this key (another dma_unmap_sg of it). */
  unmapped(key: string): UnmappedEntry[] | undefined {
    const pairs = this.dead.get(key);
    if (!pairs) return undefined;
    return Array.from({ length: pairs.length / 3 }, (_, i) => ({ dma: pairs[3 * i]!, size: pairs[3 * i + 1]!, live: false as const, synthetic: pairs[3 * i + 2] === 1 }));
  }
}
