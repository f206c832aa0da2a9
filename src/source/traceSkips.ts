// Mappings a trace replay did not replay (source/trace.ts): MMIO, memory already shared with the
// host, maps larger than the simulator's blocks, zero-length ones. The driver goes on to sync and
// unmap them, and those calls are not replayed either, for the same reason: they must not be taken
// for calls on an older, unmapped mapping at the same dma address (under dma-direct a page is
// given the same dma_addr every time it is mapped), which dma-debug would then report as a
// double unmap or a use after unmap that never happened.
import { MAX_ALLOC_PAGES, PAGE_SIZE } from '../engine/abi.js';
import type { Addr } from './traceEvents.js';
import { FifoMap } from './fifoMap.js';

/** Why a mapping was not replayed: the trace summary's `skipped` key it counts under. */
export type SkipReason = 'mmio' | 'ccShared' | 'tooLarge' | 'zeroLength';

interface Skipped { dma: Addr; size: number; reason: SkipReason }

/** At most this many skipped mappings are remembered (the oldest go first), so that a trace whose
 * unmaps were lost does not grow without bound. */
const REMEMBERED = 65536;

export class SkippedMappings {
  /** Mappings of at most MAX_ALLOC_PAGES + 1 pages, by each dma page they touch. */
  private readonly byPage = new Map<number, Skipped[]>();
  /** Larger ones, searched one by one (a map over 4 MiB is rare). */
  private readonly large = new Set<Skipped>();
  private readonly order = new FifoMap<Skipped, true>();
  /** sg lists not replayed, by their first physical address (all dma_unmap_sg gives). */
  private readonly sgLists = new Map<Addr, number>();

  add(dma: Addr, size: number, reason: SkipReason): void {
    const s: Skipped = { dma, size, reason };
    const [first, last] = pages(s);
    if (last - first > MAX_ALLOC_PAGES) this.large.add(s);
    else for (let p = first; p <= last; p++) {
      const at = this.byPage.get(p);
      if (at) at.push(s);
      else this.byPage.set(p, [s]);
    }
    this.order.set(s, true);
    if (this.order.size > REMEMBERED) this.remove(this.order.shift()![0]);
  }

  /** An unmap at `dma`: the latest skipped mapping that starts there, forgotten; or undefined. */
  takeStart(dma: Addr): SkipReason | undefined {
    const s = this.find(dma, (m) => m.dma === dma);
    if (s) this.remove(s);
    return s?.reason;
  }

  /** A sync at `dma`: why the latest skipped mapping holding that byte (or starting there) was skipped. */
  holding(dma: Addr): SkipReason | undefined {
    return this.find(dma, (m) => m.dma === dma || (dma > m.dma && dma < m.dma + m.size))?.reason;
  }

  addSg(phys: Addr): void {
    this.sgLists.set(phys, (this.sgLists.get(phys) ?? 0) + 1);
  }

  /** A dma_unmap_sg of a list not replayed: true (and forgotten), else false. */
  takeSg(phys: Addr): boolean {
    const n = this.sgLists.get(phys) ?? 0;
    if (n > 1) this.sgLists.set(phys, n - 1);
    else this.sgLists.delete(phys);
    return n > 0;
  }

  private find(dma: Addr, match: (s: Skipped) => boolean): Skipped | undefined {
    const at = this.byPage.get(Math.floor(dma / PAGE_SIZE));
    for (let i = (at?.length ?? 0) - 1; i >= 0; i--) if (match(at![i]!)) return at![i];
    let found: Skipped | undefined;
    for (const s of this.large) if (match(s)) found = s;
    return found;
  }

  private remove(s: Skipped): void {
    this.order.delete(s);
    if (this.large.delete(s)) return;
    const [first, last] = pages(s);
    for (let p = first; p <= last; p++) {
      const at = this.byPage.get(p)!;
      at.splice(at.lastIndexOf(s), 1);
      if (at.length === 0) this.byPage.delete(p);
    }
  }
}

/** The first and last dma pages a mapping touches (a zero-length one: its start's page). */
function pages(s: Skipped): [number, number] {
  return [Math.floor(s.dma / PAGE_SIZE), Math.floor((s.dma + Math.max(s.size, 1) - 1) / PAGE_SIZE)];
}
