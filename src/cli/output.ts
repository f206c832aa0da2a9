// Output files (--out FILE). Checked before any work, so a bad path costs nothing and changes
// nothing; written atomically — a temporary file beside the target, then a rename — so a failed or
// interrupted run leaves whatever was there exactly as it was. A symbolic link, a device, a FIFO
// or one of the command's own inputs is never written through or replaced.
import { type Stats, accessSync, chmodSync, constants, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { OutputError, UsageError, fsReason, msg } from '../errors.js';
import type { Io } from './command.js';
import type { Values } from './options.js';

/** A file the command reads, which --out must not be: `is` says what it is to the user. */
export interface Input { path: string | undefined; is: string }

/** The --costs file, as an input --out must not replace. */
export function costsInput(v: Values): Input {
  return { path: typeof v.costs === 'string' ? v.costs : undefined, is: 'the --costs file' };
}

/** Checks --out before any work (INTERFACE exit 2: one line naming --out, nothing created).
 * `hint`: what to do when a link, directory or device sits at the path (default: name a file). */
export function checkOutPath(out: unknown, inputs: Input[] = [], hint?: string): void {
  if (typeof out !== 'string') return;
  // '-' is standard output to many tools, and a file of that name a surprise: --json prints there.
  const problem = out === '-' ? 'is not a file here; to print the JSON on standard output use --json'
    : targetProblem(out, inputs, hint)
    // A trailing '/' names a directory: the final write could only fail (ENOTDIR or EISDIR).
    ?? (out.endsWith('/') || out.endsWith(sep) ? "ends in '/', so it names a directory, not a file: give a file path" : directoryProblem(out));
  if (problem) throw new UsageError(msg.outUnusable(out, problem));
}

/** What is wrong with the target itself, if it exists. */
function targetProblem(out: string, inputs: Input[], hint?: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(out);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : msg.outCannot(fsReason(e)); // ENOTDIR: directoryProblem names the part
  }
  if (st.isSymbolicLink()) return msg.outSymlink(hint);
  if (st.isDirectory()) return msg.outDirectory(hint);
  if (!st.isFile()) return msg.outSpecial(st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device', hint);
  for (const i of inputs) {
    if (i.path !== undefined && sameFile(st, i.path)) return msg.outIsInput(i.is);
  }
  try {
    accessSync(out, constants.W_OK);
  } catch (e) {
    return msg.outCannot(fsReason(e));
  }
  return undefined;
}

/** The nearest existing directory above the target must be one we can create files in: a file
 * is created there and removed at once, which answers for permissions, read-only mounts and
 * pseudo file systems alike (root passes every permission check). */
function directoryProblem(out: string): string | undefined {
  let dir = dirname(resolve(out));
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(dir);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return msg.outIn(dir, fsReason(e)); // ENOTDIR: a file further up
    }
    if (st) {
      if (!st.isDirectory()) return msg.outUnder(dir);
      const probe = join(dir, `.gartbench.${process.pid}.probe`);
      try {
        writeFileSync(probe, '', { flag: 'wx' });
      } catch (e) {
        return msg.outIn(dir, fsReason(e));
      }
      rmSync(probe, { force: true });
      return undefined;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function sameFile(st: Stats, path: string): boolean {
  try {
    const other = statSync(path);
    return other.dev === st.dev && other.ino === st.ino;
  } catch {
    return false;
  }
}

/** Prints a result (or any JSON document) as the output options ask. */
export function emit(values: Values, io: Io, doc: unknown, human: () => string): void {
  const json = toJson(doc);
  if (typeof values.out === 'string') writeAtomic(values.out, json);
  io.out(values.json ? json : human());
}

/** Writes `text` to `path` through a temporary file and a rename; the target is checked again
 * just before, so what changed since the first check is not replaced either. */
export function writeAtomic(path: string, text: string): void {
  writeAtomicAll([[path, text]]);
}

/** Writes several files as writeAtomic does, all or none: every temporary file is written and every
 * target checked again before the first rename, so a failure leaves every target as it was. */
export function writeAtomicAll(files: readonly (readonly [path: string, text: string])[]): void {
  const staged: [tmp: string, path: string][] = [];
  let at = files[0]?.[0] ?? '';
  try {
    for (const [path, text] of files) {
      at = path;
      const dir = dirname(path);
      makeDirectories(dir);
      const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
      writeFileSync(tmp, text, { flag: 'wx' });
      staged.push([tmp, path]);
    }
    for (const [tmp, path] of staged) {
      at = path;
      const problem = targetProblem(path, []);
      if (problem) throw new UsageError(msg.outUnusable(path, problem));
      const old = modeOf(path);
      if (old !== undefined) chmodSync(tmp, old);
    }
    for (const [tmp, path] of staged) {
      at = path;
      renameSync(tmp, path);
    }
  } catch (e) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    if (e instanceof UsageError) throw e;
    throw new OutputError(msg.outUnusable(at, msg.outCannot(fsReason(e))));
  }
}

/** mkdir -p, one level at a time (node's recursive mkdir can spin forever on a pseudo file system). */
function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !isDirectory(d); d = dirname(d)) {
    if (dirname(d) === d) break;
    missing.unshift(d);
  }
  for (const d of missing) mkdirSync(d);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function modeOf(path: string): number | undefined {
  try {
    return lstatSync(path).mode & 0o7777;
  } catch {
    return undefined;
  }
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
