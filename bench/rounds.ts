// Interleaved timing: every variant runs once per round, in turn, so a burst of load from
// elsewhere on the machine falls on all of them alike and a ratio can be taken round by round.
// Used where a ratio matters (it may gate CI); tinybench (bench/tiny.ts) times the rest.
import { performance } from 'node:perf_hooks';

export interface Variant {
  name: string;
  fn: () => unknown;
  /** Runs before each call, outside the timed region. */
  before?: () => void | Promise<void>;
}

/** Milliseconds per call of each variant, one sample per round, in run order. */
export type RoundSamples = Record<string, number[]>;

/**
 * `rounds` rounds after `warmup` untimed ones of `run` over the variants: every round runs each
 * variant once, in turn. Returns every timed round's result of each variant, in round order.
 */
export async function interleavedRounds<V extends { name: string }, T>(variants: readonly V[], rounds: number, warmup: number, run: (v: V) => Promise<T>, log?: (l: string) => void, how = ''): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(variants.map((v) => [v.name, [] as T[]]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const v of variants) {
      const got = await run(v);
      if (r >= warmup) out[v.name]!.push(got);
    }
    log?.(`  round ${r + 1}/${warmup + rounds}${how}${r < warmup ? ' (warm-up)' : ''}`);
  }
  return out;
}

/** Milliseconds per call of each variant; async variants are awaited inside the timing. */
export function timeRounds(variants: Variant[], rounds: number, warmup = 1): Promise<RoundSamples> {
  return interleavedRounds(variants, rounds, warmup, async (v) => {
    await v.before?.();
    const t0 = performance.now();
    const ret = v.fn();
    if (ret instanceof Promise) await ret;
    return performance.now() - t0;
  });
}
