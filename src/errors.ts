// Every error gartbench shows a user, in one place. A UsageError exits 2 (bad input: nothing is
// written); anything else that escapes exits 1 (an internal failure).

export class UsageError extends Error {
  override name = 'UsageError';
}

/** An output file that could not be written once the run was done (a full disk): exit 1, no
 * internal error — the message says what happened. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** A failure inside a simulation cell, named so the user can rerun it alone. */
export class CellError extends Error {
  override name = 'CellError';
}

/** Ctrl-C (SIGINT) stopped the run before it wrote anything. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** The candidate nearest to `typed` (edit distance at most 2, or `typed` a prefix of it), if one is. */
export function nearest(typed: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestD = 3;
  for (const c of candidates) {
    const d = Math.min(editDistance(typed, c), c.startsWith(typed) && typed.length >= 3 ? 2 : 3);
    if (d < bestD || (d === bestD && best !== undefined && c.length < best.length)) [best, bestD] = [c, d];
  }
  return best;
}

/** Levenshtein distance (insert, delete, replace one character). */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** Where a JSON.parse failure lies (a line and column when V8 gives a position), without the
 * excerpt of the text that V8's message quotes: an error never prints a file's contents. */
export function jsonWhere(text: string, e: Error): string {
  const at = /position (\d+)/.exec(e.message);
  if (!at) return text.trim() === '' ? 'the file holds no JSON' : /end of JSON input/.test(e.message) ? 'it ends before the JSON does' : 'a character JSON does not allow';
  const before = text.slice(0, Number(at[1]));
  return `at line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
}

export function listOf(values: readonly string[]): string {
  return values.join(', ');
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const escapeChar = (c: string) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text from a user (a value, a name, a path) as a message echoes it: backslashes and control
 * characters escaped as JSON escapes them, so a newline in it cannot split the message. */
export function escapeText(text: string): string {
  return text.replace(/[\\\x00-\x1f\x7f-\x9f\u2028\u2029]/g, escapeChar);
}

/** User text in quotes: `'a\\nb'`. */
export function shown(text: string): string {
  return `'${escapeText(text)}'`;
}

/** A whole message made one line: control characters escaped, backslashes left as they are (so
 * text already escaped by `escapeText` stays as it is). */
export function oneLine(message: string): string {
  return message.replace(CONTROL, escapeChar);
}

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory', ELOOP: 'too many symbolic links', ENAMETOOLONG: 'name too long',
  EROFS: 'read-only file system', ENOSPC: 'no space left on device', EIO: 'input/output error', ENXIO: 'no such device',
};

/** Why a file operation failed, in words ('permission denied'), from node's error code. */
export function fsReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? (FS_REASONS[code] ?? code) : String((e as Error | null)?.message ?? e);
}

export const msg = {
  unknownCommand: (c: string, valid: readonly string[]) => `unknown command ${shown(c)} (valid: ${listOf(valid)})`,
  unknownOption: (o: string, cmd: string, near?: string) =>
    `unknown option ${shown(o)} for '${cmd}'${near ? ` (did you mean '--${near}'?)` : ''} (see 'gartbench ${cmd} --help')`,
  badChoice: (opt: string, v: string, valid: readonly string[]) => `--${opt}: ${shown(v)} is not valid (valid: ${listOf(valid)})`,
  badInt: (opt: string, v: string, min: number, max: number) =>
    `--${opt}: ${shown(v)} is not a whole number from ${min} to ${max}`,
  badSize: (opt: string, v: string) => `--${opt}: ${shown(v)} is not a size (use bytes or a number with K, M, G or T, e.g. 4G)`,
  sizeRange: (opt: string, v: string, min: string, max: string) => `--${opt}: ${v} is outside ${min}..${max}`,
  sizeTooLarge: (opt: string, v: string) => `--${opt}: ${shown(v)} is too large to be a size (more than 2^53 bytes; see --help for the option's range)`,
  sizeAlign: (opt: string, v: string, unit: string) => `--${opt}: ${v} is not a multiple of ${unit}`,
  takesNoValue: (opt: string) => `--${opt}: takes no value (a flag: give --${opt} alone)`,
  needsValue: (opt: string) => `--${opt}: needs a value`,
  needsFileName: (opt: string) => `--${opt}: needs a file name`,
  missing: (what: string) => `missing ${what}`,
  /** FILE:LINE: what — or FILE: what when no line is involved (line 0: the file as a whole). */
  scriptLine: (file: string, line: number, what: string) => `${escapeText(file)}${line > 0 ? `:${line}` : ''}: ${what}`,
  cannotRead: (why: string) => `cannot read (${why})`,
  scriptEmpty: 'the script has no operations',
  scriptIsDirectory: 'is a directory',
  scriptNotFile: 'not a regular file or a pipe',
  extraArg: (a: string, cmd: string) => `unexpected argument ${shown(a)} for '${cmd}'`,
  initFailed: (why: string) => `the machine cannot be built: ${why}`,
  interrupted: 'interrupted (Ctrl-C); no result was written',
  outUnusable: (out: string, why: string) => `--out: ${shown(out)} ${why}`,
  outSymlink: (hint = 'give the file itself') => `is a symbolic link (a link is never written through or replaced); ${hint}`,
  outDirectory: (hint = 'give a file name') => `is a directory; ${hint}`,
  outSpecial: (kind: string, hint = 'give a file name') => `is a ${kind}, not a regular file; ${hint}`,
  outIsInput: (what: string) => `is ${what}; give another file`,
  outCannot: (why: string) => `cannot be written (${why})`,
  outUnder: (dir: string) => `cannot be created: ${shown(dir)} is not a directory`,
  outIn: (dir: string, why: string) => `cannot be created in ${shown(dir)} (${why})`,
  costsUnreadable: (file: string, why: string) => `--costs: cannot read ${shown(file)} (${why})`,
  costsJson: (file: string, why: string) => `--costs: ${escapeText(file)}: not valid JSON (${oneLine(why)})`,
  costsShape: (file: string) => `--costs: ${escapeText(file)}: expected a JSON object {"costs": {KEY: {"ns": N}, …}}`,
  costsUnknown: (file: string, key: string, valid: readonly string[]) => `--costs: ${escapeText(file)}: unknown cost ${shown(key)} (valid: ${listOf(valid)})`,
  costsSchema: (file: string, schema: unknown, want: string) => `--costs: ${escapeText(file)}: "schema" is ${typeof schema === 'string' ? shown(schema.length > 40 ? `${schema.slice(0, 40)}…` : schema) : `a JSON ${schema === null ? 'null' : Array.isArray(schema) ? 'array' : typeof schema}`}, not ${shown(want)} (or leave it out)`,
  costsField: (file: string, key: string, field: string, valid: readonly string[]) => `--costs: ${escapeText(file)}: unknown field ${shown(`${key}.${field}`)} (valid: ${listOf(valid)})`,
  costsValue: (file: string, key: string, max: number) => `--costs: ${escapeText(file)}: ${shown(`${key}.ns`)} must be a number from 0 to ${max}`,
} as const;
