// DMA-API debugging (twin of assembly/dma/debug.ts): every live mapping is an entry; unmap and
// sync are checked against it (check_unmap, check_sync) and the device's release reports
// leftovers. Per era (docs/ENGINE.md §9): `2010` is lib/dma-debug.c of 2.6.37 (best-fit
// hash_bucket_find, exact-handle check_sync, dma_mapping_error first in check_unmap, no
// map-error tracking); `modern` is kernel/dma/debug.c of 6.12 (the same best fit,
// bucket_find_contain for syncs, map-error tracking, active cachelines → `overlap`).
// It sees misuse of the API, never a missing sync — that is the oracle's job.
import {
  DEBUG_CLASSES, DEBUG_ENTRY_CAPACITY, DEBUG_ENTRY_CAPACITY_MODERN, DEBUG_ENTRY_OP_MAX, DEBUG_WORDS, DMA_DEBUG_HASH_FN_SHIFT, DMA_DEBUG_HASH_SIZE, DebugType,
  Dir, Kernel, L1_CACHE_SHIFT, MAX_DEBUG_RECORDS, OP_ATTR_SKIP_CPU_SYNC, PAGE_SIZE, RECORDED_CLN_BIT, type DebugClass,
} from '../../engine/abi.js';
import { ActiveCachelines } from './debugCacheline.js';
import { ContainIndex, dropFrom, pushTo } from './debugIndex.js';
import type { Counters } from '../sim/counters.js';

export interface DebugEntry {
  dmaAddr: number;
  size: number;
  dir: number;
  type: number;
  /** An sg entry's list count (dma_map_sg's nents, sg_call_ents); 0 for the other types. */
  sgEnts: number;
  /** dma_mapping_error() was called (coherent and sg entries need no check). */
  checked: boolean;
  /** Creation order: the larger, the newer. */
  seq: number;
  /** The op that made it (−1 past DEBUG_ENTRY_OP_MAX, as the Wasm engine's 32-bit word keeps it). */
  op: number;
  /** Its active cacheline (modern, not to_device), or −1. */
  cln: number;
}

/** What the driver passed to unmap or sync (sgEnts: the sg call's nelems, sgIndex: the entry's place
 * in it; absent: 0). */
export interface DebugRef {
  dmaAddr: number;
  size: number;
  dir: number;
  type: number;
  sgEnts?: number;
  sgIndex?: number;
}

const MISSING = -1;
/** kernel/dma/debug.c hash_fn: the bucket of a dma address (8 KiB of address per bucket). */
const hashFn = (a: number): number => Math.floor(a / 2 ** DMA_DEBUG_HASH_FN_SHIFT) % DMA_DEBUG_HASH_SIZE;

export class DmaDebug {
  /** Live entries, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly entries = new Set<DebugEntry>();
  /** Live entries by exact dma address, oldest first (the kernel hashes its entries too). */
  private readonly byAddr = new Map<number, DebugEntry[]>();
  /** The containing lookup's index (dma/debugIndex.ts). */
  private readonly index = new ContainIndex<DebugEntry>();
  private seq = 0;
  private singles = 0;
  /** Out of preallocated entries: every hook does nothing from then on (ENGINE.md T22). */
  private disabled = false;
  readonly records: bigint[][] = [];
  total = 0;
  /** Device teardown (ENGINE.md T20): checks still remove entries, but report nothing. */
  quiet = false;
  /**
   * The one bus address the platform's dma_mapping_error() is true for (dma/mapping.ts
   * dmaErrorAddr: the 2010 overflow buffer, 0 on 2010 Xen, DMA_MAPPING_ERROR otherwise).
   */
  errorAddr = -1;
  /** Live entries at exactly the address of the last lookup (hash_bucket_find's `matches`). */
  private matches = 0;
  /** get_nr_mapped_entries of the sg sync in progress. */
  private sgMapped = 0;
  private readonly modern: boolean;
  private readonly cachelines = new ActiveCachelines();

  constructor(private readonly counters: Counters, kernel: number) {
    this.modern = kernel === Kernel.modern;
  }

  /**
   * add_dma_entry: the entry joins its buckets (hash_bucket_add). Modern (6.12) then tracks the
   * cacheline of `phys`, the mapped memory's first byte (to_cacheline_number: memory, not dma
   * address, so a bounce or IOVA of a page overlaps a direct mapping of it), unless DMA_TO_DEVICE
   * (active_cacheline_insert). Its EEXIST is one `overlap` record per mapping ("cacheline tracking
   * EEXIST, overlapping mappings aren't supported"), but not under DMA_ATTR_SKIP_CPU_SYNC (`attrs`,
   * a trace's map; the script's map and 6.12 ttm_pool_map pass 0), whose entry is still tracked.
   * `recorded`: where a kernel trace had the memory, whose cachelines are those then (tagged
   * RECORDED_CLN_BIT: never a simulated page's), else −1. 2010: no tracking.
   */
  add(op: number, dmaAddr: number, size: number, dir: number, type: number, phys: number, sgEnts = 0, recorded = -1, attrs = 0): DebugEntry | null {
    if (this.disabled) return null;
    // 6.12 debug_dma_map_page asks dma_mapping_error(dev, addr) before it allocates the entry, and
    // that inline calls debug_dma_mapping_error first: a streaming map at A marks the oldest live
    // unchecked entry at A checked (D7) before its own, unchecked, joins. Coherent entries: no such call.
    if (type === DebugType.single) this.mappingError(dmaAddr);
    if (this.entries.size >= (this.modern ? DEBUG_ENTRY_CAPACITY_MODERN : DEBUG_ENTRY_CAPACITY)) {
      this.disabled = true;
      return null;
    }
    if (type !== DebugType.coherent) this.singles++; // streaming: single or sg
    const entry: DebugEntry = { dmaAddr, size, dir, type, sgEnts, checked: type !== DebugType.single, seq: ++this.seq, op: op <= DEBUG_ENTRY_OP_MAX ? op : MISSING, cln: -1 };
    this.entries.add(entry);
    pushTo(this.byAddr, dmaAddr, entry);
    this.index.add(entry);
    if (this.modern && dir !== Dir.to_device) {
      entry.cln = recorded >= 0 ? Math.floor(recorded / 2 ** L1_CACHE_SHIFT) + 2 ** RECORDED_CLN_BIT : Math.floor(phys / 2 ** L1_CACHE_SHIFT);
      const overlap = this.cachelines.insert(entry.cln);
      if (overlap > 0 && (attrs & OP_ATTR_SKIP_CPU_SYNC) === 0) this.report('overlap', op, { dmaAddr, size, dir: MISSING, type: MISSING }, entry, overlap);
    }
    return entry;
  }

  get liveCount(): number {
    return this.entries.size;
  }

  /** Live streaming (single or sg) entries (ENGINE.md §13 bit 2). */
  get liveSingles(): number {
    return this.singles;
  }

  isLive(entry: DebugEntry): boolean {
    return this.entries.has(entry);
  }

  /** check_unmap's answer when no entry can hold the handle (assembly/dma/debug.ts report_unmap_unknown): at the era's
   * error handle "invalid DMA memory address", else "has not allocated". */
  reportUnmapUnknown(op: number, ref: DebugRef): void {
    if (!this.disabled) this.report('unmap-unknown', op, ref, null, ref.dmaAddr === this.errorAddr ? MISSING : 0);
  }

  /**
   * check_unmap. 2010 (lib/dma-debug.c 2.6.35–3.0): dma_mapping_error(addr) first — "tries to
   * free an invalid DMA memory address", no lookup; then the best-fit lookup. Modern (6.12
   * check_unmap) takes bucket_find_exact first — the same best fit — but a failed map is never
   * recorded, so the order changes nothing. The invalid address
   * is `unmap-unknown` with count −1 (INTERFACE has no class of its own). Then every mismatch:
   * size, wrong function (an sg entry unmapped as single: its type), direction, and (modern only) a
   * map error nobody checked. An sg list's "different entry count" has no class in INTERFACE.md:
   * the count only scores in the best fit.
   */
  checkUnmap(op: number, ref: DebugRef): void {
    if (this.disabled) return;
    if (ref.dmaAddr === this.errorAddr) {
      this.report('unmap-unknown', op, ref, null);
      return;
    }
    const entry = this.findBestFit(ref);
    if (!entry) {
      // Then dma_mapping_error(), whose 6.12 debug hook checks an entry at the address (D7; none on 2010).
      const matches = this.matches;
      this.mappingError(ref.dmaAddr);
      this.report('unmap-unknown', op, ref, null, matches);
      return;
    }
    if (ref.size !== entry.size) this.report('unmap-size', op, ref, entry);
    if (ref.type !== entry.type) this.report('unmap-wrong-function', op, ref, entry);
    if (ref.dir !== entry.dir) this.report('unmap-direction', op, ref, entry);
    if (this.modern && !entry.checked) this.report('map-error-unchecked', op, ref, entry);
    this.remove(entry);
  }

  /**
   * check_sync. 2010 (lib/dma-debug.c 2.6.35/36; 2.6.37 unpinned, ENGINE.md §9): best-fit at
   * exactly the handle. Modern (6.12 check_sync): bucketFindContain (D21), and "outside allocated
   * range" only when the sync is larger than the entry found (possible only when a sync at
   * DMA_MAPPING_ERROR wrapped its end). Then the BIDIRECTIONAL early exit and the direction checks.
   */
  /** debug_dma_sync_sg_*'s mapped_ents for the call in progress, where its first entry's lookup is not replayed. */
  setSgMapped(n: number): void {
    this.sgMapped = n;
  }

  /** check_sync's answer where no entry holds the address, with no lookup (assembly/dma/debug.ts report_sync_unknown). */
  reportSyncUnknown(op: number, ref: DebugRef): void {
    if (this.disabled) return;
    if (ref.type === DebugType.sg) {
      if ((ref.sgIndex ?? 0) === 0) this.sgMapped = 0;
      if ((ref.sgIndex ?? 0) >= this.sgMapped) return;
    }
    this.report('sync-unknown', op, ref, null, 0);
  }

  checkSync(op: number, ref: DebugRef, toCpu: boolean): void {
    if (this.disabled) return;
    // debug_dma_sync_sg_*: the first entry's exact lookup gives mapped_ents (its list's count; 0 when
    // not found), and only the entries below it are checked.
    if (ref.type === DebugType.sg) {
      if ((ref.sgIndex ?? 0) === 0) this.sgMapped = this.findBestFit(ref)?.sgEnts ?? 0;
      if ((ref.sgIndex ?? 0) >= this.sgMapped) return;
    }
    const entry = this.modern ? this.bucketFindContain(ref) : this.findBestFit(ref);
    if (this.modern && !entry) this.matches = this.byAddr.get(ref.dmaAddr)?.length ?? 0;
    if (!entry) {
      this.report('sync-unknown', op, ref, null, this.matches);
      return;
    }
    const outside = this.modern ? ref.size > entry.size : ref.dmaAddr - entry.dmaAddr + ref.size > entry.size;
    if (outside) this.report('sync-outside', op, { ...ref, dmaAddr: entry.dmaAddr }, entry); // the kernel prints the entry's address
    if (entry.dir === Dir.bidirectional) return;
    if (ref.dir !== entry.dir) this.report('sync-direction', op, ref, entry);
    if (toCpu && entry.dir !== Dir.from_device && ref.dir !== Dir.to_device) {
      this.report('sync-cpu-readonly', op, ref, entry);
    }
    if (!toCpu && entry.dir !== Dir.to_device && ref.dir !== Dir.from_device) {
      this.report('sync-device-writeonly', op, ref, entry);
    }
  }

  /**
   * debug_dma_mapping_error (modern): the oldest live unchecked single entry at exactly `addr` is
   * checked (D7). 2010 has no such hook: 2.6.37's dma_mapping_error never calls dma-debug.
   */
  mappingError(addr: number): void {
    if (this.disabled || !this.modern) return;
    const entry = this.byAddr.get(addr)?.find((e) => e.type === DebugType.single && !e.checked);
    if (entry) entry.checked = true;
  }

  /**
   * Device release: all that is still mapped or allocated leaked, but the `pooled` entries (T20).
   * 6.12 (dma_debug_device_change) names one, device_dma_allocations' last: the newest of the
   * highest hash bucket; only when none is pooled (which entries a pool holds is not known here).
   */
  release(op: number, pooled: number): void {
    if (this.disabled || this.entries.size <= pooled) return;
    let one: DebugEntry | null = null;
    if (this.modern && pooled === 0) {
      for (const e of this.entries) if (!one || hashFn(e.dmaAddr) > hashFn(one.dmaAddr) || (hashFn(e.dmaAddr) === hashFn(one.dmaAddr) && e.seq > one.seq)) one = e;
    }
    this.report('leak', op, one && { dmaAddr: one.dmaAddr, size: one.size, dir: MISSING, type: MISSING }, one, this.entries.size - pooled);
  }

  /**
   * lib/dma-debug.c hash_bucket_find (2.6.35–3.0, so 2.6.37); kernel/dma/debug.c 6.12
   * bucket_find_exact → __hash_bucket_find, exact_match (its last level starts at −1: a lone
   * candidate is found even matching nothing; 2010's starts at 0). Of the live entries at exactly the address, in
   * insertion order (6.12's buckets are list_add_tail: oldest first), one point each for equal
   * size, type and direction, plus one for the sg entry count (0 for a single). The first
   * perfect score wins at once; otherwise the
   * best score (from 0, strictly better replaces) counts only for a lone candidate — several,
   * none perfect: nothing ("has not allocated").
   */
  private findBestFit(ref: DebugRef): DebugEntry | undefined {
    const same = this.byAddr.get(ref.dmaAddr) ?? [];
    this.matches = same.length;
    let best: DebugEntry | undefined;
    let lastLvl = this.modern ? -1 : 0; // 6.12 starts at −1: a lone candidate is found even matching nothing
    for (const e of same) {
      const lvl = (e.size === ref.size ? 1 : 0) + (e.type === ref.type ? 1 : 0) + (e.dir === ref.dir ? 1 : 0) + (e.sgEnts === (ref.sgEnts ?? 0) ? 1 : 0);
      if (lvl === 4) return e;
      if (lvl > lastLvl) {
        lastLvl = lvl;
        best = e;
      }
    }
    return same.length === 1 ? best : undefined;
  }

  /**
   * kernel/dma/debug.c 6.12 bucket_find_contain: from the sync's hash bucket back one bucket (8 KiB
   * of dma address) at a time, at most HASH_SIZE of them and not below address 0 (which still
   * meets every containing entry), __hash_bucket_find with containing_match in each: the oldest
   * entry of that bucket with equal size, type, direction and sg count, else the bucket's only containing
   * entry; several and none perfect → that bucket gives nothing and the walk goes on. None → no
   * entry ("has not allocated"), so a sync running past a mapping's end is unknown, not outside.
   */
  private bucketFindContain(ref: DebugRef): DebugEntry | undefined {
    // containing_match: the entry holds all of [addr, addr + size), sums in u64 as the kernel's:
    // a sync at DMA_MAPPING_ERROR (−1 here) wraps its end to size − 1, and every entry starts
    // below it. Its step: how many buckets back from the sync's (hash_fn, mod HASH_SIZE).
    if (ref.dmaAddr < 0 && ref.size === 0) return undefined; // its end is all ones: nothing holds it
    const wrapped = ref.dmaAddr < 0;
    const end = wrapped ? ref.size - 1 : ref.dmaAddr + ref.size;
    const home = wrapped ? DMA_DEBUG_HASH_SIZE - 1 : hashFn(ref.dmaAddr);
    const found: { e: DebugEntry; step: number }[] = [];
    const consider = (e: DebugEntry): void => {
      if ((wrapped || e.dmaAddr <= ref.dmaAddr) && e.dmaAddr + e.size >= end) {
        found.push({ e, step: (home - hashFn(e.dmaAddr) + DMA_DEBUG_HASH_SIZE) % DMA_DEBUG_HASH_SIZE });
      }
    };
    // A zero-byte sync is held by an entry that ends at its address, whose last byte may lie on a
    // page far from it: every entry is asked (rare: scripts and workloads never sync 0 bytes).
    if (wrapped || ref.size === 0) {
      this.entries.forEach(consider);
    } else {
      this.index.forEachCandidate(Math.floor(ref.dmaAddr / PAGE_SIZE), consider);
    }
    found.sort((a, b) => a.step - b.step || a.e.seq - b.e.seq);
    for (let i = 0; i < found.length; ) {
      let j = i;
      while (j < found.length && found[j].step === found[i].step) j++;
      const perfect = found.slice(i, j).find(({ e }) => e.size === ref.size && e.type === ref.type && e.dir === ref.dir && e.sgEnts === (ref.sgEnts ?? 0));
      if (perfect) return perfect.e;
      if (j - i === 1) return found[i].e;
      i = j;
    }
    return undefined;
  }

  private remove(entry: DebugEntry): void {
    this.entries.delete(entry);
    // dma_entry_free → active_cacheline_remove (modern; to_device entries were never tracked).
    if (entry.cln >= 0) this.cachelines.remove(entry.cln);
    if (entry.type !== DebugType.coherent) this.singles--;
    dropFrom(this.byAddr, entry.dmaAddr, entry);
    this.index.remove(entry);
  }

  /** [class, op, dmaAddr, size, entryDir, refDir, entryType, refType, count, entrySize, entryOp] */
  private report(cls: DebugClass, op: number, ref: DebugRef | null, entry: DebugEntry | null, count = MISSING): void {
    if (this.quiet) return;
    this.total++;
    this.counters.dmaDebugErrors++;
    if (this.records.length >= MAX_DEBUG_RECORDS) return;
    const words = [
      DEBUG_CLASSES.indexOf(cls), op,
      ref ? ref.dmaAddr : MISSING, ref ? ref.size : MISSING,
      entry ? entry.dir : MISSING, ref ? ref.dir : MISSING,
      entry ? entry.type : MISSING, ref ? ref.type : MISSING,
      count, entry ? entry.size : MISSING, entry ? entry.op : MISSING,
    ];
    if (words.length !== DEBUG_WORDS) throw new Error('debug record layout');
    this.records.push(words.map((w) => BigInt.asIntN(64, BigInt(w))));
  }
}
