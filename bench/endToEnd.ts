// Question: how many simulated pages per second does a user's whole `gartbench run` get from each
// engine, for every strategy's upload, and how much faster is the Wasm engine than the reference
// model there (not on a pre-built micro-benchmark stream)?
import { STRATEGIES } from '../src/cli/options.js';
import type { Result } from '../src/report/result.js';
import { timedMetric } from './metrics.js';
import { rankable } from './strategies.js';
import { pairedRatios, round3, statCell, summarize, summarizeAs } from './stats.js';
import type { Bar, BenchContext, BenchModule, Metric, Ratio, Section, Target } from './types.js';
import { type CommandVariant, argvOf, commandLine, commandRounds, pow2 } from './userRun.js';

/** The issue's size and target: every strategy's upload at 2^19 pages, Wasm ≥ 10× the model. */
export const TARGET_PAGES = 2 ** 19;
export const TARGET_SPEEDUP = 10;

export interface EndToEndConfig {
  pages: number;
  /** Machine options, as typed (the strategy sweep's sizes, so every strategy completes). */
  machine: Record<string, string>;
  seed: number;
  rounds: number;
  warmup: number;
}

export function endToEndConfig(quick: boolean, seed: number): EndToEndConfig {
  return quick
    ? { pages: 2 ** 16, machine: { ram: '1G', 'host-ram': '8G', 'xen-low-free': '512M' }, seed, rounds: 5, warmup: 1 }
    // 2^19 pages (2 GiB) fit a 32-bit device's DMA32 zone and, with 3 GiB free below 4 GiB, Xen's exchanges.
    : { pages: TARGET_PAGES, machine: { ram: '8G', 'host-ram': '16G', 'xen-low-free': '3G' }, seed, rounds: 5, warmup: 1 };
}

const ENGINES = ['js', 'wasm'] as const;
const ENGINE_NAME = { js: 'reference model', wasm: 'Wasm engine' } as const;

/** The command of one strategy on one engine. */
export function uploadArgv(c: EndToEndConfig, strategy: string, engine: string): string[] {
  return ['run', ...argvOf({ platform: 'xen-pv', device: 'r100', strategy, workload: 'upload', pages: c.pages, ...c.machine, seed: c.seed, engine })];
}

const complete = (r: Result) => r.completion.pagesMoved === r.completion.pagesRequested;
const state = (r: Result) => `${r.verdict}${complete(r) ? '' : `, ${r.completion.pagesMoved.toLocaleString('en-US')} of ${r.completion.pagesRequested.toLocaleString('en-US')} page moves made`}`;

export async function measureEndToEnd(c: EndToEndConfig, log: (l: string) => void): Promise<Section> {
  const variants: CommandVariant[] = STRATEGIES.flatMap((s) => ENGINES.map((e) => ({ name: `${s}/${e}`, argv: uploadArgv(c, s, e) })));
  log(`end to end: ${c.rounds} rounds (after ${c.warmup} warm-up) of ${variants.length} commands, upload at ${pow2(c.pages)} pages`);
  const runs = await commandRounds(variants, c.rounds, c.warmup, log);
  const engineMs = (name: string) => runs[name]!.map((u) => u.results[0]!.engine.wallMs);
  const faults = (name: string) => runs[name]!.map((u) => u.minorFaults);
  const faultCell = (v: number[]) => statCell(summarize(v), (x) => x.toLocaleString('en-US', { maximumFractionDigits: 0 }));
  const mPages = (ms: number) => c.pages / (ms / 1000) / 1e6;
  const last = (name: string) => runs[name]!.at(-1)!.results[0]!;
  for (const s of STRATEGIES) {
    if (JSON.stringify(last(`${s}/wasm`).counters) !== JSON.stringify(last(`${s}/js`).counters)) throw new Error(`end to end: the engines disagree on upload ${s}`);
  }
  // Round by round: model ms ÷ Wasm ms (= Wasm speed ÷ model speed); the whole set too.
  const speedUp: Record<string, number[]> = Object.fromEntries(STRATEGIES.map((s) => [s, pairedRatios(engineMs(`${s}/js`), engineMs(`${s}/wasm`))]));
  const total = (e: string) => engineMs(`${STRATEGIES[0]}/${e}`).map((_, i) => STRATEGIES.reduce((sum, s) => sum + engineMs(`${s}/${e}`)[i]!, 0));
  const allSpeedUp = pairedRatios(total('js'), total('wasm'));
  const allPages = c.pages * STRATEGIES.length;
  const at = `${pow2(c.pages)} pages`;
  const quickNote = c.pages === TARGET_PAGES ? '' : ` (measured at ${at}; the issue's size, ${pow2(TARGET_PAGES)}, is the full run's)`;

  const rows: (string | number)[][] = [];
  const bars: Bar[] = [];
  const metrics: Metric[] = [];
  const targets: Target[] = [];
  const ratios: Record<string, Ratio> = {};
  for (const s of STRATEGIES) {
    const r = last(`${s}/wasm`);
    const up = summarize(speedUp[s]!);
    for (const e of ENGINES) {
      const ms = summarize(engineMs(`${s}/${e}`));
      const rate = summarizeAs(engineMs(`${s}/${e}`), mPages);
      rows.push([s, state(r), ENGINE_NAME[e], statCell(ms, (v) => v.toFixed(0)), statCell(rate), ms.samples,
        e === 'js' ? 'baseline' : `${statCell(up)}×`, faultCell(faults(`${s}/${e}`)), commandLine(uploadArgv(c, s, e))]);
      // A corrupt or incomplete run is drawn too (its speed is real), marked so no reader ranks it.
      bars.push({ label: rankable(r) ? s : `${s} (${state(r)})`, series: ENGINE_NAME[e], value: +round3(rate.median), lo: rate.min, hi: rate.max, text: round3(rate.median) });
    }
    targets.push({ what: `upload ${s}, xen-pv r100, ${pow2(TARGET_PAGES)} pages: Wasm ≥ ${TARGET_SPEEDUP}× the reference model by engine wall (median)${quickNote}`, measured: `${statCell(up)}×, ${up.samples} rounds`, met: c.pages === TARGET_PAGES ? up.median >= TARGET_SPEEDUP : null });
    ratios[`end to end: upload xen-pv/r100/${s} at ${at}, Wasm ÷ model`] = { kind: 'end-to-end', samples: speedUp[s]! };
    // benchmark.json ranks no corrupt or incomplete strategy: such a run's figures stay in the report only.
    if (rankable(r)) {
      metrics.push(timedMetric(`end to end: Wasm engine, upload xen-pv r100 ${s}, ${at}`, 'M simulated pages/s', summarizeAs(engineMs(`${s}/wasm`), mPages)));
      metrics.push(timedMetric(`end to end: Wasm ÷ reference model, upload xen-pv r100 ${s}, ${at}`, 'x', up));
    }
  }
  const all = summarize(allSpeedUp);
  for (const e of ENGINES) {
    const ms = summarize(total(e));
    const rate = summarizeAs(total(e), (v) => allPages / (v / 1000) / 1e6);
    const allFaults = faults(`${STRATEGIES[0]}/${e}`).map((_, i) => STRATEGIES.reduce((sum, s) => sum + faults(`${s}/${e}`)[i]!, 0));
    rows.push([`all ${STRATEGIES.length}`, '—', ENGINE_NAME[e], statCell(ms, (v) => v.toFixed(0)), statCell(rate), ms.samples, e === 'js' ? 'baseline' : `${statCell(all)}×`, faultCell(allFaults), `the ${STRATEGIES.length} commands above, --engine ${e}`]);
  }
  // The engine's speed over every strategy is a CI guard (ratios); benchmark.json's aggregate is
  // over the strategies it may rank only, named.
  ratios[`end to end: upload xen-pv/r100, all ${STRATEGIES.length} strategies at ${at}, Wasm ÷ model`] = { kind: 'end-to-end', samples: allSpeedUp };
  const ranked = STRATEGIES.filter((s) => rankable(last(`${s}/wasm`)));
  const unranked = STRATEGIES.filter((s) => !ranked.includes(s));
  if (ranked.length > 0) {
    // One series name whatever the verdicts (a chart's history keeps it); the strategies summed are named in extra.
    const sum = (e: string) => engineMs(`${ranked[0]}/${e}`).map((_, i) => ranked.reduce((t, s) => t + engineMs(`${s}/${e}`)[i]!, 0));
    const named = (m: Metric): Metric => ({ ...m, extra: `${m.extra}; the strategies summed: ${ranked.join(', ')} (${unranked.length ? `not ${unranked.join(', ')}: corrupt or incomplete` : 'all'})` });
    metrics.push(named(timedMetric(`end to end: Wasm engine, upload xen-pv r100, the coherent, complete strategies, ${at}`, 'M simulated pages/s', summarizeAs(sum('wasm'), (v) => (c.pages * ranked.length) / (v / 1000) / 1e6))));
    metrics.push(named(timedMetric(`end to end: Wasm ÷ reference model, upload xen-pv r100, the coherent, complete strategies, ${at}`, 'x', summarize(pairedRatios(sum('js'), sum('wasm'))))));
  }
  return {
    id: 'end-to-end',
    title: 'End to end: simulated pages per second of a whole run, both engines',
    question: `How many simulated pages per second does a user's \`gartbench run\` get, for every strategy's upload on xen-pv r100 at ${at}, and how much faster is the Wasm engine than the reference model there?`,
    tables: [{
      caption: `Each command runs in this process through the CLI's own entry point (src/cli/main.ts, with --json), the path \`gartbench run\` takes; engine wall is the result's engine.wallMs (machine build, workload generation and the engine's run; not node's start-up). ${c.rounds} rounds after ${c.warmup} warm-up round${c.warmup === 1 ? '' : 's'}; each round runs all ${variants.length} commands in turn, so each speed-up is taken round by round. Median (min–max) over the rounds. Simulated pages/s = --pages ÷ engine wall. Page faults: the minor faults this process took during the command (first touches of fresh memory, whose cost is the machine's: the scaling section's first-touch row times 16,384 of them), which a VM whose faults cost more charges the Wasm engine's shorter run a larger share of.`,
      columns: ['strategy', 'verdict', 'engine', 'engine wall ms', 'M simulated pages/s', 'samples', 'Wasm ÷ model', 'page faults', 'command'],
      rows,
    }],
    metrics,
    charts: [{ title: `Upload at ${at} on xen-pv r100: M simulated pages/s by engine (whiskers: min–max)`, unit: 'M simulated pages/s', legend: 'engine', bars }],
    targets,
    notes: [
      `Both engines counted the same for every strategy (checked on the last round). Wasm ÷ model over all ${STRATEGIES.length} strategies' engine wall: ${statCell(all)}×.`,
      `benchmark.json holds these figures, and their sum, only for strategies that were coherent and complete (a corrupt or incomplete run is never ranked); the table and chart show every strategy${unranked.length ? ` (not in benchmark.json: ${unranked.map((s) => `${s}, ${state(last(`${s}/wasm`))}`).join('; ')})` : ''}.`,
      'CI compares each Wasm ÷ model ratio with bench/baseline.json and fails only when its median falls below half the baseline; the ×10 target is printed, never gated.',
    ],
    ratios,
  };
}

export const endToEnd: BenchModule = {
  id: 'end-to-end',
  run: (ctx: BenchContext) => measureEndToEnd(endToEndConfig(ctx.quick, ctx.seed), ctx.log),
};
