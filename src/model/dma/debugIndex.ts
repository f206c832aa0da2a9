// Where dma-debug's containing lookup finds the live entries that may hold a sync's address (twin
// of assembly/dma/debug_index.ts). Models no kernel code: 6.12's bucket_find_contain walks hash
// buckets back from the sync's (dma/debug.ts); this index only makes the set of entries it must
// look at small. Different, for speed only. A narrow entry (its last byte at most
// DEBUG_NARROW_SPAN pages past its first page) is filed by its first page; a wide one at level k
// (spanning at most DEBUG_NARROW_SPAN << k pages) by the 2^(4+k)-page granule its first page is
// in, so a sync looks at two granules a level, not at every wide entry; an empty or vast one on
// the vast list.
import { DEBUG_NARROW_SPAN, DEBUG_WIDE_LEVELS, PAGE_SIZE } from '../../engine/abi.js';

/** Wide levels 1..DEBUG_WIDE_LEVELS reach DEBUG_NARROW_SPAN << 16 pages (4 GiB); past that, vast. */
const WIDE_LEVELS = DEBUG_WIDE_LEVELS;
const VAST = WIDE_LEVELS + 1;

/** What the index reads of an entry. */
export interface Spanned { dmaAddr: number; size: number }

export function pushTo<K, E>(map: Map<K, E[]>, key: K, entry: E): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

export function dropFrom<K, E>(map: Map<K, E[]>, key: K, entry: E): void {
  const list = map.get(key)!;
  list.splice(list.lastIndexOf(entry), 1);
  if (list.length === 0) map.delete(key);
}

/** Pages past its first that an entry reaches, or −1 if it is empty. */
function spanOf(dmaAddr: number, size: number): number {
  return size <= 0 ? -1 : Math.floor(((dmaAddr % PAGE_SIZE) + size - 1) / PAGE_SIZE);
}

/** An entry's level: 0 narrow, 1..WIDE_LEVELS wide, VAST otherwise. */
function levelOf(e: Spanned): number {
  const span = spanOf(e.dmaAddr, e.size);
  if (span < 0) return VAST;
  if (span <= DEBUG_NARROW_SPAN) return 0;
  let k = 1;
  while (span > DEBUG_NARROW_SPAN * 2 ** k) k++;
  return k <= WIDE_LEVELS ? k : VAST;
}

const firstPage = (e: Spanned): number => Math.floor(e.dmaAddr / PAGE_SIZE);
const granuleKey = (level: number, granule: number): string => `${level}:${granule}`;

export class ContainIndex<E extends Spanned> {
  /** Narrow entries by first page. */
  private readonly byPage = new Map<number, E[]>();
  /** Wide entries by level and granule. */
  private readonly byGranule = new Map<string, E[]>();
  private readonly vast = new Set<E>();
  /** Live narrow entries per page span, and the largest span with any; live entries per wide level. */
  private readonly spans = new Array<number>(DEBUG_NARROW_SPAN + 1).fill(0);
  private maxSpan = 0;
  private readonly levels = new Array<number>(WIDE_LEVELS + 1).fill(0);

  add(e: E): void {
    const level = levelOf(e);
    if (level === VAST) this.vast.add(e);
    else if (level === 0) {
      const span = spanOf(e.dmaAddr, e.size);
      pushTo(this.byPage, firstPage(e), e);
      this.spans[span]++;
      if (span > this.maxSpan) this.maxSpan = span;
    } else {
      pushTo(this.byGranule, granuleKey(level, Math.floor(firstPage(e) / 2 ** (4 + level))), e);
      this.levels[level]++;
    }
  }

  remove(e: E): void {
    const level = levelOf(e);
    if (level === VAST) this.vast.delete(e);
    else if (level === 0) {
      dropFrom(this.byPage, firstPage(e), e);
      this.spans[spanOf(e.dmaAddr, e.size)]--;
      while (this.maxSpan > 0 && this.spans[this.maxSpan] === 0) this.maxSpan--;
    } else {
      dropFrom(this.byGranule, granuleKey(level, Math.floor(firstPage(e) / 2 ** (4 + level))), e);
      this.levels[level]--;
    }
  }

  /** Every live entry that can hold an address on `page`, each once (and maybe others). */
  forEachCandidate(page: number, fn: (e: E) => void): void {
    for (let d = 0; d <= this.maxSpan && d <= page; d++) this.byPage.get(page - d)?.forEach(fn);
    for (let k = 1; k <= WIDE_LEVELS; k++) {
      if (this.levels[k] === 0) continue;
      const size = 2 ** (4 + k);
      const lo = Math.floor(Math.max(0, page - DEBUG_NARROW_SPAN * 2 ** k) / size);
      const hi = Math.floor(page / size);
      this.byGranule.get(granuleKey(k, lo))?.forEach(fn);
      if (hi !== lo) this.byGranule.get(granuleKey(k, hi))?.forEach(fn);
    }
    this.vast.forEach(fn);
  }
}
