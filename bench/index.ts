// `gartbench bench` / `npm run bench`: every benchmark file, in order, into one report.
import { performance } from 'node:perf_hooks';
import { environment, loadAverage } from './environment.js';
import { renderMarkdown, writeReport } from './report.js';
import type { BenchModule, BenchReport, Section } from './types.js';
import { endToEnd } from './endToEnd.js';
import { costPerPage } from './costPerPage.js';
import { profile } from './profile.js';
import { engineThroughput } from './engineThroughput.js';
import { micro } from './micro.js';
import { strategies } from './strategies.js';
import { eras } from './eras.js';
import { traces } from './traces.js';
import { scaling } from './scaling.js';
import { innerLoop } from './innerLoop.js';
import { copyBandwidth } from './copyBandwidth.js';
import { startup } from './startup.js';
import { defaultCostEntries } from '../src/report/costs.js';
import { toolVersion } from '../src/report/provenance.js';
import { BENCH_SCHEMA } from '../src/report/shard.js';
import { type Shard, shardSlice } from '../src/run/shard.js';

/**
 * In report order: the end-to-end figures first (whole user commands: both engines, cost per page
 * by size, a profile, workers by wall time), then the modelled strategy comparison, then the
 * micro-benchmarks and the AS/TS/C inner loop.
 */
export const BENCHMARKS: BenchModule[] = [endToEnd, costPerPage, profile, scaling, startup, strategies, eras, traces, copyBandwidth, engineThroughput, innerLoop, micro];

/** The bench command that makes one section alone. */
export function sectionCommand(id: string, quick: boolean, seed: number): string {
  return `gartbench bench${quick ? ' --quick' : ''} --only ${id}${seed === 1 ? '' : ` --seed ${seed}`}`;
}

export interface BenchOptions {
  quick: boolean;
  out: string;
  seed: number;
  only?: string[];
  /** `--shard K/N`: only the K-th slice of the sections (round robin, src/run/shard.ts), as a part `gartbench merge` joins. */
  shard?: Shard;
  log: (line: string) => void;
}

/** The sections a run makes, in report order: --only's, then the shard's slice of those. */
export function selectedBenchmarks(only?: string[], shard?: Shard): { run: BenchModule[]; all: BenchModule[] } {
  const all = BENCHMARKS.filter((b) => !only || only.includes(b.id));
  return { run: shard ? shardSlice(all, shard).items : all, all };
}

export async function runBench(o: BenchOptions): Promise<{ report: BenchReport; files: string[]; markdown: string }> {
  const t0 = performance.now();
  const asRun = ['gartbench bench', ...(o.quick ? ['--quick'] : []), ...(o.only ? [`--only ${o.only.join(',')}`] : []), ...(o.shard ? [`--shard ${o.shard.index}/${o.shard.count}`] : []), ...(o.seed === 1 ? [] : [`--seed ${o.seed}`])].join(' ');
  const env = environment(o.seed, o.quick, asRun); // at the start: its load average says how busy the machine was going in
  const sections: Section[] = [];
  const { run, all } = selectedBenchmarks(o.only, o.shard);
  for (const b of run) {
    o.log(`bench: ${b.id}`);
    const s0 = performance.now();
    const section = await b.run({ quick: o.quick, seed: o.seed, log: o.log });
    section.command = sectionCommand(b.id, o.quick, o.seed);
    section.seconds = Math.round((performance.now() - s0) / 100) / 10;
    o.log(`bench: ${b.id} took ${section.seconds} s`);
    sections.push(section);
  }
  const report: BenchReport = {
    schema: BENCH_SCHEMA,
    environment: { ...env, loadAverage: { start: env.loadAverage!.start, end: loadAverage() } },
    wallSeconds: (performance.now() - t0) / 1000,
    sections,
    costs: defaultCostEntries(),
  };
  if (o.shard) {
    report.shard = { index: o.shard.index, count: o.shard.count, sections: run.map((b) => b.id), all: all.map((b) => b.id), of: { quick: o.quick, seed: o.seed, version: toolVersion() } };
    for (const s of sections) s.environment = report.environment; // merged, each section still names its machine
  }
  const files = await writeReport(o.out, report);
  return { report, files, markdown: renderMarkdown(report) };
}
