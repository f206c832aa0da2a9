// Question: the RFC's three fixes on the kernel it was written against (Linux 2.6.37) against the
// same fixes and the kernel's eventual answer (`auto`: drm_need_swiotlb) on Linux 6.12 — per
// platform, coherent or not, complete or not, and at what modelled cost?
import type { KernelName } from '../src/engine/abi.js';
import { loadCosts } from '../src/report/costs.js';
import type { Result } from '../src/report/result.js';
import { resultsOf } from '../src/report/results.js';
import { STRATEGY_CHOICES, columnOf, platformsOf } from '../src/run/matrix.js';
import { type Plan, planWorkload } from '../src/run/plan.js';
import type { DeviceName } from '../src/source/scenario.js';
import { verdictWhyCell } from '../src/report/format.js';
import { exactMetric } from './metrics.js';
import { rankable } from './strategies.js';
import type { BenchContext, BenchModule, Section } from './types.js';

export interface EraSweep {
  pages: number;
  /** 64: a 6.12 pool block of a larger BO is more than swiotlb maps at once (256 KiB), and fails. */
  boPages: number;
  ram: number;
  hostRam: number;
  xenLowFree: number;
}

/** The full sweep's 2^18 pages (1 GiB) need more than 1 GiB of guest RAM: the kernel's reserve and
 * the swiotlb pool come first (a 1 GiB guest leaves 241,655 pages free). */
export function eraSweep(quick: boolean): EraSweep {
  return { pages: quick ? 1 << 14 : 1 << 18, boPages: 64, ram: quick ? 2 ** 30 : 2 * 2 ** 30, hostRam: 8 * 2 ** 30, xenLowFree: 512 * 2 ** 20 };
}

export const ERA_DEVICES: readonly DeviceName[] = ['r100', 'r600'];
const KERNELS: readonly KernelName[] = ['2010', 'modern'];

/** Upload on every platform × strategy (auto included) of each kernel, r100 and r600. */
export function eraPlans(s: EraSweep, seed: number): Plan[] {
  const sizes = { ram: s.ram, hostRam: s.hostRam, xenLowFree: s.xenLowFree, swiotlb: 64 * 2 ** 20 };
  return KERNELS.flatMap((kernel) => ERA_DEVICES.flatMap((device) => platformsOf(kernel).flatMap((platform) => STRATEGY_CHOICES.map((strategy) => planWorkload({
    platform, device, strategy, gatt: null, workload: 'upload', pages: s.pages, boPages: s.boPages, rounds: 1, seed, kernel,
    replicas: 1, payloadBytes: 0, engine: 'wasm',
  }, sizes)))));
}

const column = (r: Result) => columnOf(r.scenario);
const cost = (r: Result) => (r.modeled.nsPerPage === null ? 'no page moved' : `${Math.round(r.modeled.nsPerPage).toLocaleString('en-US')} ns`);

export async function measureEras(s: EraSweep, seed: number, log: (l: string) => void): Promise<Section> {
  const plans = eraPlans(s, seed);
  log(`eras: ${plans.length} cells of ${s.pages.toLocaleString('en-US')} pages`);
  const results = await resultsOf(plans, loadCosts(undefined), { workers: 2 });
  const find = (kernel: KernelName, device: DeviceName, platform: string, strategy: string) =>
    results.find((r) => r.scenario.kernel === kernel && r.scenario.device === device && r.scenario.platform === platform && column(r) === strategy);
  const rows: (string | number)[][] = [];
  for (const device of ERA_DEVICES) {
    for (const platform of platformsOf('modern')) {
      for (const strategy of STRATEGY_CHOICES) {
        const then = find('2010', device, platform, strategy);
        const now = find('modern', device, platform, strategy)!;
        const auto = `auto → ${then ? `${then.scenario.strategy} (2010), ` : ''}${now.scenario.strategy}${then ? ' (modern)' : ''}`;
        rows.push([device, platform, strategy === 'auto' ? auto : strategy,
          then ? verdictWhyCell(then) : '— (not in 2.6.37)', then ? cost(then) : '—', verdictWhyCell(now), cost(now)]);
      }
    }
  }
  const ranked = results.filter((r) => r.scenario.kernel === 'modern' && rankable(r));
  return {
    id: 'eras',
    title: 'The RFC\'s fixes on its kernel and on today\'s, beside the kernel\'s own answer',
    question: 'Per platform, does each fix keep the GPU coherent on Linux 2.6.37 and on Linux 6.12 (where `auto` is what drm_need_swiotlb picks), does the work complete, and at what modelled cost per moved page?',
    tables: [{
      caption: `upload, ${s.pages.toLocaleString('en-US')} pages in BOs of ${s.boPages}, guest RAM ${s.ram / 2 ** 30} GiB, Xen host ${s.hostRam / 2 ** 30} GiB with ${s.xenLowFree / 2 ** 20} MiB free below 4 GiB, swiotlb 64 MiB (6.12 sizes coco's itself), seed ${seed}. Modelled ns per moved page from costs/default.json (not timed).`,
      columns: ['device', 'platform', 'strategy', '2010: verdict, completion', '2010: cost per page', 'modern: verdict, completion', 'modern: cost per page'],
      rows,
    }],
    metrics: ranked.map((r) => exactMetric(`modelled upload pages per ms, modern ${r.scenario.platform} ${r.scenario.device} ${column(r)}`,
      'pages/ms', Math.round(1e6 / r.modeled.nsPerPage!), 'modelled with costs/default.json (not timed); coherent and complete')),
    charts: [],
    targets: [],
    notes: [
      `${plans.length} cells (both kernels, r100 and r600), simulated on 2 workers. coco exists on 6.12 only.`,
      'benchmark.json ranks only the modern runs that were coherent and complete.',
    ],
    ratios: {},
    data: results,
  };
}

export const eras: BenchModule = {
  id: 'eras',
  run: (ctx: BenchContext) => measureEras(eraSweep(ctx.quick), ctx.seed, ctx.log),
};
