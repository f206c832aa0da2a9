// `gartbench bench` (what `npm run bench` runs): the bench's own command, which bin/gartbench.mjs
// hands the CLI, so src/ never imports bench/.
import { UsageError, msg } from '../src/errors.js';
import type { Command } from '../src/cli/command.js';
import { BENCHMARKS, runBench, selectedBenchmarks } from './index.js';
import { SHARD_OPTION } from '../src/cli/options.js';
import { checkReportDir } from './report.js';
import { parseShard } from '../src/run/shard.js';

export const bench: Command = {
  usage: 'gartbench bench [--quick] [--out DIR] [--seed N] [--only IDS] [--shard K/N]',
  about: 'Runs the benchmarks and writes report.md, report.html, report.json and benchmark.json to DIR.\nThis is what `npm run bench` runs. The report leads with end-to-end figures (whole `gartbench run`s on\nboth engines, each as its own process, in the bench\'s and as a thread\'s later cell; cost per\npage from 2^16 to 2^22 pages and of a 6.12 churn; CPU profiles; workers by wall time), then the\nmodelled strategy comparison, then the micro-benchmarks.\nThe full run took 8.9 min on a 2-core AMD EPYC VM, 3.2 min of it the end-to-end section (3.3 min\non a 2-core Intel Xeon VM before that section timed its runs three ways).',
  specs: [
    { name: 'quick', kind: 'flag', help: 'smaller sizes, the same sections (end to end at 2^16 pages, cost per page to 2^20); what CI runs (measured: 146 s on a 2-core AMD EPYC VM, 53 s of it the end-to-end section; 56–79 s before that section timed its runs three ways)' },
    { name: 'out', kind: 'path', arg: 'DIR', default: 'bench-results', help: 'directory for the report files, created if missing' },
    { name: 'seed', kind: 'int', default: '1', min: 0, max: 2 ** 32 - 1, help: 'all randomness derives from it' },
    { name: 'only', kind: 'text', arg: 'IDS', values: BENCHMARKS.map((b) => b.id), help: `run only these benchmarks: a comma-separated list of ids from ${BENCHMARKS.map((b) => b.id).join(', ')} (without it: every section)` },
    { ...SHARD_OPTION, help: 'run only shard K of N (1 ≤ K ≤ N) of the sections (after --only): those whose index i (0-based, in report order) has i mod N = K−1; DIR/report.json records what `gartbench merge DIR1/report.json DIR2/report.json … --out DIR` needs to join the parts (each section keeps the machine that made it). For a scheduler you already run (README.md). Without it: every section' },
  ],
  async run(v, _args, io) {
    const out = v.out as string;
    // Before anything runs: a link or a device there costs nothing.
    checkReportDir(out);
    const only = typeof v.only === 'string' ? v.only.split(',') : undefined;
    for (const id of only ?? []) {
      if (!BENCHMARKS.some((b) => b.id === id)) throw new UsageError(msg.badChoice('only', id, BENCHMARKS.map((b) => b.id)));
    }
    const shard = typeof v.shard === 'string' ? parseShard(v.shard) : undefined;
    if (shard && selectedBenchmarks(only, shard).run.length === 0) throw new UsageError(`--shard: ${shard.index}/${shard.count} holds no section: there are only ${selectedBenchmarks(only).all.length}; use N ≤ ${selectedBenchmarks(only).all.length}`);
    const { files, markdown } = await runBench({ quick: !!v.quick, out, seed: v.seed as number, only, shard, log: (l) => io.err(`${l}\n`) });
    io.out(markdown);
    io.err(`wrote ${files.join(', ')}\n`);
  },
};
