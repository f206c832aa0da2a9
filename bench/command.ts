// `gartbench bench` (what `npm run bench` runs): the bench's own command, which bin/gartbench.mjs
// hands the CLI, so src/ never imports bench/.
import { existsSync, statSync } from 'node:fs';
import { UsageError, msg } from '../src/errors.js';
import type { Command } from '../src/cli/command.js';
import { BENCHMARKS, runBench } from './index.js';

export const bench: Command = {
  usage: 'gartbench bench [--quick] [--out DIR] [--seed N] [--only IDS]',
  about: 'Runs the benchmarks and writes report.md, report.html, report.json and benchmark.json to DIR.\nThis is what `npm run bench` runs. The report leads with end-to-end figures (whole `gartbench run`s on\nboth engines, cost per page from 2^16 to 2^22 pages, CPU profiles, workers by wall time), then the\nmodelled strategy comparison, then the micro-benchmarks. The full run took 4.5 min on a 2-core AMD EPYC\nVM with a 1-minute load of 3–4 from other jobs.',
  specs: [
    { name: 'quick', kind: 'flag', help: 'smaller sizes, the same sections (end to end at 2^16 pages, cost per page to 2^20); what CI runs (measured: 56–79 s on a 2-core AMD EPYC VM with a 1-minute load of 3–4 from other jobs)' },
    { name: 'out', kind: 'path', arg: 'DIR', default: 'bench-results', help: 'directory for the report files, created if missing' },
    { name: 'seed', kind: 'int', default: '1', min: 0, max: 2 ** 32 - 1, help: 'all randomness derives from it' },
    { name: 'only', kind: 'path', arg: 'IDS', help: `run only these benchmarks: a comma-separated list of ids from ${BENCHMARKS.map((b) => b.id).join(', ')}` },
  ],
  async run(v, _args, io) {
    const out = v.out as string;
    if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' is a file; give a directory`);
    const only = typeof v.only === 'string' ? v.only.split(',') : undefined;
    for (const id of only ?? []) {
      if (!BENCHMARKS.some((b) => b.id === id)) throw new UsageError(msg.badChoice('only', id, BENCHMARKS.map((b) => b.id)));
    }
    const { files, markdown } = await runBench({ quick: !!v.quick, out, seed: v.seed as number, only, log: (l) => io.err(`${l}\n`) });
    io.out(markdown);
    io.err(`wrote ${files.join(', ')}\n`);
  },
};
