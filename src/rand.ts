// Seeded randomness for workloads and replica seeds (xorshift32, as the engines use for p2m).

export class XorShift32 {
  private x: number;
  constructor(seed: number) {
    this.x = (seed ^ 0x9e3779b9) >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.x = x;
    return x;
  }
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
