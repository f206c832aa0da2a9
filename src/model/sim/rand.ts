// xorshift32 (Marsaglia 2003), the engine PRNG, and the seeded permutation it keys (twin of
// assembly/sim/rand.ts): where the Xen p2m places the guest's pages at boot. Both engines must
// draw exactly the same sequence and compute exactly the same permutation.
import { PRNG_GOLDEN, PERM_MUL_0, PERM_MUL_1, PERM_MUL_2 } from '../../engine/abi.js';

export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    const s = (seed ^ PRNG_GOLDEN) >>> 0;
    this.state = s === 0 ? PRNG_GOLDEN : s;
  }
  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }
}

/** The inverse of an odd m modulo 2^32 (Newton's iteration: each step doubles the correct bits). */
function oddInverse(m: number): number {
  let x = m >>> 0;
  for (let i = 0; i < 5; i++) x = Math.imul(x, (2 - Math.imul(m, x)) >>> 0) >>> 0;
  return x;
}

const MULS = [PERM_MUL_0, PERM_MUL_1, PERM_MUL_2] as const;
const INVS = MULS.map(oddInverse);

/**
 * A permutation of [0, n), keyed by three draws: three rounds of (add a key, multiply by an odd
 * constant, xor-shift right by half the width) on the smallest power of two holding n, repeated
 * while the value falls at or above n (cycle walking keeps it a permutation of [0, n)).
 */
export class Permutation {
  private readonly mask: number;
  private readonly shift: number;
  private readonly keys: number[];

  constructor(readonly n: number, rng: Xorshift32) {
    const bits = n <= 1 ? 1 : 32 - Math.clz32(n - 1);
    this.mask = bits === 32 ? 0xffff_ffff : 2 ** bits - 1;
    this.shift = (bits + 1) >> 1;
    this.keys = [0, 1, 2].map(() => (rng.next() & this.mask) >>> 0);
  }

  /** The image of x (< n). */
  of(x: number): number {
    const m = this.mask;
    do {
      for (let r = 0; r < 3; r++) {
        x = (Math.imul((x + this.keys[r]!) & m, MULS[r]!) & m) >>> 0;
        x = (x ^ (x >>> this.shift)) >>> 0;
      }
    } while (x >= this.n);
    return x;
  }

  /** The x whose image is y (< n). */
  inverse(y: number): number {
    const m = this.mask;
    do {
      for (let r = 2; r >= 0; r--) {
        let u = y;
        for (let t = y >>> this.shift; t !== 0; t >>>= this.shift) u = (u ^ t) >>> 0;
        y = ((Math.imul(u, INVS[r]!) & m) - this.keys[r]!) & m;
        y >>>= 0;
      }
    } while (y >= this.n);
    return y;
  }
}
