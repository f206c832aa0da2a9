// The inner-loop benchmark's input and its plain typed-array TypeScript version.
// The same loop exists as AssemblyScript (loop.as.ts → build/innerloop.wasm) and C (loop.c);
// all three must agree on (mismatches, checksum). Semantics: docs/ENGINE.md §5 (swiotlb 2010
// slot allocator, stride 1, 128-slot segments) and §10 (r600 PTE).
import { writeFileSync } from 'node:fs';

/** Guest pages in the p2m table. */
export const N_PAGES = 1 << 20;
/** Requests per batch (map+bind pass, GPU read pass, unmap pass). */
export const BATCH = 4096;
/** swiotlb pool slots (2 KiB each: 64 MiB). */
export const NSLABS = 32768;
export const SEGSIZE = 128;
/** Slots per request: one 4 KiB page = 2 units of 2 KiB. */
export const NSLOTS = 2;
/** Bus address of slot 0. */
export const POOL_BASE = 0x1000000;
export const R600_FLAGS = 0x67;
export const FNV_PRIME = 16777619;
export const FNV_OFFSET = 2166136261;
/** Input file magic ('GILP' little-endian) and version. */
export const FILE_MAGIC = 0x504c4947;
export const FILE_VERSION = 1;

export interface LoopInput {
  n: number;
  m: number;
  batch: number;
  /** p2m[pfn] → mfn, a permutation of [2^20, 2^21) for n = 2^20. */
  p2m: Uint32Array;
  /** Original unit stamps, 2 per pfn: orig[2*pfn + unit]. */
  orig: Uint32Array;
  /** What the reader expects per unit; ~1/8 of pfns have one unit that differs from orig. */
  expected: Uint32Array;
  /** Request list: m pfns. */
  req: Uint32Array;
}

export interface LoopResult {
  mismatches: number;
  checksum: number;
}

/** Working memory of one run (the swiotlb pool and the PTE array). Reset by every run. */
export interface LoopState {
  list: Int32Array;
  bounce: Uint32Array;
  slotOrig: Uint32Array;
  pte: Uint32Array; // 2 × u32 per PTE: [lo, hi]
}

export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** Deterministic input from a seed. n must be a power of two. */
export function makeInput(seed: number, m: number, n = N_PAGES, batch = BATCH): LoopInput {
  if (n & (n - 1)) throw new Error('n must be a power of two');
  const rnd = xorshift32(seed);
  const p2m = new Uint32Array(n);
  for (let i = 0; i < n; i++) p2m[i] = n + i;
  for (let i = n - 1; i > 0; i--) { // Fisher–Yates: mfns scattered above n
    const j = rnd() % (i + 1);
    const t = p2m[i]!; p2m[i] = p2m[j]!; p2m[j] = t;
  }
  const orig = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) orig[i] = rnd();
  const expected = orig.slice();
  for (let p = 0; p < n; p++) {
    const r = rnd();
    if ((r & 7) === 0) expected[2 * p + ((r >>> 3) & 1)] ^= (rnd() | 1); // differs for sure
  }
  const req = new Uint32Array(m);
  for (let i = 0; i < m; i++) req[i] = rnd() & (n - 1);
  return { n, m, batch, p2m, orig, expected, req };
}

export function makeState(batch = BATCH): LoopState {
  return { list: new Int32Array(NSLABS), bounce: new Uint32Array(NSLABS), slotOrig: new Uint32Array(NSLABS), pte: new Uint32Array(2 * batch) };
}

/** Independent count: units whose expected stamp differs from the original, over the requests. */
export function naiveMismatches(inp: LoopInput): number {
  let c = 0;
  for (let i = 0; i < inp.m; i++) {
    const p = inp.req[i]!;
    if (inp.expected[2 * p] !== inp.orig[2 * p]) c++;
    if (inp.expected[2 * p + 1] !== inp.orig[2 * p + 1]) c++;
  }
  return c;
}

/** The input file the C version reads: u32 LE header [magic, version, n, m, batch], then p2m[n], orig[2n], expected[2n], req[m]. */
export function writeInputFile(inp: LoopInput, path: string): void {
  const words = 5 + inp.n + 4 * inp.n + inp.m;
  const all = new Uint32Array(words);
  all.set([FILE_MAGIC, FILE_VERSION, inp.n, inp.m, inp.batch], 0);
  let o = 5;
  all.set(inp.p2m, o); o += inp.n;
  all.set(inp.orig, o); o += 2 * inp.n;
  all.set(inp.expected, o); o += 2 * inp.n;
  all.set(inp.req, o);
  const buf = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) { // big-endian host: write LE
    for (let i = 0; i < words; i++) buf.writeUInt32LE(all[i]!, i * 4);
  }
  writeFileSync(path, buf);
}

/** Linux 2010 swiotlb_tbl_map_single for NSLOTS slots, stride 1. Returns the slot or -1 (full). */
export function slotAlloc(list: Int32Array, cursor: number): number {
  let index = cursor;
  if (index >= NSLABS) index = 0;
  const wrap = index;
  do {
    if (list[index]! >= NSLOTS) {
      list[index] = 0;
      list[index + 1] = 0;
      let count = 0;
      for (let i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) !== SEGSIZE - 1 && list[i] !== 0; i--) list[i] = ++count;
      return index;
    }
    index++;
    if (index >= NSLABS) index = 0;
  } while (index !== wrap);
  return -1;
}

/** swiotlb_tbl_unmap_single's merge rule for a run of NSLOTS at index. */
export function slotFree(list: Int32Array, index: number): void {
  const end = index + NSLOTS;
  let count = (end & (SEGSIZE - 1)) !== 0 ? list[end]! : 0;
  for (let i = end - 1; i >= index; i--) list[i] = ++count;
  for (let i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) !== SEGSIZE - 1 && list[i] !== 0; i--) list[i] = ++count;
}

/** The low word of the r600 PTE for a bus address below 4 GiB. */
export function r600PteLo(bus: number): number {
  return ((bus & ~0xfff) | R600_FLAGS) >>> 0;
}

/** One run over all requests: batches of map+bind, GPU read, unmap. */
export function runLoop(inp: LoopInput, st: LoopState): LoopResult {
  const { p2m, orig, expected, req, m, batch } = inp;
  const { list, bounce, slotOrig, pte } = st;
  for (let i = 0; i < NSLABS; i++) list[i] = SEGSIZE - (i & (SEGSIZE - 1));
  let cursor = 0;
  let mism = 0;
  let h = FNV_OFFSET | 0;
  for (let b0 = 0; b0 < m; b0 += batch) {
    const cnt = Math.min(batch, m - b0);
    // Pass 1: map (swiotlb bounce) + bind (r600 PTE).
    for (let i = 0; i < cnt; i++) {
      const pfn = req[b0 + i]!;
      const slot = slotAlloc(list, cursor);
      if (slot < 0) { pte[2 * i] = 0; pte[2 * i + 1] = 0; continue; } // full: invalid entry
      cursor = slot + NSLOTS;
      if (cursor >= NSLABS) cursor = 0;
      const mfn = p2m[pfn]!;
      bounce[slot] = orig[2 * pfn]!;
      bounce[slot + 1] = orig[2 * pfn + 1]!;
      slotOrig[slot] = mfn;
      slotOrig[slot + 1] = mfn;
      pte[2 * i] = r600PteLo(POOL_BASE + slot * 2048);
      pte[2 * i + 1] = 0; // bus < 2^32
    }
    // Pass 2: GPU reads through the PTEs.
    for (let i = 0; i < cnt; i++) {
      const lo = pte[2 * i]!;
      const hi = pte[2 * i + 1]!;
      h = Math.imul(h ^ lo, FNV_PRIME);
      const rel = ((lo & ~0xfff) >>> 0) - POOL_BASE;
      if ((lo & 1) === 0 || hi !== 0 || rel < 0 || rel >= NSLABS * 2048) { mism += 2; continue; } // fault / foreign
      const slot = rel >>> 11;
      const pfn = req[b0 + i]!;
      mism += (bounce[slot] !== expected[2 * pfn] ? 1 : 0) + (bounce[slot + 1] !== expected[2 * pfn + 1] ? 1 : 0);
      h = Math.imul(h ^ slotOrig[slot]!, FNV_PRIME);
    }
    // Pass 3: unmap.
    for (let i = 0; i < cnt; i++) {
      const lo = pte[2 * i]!;
      const rel = ((lo & ~0xfff) >>> 0) - POOL_BASE;
      if ((lo & 1) === 0 || pte[2 * i + 1] !== 0 || rel < 0 || rel >= NSLABS * 2048) continue;
      slotFree(list, rel >>> 11);
    }
  }
  return { mismatches: mism, checksum: h >>> 0 };
}
