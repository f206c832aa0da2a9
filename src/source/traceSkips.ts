// Mappings a trace replay did not replay (source/trace.ts): MMIO, memory already shared with the
// host, maps larger than the simulator's blocks, zero-length ones. The driver goes on to sync and
// unmap them, and those calls are not replayed either, under the same count: without this they
// would count as calls on mappings made before the trace, or, where an older mapping of the same
// dma_addr was unmapped (dma-direct gives a page the same dma_addr each time it is mapped), be
// replayed on it as a double unmap or a use after unmap that never happened.
import { PAGE_SIZE } from '../engine/abi.js';
import type { Addr } from './traceEvents.js';
import { FifoMap } from './fifoMap.js';

/** Why a mapping was not replayed: the trace summary's `skipped` key it counts under. */
export type SkipReason = 'mmio' | 'ccShared' | 'tooLarge' | 'zeroLength';

/** One mapping not replayed; `at` is the trace line that made it. */
export interface Skipped { dma: Addr; size: number; reason: SkipReason; at: number; group: Group; nodes: Node[] }

/** A mapping's place in one chunk's list (doubly linked, oldest first: any one leaves in O(1)). */
interface Node { s: Skipped; chunk: number; prev: Node | null; next: Node | null }
interface Chunk { head: Node | null; tail: Node | null }

/** The mappings one call made (a map, or an sg list's skipped entries), forgotten together when old. */
interface Group { members: Set<Skipped>; sg: Addr | undefined; sgPrev: Group | null; sgNext: Group | null }

/** Records are found by the 2 MiB chunks of dma address they touch; one spanning more chunks than
 * this is kept in a list searched one by one (a map over 1 GiB: MMIO windows, at most a few). */
const CHUNK = 512 * PAGE_SIZE, MAX_CHUNKS = 512, HUGE = -1;

export class SkippedMappings {
  /** By chunk number; HUGE: the mappings over MAX_CHUNKS chunks. */
  private readonly byChunk = new Map<number, Chunk>();
  /** Groups, oldest first, and their records in all: at most `limit` are remembered. */
  private readonly groups = new FifoMap<Group, true>();
  private records = 0;
  /** sg lists with skipped entries, by their first physical address (all dma_unmap_sg gives). */
  private readonly sgLists = new Map<Addr, { head: Group | null; tail: Group | null }>();

  constructor(private readonly limit = 16384) {}

  /** Remembers the mappings of one call (an sg list's: `sg` is its first physical address). */
  add(entries: { dma: Addr; size: number; reason: SkipReason }[], at: number, sg?: Addr): void {
    const group: Group = { members: new Set(), sg, sgPrev: null, sgNext: null };
    for (const e of entries) {
      const s: Skipped = { ...e, at, group, nodes: [] };
      group.members.add(s);
      const [first, last] = chunks(s);
      if (last - first >= MAX_CHUNKS) this.link(s, HUGE);
      else for (let c = first; c <= last; c++) this.link(s, c);
    }
    this.records += entries.length;
    this.groups.set(group, true);
    if (sg !== undefined) {
      let l = this.sgLists.get(sg);
      if (!l) this.sgLists.set(sg, (l = { head: null, tail: null }));
      group.sgPrev = l.tail;
      if (l.tail) l.tail.sgNext = group; else l.head = group;
      l.tail = group;
    }
    while (this.records > this.limit) this.drop(this.groups.shift()![0]);
  }

  /** The latest remembered mapping that starts at `dma` (an unmap's). */
  findStart(dma: Addr): Skipped | undefined {
    return this.find(dma, (s) => s.dma === dma);
  }

  /** The latest remembered mapping holding byte `dma` (a sync's first byte) or starting there. */
  holding(dma: Addr): Skipped | undefined {
    return this.find(dma, (s) => s.dma === dma || (dma > s.dma && dma < s.dma + s.size));
  }

  /** An unmap took this mapping: forgotten. */
  forget(s: Skipped): void {
    const g = s.group;
    if (!g.members.delete(s)) return;
    this.records--;
    this.unlink(s);
    if (g.members.size === 0) this.drop(g);
  }

  /** dma_unmap_sg of the list at `sg`: its skipped entries (the latest such list's) are forgotten;
   * the reason of its first, or undefined when no list there has any. */
  takeSg(sg: Addr): SkipReason | undefined {
    const g = this.sgLists.get(sg)?.tail;
    if (!g) return undefined;
    const reason = g.members.values().next().value?.reason;
    this.drop(g);
    return reason;
  }

  /** How many mappings are remembered (for tests). */
  get size(): number {
    return this.records;
  }

  private find(dma: Addr, match: (s: Skipped) => boolean): Skipped | undefined {
    let found: Skipped | undefined;
    for (let n = this.byChunk.get(Math.floor(dma / CHUNK))?.tail; n && !found; n = n.prev) if (match(n.s)) found = n.s;
    for (let n = this.byChunk.get(HUGE)?.tail; n; n = n.prev) if (match(n.s) && (!found || n.s.at > found.at)) return n.s;
    return found;
  }

  /** Forgets a whole group. */
  private drop(g: Group): void {
    this.groups.delete(g);
    for (const s of g.members) this.unlink(s);
    this.records -= g.members.size;
    g.members.clear();
    if (g.sg !== undefined) {
      const l = this.sgLists.get(g.sg)!;
      if (g.sgPrev) g.sgPrev.sgNext = g.sgNext; else l.head = g.sgNext;
      if (g.sgNext) g.sgNext.sgPrev = g.sgPrev; else l.tail = g.sgPrev;
      if (!l.head) this.sgLists.delete(g.sg);
      g.sg = undefined; // dropped: a second drop (forget after takeSg) finds nothing to unlink
    }
  }

  private link(s: Skipped, chunk: number): void {
    let c = this.byChunk.get(chunk);
    if (!c) this.byChunk.set(chunk, (c = { head: null, tail: null }));
    const n: Node = { s, chunk, prev: c.tail, next: null };
    if (c.tail) c.tail.next = n; else c.head = n;
    c.tail = n;
    s.nodes.push(n);
  }

  private unlink(s: Skipped): void {
    for (const n of s.nodes) {
      const c = this.byChunk.get(n.chunk)!;
      if (n.prev) n.prev.next = n.next; else c.head = n.next;
      if (n.next) n.next.prev = n.prev; else c.tail = n.prev;
      if (!c.head) this.byChunk.delete(n.chunk);
    }
    s.nodes.length = 0;
  }
}

/** The first and last 2 MiB chunks a mapping touches (a zero-length one: its start's). */
function chunks(s: { dma: Addr; size: number }): [number, number] {
  return [Math.floor(s.dma / CHUNK), Math.floor((s.dma + Math.max(s.size, 1) - 1) / CHUNK)];
}
