// Question: how do cells per second scale from 1 worker thread to one per core?
import { availableParallelism } from 'node:os';
import { runSpecs } from './strategies.js';
import type { ScenarioSpec } from '../src/scenario/scenario.js';
import { checkScenario } from '../src/scenario/scenario.js';
import type { BenchContext, BenchModule, Section } from './types.js';

function cells(n: number, pages: number, seed: number): ScenarioSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const s: ScenarioSpec = {
      machine: { platform: 'xen-pv', device: 'r100', kernel: '2010', ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 512 * 2 ** 20, swiotlb: 64 * 2 ** 20, payloadBytes: 0, seed: seed + i },
      strategy: (['legacy', 'coherent', 'sync', 'xen-aware'] as const)[i % 4], gatt: null, workload: 'churn', pages, boPages: 256, rounds: 1, replicas: 1, engine: 'wasm',
    };
    checkScenario(s);
    return s;
  });
}

export const scaling: BenchModule = {
  id: 'scaling',
  async run(ctx: BenchContext): Promise<Section> {
    const max = Math.max(2, availableParallelism());
    const specs = cells(ctx.quick ? 8 : 16, ctx.quick ? 32768 : 65536, ctx.seed);
    const rows: (string | number)[][] = [];
    const rate: Record<number, number> = {};
    let reference: string | undefined;
    for (let w = 1; w <= max; w *= 2) {
      ctx.log(`scaling: ${w} worker${w === 1 ? '' : 's'}`);
      const { results, wallMs } = await runSpecs(specs, w, ctx.log);
      const digest = JSON.stringify(results.map((r) => r.counters));
      reference ??= digest;
      if (digest !== reference) throw new Error(`counters changed with ${w} workers`);
      rate[w] = specs.length / (wallMs / 1000);
      rows.push([w, specs.length, (wallMs / 1000).toFixed(2), rate[w]!.toFixed(2), `${(rate[w]! / rate[1]!).toFixed(2)}×`]);
    }
    const two = rate[2]! / rate[1]!;
    return {
      id: 'scaling',
      title: 'Scaling over worker threads',
      question: 'How do cells per second scale from 1 worker to one per core (piscina pool, one Wasm module compiled once)?',
      tables: [{ caption: `${specs.length} churn cells (xen-pv r100, 4 strategies, ${specs[0]!.pages.toLocaleString('en-US')}-page working sets); pool start-up included.`, columns: ['workers', 'cells', 'wall s', 'cells/s', 'speed-up'], rows }],
      metrics: [
        { name: 'cells/s, 1 worker', unit: 'cells/s', value: +rate[1]!.toFixed(2) },
        { name: 'cells/s, 2 workers', unit: 'cells/s', value: +rate[2]!.toFixed(2) },
        { name: 'speed-up, 2 workers vs 1', unit: 'x', value: +two.toFixed(2) },
      ],
      charts: [{ title: 'Cells per second by worker count', unit: 'cells/s', bars: rows.map((r) => ({ label: `${r[0]} worker${r[0] === 1 ? '' : 's'}`, value: Number(r[3]) })) }],
      targets: [{ what: '2 workers ≥ 1.7× the cells per second of 1', measured: `${two.toFixed(2)}×`, met: two >= 1.7 }],
      notes: ['Every worker count produced identical counters for every cell.'],
      ratios: { scaling2: two },
    };
  },
};
