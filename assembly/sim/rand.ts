// xorshift32 (Marsaglia 2003), the engine's only randomness: it shuffles the Xen p2m at boot.
// Models no kernel file; Xen's real frame handout order is unknowable, so a seeded permutation
// stands in for it and both engines must draw exactly the same sequence.

import { PRNG_GOLDEN } from '../abi';

let state: u32 = PRNG_GOLDEN;

export function rand_seed(seed: u32): void {
  state = seed ^ PRNG_GOLDEN;
  if (state == 0) state = PRNG_GOLDEN;
}

@inline export function rand_next(): u32 {
  let x = state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  state = x;
  return x;
}
