// What a command is to the CLI: its usage line, its options (one table) and what it runs. Kept
// apart from src/cli.ts, so the command modules and the CLI do not import each other.
import type { OptionSpec, Values } from './options.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** What bin/gartbench.mjs adds from outside src/ (src/ never imports bench/): the merge of bench
   * parts (bench --shard K/N), which writes the bench's report files. */
  benchMerge?: () => Promise<(parts: { name: string; doc: unknown }[], values: Values, io: Io) => Promise<void>>;
}

export interface Command {
  usage: string;
  about: string;
  specs: OptionSpec[];
  positionals?: number;
  /** It stops when `signal` is aborted: Ctrl-C then exits 130 with one line (src/cli/interrupt.ts).
   * Without it, SIGINT keeps its default effect. */
  interruptible?: boolean;
  /** `signal` is aborted by Ctrl-C (interruptible commands): the command stops at its next check
   * and writes nothing. */
  run(values: Values, args: string[], io: Io, given: Set<string>, signal: AbortSignal): Promise<void>;
}
