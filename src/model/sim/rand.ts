// xorshift32 (Marsaglia 2003), the engine PRNG (twin of assembly/sim/rand.ts): only the Xen p2m
// shuffle at boot draws from it, and both engines must draw exactly the same sequence.
import { PRNG_GOLDEN } from '../../engine/abi.js';

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
