// Seeded randomness for workloads and replica seeds: the engines' xorshift32
// (src/model/sim/rand.ts), with the draws a workload needs.
import { Xorshift32 } from './model/sim/rand.js';

export class XorShift32 extends Xorshift32 {
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
}

/** The seed of replica `i` of a run seeded `seed` (replica 0 keeps the seed itself). */
export function replicaSeed(seed: number, i: number): number {
  if (i === 0) return seed >>> 0;
  let h = (seed ^ Math.imul(i, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
