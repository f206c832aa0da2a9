// The coherence oracle (no kernel file): every read is compared with the last write to the same
// logical units, from either side, in program order. A page counts once, by its worst unit.
import { VIOLATION_WORDS, ViolationKind } from '../engine/abi.js';
import type { Counters } from './counters.js';
import type { Hops } from './hops.js';
import { DEV_BIT, stampVersion } from './memory.js';

export type Kind = (typeof ViolationKind)[keyof typeof ViolationKind];

export function classify(cpuReader: boolean, seenHi: number, seenLo: number, expHi: number, expLo: number): Kind {
  if (seenHi === expHi && seenLo === expLo) return ViolationKind.none;
  if (seenHi === expHi && stampVersion(seenLo) < stampVersion(expLo)) {
    return cpuReader && (expLo & DEV_BIT) !== 0 ? ViolationKind.lost : ViolationKind.stale;
  }
  return ViolationKind.foreign;
}

/** The earliest failing page, word for word as VIOLATION_FIELDS names them. */
export interface Violation extends Hops {
  kind: Kind;
  op: number;
  reader: number;
  pfn: number;
  mfn: number;
  dmaAddr: bigint;
  gpuPage: number;
  pte: bigint;
  unit: number;
  seenHi: number;
  seenLo: number;
  expHi: number;
  expLo: number;
  bufId: number;
}

export type Described = Omit<Violation, keyof Hops>;

export class Oracle {
  first: Violation | null = null;

  constructor(
    private readonly counters: Counters,
    /** The hops behind the address the reader used (hops.ts), asked for the first violation only. */
    private readonly hops: (reader: number, pfn: number, dmaAddr: bigint, gpuPage: number) => Hops,
  ) {}

  /** Counts a failing page; the first one is kept (built lazily: most pages are fine). */
  failPage(kind: Kind, describe: () => Described): void {
    if (kind === ViolationKind.none) return;
    if (kind === ViolationKind.stale) this.counters.staleReads++;
    else if (kind === ViolationKind.lost) this.counters.lostWrites++;
    else this.counters.foreignReads++;
    if (this.first) return;
    const d = describe();
    this.first = { ...d, ...this.hops(d.reader, d.pfn, d.dmaAddr, d.gpuPage) };
  }

  words(): bigint[] | null {
    const v = this.first;
    if (!v) return null;
    const words = [
      BigInt(v.kind), BigInt(v.op), BigInt(v.reader), BigInt(v.pfn), BigInt(v.mfn), v.dmaAddr,
      BigInt(v.gpuPage), v.pte, BigInt(v.unit), BigInt(v.seenHi), BigInt(v.seenLo),
      BigInt(v.expHi), BigInt(v.expLo), BigInt(v.bufId),
      BigInt(v.pageMfn), BigInt(v.via), BigInt(v.slot), BigInt(v.hopPfn), BigInt(v.gattEntryAddr), BigInt(v.gattTableMfn),
    ];
    if (words.length !== VIOLATION_WORDS) throw new Error('violation record layout');
    return words.map((w) => BigInt.asIntN(64, w));
  }
}
