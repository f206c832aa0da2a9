// The coherence oracle (twin of assembly/sim/oracle.ts; no kernel file): every read is compared
// with the last write to the same logical units, from either side, in program order. A page counts
// once, by its worst unit; the first failing page is kept, its hops filled in after the op
// (driver/hops.ts).
import { DEV_BIT, PAGE_SIZE, Reader, UNIT_SIZE, VIOLATION_FIELDS, ViolationKind } from '../../engine/abi.js';
import type { Counters } from './counters.js';
import { chunkLength, stampVersion, type MemoryState, type Reach } from './stamps.js';

export type Kind = (typeof ViolationKind)[keyof typeof ViolationKind];

export function classify(cpuReader: boolean, seenHi: number, seenLo: number, expHi: number, expLo: number): Kind {
  if (seenHi === expHi && seenLo === expLo) return ViolationKind.none;
  if (seenHi === expHi && stampVersion(seenLo) < stampVersion(expLo)) {
    return cpuReader && (expLo & DEV_BIT) !== 0 ? ViolationKind.lost : ViolationKind.stale;
  }
  return ViolationKind.foreign;
}

/** The earliest failing page, word for word as VIOLATION_FIELDS names them (bigints: u64 patterns). */
export type Violation = Record<(typeof VIOLATION_FIELDS)[number], number | bigint>;

export class Oracle {
  first: Violation | null = null;
  /** The first violation was recorded by the op running now; its hops are still to fill in. */
  fresh = false;

  constructor(private readonly counters: Counters) {}

  /** Counts a failing page; the first one is kept (built lazily: most pages are fine). */
  failPage(kind: Kind, describe: () => Violation): void {
    if (kind === ViolationKind.none) return;
    if (kind === ViolationKind.stale) this.counters.staleReads++;
    else if (kind === ViolationKind.lost) this.counters.lostWrites++;
    else this.counters.foreignReads++;
    if (this.first) return;
    this.first = describe();
    this.fresh = true;
  }

  words(): bigint[] | null {
    const v = this.first;
    return v ? VIOLATION_FIELDS.map((f) => BigInt.asIntN(64, BigInt(v[f]))) : null;
  }
}

/** What the oracle needs: memory, the counters it adds to, and itself. */
export interface SimState extends MemoryState {
  readonly counters: Counters;
  readonly oracle: Oracle;
}

/** What a page read reports if it fails: everything but the unit-level fields. */
export interface PageContext {
  reader: number;
  pfn: number;
  dmaAddr: bigint;
  gpuPage: number;
  pte: bigint;
  bufId: number;
}

/** The hop words, unknown until driver/hops.ts fills them in. */
const NO_HOPS = { pageMfn: -1, via: 0, slot: -1, hopPfn: -1, gattEntryAddr: -1, gattTableMfn: -1, iovaUnmapOp: -1, ccPrivate: 0, iovaReadOnly: 0, failedMap: 0, hopDummy: 0 };

/** Checks a read of [start, end), all inside one logical page, and counts it if it fails. */
export function readPage(s: SimState, start: number, end: number, reach: Reach, ctx: PageContext): void {
  const { ram, expected } = s;
  const pageBase = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  let worst: Kind = ViolationKind.none;
  let worstUnit = 0, worstMachine = -1, worstByte = -1;
  for (let unit = 0; unit * UNIT_SIZE < PAGE_SIZE; unit++) {
    const us = Math.max(start, pageBase + unit * UNIT_SIZE);
    const ue = Math.min(end, pageBase + (unit + 1) * UNIT_SIZE);
    if (us >= ue) continue;
    const machine = reach(us);
    let kind = classify(ctx.reader === Reader.cpu, ram.hiAt(machine), ram.loAt(machine), expected.hiAt(us), expected.loAt(us));
    let byte = -1;
    if (kind === ViolationKind.none && ram.payloadBytes > 0) {
      byte = firstByteDiffering(s, us, ue, reach);
      // The right write's stamp with older bytes: the CPU missing bytes of a device write lost them.
      if (byte >= 0) kind = ctx.reader === Reader.cpu && (expected.loAt(us) & DEV_BIT) !== 0 ? ViolationKind.lost : ViolationKind.stale;
    }
    if (kind > worst) {
      worst = kind;
      worstUnit = unit;
      worstMachine = machine;
      worstByte = byte;
    }
  }
  if (worst === ViolationKind.none) return;
  const unitAddr = pageBase + worstUnit * UNIT_SIZE;
  const firstByte = Math.max(start, unitAddr);
  s.oracle.failPage(worst, () => ({
    kind: worst, op: s.op, reader: ctx.reader, pfn: ctx.pfn,
    mfn: worstMachine >= 0 ? Math.floor(worstMachine / PAGE_SIZE) : -1,
    dmaAddr: ctx.dmaAddr, gpuPage: ctx.gpuPage, pte: ctx.pte, unit: worstUnit,
    seenHi: ram.hiAt(worstMachine), seenLo: ram.loAt(worstMachine),
    expHi: expected.hiAt(firstByte), expLo: expected.loAt(firstByte), bufId: ctx.bufId, ...NO_HOPS, byte: worstByte,
  }));
}

/** A GPU read through an entry that no live buffer owns: one foreign page (D11). */
export function foreignPage(s: SimState, machine: number, dmaAddr: bigint, gpuPage: number, pte: bigint): void {
  s.oracle.failPage(ViolationKind.foreign, () => ({
    kind: ViolationKind.foreign, op: s.op, reader: Reader.gpu, pfn: -1,
    mfn: machine >= 0 ? Math.floor(machine / PAGE_SIZE) : -1, dmaAddr, gpuPage, pte,
    unit: 0, seenHi: s.ram.hiAt(machine), seenLo: s.ram.loAt(machine), expHi: 0, expLo: 0, bufId: -1, ...NO_HOPS, byte: -1,
  }));
}

/** The first byte of [start, end) (as a byte of its page) whose payload differs from the shadow, or −1. */
function firstByteDiffering(s: SimState, start: number, end: number, reach: Reach): number {
  const { ram, expected, ram: { payloadBytes } } = s;
  for (let pos = start; pos < end; ) {
    const machine = reach(pos);
    const len = chunkLength(pos, machine, end);
    const k0 = pos % PAGE_SIZE;
    const shadow = expected.pageBytes(pos, false);
    for (let j = 0; j < len && k0 + j < payloadBytes; j++) {
      const seen = machine >= 0 ? ram.byteAt(machine + j) : 0;
      if (seen !== (shadow ? shadow[k0 + j] : 0)) return k0 + j;
    }
    pos += len;
  }
  return -1;
}
