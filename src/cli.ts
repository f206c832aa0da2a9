// gartbench's command line: parse, validate, run, print. Usage errors exit 2 with one line on
// stderr and nothing on stdout; internal failures exit 1; Ctrl-C exits 130 (src/cli/interrupt.ts).
import { existsSync, statSync } from 'node:fs';
import { CellError, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OutputError, UsageError, msg, oneLine } from './errors.js';
import { type InterruptWatch, onInterrupt } from './cli/interrupt.js';
import {
  COSTS_OPTION, DEVICE_OPTION, KERNEL_OPTION, MACHINE_OPTIONS, OUTPUT_OPTIONS, PLATFORM_OPTION,
  helpText, parseOptions,
} from './cli/options.js';
import { formatResult } from './cli/format.js';
import { checkOutPath, costsInput, emit } from './cli/output.js';
import type { Command, Io } from './cli/command.js';
import { machineOptionsFrom } from './machine.js';
import { replay } from './replay/run.js';
import { loadCosts } from './costs.js';
import { toolVersion } from './provenance.js';
import type { EngineKind } from './engine/types.js';
import { commands as scenarioCommands } from './scenario/commands.js';
import { BENCHMARKS, runBench } from '../bench/index.js';

const REPLAY_SPECS = [PLATFORM_OPTION, DEVICE_OPTION, KERNEL_OPTION, ...MACHINE_OPTIONS, ...OUTPUT_OPTIONS, COSTS_OPTION];

const COMMANDS: Record<string, Command> = {
  replay: {
    usage: 'gartbench replay SCRIPT.jsonl [--platform P] [--device D] [--kernel K] [machine options] [--json] [--out FILE]',
    about: 'Replays a DMA-API script (JSON Lines, one operation per line) on one simulated machine and checks\nevery read against the oracle. In the result, "op" numbers are script lines.',
    specs: REPLAY_SPECS,
    positionals: 1,
    interruptible: true,
    async run(v, args, io, _given, signal) {
      const script = args[0];
      if (!script) throw new UsageError(msg.missing('SCRIPT.jsonl (see gartbench replay --help)'));
      checkOutPath(v.out, [{ path: script === '-' ? undefined : script, is: 'the script being replayed' }, costsInput(v)]);
      const costs = loadCosts(v.costs as string | undefined);
      const result = await replay({ script, machine: machineOptionsFrom(v), engine: v.engine as EngineKind, costs, signal });
      emit(v, io, result, () => formatResult(result));
    },
  },
  ...scenarioCommands,
  bench: {
    usage: 'gartbench bench [--quick] [--out DIR] [--seed N] [--only IDS]',
    about: 'Runs the benchmarks and writes report.md, report.html, report.json and benchmark.json to DIR.\nThis is what `npm run bench` runs.',
    specs: [
      { name: 'quick', kind: 'flag', help: 'smaller sizes, the same sections; what CI runs (measured: 26–61 s on a 2-core AMD EPYC VM shared with other jobs)' },
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
  },
};

const TOP_HELP = `gartbench — what happens to GPU memory when the kernel's addresses are not the hardware's

usage: gartbench <command> [options]
       gartbench --version

commands:
  run       simulate one scenario (platform × device × strategy × workload)
  matrix    every platform × strategy (or × gatt for agp) for one device and workload
  replay    replay a DMA-API script (JSON Lines) and check every read
  bench     the benchmark report (what \`npm run bench\` runs)

'gartbench <command> --help' (or -h) lists each command's options with their defaults.
README.md is the guide; docs/ENGINE.md gives the semantics of every simulated operation.
`;

export { EXIT_INTERRUPTED } from './errors.js';

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(TOP_HELP);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(TOP_HELP);
    return EXIT_OK;
  }
  const sayInterrupted = () => io.err(`gartbench: ${msg.interrupted}\n`);
  let interrupt: InterruptWatch | undefined;
  try {
    if (name === '--version' || name === '-V') {
      if (rest.length > 0) throw new UsageError(msg.extraArg(rest[0]!, name));
      io.out(`gartbench ${toolVersion()}\n`);
      return EXIT_OK;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(msg.unknownCommand(name, Object.keys(COMMANDS)));
    const { values, args, given } = parseOptions(name, rest, cmd.specs, cmd.positionals ?? 0);
    if (values.help) {
      io.out(helpText(cmd.usage, cmd.about, cmd.specs));
      return EXIT_OK;
    }
    interrupt = cmd.interruptible ? onInterrupt(sayInterrupted) : undefined;
    await cmd.run(values, args, io, given, interrupt?.signal ?? new AbortController().signal);
    return EXIT_OK;
  } catch (e) {
    if (interrupt?.signal.aborted) {
      sayInterrupted();
      return EXIT_INTERRUPTED;
    }
    if (e instanceof UsageError) {
      io.err(`gartbench: ${oneLine(e.message)}\n`);
      return EXIT_USAGE;
    }
    const err = e as Error;
    io.err(`gartbench: ${e instanceof CellError || e instanceof OutputError ? '' : 'internal error: '}${oneLine(err?.message ?? String(e))}\n`);
    if (process.env.GARTBENCH_DEBUG) io.err(`${err?.stack}\n`);
    return EXIT_INTERNAL;
  } finally {
    interrupt?.stop();
  }
}
