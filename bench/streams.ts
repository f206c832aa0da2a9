// Generated op streams for engine benchmarks: the seed's DMA path (map, GART bind, CPU write,
// GPU read, unmap) over a million pages, built once outside any timed region.
import { Dir, OP_WORDS, Op, PAGE_SIZE, Zone } from '../src/engine/abi.js';

export interface Stream {
  ops: Int32Array;
  count: number;
  /** Pages pushed through the five stages (map, bind, write, read, unmap). */
  pages: number;
  /** pages × 5 stages */
  pageOps: number;
}

/** `buffers` DMA32 buffers of `bufPages` pages, cycled until `totalPages` pages went through. */
export function dmaPathStream(totalPages = 1 << 20, bufPages = 16, buffers = 1024): Stream {
  const iterations = Math.ceil(totalPages / (bufPages * buffers));
  const count = buffers + iterations * buffers * 7 + buffers + 1;
  const ops = new Int32Array(count * OP_WORDS);
  let n = 0;
  const push = (code: number, a = 0, b = 0, c = 0, d = 0) => {
    const w = n++ * OP_WORDS;
    ops[w] = code; ops[w + 1] = a; ops[w + 2] = b; ops[w + 3] = c; ops[w + 4] = d;
  };
  const bytes = bufPages * PAGE_SIZE;
  for (let b = 0; b < buffers; b++) push(Op.ALLOC, b, bufPages, Zone.dma32);
  for (let i = 0; i < iterations; i++) {
    for (let b = 0; b < buffers; b++) {
      push(Op.MAP, b, Dir.bidirectional, 0, bytes);
      push(Op.MAPPING_ERROR, b);
      push(Op.GART_BIND, b, 0);
      push(Op.CPU_WRITE, b, 0, bytes);
      push(Op.GPU_READ, 0, bufPages);
      push(Op.GART_UNBIND, 0, bufPages);
      push(Op.UNMAP, b, Dir.bidirectional, bytes);
    }
  }
  for (let b = 0; b < buffers; b++) push(Op.FREE, b);
  push(Op.RELEASE);
  const pages = iterations * buffers * bufPages;
  return { ops, count: n, pages, pageOps: pages * 5 };
}
