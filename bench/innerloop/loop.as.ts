// AssemblyScript, not TypeScript: built by `asc` with bench/innerloop/asconfig.json into
// build/innerloop.wasm (tsconfig excludes it).
//
// The inner-loop benchmark in AssemblyScript: the same loop as loop.ts and loop.c (keep the
// three in step). The host allocates regions with alloc(), copies the input in, and calls run()
// with byte pointers; arrays are u32/i32 with raw load/store (no bounds checks, runtime stub).

const NSLABS: i32 = 32768;
const SEGSIZE: i32 = 128;
const NSLOTS: i32 = 2;
const POOL_BASE: u32 = 0x1000000;
const R600_FLAGS: u32 = 0x67;
const FNV_PRIME: u32 = 16777619;
const FNV_OFFSET: u32 = 2166136261;

let lastChecksum: u32 = 0;

/** Bump-allocates `bytes` of linear memory (grows it); the host creates views afterwards. */
export function alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

/** Checksum of the last run(). */
export function checksum(): u32 {
  return lastChecksum;
}

function slotAlloc(list: usize, cursor: i32): i32 {
  let index = cursor;
  if (index >= NSLABS) index = 0;
  const wrap = index;
  do {
    if (load<i32>(list + (<usize>index << 2)) >= NSLOTS) {
      store<i32>(list + (<usize>index << 2), 0);
      store<i32>(list + (<usize>(index + 1) << 2), 0);
      let count = 0;
      for (let i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) != SEGSIZE - 1 && load<i32>(list + (<usize>i << 2)) != 0; i--) {
        store<i32>(list + (<usize>i << 2), ++count);
      }
      return index;
    }
    index++;
    if (index >= NSLABS) index = 0;
  } while (index != wrap);
  return -1;
}

function slotFree(list: usize, index: i32): void {
  const end = index + NSLOTS;
  let count = (end & (SEGSIZE - 1)) != 0 ? load<i32>(list + (<usize>end << 2)) : 0;
  for (let i = end - 1; i >= index; i--) store<i32>(list + (<usize>i << 2), ++count);
  for (let i = index - 1; i >= 0 && (i & (SEGSIZE - 1)) != SEGSIZE - 1 && load<i32>(list + (<usize>i << 2)) != 0; i--) {
    store<i32>(list + (<usize>i << 2), ++count);
  }
}

/**
 * One run over m requests in batches of `batch`. Pointers (bytes): p2m u32[n], orig u32[2n],
 * expected u32[2n], req u32[m], list i32[NSLABS], bounce u32[NSLABS], slotOrig u32[NSLABS],
 * pte u32[2*batch]. Returns the mismatch count; checksum() gives the checksum.
 */
export function run(p2m: usize, orig: usize, expected: usize, req: usize, m: i32, batch: i32,
                    list: usize, bounce: usize, slotOrig: usize, pte: usize): i32 {
  for (let i = 0; i < NSLABS; i++) store<i32>(list + (<usize>i << 2), SEGSIZE - (i & (SEGSIZE - 1)));
  let cursor = 0;
  let mism = 0;
  let h: u32 = FNV_OFFSET;
  for (let b0 = 0; b0 < m; b0 += batch) {
    const cnt = min(batch, m - b0);
    const rq = req + (<usize>b0 << 2);
    // Pass 1: map (swiotlb bounce) + bind (r600 PTE).
    for (let i = 0; i < cnt; i++) {
      const pfn = load<u32>(rq + (<usize>i << 2));
      const pp = pte + (<usize>i << 3);
      const slot = slotAlloc(list, cursor);
      if (slot < 0) { store<u32>(pp, 0); store<u32>(pp, 0, 4); continue; }
      cursor = slot + NSLOTS;
      if (cursor >= NSLABS) cursor = 0;
      const mfn = load<u32>(p2m + (<usize>pfn << 2));
      const src = orig + (<usize>pfn << 3);
      const bs = bounce + (<usize>slot << 2);
      store<u32>(bs, load<u32>(src));
      store<u32>(bs, load<u32>(src, 4), 4);
      const so = slotOrig + (<usize>slot << 2);
      store<u32>(so, mfn);
      store<u32>(so, mfn, 4);
      const bus: u32 = POOL_BASE + (<u32>slot << 11);
      store<u32>(pp, (bus & ~0xfff) | R600_FLAGS);
      store<u32>(pp, 0, 4); // bus < 2^32
    }
    // Pass 2: GPU reads through the PTEs.
    for (let i = 0; i < cnt; i++) {
      const pp = pte + (<usize>i << 3);
      const lo = load<u32>(pp);
      const hi = load<u32>(pp, 4);
      h = (h ^ lo) * FNV_PRIME;
      const rel: i64 = <i64>(lo & ~0xfff) - <i64>POOL_BASE;
      if ((lo & 1) == 0 || hi != 0 || rel < 0 || rel >= <i64>NSLABS * 2048) { mism += 2; continue; }
      const slot = <usize>(<u32>rel >>> 11);
      const pfn = load<u32>(rq + (<usize>i << 2));
      const bs = bounce + (slot << 2);
      const ex = expected + (<usize>pfn << 3);
      mism += <i32>(load<u32>(bs) != load<u32>(ex)) + <i32>(load<u32>(bs, 4) != load<u32>(ex, 4));
      h = (h ^ load<u32>(slotOrig + (slot << 2))) * FNV_PRIME;
    }
    // Pass 3: unmap.
    for (let i = 0; i < cnt; i++) {
      const pp = pte + (<usize>i << 3);
      const lo = load<u32>(pp);
      const rel: i64 = <i64>(lo & ~0xfff) - <i64>POOL_BASE;
      if ((lo & 1) == 0 || load<u32>(pp, 4) != 0 || rel < 0 || rel >= <i64>NSLABS * 2048) continue;
      slotFree(list, <i32>(<u32>rel >>> 11));
    }
  }
  lastChecksum = h;
  return mism;
}
