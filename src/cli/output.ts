// Output files are written atomically: a temporary file beside the target, then a rename, so a
// failed or interrupted run leaves whatever was there exactly as it was.
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Io } from './command.js';
import type { Values } from './options.js';

/** Checks --out before any work, so a bad path costs nothing and changes nothing. */
export function checkOutPath(out: unknown): void {
  if (typeof out !== 'string') return;
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' is a directory; give a file name`);
}

/** Prints a result (or any JSON document) as the output options ask. */
export function emit(values: Values, io: Io, doc: unknown, human: () => string): void {
  const json = toJson(doc);
  if (typeof values.out === 'string') writeAtomic(values.out, json);
  io.out(values.json ? json : human());
}

export function writeAtomic(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
