// Question: for every platform, which fix keeps the GPU's view coherent on each workload, and
// what does it cost (modelled throughput, bounce bytes, hypercalls, swiotlb pressure, failures)?
import { PLATFORMS, type PlatformName } from '../src/engine/abi.js';
import { GATTS, STRATEGIES, WORKLOADS } from '../src/cli/options.js';
import { loadCosts } from '../src/costs.js';
import { buildResult, type Result } from '../src/result.js';
import { runCells } from '../src/scenario/executor.js';
import { type ScenarioSpec, cellsOf, checkScenario, mergeOutputs, scenarioRecord } from '../src/scenario/scenario.js';
import type { GattName, StrategyName, WorkloadName } from '../src/scenario/workloads.js';
import type { DeviceName } from '../src/machine.js';
import { verdictCell } from '../src/cli/format.js';
import type { BenchContext, BenchModule, Chart, Section } from './types.js';

export interface Sweep {
  pages: number;
  rounds: number;
  boPages: number;
  ram: number;
  hostRam: number;
  xenLowFree: number;
}

export function sweep(quick: boolean): Sweep {
  return quick
    ? { pages: 1 << 16, rounds: 1, boPages: 256, ram: 2 ** 30, hostRam: 8 * 2 ** 30, xenLowFree: 512 * 2 ** 20 }
    // 2^19 pages (2 GiB) fit a 32-bit device's DMA32 zone and Xen's low memory; two rounds move 2^20.
    : { pages: 1 << 19, rounds: 2, boPages: 256, ram: 8 * 2 ** 30, hostRam: 16 * 2 ** 30, xenLowFree: 3 * 2 ** 30 };
}

/** Every platform × strategy (r100) and platform × gatt (agp), on each workload. */
export function strategySpecs(s: Sweep, seed: number, workloads: readonly WorkloadName[] = WORKLOADS): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [];
  const base = (platform: PlatformName, device: DeviceName) => ({
    platform, device, kernel: '2010' as const, ram: s.ram, hostRam: s.hostRam, xenLowFree: s.xenLowFree, swiotlb: 64 * 2 ** 20, payloadBytes: 0, seed,
  });
  for (const workload of workloads) {
    for (const platform of PLATFORMS) {
      for (const strategy of STRATEGIES) {
        specs.push({ machine: base(platform, 'r100'), strategy: strategy as StrategyName, gatt: null, workload, pages: s.pages, boPages: s.boPages, rounds: s.rounds, replicas: 1, engine: 'wasm' });
      }
      for (const gatt of GATTS) {
        const pages = s.pages;
        specs.push({ machine: base(platform, 'agp'), strategy: null, gatt: gatt as GattName, workload, pages, boPages: s.boPages, rounds: s.rounds, replicas: 1, engine: 'wasm' });
      }
    }
  }
  specs.forEach((sp) => checkScenario(sp));
  return specs;
}

export async function runSpecs(specs: ScenarioSpec[], workers: number, log: (l: string) => void): Promise<{ results: Result[]; wallMs: number }> {
  const t0 = performance.now();
  const cells = specs.flatMap((s) => cellsOf(s));
  let last = 0;
  const outs = await runCells(cells, { workers, onProgress: (d, t) => { if (d - last >= Math.ceil(t / 8) || d === t) { last = d; log(`  ${d}/${t} cells`); } } });
  const costs = loadCosts(undefined);
  const results = specs.map((s, i) => {
    const m = mergeOutputs([outs[i]!]);
    return buildResult({ scenario: scenarioRecord(s), machine: s.machine, costs, wallMs: m.wallMs, workers }, m.raw);
  });
  return { results, wallMs: performance.now() - t0 };
}

const MiB = 2 ** 20;

/** A run that may be ranked by speed: nothing corrupt, every requested page moved. */
export function rankable(r: Result): boolean {
  return r.verdict === 'coherent' && r.completion.pagesMoved === r.completion.pagesRequested && r.modeled.mibPerSec !== null;
}

export const strategies: BenchModule = {
  id: 'strategies',
  async run(ctx: BenchContext): Promise<Section> {
    const s = sweep(ctx.quick);
    const specs = strategySpecs(s, ctx.seed);
    ctx.log(`strategies: ${specs.length} cells of ${s.pages.toLocaleString('en-US')} pages`);
    const { results, wallMs } = await runSpecs(specs, 2, ctx.log);
    const tables = WORKLOADS.map((w) => ({
      caption: `${w}: ${s.pages.toLocaleString('en-US')} pages in BOs of ${s.boPages}, ${s.rounds} round${s.rounds === 1 ? '' : 's'} (${(s.pages * s.rounds).toLocaleString('en-US')} pages moved; churn keeps a quarter live), guest RAM ${s.ram / 2 ** 30} GiB, Xen host ${s.hostRam / 2 ** 30} GiB with ${s.xenLowFree / MiB} MiB free below 4 GiB, swiotlb 64 MiB, kernel 2010.`,
      columns: ['device', 'platform', 'strategy', 'verdict', 'stale', 'lost', 'foreign', 'modelled MiB/s', 'bounce MiB', 'hypercalls', 'swiotlb peak slots', 'map errors', 'alloc failures'],
      rows: results.filter((r) => r.scenario.workload === w).map((r) => {
        const c = r.counters;
        return [r.scenario.device, r.scenario.platform, r.scenario.strategy ?? r.scenario.gatt!, verdictCell(r), c.staleReads!, c.lostWrites!, c.foreignReads!,
          r.modeled.mibPerSec ?? '—', (c.bounceBytes! / MiB).toFixed(0), c.hypercalls!, c.swiotlbPeakSlots!, c.mappingErrors!, c.allocFailures!];
      }),
    }));
    const chart = (title: string, unit: string, value: (r: Result) => number | null, log = false): Chart => ({
      title, unit, log,
      bars: results.filter((r) => r.scenario.workload === 'upload' && r.scenario.device === 'r100').map((r) => ({ label: `${r.scenario.platform} ${r.scenario.strategy}`, value: value(r) ?? 0, group: verdictCell(r) })),
    });
    const upload = results.filter((r) => r.scenario.workload === 'upload');
    const xen = (st: string) => upload.find((r) => r.scenario.platform === 'xen-pv' && r.scenario.strategy === st)!;
    return {
      id: 'strategies',
      title: 'Strategy comparison',
      question: 'On each platform and workload, which fix keeps the GPU coherent, and at what modelled cost?',
      tables,
      metrics: [
        // Only runs that were coherent and complete are ranked (a bigger-is-better file).
        ...['legacy', 'coherent', 'sync', 'xen-aware'].map(xen).filter(rankable).map((r) => ({ name: `modelled upload MiB/s, xen-pv r100 ${r.scenario.strategy}`, unit: 'MiB/s', value: r.modeled.mibPerSec! })),
        { name: 'strategy sweep cells per second (2 workers)', unit: 'cells/s', value: +(specs.length / (wallMs / 1000)).toFixed(2) },
      ],
      charts: [
        chart('Modelled upload throughput, r100 (MiB/s)', 'MiB/s', (r) => r.modeled.mibPerSec),
        chart('Bytes bounced on upload, r100 (MiB)', 'MiB', (r) => r.counters.bounceBytes! / MiB),
      ],
      targets: [],
      notes: [
        `${specs.length} cells in ${(wallMs / 1000).toFixed(1)} s on 2 workers.`,
        'Modelled time uses costs/default.json; each entry there cites its source or says "assumed".',
        'Verdict: coherent when no read was stale, lost or foreign; failures (map errors, alloc failures) are reported beside it, not folded into it.',
      ],
      ratios: {},
      data: results,
    };
  },
};
