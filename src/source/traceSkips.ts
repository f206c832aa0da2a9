// Mappings a trace replay did not replay (source/trace.ts): MMIO, memory already shared with the
// host, maps and allocations larger than the simulator's blocks, zero-length ones. The driver goes
// on to sync, unmap and free them, and those calls are not replayed either, under the same count:
// without this they would count as calls on mappings made before the trace, or, where an older
// mapping of the same dma_addr was unmapped (dma-direct gives a page the same dma_addr each time),
// be replayed on it as a double unmap or a use after unmap that never happened.
//
// Matching follows what the calls themselves say: an unmap or free names its mapping's start and
// size (dma-debug checks both), a sync a range that must lie inside a live mapping, an sg unmap
// its list's physical addresses. Everything is bounded: at most LIMIT mappings and LIMIT calls are
// remembered (the oldest call's go first), and every lookup reads at most BUCKET of them per index
// it looks in (one for unmaps and frees, one per block level in use for syncs).
import { PAGE_SIZE } from '../engine/abi.js';
import type { Addr } from './traceEvents.js';
import { FifoMap } from './fifoMap.js';

/** Why a mapping was not replayed: the trace summary's `skipped` key it counts under. */
export type SkipReason = 'mmio' | 'ccShared' | 'tooLarge' | 'zeroLength';
/** `sg`: an entry of a dma_map_sg list (dma-debug filed it with its list's count, sg_mapped_ents),
 * mapped with direction `dir` by a call of `ents` entries. */
export interface SkipEntry { dma: Addr; size: number; reason: SkipReason; kind: 'map' | 'alloc'; sg?: boolean; dir?: number; ents?: number }

/** `level`: the block level a sync finds it at (see `blocksOf`); `seq`: the order it was remembered in. */
interface Skipped extends SkipEntry { group: Group; gone: boolean; level: number; seq: number; filed: boolean }
/** The mappings one call made: a map's one, an sg list's skipped entries (`sg`: the list's key). */
interface Group { members: Skipped[]; live: number; sg: string | undefined }

const LIMIT = 16384;
/** Mappings at one start address, in one block of a level (below), or of one sg list key, kept
 * at most: the oldest there is forgotten first. */
const BUCKET = 64;
/** For syncs, a mapping is filed in the blocks of 16^level pages it touches, at the lowest level
 * where it touches at most SPAN of them: level 0 (single pages) for a mapping touching up to 16
 * pages, level 1 (16-page blocks) up to about 256, level 2 (256-page blocks) up to about 4096, and
 * so on; so a mapping of any length is filed under at most SPAN keys, and a sync looks in one block
 * per level. */
const SPAN = 16, FANOUT = 16;

/** The key of an sg list: its physical addresses as dma_map_sg prints them (128 at most). */
export function sgKey(phys: Addr[]): string {
  return phys.slice(0, 128).join(',');
}

export class SkippedMappings {
  private readonly groups = new FifoMap<Group, true>();
  private records = 0;
  private readonly byStart = new Map<Addr, Skipped[]>();
  /** byBlock[level]: block number → the mappings filed there, oldest first. */
  private readonly byBlock: Map<number, Skipped[]>[] = [];
  private seq = 0;
  private readonly sgLists = new Map<string, Group[]>();
  /** Where mappings and allocations started that the trace unmapped or freed (the latest LIMIT). */
  private readonly unmapped = new FifoMap<Addr, true>();

  constructor(private readonly limit = LIMIT) {}

  /** How many mappings are remembered. */
  get size(): number {
    return this.records;
  }

  /** Remembers the mappings of one call (an sg list's, under its key); the handle `release` takes. */
  add(entries: SkipEntry[], sg?: string): object {
    const group: Group = { members: [], live: entries.length, sg };
    for (const e of entries) {
      const [level, first, last] = blocksOf(e);
      const s: Skipped = { ...e, group, gone: false, level, seq: this.seq++, filed: true };
      this.unmapped.delete(e.dma);
      group.members.push(s);
      this.push(this.byStart, s.dma, s);
      const index = (this.byBlock[level] ??= new Map());
      for (let b = first; b <= last; b++) this.push(index, b, s, (old) => this.unfile(old));
    }
    this.records += entries.length;
    this.groups.set(group, true);
    if (sg !== undefined) {
      const lists = this.sgLists.get(sg) ?? [];
      lists.push(group);
      this.sgLists.set(sg, lists);
      if (lists.length > BUCKET) this.drop(lists[0]!);
    }
    while (this.records > this.limit || this.groups.size > this.limit) this.drop(this.groups.shift()![0]);
    return group;
  }

  /** The replayed part of an sg list was unmapped: the entries `add` gave this handle go with it. */
  release(handle: object): void {
    const g = handle as Group;
    if (this.groups.has(g)) this.drop(g, true);
  }

  /**
   * An unmap (`kind` map) or free (alloc) of [dma, dma + size): the remembered mapping of that kind
   * starting there with that size, else (`anySize`) with any size; the latest single map before an
   * sg entry (a single unmap means the single mapping, as the replay's own lookup does). Forgotten,
   * and its reason given; undefined when there is none.
   */
  take(dma: Addr, size: number, anySize: boolean, kind: 'map' | 'alloc'): SkipReason | undefined {
    const at = this.byStart.get(dma) ?? [];
    let best: Skipped | undefined, rank = 0;
    for (let i = at.length - 1; i >= 0; i--) {
      const s = at[i]!;
      const r = s.kind !== kind ? 0 : (s.size === size ? 2 : anySize ? 1 : 0) * 2 + (s.group.sg === undefined ? 1 : 0);
      if (r > rank && (r >= 4 || anySize)) [best, rank] = [s, r];
    }
    if (best) this.forget(best, true);
    return best?.reason;
  }

  /** A sync of [dma, dma + size): why the latest remembered mapping holding all of it was skipped. */
  holding(dma: Addr, size: number): SkipReason | undefined {
    const end = dma + size;
    // A zero-length sync is a mapping's when it is at a byte of it, or at a zero-length mapping's start.
    const inside = (s: Skipped) => s.dma <= dma && end <= s.dma + s.size && (size > 0 || dma < s.dma + s.size || s.dma === dma);
    // A mapping holding the sync holds its first page, so it is filed in that page's block.
    const page = Math.floor(dma / PAGE_SIZE);
    let latest: Skipped | undefined;
    this.byBlock.forEach((index, level) => {
      const at = index.get(Math.floor(page / FANOUT ** level));
      for (let i = (at?.length ?? 0) - 1; i >= 0; i--) {
        const s = at![i]!;
        if (!inside(s)) continue;
        if (!latest || s.seq > latest.seq) latest = s;
        break; // a block's mappings are oldest first
      }
    });
    return latest?.reason;
  }

  /**
   * What dma-debug's exact lookup (bucket_find_exact) finds at `dma` for the first entry of an sg
   * sync of `ents` entries, [dma, dma + size) in direction `dir`, among the mappings remembered
   * there: the lone one, else the one that fits perfectly (its size, sg, its direction, its call's
   * entry count); 'sg' when that is an sg list's entry (its sg_mapped_ents count), 'other' for any
   * other or none fitting (0). With none there: 'other' where one the trace unmapped was last,
   * else undefined.
   */
  exactAt(dma: Addr, size: number, dir: number, ents: number): 'sg' | 'other' | undefined {
    const at = this.byStart.get(dma) ?? [];
    if (at.length === 0) return this.unmapped.has(dma) ? 'other' : undefined;
    const found = at.length === 1 ? at[0] : at.find((s) => s.sg && s.size === size && s.dir === dir && s.ents === ents);
    return found?.sg ? 'sg' : 'other';
  }

  /** dma_unmap_sg of the list with this key: the latest such list's skipped entries are forgotten;
   * the reason of its first, or undefined when no list with that key had any. */
  takeSg(sg: string): SkipReason | undefined {
    const g = this.sgLists.get(sg)?.at(-1);
    if (!g) return undefined;
    this.drop(g, true);
    return g.members[0]!.reason;
  }

  /** Adds s under key; past BUCKET there the oldest is forgotten, or (a block of the sync index:
   * `evict` = unfile) only taken out of the block index, still remembered for its unmap or free. */
  private push<K>(index: Map<K, Skipped[]>, key: K, s: Skipped, evict = (old: Skipped) => this.forget(old)): void {
    const list = index.get(key) ?? [];
    list.push(s);
    index.set(key, list);
    if (list.length > BUCKET) evict(list[0]!);
  }

  private unfile(s: Skipped): void {
    if (!s.filed) return;
    s.filed = false;
    const [, first, last] = blocksOf(s);
    for (let b = first; b <= last; b++) remove(this.byBlock[s.level]!, b, s);
  }

  /** One mapping forgotten (its unmap, `unmapped`, or room made); its group goes with its last one,
   * unless an sg list's, which waits for its dma_unmap_sg (an entry may be unmapped alone first). */
  private forget(s: Skipped, unmapped = false): void {
    if (s.gone) return;
    s.gone = true;
    if (unmapped) {
      this.unmapped.delete(s.dma);
      this.unmapped.set(s.dma, true);
      if (this.unmapped.size > this.limit) this.unmapped.shift();
    }
    this.records--;
    remove(this.byStart, s.dma, s);
    this.unfile(s);
    if (--s.group.live === 0 && s.group.sg === undefined) this.groups.delete(s.group);
  }

  private drop(g: Group, unmapped = false): void {
    for (const s of g.members) this.forget(s, unmapped);
    this.groups.delete(g);
    if (g.sg !== undefined) remove(this.sgLists, g.sg, g);
  }
}

function remove<K, T>(index: Map<K, T[]>, key: K, item: T): void {
  const list = index.get(key);
  if (!list) return;
  const i = list.lastIndexOf(item);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) index.delete(key);
}

/** The level a mapping is filed at for syncs, and the first and last block of that level it
 * touches (from the first and last dma page it touches; a zero-length one: its start's). */
function blocksOf(s: SkipEntry): [level: number, first: number, last: number] {
  const first = Math.floor(s.dma / PAGE_SIZE), last = Math.floor((s.dma + Math.max(s.size, 1) - 1) / PAGE_SIZE);
  for (let level = 0, size = 1; ; level++, size *= FANOUT) {
    const a = Math.floor(first / size), b = Math.floor(last / size);
    if (b - a < SPAN) return [level, a, b];
  }
}
