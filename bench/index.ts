// `gartbench bench` / `npm run bench`: every benchmark file, in order, into one report.
import { performance } from 'node:perf_hooks';
import { environment } from './environment.js';
import { renderMarkdown, writeReport } from './report.js';
import type { BenchModule, BenchReport, Section } from './types.js';
import { engineThroughput } from './engineThroughput.js';
import { micro } from './micro.js';
import { strategies } from './strategies.js';
import { scaling } from './scaling.js';
import { innerLoop } from './innerLoop.js';
import { copyBandwidth } from './copyBandwidth.js';
import { defaultCostEntries } from '../src/report/costs.js';

export const BENCHMARKS: BenchModule[] = [strategies, copyBandwidth, engineThroughput, innerLoop, micro, scaling];

export interface BenchOptions {
  quick: boolean;
  out: string;
  seed: number;
  only?: string[];
  log: (line: string) => void;
}

export async function runBench(o: BenchOptions): Promise<{ report: BenchReport; files: string[]; markdown: string }> {
  const t0 = performance.now();
  const sections: Section[] = [];
  for (const b of BENCHMARKS) {
    if (o.only && !o.only.includes(b.id)) continue;
    o.log(`bench: ${b.id}`);
    sections.push(await b.run({ quick: o.quick, seed: o.seed, log: o.log }));
  }
  const report: BenchReport = {
    schema: 'gartbench.bench/1',
    environment: environment(o.seed, o.quick),
    wallSeconds: (performance.now() - t0) / 1000,
    sections,
    costs: defaultCostEntries(),
  };
  const files = await writeReport(o.out, report);
  return { report, files, markdown: renderMarkdown(report) };
}
