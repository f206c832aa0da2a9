// Memory contents as the oracle sees them (twin of assembly/sim/stamps.ts; no kernel file): one
// version stamp per 2 KiB unit (IO_TLB_SHIFT, the swiotlb slot size) and, optionally, real bytes
// for the first payloadBytes of every page. The same structure holds machine RAM (by machine
// address) and the expected contents (by guest physical address); writes and copies move both.
// Storage is sparse: untouched chunks cost nothing.
import { DEV_BIT, PAGE_SIZE, UNIT_SIZE, VERSION_MASK } from '../../engine/abi.js';
import { physToMachine, type Translation } from './translate.js';

/** A version stamp: hi = buffer id, lo = dev << 31 | version. 0/0 = never written. */
export interface Stamp {
  hi: number;
  lo: number;
}

export function stampVersion(lo: number): number {
  return lo & VERSION_MASK;
}

/** Byte k of a page written with stamp s (ENGINE.md §2). */
export function payloadByte(s: Stamp, k: number): number {
  return (s.lo * 31 + s.hi * 17 + k * 7) % 256;
}

/** Writes bytes [from, to) of a page's payload as stamp s does. */
export function fillPayload(page: Uint8Array, s: Stamp, from: number, to: number): void {
  const base = payloadByte(s, 0);
  for (let k = from; k < to; k++) page[k] = (base + k * 7) & 0xff;
}

const CHUNK_SHIFT = 12; // units per chunk = 4096 (8 MiB of memory)
const CHUNK_UNITS = 1 << CHUNK_SHIFT;

export class UnitMemory {
  readonly bytes: number;
  /** Per chunk: [hi, lo] pairs of CHUNK_UNITS units, allocated on first write. */
  private readonly chunks: (Uint32Array | undefined)[];
  private readonly payload = new Map<number, Uint8Array>();

  constructor(pages: number, readonly payloadBytes: number) {
    this.bytes = pages * PAGE_SIZE;
    this.chunks = new Array(Math.ceil((pages * 2) / CHUNK_UNITS));
  }

  contains(addr: number): boolean {
    return addr >= 0 && addr < this.bytes;
  }

  /** Stamp of the unit holding byte `addr` (0/0 outside). */
  hiAt(addr: number): number {
    if (!this.contains(addr)) return 0;
    const unit = Math.floor(addr / UNIT_SIZE);
    const chunk = this.chunks[unit >>> CHUNK_SHIFT];
    return chunk ? chunk[(unit & (CHUNK_UNITS - 1)) * 2] : 0;
  }

  loAt(addr: number): number {
    if (!this.contains(addr)) return 0;
    const unit = Math.floor(addr / UNIT_SIZE);
    const chunk = this.chunks[unit >>> CHUNK_SHIFT];
    return chunk ? chunk[(unit & (CHUNK_UNITS - 1)) * 2 + 1] : 0;
  }

  /** Sets the stamp of the unit holding byte `addr`; dropped outside. */
  setStampAt(addr: number, hi: number, lo: number): void {
    if (!this.contains(addr)) return;
    const unit = Math.floor(addr / UNIT_SIZE);
    const c = unit >>> CHUNK_SHIFT;
    let chunk = this.chunks[c];
    if (!chunk) {
      if (hi === 0 && lo === 0) return;
      chunk = this.chunks[c] = new Uint32Array(CHUNK_UNITS * 2);
    }
    const i = (unit & (CHUNK_UNITS - 1)) * 2;
    chunk[i] = hi;
    chunk[i + 1] = lo;
  }

  /**
   * The payload bytes of the page holding `addr` (indexed by offset in page), or undefined when
   * the page holds none yet (all 0) or is outside memory. Offsets >= payloadBytes are untracked
   * and read as 0.
   */
  pageBytes(addr: number, create: boolean): Uint8Array | undefined {
    if (this.payloadBytes === 0 || !this.contains(addr)) return undefined;
    const frame = Math.floor(addr / PAGE_SIZE);
    let page = this.payload.get(frame);
    if (!page && create) {
      page = new Uint8Array(this.payloadBytes);
      this.payload.set(frame, page);
    }
    return page;
  }

  /**
   * Machine memory's real bytes (D18): the first min(payloadBytes, 2048) bytes of every 2 KiB
   * unit, so a unit keeps its bytes wherever a bounce slot puts it. Untracked bytes read as 0
   * and ignore writes. (The expected side uses pageBytes: the first payloadBytes of each page.)
   */
  byteAt(addr: number): number {
    const at = this.unitByteIndex(addr);
    if (at < 0) return 0;
    const page = this.payload.get(Math.floor(addr / PAGE_SIZE));
    return page ? page[at] : 0;
  }

  setByteAt(addr: number, value: number): void {
    const at = this.unitByteIndex(addr);
    if (at < 0) return;
    const frame = Math.floor(addr / PAGE_SIZE);
    let page = this.payload.get(frame);
    if (!page) {
      page = new Uint8Array(2 * this.unitPayload);
      this.payload.set(frame, page);
    }
    page[at] = value;
  }

  /** Bytes tracked per unit in machine memory. */
  get unitPayload(): number {
    return Math.min(this.payloadBytes, UNIT_SIZE);
  }

  /** Where the byte at `addr` is kept in its frame's unit-tracked array, or -1 if untracked. */
  private unitByteIndex(addr: number): number {
    if (!this.contains(addr)) return -1;
    const o = addr % UNIT_SIZE;
    if (o >= this.unitPayload) return -1;
    return Math.floor((addr % PAGE_SIZE) / UNIT_SIZE) * this.unitPayload + o;
  }

  /** Forgets pages [page, page + count): stamps 0/0, bytes 0. */
  clearPages(page: number, count: number): void {
    for (let p = page; p < page + count; p++) {
      const base = p * PAGE_SIZE;
      for (let u = 0; u < PAGE_SIZE; u += UNIT_SIZE) this.setStampAt(base + u, 0, 0);
      this.payload.delete(p);
    }
  }
}

/** What writes and copies touch: RAM, the expected contents, the op being executed, the tables. */
export interface MemoryState {
  readonly ram: UnitMemory;
  readonly expected: UnitMemory;
  readonly trans: Translation;
  /** Index of the op being executed. */
  op: number;
  /** The last buffer id handed out (every alloc, alloc_coherent and tt populate takes the next). */
  bufCounter: number;
}

/** A write op's stamp: its version is the op's index + 1, so a stamp names the op that wrote it. */
export function nextStamp(m: MemoryState, bufId: number, dev: boolean): Stamp {
  return { hi: bufId, lo: ((dev ? DEV_BIT : 0) | ((m.op + 1) & VERSION_MASK)) >>> 0 };
}

export function nextBufId(m: MemoryState): number {
  return ++m.bufCounter;
}

/** Maps an address of the logical side (guest physical) to a machine address, or -1. */
export type Reach = (logical: number) => number;

/** The CPU: guest physical through p2m. */
export function cpuReach(m: MemoryState): Reach {
  return (phys) => physToMachine(m.trans, phys);
}

/** Bytes until the next 2 KiB boundary of either side. */
export function chunkLength(logical: number, machine: number, end: number): number {
  let len = Math.min(end - logical, UNIT_SIZE - (logical % UNIT_SIZE));
  if (machine >= 0) len = Math.min(len, UNIT_SIZE - (machine % UNIT_SIZE));
  return len;
}

/**
 * One write operation's effect on [start, end) of the logical side: every machine unit it
 * touches takes the stamp (dropped where nothing is there) and, if `logical`, so does expected.
 */
export function writeRange(m: MemoryState, s: Stamp, start: number, end: number, reach: Reach, logical: boolean): void {
  const { ram, expected } = m;
  for (let pos = start; pos < end; ) {
    const machine = reach(pos);
    const len = chunkLength(pos, machine, end);
    if (logical) expected.setStampAt(pos, s.hi, s.lo);
    if (machine >= 0) ram.setStampAt(machine, s.hi, s.lo);
    if (ram.payloadBytes > 0) writePayload(m, s, pos, len, machine, logical);
    pos += len;
  }
}

/** The payload part of one write chunk: logical bytes [pos, pos+len) reaching `machine` (D18). */
function writePayload(m: MemoryState, s: Stamp, pos: number, len: number, machine: number, logical: boolean): void {
  const { ram, expected, ram: { payloadBytes } } = m;
  const k0 = pos % PAGE_SIZE;
  if (k0 >= payloadBytes) return;
  const top = Math.min(len, payloadBytes - k0);
  const shadow = logical ? expected.pageBytes(pos, true) : undefined;
  if (shadow) fillPayload(shadow, s, k0, k0 + top);
  // The machine side may sit at another offset (a bounce slot, a shifted handle): it keeps the
  // writer's bytes wherever its unit tracks them.
  if (machine < 0) return;
  for (let j = 0; j < top; j++) ram.setByteAt(machine + j, payloadByte(s, k0 + j));
}

/** A memcpy between two guest physical ranges (swiotlb bounce): stamps and bytes move. */
export function copyPhys(m: MemoryState, src: number, dst: number, size: number): void {
  const { ram, trans } = m;
  for (let pos = 0; pos < size; ) {
    const s = src + pos, d = dst + pos;
    const len = Math.min(size - pos, UNIT_SIZE - (s % UNIT_SIZE), UNIT_SIZE - (d % UNIT_SIZE));
    const ms = physToMachine(trans, s), md = physToMachine(trans, d);
    if (md >= 0) {
      // A destination unit takes the stamp of the source unit holding its first copied byte.
      if (pos === 0 || d % UNIT_SIZE === 0) ram.setStampAt(md, ram.hiAt(ms), ram.loAt(ms));
      for (let j = 0; ram.payloadBytes > 0 && j < len; j++) ram.setByteAt(md + j, ms >= 0 ? ram.byteAt(ms + j) : 0);
    }
    pos += len;
  }
}
