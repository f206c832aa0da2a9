// xorshift32 (Marsaglia 2003), the engine's only randomness, and the seeded permutation it keys:
// where the Xen p2m places the guest's pages at boot. Models no kernel file; Xen's real frame
// handout order is unknowable, so a seeded permutation stands in for it, and both engines must
// draw exactly the same sequence and compute exactly the same permutation.

import { PRNG_GOLDEN, PERM_MUL_0, PERM_MUL_1, PERM_MUL_2 } from '../abi';

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

// The permutation of [0, n): three rounds of (add key, multiply by an odd constant, xor-shift
// right by half the width) on `bits`-bit values, each step invertible, repeated while the value
// falls at or above n (cycle walking: the result stays a permutation of [0, n)). Computed, never
// stored, both ways: no table to fill at boot, and the inverse costs arithmetic, not a cache miss.
let perm_n: u32 = 1, perm_mask: u32 = 0, perm_shift: u32 = 1; // the domain [0, n), 2^bits − 1, half the bits
let key0: u32 = 0, key1: u32 = 0, key2: u32 = 0; // one per round
let inv0: u32 = 1, inv1: u32 = 1, inv2: u32 = 1; // the rounds' multipliers' inverses modulo 2^32

/** The inverse of an odd m modulo 2^32 (Newton's iteration: each step doubles the correct bits). */
function odd_inverse(m: u32): u32 {
  let x = m;
  for (let i = 0; i < 5; i++) x *= 2 - m * x;
  return x;
}

/** Keys the permutation of [0, n) with three draws from the sequence (n ≥ 1). */
export function perm_init(n: u32): void {
  perm_n = n;
  const bits: u32 = n <= 1 ? 1 : 32 - clz<u32>(n - 1);
  perm_mask = bits == 32 ? 0xFFFF_FFFF : (<u32>1 << bits) - 1;
  perm_shift = (bits + 1) >> 1;
  key0 = rand_next() & perm_mask;
  key1 = rand_next() & perm_mask;
  key2 = rand_next() & perm_mask;
  inv0 = odd_inverse(PERM_MUL_0);
  inv1 = odd_inverse(PERM_MUL_1);
  inv2 = odd_inverse(PERM_MUL_2);
}

@inline function unshift(y: u32, s: u32): u32 {
  let x = y;
  for (let t = y >> s; t != 0; t >>= s) x ^= t;
  return x;
}

/** The permutation's image of x (< n). */
export function perm_of(x: u32): u32 {
  const m = perm_mask, s = perm_shift;
  do {
    x = ((x + key0) & m) * PERM_MUL_0 & m; x ^= x >> s;
    x = ((x + key1) & m) * PERM_MUL_1 & m; x ^= x >> s;
    x = ((x + key2) & m) * PERM_MUL_2 & m; x ^= x >> s;
  } while (x >= perm_n);
  return x;
}

/** The x whose image is y (< n). */
export function perm_inverse(y: u32): u32 {
  const m = perm_mask, s = perm_shift;
  do {
    y = ((unshift(y, s) * inv2 & m) - key2) & m;
    y = ((unshift(y, s) * inv1 & m) - key1) & m;
    y = ((unshift(y, s) * inv0 & m) - key0) & m;
  } while (y >= perm_n);
  return y;
}
