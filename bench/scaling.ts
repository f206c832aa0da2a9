// Question: how do cells per second scale from 1 worker thread to one per core?
import { availableParallelism } from 'node:os';
import { runSpecs } from './strategies.js';
import { type Plan, planWorkload } from '../src/run/plan.js';
import { timedMetric } from './metrics.js';
import { timeRounds } from './rounds.js';
import { pairedRatios, statCell, summarize, summarizeAs } from './stats.js';
import type { BenchContext, BenchModule, Section } from './types.js';

function cells(n: number, pages: number, seed: number): Plan[] {
  return Array.from({ length: n }, (_, i) => planWorkload({
    platform: 'xen-pv', device: 'r100', strategy: (['legacy', 'coherent', 'sync', 'xen-aware'] as const)[i % 4], gatt: null,
    workload: 'churn', pages, boPages: 256, rounds: 1, seed: seed + i, kernel: '2010', replicas: 1, payloadBytes: 0, engine: 'wasm',
  }, { ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 512 * 2 ** 20, swiotlb: 64 * 2 ** 20 }));
}

export const scaling: BenchModule = {
  id: 'scaling',
  async run(ctx: BenchContext): Promise<Section> {
    const max = Math.max(2, availableParallelism());
    const specs = cells(ctx.quick ? 8 : 16, ctx.quick ? 32768 : 65536, ctx.seed);
    const rounds = ctx.quick ? 5 : 7;
    const counts: number[] = [];
    for (let w = 1; w <= max; w *= 2) counts.push(w);
    let reference: string | undefined;
    // Each round runs the whole set once per worker count, in turn (a fresh pool each time).
    ctx.log(`scaling: ${rounds} rounds of ${specs.length} cells on ${counts.join(', ')} workers`);
    const t = await timeRounds(counts.map((w) => ({
      name: String(w),
      fn: async () => {
        const { results } = await runSpecs(specs, w, () => {});
        const digest = JSON.stringify(results.map((r) => r.counters));
        reference ??= digest;
        if (digest !== reference) throw new Error(`counters changed with ${w} workers`);
      },
    })), rounds, 0);
    const cellsPerSec = (ms: number) => specs.length / (ms / 1000);
    const rate = (w: number) => summarizeAs(t[w]!, cellsPerSec);
    const speedUp = (w: number) => pairedRatios(t['1']!, t[w]!); // 1-worker time ÷ w-worker time, round by round
    const rows = counts.map((w) => [w, specs.length, statCell(summarize(t[w]!.map((ms) => ms / 1000)), (v) => v.toFixed(2)), statCell(rate(w), (v) => v.toFixed(1)), rounds,
      w === 1 ? 'baseline' : `${statCell(summarize(speedUp(w)), (v) => v.toFixed(2))}×`]);
    const two = summarize(speedUp(2));
    return {
      id: 'scaling',
      title: 'Scaling over worker threads',
      question: 'How do cells per second scale from 1 worker to one per core (piscina pool, one Wasm module compiled once)?',
      tables: [{
        caption: `${specs.length} churn cells (xen-pv r100, 4 strategies, ${specs[0]!.scenario.pages!.toLocaleString('en-US')}-page working sets); pool start-up included. Median (min–max) of ${rounds} rounds; each round runs the set once per worker count, so the speed-up is taken round by round.`,
        columns: ['workers', 'cells', 'wall s', 'cells/s', 'samples', 'speed-up vs baseline'],
        rows,
      }],
      metrics: [
        timedMetric('cells/s, 1 worker', 'cells/s', rate(1)),
        timedMetric('cells/s, 2 workers', 'cells/s', rate(2)),
        timedMetric('speed-up, 2 workers ÷ 1', 'x', two),
      ],
      charts: [{
        title: 'Cells per second by worker count (whiskers: min–max)',
        unit: 'cells/s',
        bars: counts.map((w) => ({ label: `${w} worker${w === 1 ? '' : 's'}`, value: rate(w).median, lo: rate(w).min, hi: rate(w).max, text: rate(w).median.toFixed(1) })),
      }],
      targets: [{ what: '2 workers ≥ 1.7× the cells per second of 1 (median)', measured: `${two.median.toFixed(2)}×`, met: two.median >= 1.7 }],
      notes: [
        'Every worker count produced identical counters for every cell.',
        'The speed-up depends on how many cores are free while the benchmark runs: CI prints it beside its baseline and never fails on it.',
      ],
      ratios: { scaling2: { kind: 'parallel', samples: speedUp(2) } },
    };
  },
};
