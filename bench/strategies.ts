// Question: for every platform, which fix keeps the GPU's view coherent on each workload, and
// what does it cost (modelled throughput, bounce bytes, hypercalls, swiotlb pressure, failures)?
import type { PlatformName } from '../src/engine/abi.js';
import { platformsOf } from '../src/run/matrix.js';
import { GATTS, STRATEGIES, WORKLOADS } from '../src/cli/options.js';
import { loadCosts } from '../src/report/costs.js';
import type { Result } from '../src/report/result.js';
import { resultsOf } from '../src/report/results.js';
import { type Plan, planWorkload } from '../src/run/plan.js';
import type { DeviceName, GattName, StrategyName, WorkloadName } from '../src/source/scenario.js';
import { verdictCell, verdictWhyCell } from '../src/report/format.js';
import { exactMetric } from './metrics.js';
import { countText, readable } from './stats.js';
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
export function strategySpecs(s: Sweep, seed: number, workloads: readonly WorkloadName[] = WORKLOADS): Plan[] {
  const plans: Plan[] = [];
  const sizes = { ram: s.ram, hostRam: s.hostRam, xenLowFree: s.xenLowFree, swiotlb: 64 * 2 ** 20 };
  const plan = (platform: PlatformName, device: DeviceName, strategy: StrategyName | null, gatt: GattName | null, workload: WorkloadName) => planWorkload({
    platform, device, strategy, gatt, workload, pages: s.pages, boPages: s.boPages, rounds: s.rounds, seed, kernel: '2010',
    replicas: 1, payloadBytes: 0, engine: 'wasm',
  }, sizes);
  for (const workload of workloads) {
    for (const platform of platformsOf('2010')) { // the golden sweep is 2010's: no coco
      for (const strategy of STRATEGIES) plans.push(plan(platform, 'r100', strategy, null, workload));
      for (const gatt of GATTS) plans.push(plan(platform, 'agp', null, gatt, workload));
    }
  }
  return plans;
}

export async function runSpecs(plans: Plan[], workers: number, log: (l: string) => void): Promise<{ results: Result[]; wallMs: number }> {
  const t0 = performance.now();
  let last = 0;
  const onProgress = (d: number, t: number) => {
    if (d - last >= Math.ceil(t / 8) || d === t) { last = d; log(`  ${d}/${t} cells`); }
  };
  const results = await resultsOf(plans, loadCosts(undefined), { workers, onProgress });
  return { results, wallMs: performance.now() - t0 };
}

const MiB = 2 ** 20;

/** A run that may be ranked by speed: nothing corrupt, every requested page moved. */
export function rankable(r: Result): boolean {
  return r.verdict === 'coherent' && r.completion.pagesMoved === r.completion.pagesRequested && r.modeled.mibPerSec !== null;
}

/** Colours that read as the verdict: green coherent, red corrupt; orange/purple when pages did not all move. */
export function verdictColor(r: Result): string {
  const complete = r.completion.pagesMoved === r.completion.pagesRequested;
  if (r.verdict === 'coherent') return complete ? '#2e7d32' : '#ef8f00';
  return complete ? '#c62828' : '#7b1fa2';
}

const DEVICE_FAMILIES: { device: DeviceName; what: string }[] = [
  { device: 'r100', what: 'r100 (TTM strategies)' },
  { device: 'agp', what: 'AGP (GATT strategies)' },
];

const fix = (r: Result) => r.scenario.strategy ?? r.scenario.gatt!;

/** The cost-versus-correctness chart of one workload and device family. */
export function costChart(results: Result[], workload: string, device: DeviceName, what: string): Chart {
  const cells = results.filter((r) => r.scenario.workload === workload && r.scenario.device === device);
  return {
    title: `${workload} on ${what}: modelled MiB/s per moved page, coloured by verdict and completion`,
    unit: 'modelled MiB/s',
    legend: 'verdict, completion',
    colors: Object.fromEntries(cells.map((r) => [verdictCell(r), verdictColor(r)])),
    bars: cells.map((r) => ({
      label: `${r.scenario.platform} · ${fix(r)}`,
      value: r.modeled.mibPerSec ?? 0,
      color: verdictCell(r),
      // The verdict in words too, not only as a colour.
      text: `${r.modeled.mibPerSec !== null ? `${r.modeled.mibPerSec} MiB/s` : r.modeled.nsPerPage === null ? 'no page moved' : 'zero modelled cost'}${verdictCell(r) === 'coherent' ? '' : ` · ${verdictCell(r)}`}`,
    })),
  };
}

export const strategies: BenchModule = {
  id: 'strategies',
  async run(ctx: BenchContext): Promise<Section> {
    const s = sweep(ctx.quick);
    const specs = strategySpecs(s, ctx.seed);
    ctx.log(`strategies: ${specs.length} cells of ${s.pages.toLocaleString('en-US')} pages`);
    const { results } = await runSpecs(specs, 2, ctx.log);
    const tables = WORKLOADS.map((w) => ({
      charts: DEVICE_FAMILIES.map((d) => costChart(results, w, d.device, d.what)),
      caption: `${w}: ${s.pages.toLocaleString('en-US')} pages in BOs of ${s.boPages}, ${s.rounds} round${s.rounds === 1 ? '' : 's'}${w === 'churn' ? ' (churn creates that many per round and keeps a quarter live)' : ''}, guest RAM ${s.ram / 2 ** 30} GiB, Xen host ${s.hostRam / 2 ** 30} GiB with ${s.xenLowFree / MiB} MiB free below 4 GiB, swiotlb 64 MiB, kernel 2010.`,
      columns: ['device', 'platform', 'strategy', 'verdict, completion', 'page moves made', 'stale', 'lost', 'foreign', 'modelled MiB/s', 'bounce MiB', 'hypercalls', 'swiotlb peak slots', 'map errors', 'alloc failures'],
      rows: results.filter((r) => r.scenario.workload === w).map((r) => {
        const c = r.counters;
        return [r.scenario.device, r.scenario.platform, fix(r), verdictWhyCell(r), `${r.completion.pagesMoved.toLocaleString('en-US')} of ${r.completion.pagesRequested.toLocaleString('en-US')}`,
          countText(c.staleReads!), countText(c.lostWrites!), countText(c.foreignReads!), r.modeled.mibPerSec === null ? '—' : readable(r.modeled.mibPerSec), readable(c.bounceBytes! / MiB), countText(c.hypercalls!), countText(c.swiotlbPeakSlots!), countText(c.mappingErrors!), countText(c.allocFailures!)];
      }),
    }));
    // Only runs that were coherent and complete are ranked (benchmark.json is bigger-is-better).
    const ranked = results.filter((r) => r.scenario.workload === 'upload' && rankable(r));
    return {
      id: 'strategies',
      title: 'Strategy comparison',
      question: 'On each platform and workload, which fix keeps the GPU coherent, and at what modelled cost?',
      tables,
      metrics: ranked.map((r) => exactMetric(`modelled upload MiB/s, ${r.scenario.platform} ${r.scenario.device} ${fix(r)}`, 'MiB/s', r.modeled.mibPerSec!,
        `modelled with costs/default.json (not timed); coherent, all ${r.completion.pagesMoved.toLocaleString('en-US')} page moves made`)),
      charts: [], // drawn beside each workload's table
      targets: [],
      notes: [
        `${specs.length} cells, simulated on 2 workers (the simulator's own speed is in the end-to-end sections above).`,
        'Modelled time uses the cost table at the end of this report (costs/default.json); each entry there cites its source or says "assumed". Modelled MiB/s is over the pages that moved.',
        'Verdict: coherent when no read was stale, lost or foreign. Completion beside it: pages that reached the device of those requested; failures (map errors, alloc failures) are counted beside it, not folded into it.',
        'benchmark.json ranks only the upload runs that were coherent and complete: a corrupt or incomplete run is never ranked.',
      ],
      ratios: {},
      data: results,
    };
  },
};
