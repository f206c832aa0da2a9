// The coherence oracle (no kernel file): every read is compared with the last write to the same
// logical units, from either side, in program order. A page counts once, by its worst unit.
import { VIOLATION_WORDS, ViolationKind } from '../engine/abi.js';
import type { Counters } from './counters.js';
import { DEV_BIT, stampVersion } from './memory.js';

export type Kind = (typeof ViolationKind)[keyof typeof ViolationKind];

export function classify(cpuReader: boolean, seenHi: number, seenLo: number, expHi: number, expLo: number): Kind {
  if (seenHi === expHi && seenLo === expLo) return ViolationKind.none;
  if (seenHi === expHi && stampVersion(seenLo) < stampVersion(expLo)) {
    return cpuReader && (expLo & DEV_BIT) !== 0 ? ViolationKind.lost : ViolationKind.stale;
  }
  return ViolationKind.foreign;
}

/** The earliest failing page, word for word as VIOLATION_WORDS describes. */
export interface Violation {
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

export class Oracle {
  first: Violation | null = null;

  constructor(private readonly counters: Counters) {}

  /** Counts a failing page; the first one is kept (built lazily: most pages are fine). */
  failPage(kind: Kind, describe: () => Violation): void {
    if (kind === ViolationKind.none) return;
    if (kind === ViolationKind.stale) this.counters.staleReads++;
    else if (kind === ViolationKind.lost) this.counters.lostWrites++;
    else this.counters.foreignReads++;
    if (!this.first) this.first = describe();
  }

  words(): bigint[] | null {
    const v = this.first;
    if (!v) return null;
    const words = [
      BigInt(v.kind), BigInt(v.op), BigInt(v.reader), BigInt(v.pfn), BigInt(v.mfn), v.dmaAddr,
      BigInt(v.gpuPage), v.pte, BigInt(v.unit), BigInt(v.seenHi), BigInt(v.seenLo),
      BigInt(v.expHi), BigInt(v.expLo), BigInt(v.bufId),
    ];
    if (words.length !== VIOLATION_WORDS) throw new Error('violation record layout');
    return words.map((w) => BigInt.asIntN(64, w));
  }
}
