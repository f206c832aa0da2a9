// Every error gartbench shows a user, in one place. A UsageError exits 2 (bad input: nothing is
// written); anything else that escapes exits 1 (an internal failure).

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure inside a simulation cell, named so the user can rerun it alone. */
export class CellError extends Error {
  override name = 'CellError';
}

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USAGE = 2;

export function listOf(values: readonly string[]): string {
  return values.join(', ');
}

export const msg = {
  unknownCommand: (c: string, valid: readonly string[]) => `unknown command '${c}' (valid: ${listOf(valid)})`,
  unknownOption: (o: string, cmd: string) => `unknown option '${o}' for '${cmd}' (see 'gartbench ${cmd} --help')`,
  badChoice: (opt: string, v: string, valid: readonly string[]) => `--${opt}: '${v}' is not valid (valid: ${listOf(valid)})`,
  badInt: (opt: string, v: string, min: number, max: number) =>
    `--${opt}: '${v}' is not a whole number from ${min} to ${max}`,
  badSize: (opt: string, v: string) => `--${opt}: '${v}' is not a size (use bytes or a number with K, M, G or T, e.g. 4G)`,
  sizeRange: (opt: string, v: string, min: string, max: string) => `--${opt}: ${v} is outside ${min}..${max}`,
  sizeAlign: (opt: string, v: string, unit: string) => `--${opt}: ${v} is not a multiple of ${unit}`,
  missing: (what: string) => `missing ${what}`,
  extraArg: (a: string, cmd: string) => `unexpected argument '${a}' for '${cmd}'`,
  initFailed: (why: string) => `the machine cannot be built: ${why}`,
} as const;
