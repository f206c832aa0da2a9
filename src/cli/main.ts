// gartbench's command line: parse, validate, run, print. Usage errors exit 2 with one line on
// stderr and nothing on stdout; internal failures exit 1; Ctrl-C exits 130 (src/cli/interrupt.ts).
import { CellError, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OutputError, UsageError, msg, oneLine } from '../errors.js';
import type { Command, Io } from './command.js';
import { type InterruptWatch, onInterrupt } from './interrupt.js';
import { helpText, parseOptions } from './options.js';

/** Commands by name, each loaded only when named, so a command loads only what it uses (the
 * bench, in bench/command.ts, comes from bin/gartbench.mjs: src/ never imports bench/). */
export type CommandLoaders = Record<string, () => Promise<Command>>;

const COMMANDS: CommandLoaders = {
  run: async () => (await import('./run.js')).run,
  matrix: async () => (await import('./matrix.js')).matrix,
  replay: async () => (await import('./replay.js')).replay,
  merge: async () => (await import('./merge.js')).merge,
};

const TOP_HELP = `gartbench — what happens to GPU memory when the kernel's addresses are not the hardware's

usage: gartbench <command> [options]
       gartbench --version

commands:
  run       simulate one scenario (platform × device × strategy × workload)
  matrix    every platform × strategy (or × gatt for agp) for one device and workload
  replay    replay a DMA-API script (JSON Lines) and check every read, or a kernel trace (--format ftrace)
  bench     the benchmark report (what \`npm run bench\` runs)
  merge     join the parts of a sharded matrix or bench (--shard K/N) into the one unsharded result

'gartbench <command> --help' (or -h) lists each command's options with their defaults.
README.md is the guide; docs/ENGINE.md gives the semantics of every simulated operation.
`;

export { EXIT_INTERRUPTED } from '../errors.js';

export async function main(argv: string[], io: Io, more: CommandLoaders = {}): Promise<number> {
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
      io.out(`gartbench ${(await import('../report/provenance.js')).toolVersion()}\n`);
      return EXIT_OK;
    }
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : Object.hasOwn(more, name) ? more[name] : undefined;
    if (!load) throw new UsageError(msg.unknownCommand(name, [...Object.keys(COMMANDS), ...Object.keys(more)]));
    const cmd = await load();
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
