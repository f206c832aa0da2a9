// The state a kernel trace's translator (source/trace.ts) keeps between events, and its bookkeeping
// of engine slots: which buffers are live, idle (unmapped, kept for a later map of the same pages),
// or freed allocations kept for a second free; the rules that turn events into ops are trace.ts's.
import { Op } from '../engine/abi.js';
import { UsageError, escapeText, msg } from '../errors.js';
import type { OpSink } from './sink.js';
import type { Addr, TraceDir } from './traceEvents.js';
import { ADDR_ERROR } from './traceEvents.js';
import { type TraceSummary, emptySummary } from './traceSummary.js';
import { SgLists } from './traceSgLists.js';
import { FifoMap } from './fifoMap.js';
import { LiveAllocations } from './traceAllocs.js';
import { AddrFolder } from './traceAddr.js';
import { type Buffer, DIR, DeadMappings, LiveMappings, type Mapping } from './traceMappings.js';
import { type SkipEntry, type SkipReason, SkippedMappings } from './traceSkips.js';

/** allocPagesMapped: dma_alloc_pages/_sgt memory is pages the platform maps (6.12 xen-pv: xen_swiotlb_dma_ops.alloc_pages_op is dma_common_alloc_pages);
 * modern: the simulated kernel is 6.12 (its dma-debug files _pages/_sgt memory as noncoherent or sg, with a direction: 2.6.37 had no such calls). */
export interface TraceLimits { maxBuffers: number; allocPagesMapped?: boolean; modern?: boolean }

/** One trace's translator state (TraceTranslator, source/trace.ts, is the rest). */
export abstract class TraceState {
  /** Live buffers' ids → names as reports show them (the engine numbers every alloc from 1). */
  readonly names: Record<number, string> = {};
  protected readonly freeSlots: number[] = [];
  protected nextSlot = 0;
  protected nextId = 1;
  protected sgCalls = 0; // dma_map_sg calls replayed: an entry's MAP names its call (engine: a failed entry fails the call)
  protected lineNo = 0;
  protected pushed = 0; // ops pushed so far
  protected iommu = false; // the device's sg lists were merged: it is behind a translating IOMMU (trace.ts inside)
  protected readonly bounced: { size: number; devAddr?: Addr }[] = []; // its swiotlb_bounced lines since its last other event (the map they precede)
  protected liveMappings = 0;
  protected readonly idle = new FifoMap<string, Buffer>();
  /** Live mappings by recorded dma page: unmaps match the start, syncs any byte. */
  protected readonly mappings = new LiveMappings();
  /** sg lists, live by their first physical address, and the latest unmapped (dma_unmap_sg gives only phys_addrs). */
  protected readonly sgLists = new SgLists<Mapping>();
  /** The latest IDLE_MAX unmapped mappings by dma_addr: a driver's double unmap or use after unmap. */
  protected readonly dead = new DeadMappings();
  /** Live DMA-API allocations by recorded dma_addr, and where each starts (for syncs inside one). */
  protected readonly allocs = new LiveAllocations<Buffer>();
  protected readonly skips = new SkippedMappings();
  protected readonly deviceEvents = new Map<string, number>();
  protected readonly folder = new AddrFolder(); // addresses at or above 2^52 (source/traceAddr.ts)
  protected chosen: string | undefined;
  readonly summary: TraceSummary;

  constructor(protected readonly file: string, protected readonly limits: TraceLimits, private readonly sink: OpSink, device: string | undefined) {
    [this.chosen, this.summary] = [device, emptySummary(device)];
  }

  protected fail(what: string): never { throw new UsageError(msg.scriptLine(this.file, this.lineNo, what)); }

  /** dma_map_page_attrs and the syncs BUG() on an invalid direction before they trace. */
  protected dir(d: TraceDir): number {
    return d === 'NONE' ? this.fail('dir=NONE on a streaming call (the kernel BUG()s before tracing one)') : DIR[d];
  }

  /** The device address the current line recorded for the call being pushed (NaN: none), which a
   * dma-debug report on its op shows beside the simulated one. */
  protected rec: Addr = NaN;

  protected push(code: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): void { this.pushed++; this.sink.push(code, a, b, c, d, this.lineNo, e, f, this.rec); }

  /** The op just pushed, which made a dma-debug entry (a map, an allocation): its line and address
   * stay known while it lives (sink.ts pin), for the records that name that entry later. */
  protected made(): number {
    const op = this.sink.count - 1;
    this.sink.pin(op, this.lineNo, this.rec);
    return op;
  }

  /** What made(op) kept goes once its mapping or allocation does. */
  protected gone(op: number | undefined): void {
    if (op !== undefined) this.sink.unpin(op);
  }

  /** A recorded address as the trace printed it (DMA_MAPPING_ERROR as all ones, a folded one unfolded). */
  addressText(a: Addr): string { return a === ADDR_ERROR ? '0xffffffffffffffff' : this.folder.hex(a); }

  protected takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= this.limits.maxBuffers) {
      // Give back the least recently unmapped page buffer, else a freed allocation's slot, before giving up.
      if (this.dropOldestIdle()) return this.freeSlots.pop()!;
      const kept = this.allocs.dropOldestFreed();
      if (kept) return kept.slot;
      this.fail(`more than ${this.limits.maxBuffers} mappings and allocations live at once`);
    }
    return this.nextSlot++;
  }

  protected newBuffer(pages: number, key: string, name: string): Buffer {
    const slot = this.takeSlot();
    const b: Buffer = { slot, id: this.nextId++, pages, key, live: true, freed: false };
    this.names[b.id] = escapeText(name);
    return b;
  }

  /** A map or allocation not replayed: counted, and remembered so that its calls are not replayed
   * either; an sg list's entry (`group`) with its direction and its call's entry count (`sg`). */
  protected skip(dma: Addr, size: number, reason: SkipReason, kind: 'map' | 'alloc', group?: SkipEntry[], sg?: { dir: number; ents: number }): void {
    this.summary.skipped[reason]++;
    if (group) group.push({ dma, size, reason, kind, sg: true, ...sg });
    else if (dma !== ADDR_ERROR) this.skips.add([{ dma, size, reason, kind }]);
  }

  /** Frees the least recently unmapped page buffer; false when there is none. */
  protected dropOldestIdle(): boolean {
    const b = this.idle.shift()?.[1];
    if (!b) return false;
    this.release(b);
    return true;
  }

  /** Gives a page buffer back: its pages freed, its slot free again. */
  protected release(b: Buffer): void {
    b.freed = true;
    delete this.names[b.id];
    this.push(Op.FREE, b.slot);
    this.freeSlots.push(b.slot);
  }
}
