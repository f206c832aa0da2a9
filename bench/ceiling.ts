// Question: how much faster can two threads be than one on this machine at all, for each kind of
// work a simulated machine does? The worker-scaling figure is read against it: a VM whose two
// vCPUs share the memory bus, or whose hypervisor serialises page faults, caps every program's
// speed-up below 2×, gartbench's included.
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoopJob, LoopKind } from './ceilingWorker.js';
import { MIN_SAMPLES, type Stat, pairedRatios, round3, statCell, summarize } from './stats.js';
import type { Metric, Table } from './types.js';
import { timedMetric } from './metrics.js';

export interface CeilingConfig {
  rounds: number;
  /** Work per thread for each kind (see bench/ceilingWorker.ts). */
  sizes: Record<LoopKind, number>;
}

export function ceilingConfig(quick: boolean): CeilingConfig {
  const k = quick ? 4 : 1;
  return { rounds: MIN_SAMPLES, sizes: { alu: 6e7 / k, bandwidth: (1.5 * 2 ** 30) / k, 'first-touch': 2 ** 28 / k } };
}

const WHAT: Record<LoopKind, string> = {
  alu: 'arithmetic (four independent LCG chains, no memory)',
  bandwidth: 'memory bandwidth (refilling a 64 MiB buffer)',
  'first-touch': 'first touch (one byte per 4 KiB page of fresh Wasm memory: a page fault each)',
};
const UNIT: Record<LoopKind, (size: number) => string> = {
  alu: (n) => `${(n / 1e6).toFixed(0)} M steps`,
  bandwidth: (n) => `${(n / 2 ** 30).toFixed(2)} GiB`,
  'first-touch': (n) => `${(n / 2 ** 20).toFixed(0)} MiB`,
};

/** Runs `threads` copies of one loop from a common start line; each thread's own time, ms. */
async function together(kind: LoopKind, size: number, threads: number): Promise<number[]> {
  const gate = new SharedArrayBuffer(8);
  const flags = new Int32Array(gate);
  const url = new URL('./ceilingWorker.js', import.meta.url);
  const done = Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const job: LoopJob = { kind, size, gate };
    const w = new Worker(url, { workerData: job });
    w.once('message', (ms: number) => { resolve(ms); void w.terminate(); });
    w.once('error', reject);
  }));
  while (Atomics.load(flags, 0) < threads) await sleep(1);
  Atomics.store(flags, 1, 1);
  Atomics.notify(flags, 1);
  return Promise.all(done);
}

export interface Ceiling {
  table: Table;
  metrics: Metric[];
  /** Speed-up of two threads over one, by kind: median (min–max). */
  speedUp: Record<LoopKind, Stat>;
}

/**
 * Each round runs one loop on one thread, then the same loop on two threads at once; the
 * speed-up is twice the work over the wall, 2 × t1 ÷ max(t2a, t2b), round by round.
 */
export async function measureCeiling(c: CeilingConfig, log: (l: string) => void): Promise<Ceiling> {
  const kinds = Object.keys(c.sizes) as LoopKind[];
  log(`ceiling: ${c.rounds} rounds of ${kinds.join(', ')} on 1 and 2 threads`);
  const one: Record<string, number[]> = {};
  const two: Record<string, number[]> = {};
  for (const k of kinds) { one[k] = []; two[k] = []; }
  for (let r = 0; r < c.rounds; r++) {
    for (const k of kinds) {
      one[k]!.push((await together(k, c.sizes[k], 1))[0]!);
      two[k]!.push(Math.max(...(await together(k, c.sizes[k], 2))));
    }
  }
  const rows: (string | number)[][] = [];
  const metrics: Metric[] = [];
  const speedUp = {} as Record<LoopKind, Stat>;
  for (const k of kinds) {
    const up = summarize(pairedRatios(one[k]!.map((v) => 2 * v), two[k]!));
    speedUp[k] = up;
    rows.push([WHAT[k], UNIT[k](c.sizes[k]), statCell(summarize(one[k]!), (v) => v.toFixed(0)), statCell(summarize(two[k]!), (v) => v.toFixed(0)),
      up.samples, `${statCell(up, round3)}×`]);
    metrics.push(timedMetric(`machine ceiling: ${k}, 2 threads ÷ 1 by throughput`, 'x', up));
  }
  return {
    table: {
      caption: `This machine's own ceiling: the same loop on one thread, then on two threads started together (worker threads of this process). Speed-up = 2 × (one thread's ms) ÷ (the slower of the two threads' ms), round by round: 2.00× is two full cores. Median (min–max) of ${c.rounds} rounds.`,
      columns: ['loop', 'work per thread', '1 thread, ms', '2 threads, ms (slower)', 'samples', 'speed-up'],
      rows,
    },
    metrics,
    speedUp,
  };
}
