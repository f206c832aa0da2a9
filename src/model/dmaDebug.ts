// DMA-API debugging of kernel/dma/debug.c: every live mapping is an entry; unmap and sync are
// checked against it (check_unmap, check_sync) and the device's release reports leftovers.
// It sees misuse of the API, never a missing sync — that is the oracle's job.
import type { Counters } from './counters.js';
import { DEBUG_CLASSES, DEBUG_WORDS, DebugType, Dir, MAX_DEBUG_RECORDS, type DebugClass } from '../engine/abi.js';

export interface DebugEntry {
  dmaAddr: number;
  size: number;
  dir: number;
  type: number;
  /** dma_mapping_error() was called (coherent entries need no check). */
  checked: boolean;
}

/** What the driver passed to unmap or sync. */
export interface DebugRef {
  dmaAddr: number;
  size: number;
  dir: number;
  type: number;
}

const MISSING = -1;

export class DmaDebug {
  /** Live entries, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly entries = new Set<DebugEntry>();
  private readonly byAddr = new Map<number, DebugEntry[]>();
  readonly records: bigint[][] = [];
  total = 0;
  /** Device teardown (ENGINE.md T20): checks still remove entries, but report nothing. */
  quiet = false;

  constructor(private readonly counters: Counters) {}

  add(dmaAddr: number, size: number, dir: number, type: number): DebugEntry {
    const entry: DebugEntry = { dmaAddr, size, dir, type, checked: type === DebugType.coherent };
    this.entries.add(entry);
    const same = this.byAddr.get(dmaAddr);
    if (same) same.push(entry);
    else this.byAddr.set(dmaAddr, [entry]);
    return entry;
  }

  get liveCount(): number {
    return this.entries.size;
  }

  /** Live streaming (single) entries (ENGINE.md §13 bit 2). */
  get liveSingles(): number {
    let n = 0;
    for (const e of this.entries) if (e.type === DebugType.single) n++;
    return n;
  }

  isLive(entry: DebugEntry): boolean {
    return this.entries.has(entry);
  }

  checkUnmap(op: number, ref: DebugRef): void {
    const same = this.byAddr.get(ref.dmaAddr);
    const entry = same ? same[same.length - 1] : undefined;
    if (!entry) {
      this.report('unmap-unknown', op, ref, null);
      return;
    }
    if (ref.size !== entry.size) this.report('unmap-size', op, ref, entry);
    if (ref.type !== entry.type) this.report('unmap-wrong-function', op, ref, entry);
    if (ref.dir !== entry.dir) this.report('unmap-direction', op, ref, entry);
    if (!entry.checked) this.report('map-error-unchecked', op, ref, entry);
    this.remove(entry);
  }

  checkSync(op: number, ref: DebugRef, toCpu: boolean): void {
    const entry = this.findContaining(ref.dmaAddr);
    if (!entry) {
      this.report('sync-unknown', op, ref, null);
      return;
    }
    if (ref.dmaAddr - entry.dmaAddr + ref.size > entry.size) this.report('sync-outside', op, ref, entry);
    if (entry.dir === Dir.bidirectional) return;
    if (ref.dir !== entry.dir) this.report('sync-direction', op, ref, entry);
    if (toCpu && entry.dir !== Dir.from_device && ref.dir !== Dir.to_device) {
      this.report('sync-cpu-readonly', op, ref, entry);
    }
    if (!toCpu && entry.dir !== Dir.to_device && ref.dir !== Dir.from_device) {
      this.report('sync-device-writeonly', op, ref, entry);
    }
  }

  /** debug_dma_mapping_error: the oldest live unchecked single entry at exactly `addr` is checked (D7). */
  mappingError(addr: number): void {
    const entry = this.byAddr.get(addr)?.find((e) => e.type === DebugType.single && !e.checked);
    if (entry) entry.checked = true;
  }

  /** The device goes away: one leak report if anything is still mapped. */
  release(op: number): void {
    if (this.entries.size > 0) this.report('leak', op, null, null, this.entries.size);
  }

  /** The newest live entry whose range holds `addr`. */
  private findContaining(addr: number): DebugEntry | undefined {
    let found: DebugEntry | undefined;
    for (const e of this.entries) if (addr >= e.dmaAddr && addr < e.dmaAddr + e.size) found = e;
    return found;
  }

  private remove(entry: DebugEntry): void {
    this.entries.delete(entry);
    const same = this.byAddr.get(entry.dmaAddr)!;
    same.splice(same.lastIndexOf(entry), 1);
    if (same.length === 0) this.byAddr.delete(entry.dmaAddr);
  }

  /** [class, op, dmaAddr, size, entryDir, refDir, entryType, refType, count, entrySize] */
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
      count, entry ? entry.size : MISSING,
    ];
    if (words.length !== DEBUG_WORDS) throw new Error('debug record layout');
    this.records.push(words.map((w) => BigInt.asIntN(64, BigInt(w))));
  }
}
