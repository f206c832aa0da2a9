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

/** `rounds` timed rounds after `warmup` untimed ones; async variants are awaited inside the timing. */
export async function timeRounds(variants: Variant[], rounds: number, warmup = 1): Promise<RoundSamples> {
  const out: RoundSamples = Object.fromEntries(variants.map((v) => [v.name, [] as number[]]));
  for (let r = 0; r < warmup + rounds; r++) {
    for (const v of variants) {
      await v.before?.();
      const t0 = performance.now();
      const ret = v.fn();
      if (ret instanceof Promise) await ret;
      const ms = performance.now() - t0;
      if (r >= warmup) out[v.name]!.push(ms);
    }
  }
  return out;
}
