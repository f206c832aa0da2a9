// Question: what does a 4 KiB bounce copy cost on this machine, and what does that measured
// figure do to the modelled throughput of the strategies that bounce (xen-pv, swiotlb-force)?
// costs/default.json assumes 0.1 ns per byte (10 GB/s); this measures memcpy of 4 KiB pages over
// a 2 × 64 MiB working set (larger than most last-level caches; the caption says when the system
// reports a larger one) and recomputes the modelled figures with it.
import { readFileSync } from 'node:fs';
import { COUNTERS, type CounterName } from '../src/engine/abi.js';
import { defaultCosts, modeledCost } from '../src/report/costs.js';
import { verdictWhyCell } from '../src/report/format.js';
import type { Result } from '../src/report/result.js';
import { timedMetric } from './metrics.js';
import { type Stat, round3, scaled, statCell } from './stats.js';
import { runSpecs, strategySpecs, sweep } from './strategies.js';
import { timeTasks } from './tiny.js';
import type { BenchContext, BenchModule, Section } from './types.js';

const PAGE = 4096;
const MiB = 2 ** 20;
/** Pages are copied in a scattered order (a stride coprime with the page count), as bounced pages are. */
const STRIDE = 7919;

export interface CopyBandwidth {
  /** Decimal GB/s per sample (bytes per ns). */
  gbPerSec: Stat;
  /** The cost table's unit: ns per byte copied. */
  nsPerByte: Stat;
  workingSetBytes: number;
}

/**
 * Copies every 4 KiB page of a `workingSetBytes` source into a destination area of the same size
 * (TypedArray.copyWithin: one memmove per page, no allocation), once per sample. The buffers are
 * touched before timing, so page faults stay out of the samples.
 */
export async function measureCopyBandwidth(o: { workingSetBytes: number; samples: number }): Promise<CopyBandwidth> {
  const pages = Math.floor(o.workingSetBytes / PAGE);
  if (pages < 1) throw new Error('copy bandwidth: the working set must hold at least one 4 KiB page');
  const bytes = pages * PAGE;
  const buf = new Uint8Array(2 * bytes);
  for (let i = 0; i < buf.length; i += PAGE) buf[i] = i >>> 12;
  const from = new Float64Array(pages);
  for (let i = 0; i < pages; i++) from[i] = ((i * STRIDE) % pages) * PAGE;
  const copyAll = () => {
    for (let i = 0; i < pages; i++) {
      const src = from[i]!;
      buf.copyWithin(bytes + i * PAGE, src, src + PAGE);
    }
  };
  const [t] = await timeTasks([{ name: 'copy 4 KiB pages', fn: copyAll }], { iterations: o.samples, timeMs: 0 });
  const ms = t!.ms;
  // Rates from the time statistics: the fastest sample is the highest bandwidth.
  const gb = (m: number) => bytes / (m * 1e6);
  return {
    gbPerSec: { median: gb(ms.median), min: gb(ms.max), max: gb(ms.min), samples: ms.samples },
    nsPerByte: { median: (ms.median * 1e6) / bytes, min: (ms.min * 1e6) / bytes, max: (ms.max * 1e6) / bytes, samples: ms.samples },
    workingSetBytes: bytes,
  };
}

/** The last-level cache in bytes, as Linux reports it; undefined where it cannot tell. */
function lastLevelCacheBytes(): number | undefined {
  for (const i of [3, 2]) {
    try {
      const m = /^(\d+)([KMG]?)$/.exec(readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${i}/size`, 'utf8').trim());
      if (m) return Number(m[1]) * ({ '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 } as Record<string, number>)[m[2]!]!;
    } catch {
      // not Linux, or no such level
    }
  }
  return undefined;
}

/** The caption's word on the cache: the copy's two arrays against the last-level cache. */
function cacheText(workingSetBytes: number): string {
  const llc = lastLevelCacheBytes();
  if (llc === undefined) return '';
  const size = `the last-level cache here is ${llc / MiB >= 1 ? `${(llc / MiB).toFixed(0)} MiB` : `${(llc / 2 ** 10).toFixed(0)} KiB`}`;
  return 2 * workingSetBytes > llc ? `; ${size}, smaller than the two arrays`
    // A virtual machine may report its host's whole cache; a copy that fits is served from it.
    : `; ${size}, as the system reports it, which would hold both arrays: the copies may come from cache, so the figure may be above memory bandwidth (the cost below it)`;
}

/** Every counter of a result: those it leaves out (a lazy IOMMU's, coco's, the dynamic pools'
 * where they cannot occur) are 0, as the engine counted them. */
const allCounters = (r: Result) => Object.fromEntries(COUNTERS.map((k) => [k, r.counters[k] ?? r.extra[k] ?? 0])) as Record<CounterName, number>;

/** Modelled MiB/s of a result with bounceCopyByte replaced (null when no page moved). */
export function modeledWithCopyCost(r: Result, nsPerByte: number): number | null {
  return modeledCost(allCounters(r), { ...defaultCosts(), bounceCopyByte: nsPerByte }, r.completion.pagesMoved).mibPerSec;
}

/** The recomputation gives the result's own figure at the cost table's copy cost, or the section fails. */
function checkRecomputation(r: Result): void {
  const again = modeledWithCopyCost(r, defaultCosts().bounceCopyByte);
  if (again !== r.modeled.mibPerSec) throw new Error(`copy bandwidth: recomputing ${r.scenario.platform}/${r.scenario.strategy} at the table's copy cost gives ${again} MiB/s, the result says ${r.modeled.mibPerSec}`);
}

export const copyBandwidth: BenchModule = {
  id: 'copy-bandwidth',
  async run(ctx: BenchContext): Promise<Section> {
    const samples = ctx.quick ? 7 : 15;
    const ws = 64 * MiB;
    ctx.log(`copy bandwidth: ${samples} samples of copying ${ws / MiB} MiB in 4 KiB pages`);
    const m = await measureCopyBandwidth({ workingSetBytes: ws, samples });
    const assumed = defaultCosts().bounceCopyByte;

    // The strategy comparison's upload cells on the bouncing platforms, recomputed with the measured copy cost.
    const s = sweep(ctx.quick);
    const specs = strategySpecs(s, ctx.seed, ['upload']).filter(({ scenario: sc }) => sc.device === 'r100' && (sc.platform === 'xen-pv' || sc.platform === 'swiotlb-force'));
    ctx.log(`copy bandwidth: ${specs.length} upload cells on xen-pv and swiotlb-force`);
    const { results } = await runSpecs(specs, 2, ctx.log);
    const bouncing = results.filter((r) => r.counters.bounceBytes! > 0);
    bouncing.forEach(checkRecomputation);
    const mib = (v: number | null) => (v === null ? '—' : v.toFixed(1));
    const rows = bouncing.map((r) => {
      const at = (ns: number) => modeledWithCopyCost(r, ns);
      const med = at(m.nsPerByte.median);
      // More ns per byte is fewer MiB/s: the slowest copy sample gives the lowest figure.
      const withMeasured = med === null ? '—' : `${mib(med)} (${mib(at(m.nsPerByte.max))}–${mib(at(m.nsPerByte.min))})`;
      const change = med === null || r.modeled.mibPerSec === null ? '—' : `${((med / r.modeled.mibPerSec - 1) * 100).toFixed(0)}%`;
      return [r.scenario.platform, r.scenario.strategy!, verdictWhyCell(r), (r.counters.bounceBytes! / MiB).toFixed(0), mib(r.modeled.mibPerSec), withMeasured, change];
    });
    const ns = (v: number) => v.toFixed(4);
    return {
      id: 'copy-bandwidth',
      title: 'Bounce copy cost: this machine\'s 4 KiB copy bandwidth',
      question: 'What does a 4 KiB bounce copy cost on this machine, and what does that measured figure do to the modelled throughput of the strategies that bounce?',
      tables: [
        {
          caption: `memcpy of 4 KiB pages (TypedArray.copyWithin) from a ${m.workingSetBytes / MiB} MiB source into a ${m.workingSetBytes / MiB} MiB destination, pages in a scattered order, one thread${cacheText(m.workingSetBytes)}. Median (min–max) of ${m.gbPerSec.samples} passes after a warm-up pass. The baseline row is the cost table's assumption.`,
          columns: ['bounceCopyByte', 'GB/s', 'ns per byte', 'ns per 4 KiB page', 'samples', 'vs baseline'],
          rows: [
            ['assumed (costs/default.json)', round3(1 / assumed), ns(assumed), (assumed * PAGE).toFixed(0), '—', 'baseline'],
            ['measured on this machine', statCell(m.gbPerSec), statCell(m.nsPerByte, ns), statCell(scaled(m.nsPerByte, PAGE), (v) => v.toFixed(0)), m.gbPerSec.samples,
              `${statCell(scaled(m.gbPerSec, assumed), (v) => v.toFixed(2))}×`],
          ],
        },
        {
          caption: `The strategy comparison's upload cells that bounce (r100; the same ${s.pages.toLocaleString('en-US')}-page sweep and seed), modelled with bounceCopyByte = ${ns(assumed)} ns (the default) and with the measured ${ns(m.nsPerByte.median)} ns (min–max from the fastest and slowest copy samples). Every other cost is the default.`,
          columns: ['platform', 'strategy', 'verdict, completion', 'bounce MiB', `modelled MiB/s, default ${ns(assumed)} ns/B`, `modelled MiB/s, measured ${ns(m.nsPerByte.median)} ns/B`, 'change'],
          rows,
        },
      ],
      metrics: [timedMetric(`4 KiB copy bandwidth (memcpy over ${m.workingSetBytes / MiB} MiB)`, 'GB/s', m.gbPerSec)],
      charts: [],
      targets: [],
      notes: [
        'The default cost table keeps its assumed figure, so results stay the same on every machine; this section shows how far this machine\'s figure moves the bouncing strategies. To use it, pass a cost file with bounceCopyByte set to the measured ns per byte (gartbench run --costs FILE).',
        'A corrupt run\'s modelled figure is shown for its cost only: it is not a candidate (see the verdict).',
      ],
      ratios: {},
      data: { workingSetBytes: m.workingSetBytes, gbPerSec: m.gbPerSec, nsPerByte: m.nsPerByte, assumedNsPerByte: assumed },
    };
  },
};
