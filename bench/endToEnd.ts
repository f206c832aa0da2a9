// Question: how many simulated pages per second does a user's whole `gartbench run` get from each
// engine, for every strategy's upload, and how much faster is the Wasm engine than the reference
// model there (not on a pre-built micro-benchmark stream)?
import { STRATEGIES } from '../src/cli/options.js';
import { timedMetric } from './metrics.js';
import { rankable } from './strategies.js';
import { pairedRatios, round3, statCell, summarize, summarizeAs } from './stats.js';
import type { Bar, BenchContext, BenchModule, Metric, Ratio, Section, Target } from './types.js';
import { type CommandVariant, argvOf, commandLine, commandRounds, pow2 } from './userRun.js';
import { processRunRounds } from './processRun.js';
import { laterCellRounds } from './laterCell.js';
import { type Result, counterRecord } from '../src/report/result.js';
import { verdictWhyCell } from '../src/report/format.js';

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
const state = (r: Result) => `${verdictWhyCell(r)}${!complete(r) ? ` (${r.completion.pagesMoved.toLocaleString('en-US')} of ${r.completion.pagesRequested.toLocaleString('en-US')} page moves made)` : ''}`;

/** One engine's figures for one command, by way of measurement (own process, this process, a
 * thread's later cell). */
interface Way {
  id: 'process' | 'here' | 'later';
  /** Names the way in a ratio or metric ('' for this process, the way CI's baseline names it). */
  tag: string;
  engineMs: (name: string) => number[];
  faults: (name: string) => number[];
  /** Peak RSS in MiB by run (only a process's own is known). */
  rssMb?: (name: string) => number[];
  /** Whether each run built its machine on a memory handed on (only a later cell's is known). */
  handed?: (name: string) => boolean[];
  /** The last run's counters, by name. */
  counters: (name: string) => Record<string, number>;
}

export async function measureEndToEnd(c: EndToEndConfig, log: (l: string) => void): Promise<Section> {
  const variants: CommandVariant[] = STRATEGIES.flatMap((s) => ENGINES.map((e) => ({ name: `${s}/${e}`, argv: uploadArgv(c, s, e) })));
  log(`end to end: ${c.rounds} rounds (after ${c.warmup} warm-up) of ${variants.length} commands, upload at ${pow2(c.pages)} pages, each as its own process`);
  const procs = await processRunRounds(variants, c.rounds, c.warmup, log);
  log(`end to end: the same ${variants.length} commands in this process, ${c.rounds} rounds (after ${c.warmup} warm-up)`);
  const runs = await commandRounds(variants, c.rounds, c.warmup, log);
  log(`end to end: the same ${variants.length} commands' cells as one thread's later cells, ${c.rounds} rounds (after ${c.warmup} warm-up)`);
  const later = await laterCellRounds(variants, c.rounds, c.warmup, log);
  const own: Way = { id: 'process', tag: ' (own process)', engineMs: (n) => procs[n]!.map((p) => p.result.engine.wallMs), faults: (n) => procs[n]!.map((p) => p.minorFaults),
    rssMb: (n) => procs[n]!.map((p) => p.maxRssKiB / 1024), counters: (n) => procs[n]!.at(-1)!.result.counters };
  const here: Way = { id: 'here', tag: '', engineMs: (n) => runs[n]!.map((u) => u.results[0]!.engine.wallMs), faults: (n) => runs[n]!.map((u) => u.minorFaults),
    counters: (n) => runs[n]!.at(-1)!.results[0]!.counters };
  const warm: Way = { id: 'later', tag: ' (later cell)', engineMs: (n) => later[n]!.map((l) => l.out.wallMs), faults: (n) => later[n]!.map((l) => l.minorFaults),
    handed: (n) => later[n]!.map((l) => l.out.reusedMemory), counters: (n) => counterRecord(later[n]!.at(-1)!.out.raw.counters) };
  const ways = [own, here, warm];
  const differ = (a: Record<string, number>, b: Record<string, number>) => Object.keys(b).some((k) => a[k] !== b[k]);
  for (const w of ways) {
    for (const s of STRATEGIES) {
      if (differ(w.counters(`${s}/js`), w.counters(`${s}/wasm`))) throw new Error(`end to end: the engines disagree on upload ${s}`);
      if (differ(w.counters(`${s}/wasm`), own.counters(`${s}/wasm`))) throw new Error(`end to end: upload ${s} counted differently in its own process and as measured ${w.id}`);
    }
  }
  const count = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const mPages = (ms: number) => c.pages / (ms / 1000) / 1e6;
  // Round by round: model ms ÷ Wasm ms (= Wasm speed ÷ model speed); the whole set too.
  const speedUp = (w: Way, s: string) => pairedRatios(w.engineMs(`${s}/js`), w.engineMs(`${s}/wasm`));
  const sumOf = (w: Way, f: (n: string) => number[], e: string, over: readonly string[] = STRATEGIES) =>
    f(`${over[0]}/${e}`).map((_, i) => over.reduce((sum, s) => sum + f(`${s}/${e}`)[i]!, 0));
  const allSpeedUp = (w: Way) => pairedRatios(sumOf(w, w.engineMs, 'js'), sumOf(w, w.engineMs, 'wasm'));
  const allPages = c.pages * STRATEGIES.length;
  const at = `${pow2(c.pages)} pages`;
  const quickNote = c.pages === TARGET_PAGES ? '' : ` (measured at ${at}; the issue's size, ${pow2(TARGET_PAGES)}, is the full run's)`;
  const last = (name: string) => procs[name]!.at(-1)!.result;

  // A later cell's column: how many of the Wasm runs built their machine on a handed-on memory.
  const handedCell = (w: Way, n: string) => {
    if (!w.handed) return [];
    if (n.endsWith('/js')) return ['— (its heap)'];
    const h = w.handed(n);
    return [`${h.filter(Boolean).length} of ${h.length}`];
  };
  const tableRows = (w: Way) => {
    const rows: (string | number)[][] = [];
    const extra = (f: ((n: string) => number[]) | undefined, n: string, fmt: (v: number) => string) => (f ? [statCell(summarize(f(n)), fmt)] : []);
    for (const s of STRATEGIES) {
      const up = summarize(speedUp(w, s));
      for (const e of ENGINES) {
        const n = `${s}/${e}`;
        const ms = summarize(w.engineMs(n));
        rows.push([s, state(last(`${s}/wasm`)), ENGINE_NAME[e], statCell(ms, (v) => v.toFixed(0)), statCell(summarizeAs(w.engineMs(n), mPages)), ms.samples,
          e === 'js' ? 'baseline' : `${statCell(up)}×`, statCell(summarize(w.faults(n)), count), ...extra(w.rssMb, n, (v) => v.toFixed(0)), ...handedCell(w, n), commandLine(uploadArgv(c, s, e))]);
      }
    }
    for (const e of ENGINES) {
      const ms = summarize(sumOf(w, w.engineMs, e));
      rows.push([`all ${STRATEGIES.length}`, '—', ENGINE_NAME[e], statCell(ms, (v) => v.toFixed(0)), statCell(summarizeAs(sumOf(w, w.engineMs, e), (v) => allPages / (v / 1000) / 1e6)), ms.samples,
        e === 'js' ? 'baseline' : `${statCell(summarize(allSpeedUp(w)))}×`, statCell(summarize(sumOf(w, w.faults, e)), count), ...(w.rssMb ? ['—'] : []), ...(w.handed ? ['—'] : []), `the ${STRATEGIES.length} commands above, --engine ${e}`]);
    }
    return rows;
  };

  // A user's command guards CI; a later cell's ratio is printed only (bench/types.ts Ratio).
  const kindOf = (w: Way): Ratio['kind'] => (w === warm ? 'later-cell' : 'end-to-end');
  const bars: Bar[] = [];
  const metrics: Metric[] = [];
  const targets: Target[] = [];
  const ratios: Record<string, Ratio> = {};
  for (const s of STRATEGIES) {
    const r = last(`${s}/wasm`);
    for (const e of ENGINES) {
      const rate = summarizeAs(own.engineMs(`${s}/${e}`), mPages);
      // A corrupt or incomplete run is drawn too (its speed is real), marked so no reader ranks it.
      bars.push({ label: rankable(r) ? s : `${s} (${state(r)})`, series: ENGINE_NAME[e], value: +round3(rate.median), lo: rate.min, hi: rate.max, text: round3(rate.median) });
    }
    const up = summarize(speedUp(own, s));
    const upHere = summarize(speedUp(here, s));
    const upLater = summarize(speedUp(warm, s));
    targets.push({ what: `upload ${s}, xen-pv r100, ${pow2(TARGET_PAGES)} pages: Wasm ≥ ${TARGET_SPEEDUP}× the reference model by engine wall (median), each run as its own process as a user's${quickNote}`,
      measured: `${statCell(up)}×, ${up.samples} rounds (in the bench's process: ${statCell(upHere)}×; as a thread's later cell: ${statCell(upLater)}×)`, met: c.pages === TARGET_PAGES ? up.median >= TARGET_SPEEDUP : null });
    for (const w of ways) {
      ratios[`end to end${w.tag}: upload xen-pv/r100/${s} at ${at}, Wasm ÷ model`] = { kind: kindOf(w), samples: speedUp(w, s) };
      // benchmark.json ranks no corrupt or incomplete strategy: such a run's figures stay in the report only.
      if (rankable(r)) {
        metrics.push(timedMetric(`end to end${w.tag}: Wasm engine, upload xen-pv r100 ${s}, ${at}`, 'M simulated pages/s', summarizeAs(w.engineMs(`${s}/wasm`), mPages)));
        metrics.push(timedMetric(`end to end${w.tag}: Wasm ÷ reference model, upload xen-pv r100 ${s}, ${at}`, 'x', summarize(speedUp(w, s))));
      }
    }
  }
  // The engine's speed over every strategy is a CI guard (ratios); benchmark.json's aggregate is
  // over the strategies it may rank only, named.
  const ranked = STRATEGIES.filter((s) => rankable(last(`${s}/wasm`)));
  const unranked = STRATEGIES.filter((s) => !ranked.includes(s));
  for (const w of ways) {
    ratios[`end to end${w.tag}: upload xen-pv/r100, all ${STRATEGIES.length} strategies at ${at}, Wasm ÷ model`] = { kind: kindOf(w), samples: allSpeedUp(w) };
    if (ranked.length === 0) continue;
    // One series name whatever the verdicts (a chart's history keeps it); the strategies summed are named in extra.
    const sum = (e: string) => sumOf(w, w.engineMs, e, ranked);
    const named = (m: Metric): Metric => ({ ...m, extra: `${m.extra}; the strategies summed: ${ranked.join(', ')} (${unranked.length ? `not ${unranked.join(', ')}: corrupt or incomplete` : 'all'})` });
    metrics.push(named(timedMetric(`end to end${w.tag}: Wasm engine, upload xen-pv r100, the coherent, complete strategies, ${at}`, 'M simulated pages/s', summarizeAs(sum('wasm'), (v) => (c.pages * ranked.length) / (v / 1000) / 1e6))));
    metrics.push(named(timedMetric(`end to end${w.tag}: Wasm ÷ reference model, upload xen-pv r100, the coherent, complete strategies, ${at}`, 'x', summarize(pairedRatios(sum('js'), sum('wasm'))))));
  }
  const columns = ['strategy', 'verdict', 'engine', 'engine wall ms', 'M simulated pages/s', 'samples', 'Wasm ÷ model', 'page faults'];
  const roundsOf = (wall: string) => `${c.rounds} rounds after ${c.warmup} warm-up round${c.warmup === 1 ? '' : 's'}; each round runs all ${variants.length} commands in turn, so each speed-up is taken round by round. Median (min–max) over the rounds. Engine wall is ${wall} (machine build, workload generation and the engine's run; not node's start-up); simulated pages/s = --pages ÷ engine wall.`;
  const rounds = roundsOf("the result's engine.wallMs");
  return {
    id: 'end-to-end',
    title: 'End to end: simulated pages per second of a whole run, both engines',
    question: `How many simulated pages per second does a user's \`gartbench run\` get, for every strategy's upload on xen-pv r100 at ${at}, and how much faster is the Wasm engine than the reference model there?`,
    tables: [{
      caption: `Each command as its own process, as a user runs it (\`node bin/gartbench.mjs run … --json\`, started by the bench's small launcher): every run builds its machine on fresh memory, and the model starts with a cold JIT. ${rounds} Page faults and peak RSS: the process's own (getrusage at its exit, start-up included). The issue's target is judged on this table.`,
      columns: [...columns, 'peak RSS MiB', 'command'],
      rows: tableRows(own),
    }, {
      caption: `The same commands in the bench's process, through the CLI's own entry point (src/cli/main.ts, with --json), the path \`gartbench run\` takes. ${rounds} Page faults: the minor faults this process took during the command. Here the model's later runs reuse the heap its earlier runs grew, while each Wasm run builds its machine on fresh memory (a run never keeps another's, src/run/pool.ts): the model takes fewer faults than in its own process, and on a machine whose first touches are dear (the scaling section's first-touch row) the ratio here is the lower. CI's baseline guards this table's ratios and the one above's.`,
      columns: [...columns, 'command'],
      rows: tableRows(here),
    }, {
      caption: `The same commands' cells run in this process as one thread's later cells (bench/laterCell.ts), the way a matrix's or \`--replicas\`' cells after the first run on each thread: each Wasm cell builds its machine on the memory the thread's previous Wasm cell handed on, zeroed where that machine wrote (src/run/reuse.ts; "memory handed on" counts them), so it does not pay again for the first touches of its memory; the model makes its tables afresh for each cell, as in the table above. ${roundsOf("the cell's, the span a result's engine.wallMs takes")} Page faults: the minor faults this process took during the cell.`,
      columns: [...columns, 'memory handed on', 'command'],
      rows: tableRows(warm),
    }],
    metrics,
    charts: [{ title: `Upload at ${at} on xen-pv r100, each run as its own process: M simulated pages/s by engine (whiskers: min–max)`, unit: 'M simulated pages/s', legend: 'engine', bars }],
    targets,
    notes: [
      `Both engines counted the same for every strategy, each way (checked on each way's last round). Wasm ÷ model over all ${STRATEGIES.length} strategies' engine wall: ${statCell(summarize(allSpeedUp(own)))}× as processes, ${statCell(summarize(allSpeedUp(here)))}× in this process, ${statCell(summarize(allSpeedUp(warm)))}× as later cells.`,
      `Where the later cells' ratio is well above the others, first touches of fresh memory take a large share of the Wasm engine's run on this machine (the scaling section's first-touch row gives their cost; the page-fault columns, how many each run takes).`,
      `benchmark.json holds these figures, and their sum, only for strategies that were coherent and complete (a corrupt or incomplete run is never ranked); the tables and chart show every strategy${unranked.length ? ` (not in benchmark.json: ${unranked.map((s) => `${s}, ${state(last(`${s}/wasm`))}`).join('; ')})` : ''}.`,
      'CI compares each Wasm ÷ model ratio with bench/baseline.json and fails only when the median of a user\'s command (its own process or this one) falls below half the baseline; the later cells\' ratios and the ×10 target are printed, never gated.',
    ],
    ratios,
  };
}

export const endToEnd: BenchModule = {
  id: 'end-to-end',
  run: (ctx: BenchContext) => measureEndToEnd(endToEndConfig(ctx.quick, ctx.seed), ctx.log),
};
