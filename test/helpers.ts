// Shared by the tests: run the CLI as a user would, and write scripts to a scratch directory.
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'gartbench.mjs');

export interface CliRun { code: number; stdout: string; stderr: string }

export function cli(...args: string[]): CliRun {
  return cliWith({}, ...args);
}

/** The CLI with extra environment variables; a run that hangs fails after `timeout` ms. */
export function cliWith(env: Record<string, string>, ...args: string[]): CliRun {
  return cliAs({ env }, ...args);
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Standard input; none (an empty stream) when absent. */
  input?: string | Buffer;
  /** Run as this user and group (the tests run as root: uid 65534 is nobody). */
  uid?: number;
  gid?: number;
}

/** The CLI with standard input, or as another user. */
export function cliAs(o: CliOptions, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8', env: { ...process.env, CI: 'true', ...o.env }, timeout: 120_000, input: o.input ?? '', uid: o.uid, gid: o.gid,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'gartbench-test-'));
}

/** Writes a replay script (one op object per line) and returns its path. */
export function script(dir: string, name: string, ops: object[] | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof ops === 'string' ? ops : ops.map((o) => JSON.stringify(o)).join('\n') + '\n');
  return path;
}

/** The seed bug at the level of single operations: alloc DMA32 → map → bind → CPU write → GPU read. */
export function seedUpload(extra: { syncBeforeRead?: boolean; coherent?: boolean } = {}): object[] {
  const alloc = extra.coherent ? { op: 'alloc_coherent', buf: 'a', pages: 1 } : { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' };
  const ops: object[] = [alloc];
  if (!extra.coherent) ops.push({ op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'mapping_error', buf: 'a' });
  ops.push({ op: 'gart_bind', buf: 'a', gpuPage: 0 }, { op: 'cpu_write', buf: 'a' });
  if (extra.syncBeforeRead) ops.push({ op: 'sync_for_device', buf: 'a', dir: 'bidirectional' });
  ops.push({ op: 'gpu_read', gpuPage: 0, pages: 1 }, { op: 'gart_unbind', gpuPage: 0, pages: 1 });
  if (!extra.coherent) ops.push({ op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'free', buf: 'a' });
  else ops.push({ op: 'free_coherent', buf: 'a' });
  return ops;
}

/** The mirror: the GPU writes, the CPU reads. */
export function seedReadback(extra: { syncBeforeRead?: boolean } = {}): object[] {
  const ops: object[] = [
    { op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' },
    { op: 'mapping_error', buf: 'a' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 }, { op: 'gpu_write', gpuPage: 0, pages: 1 },
  ];
  if (extra.syncBeforeRead) ops.push({ op: 'sync_for_cpu', buf: 'a', dir: 'bidirectional' });
  ops.push({ op: 'cpu_read', buf: 'a' }, { op: 'gart_unbind', gpuPage: 0, pages: 1 }, { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'free', buf: 'a' });
  return ops;
}

/** Small machines keep tests fast. */
export const SMALL = ['--ram', '512M', '--host-ram', '6G', '--xen-low-free', '128M', '--swiotlb', '4M'];

/** Bad input: exit 2, exactly one line on stderr matching `pattern`, nothing on stdout, no internal error. */
export function expectUsage(r: CliRun, pattern: RegExp, what = ''): void {
  assert.equal(r.code, 2, `exit code ${what}: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split('\n').length, 2, `exactly one line: ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
}

/** Options that run the CLI as a user who is not root (root reads anything); null when this
 * machine cannot (the project is not readable by nobody). */
export function unprivileged(): { uid?: number; gid?: number } | null {
  if (process.getuid?.() !== 0) return {};
  const nobody = { uid: 65534, gid: 65534 };
  return cliAs(nobody, '--version').code === 0 ? nobody : null;
}

/** A scratch directory that an unprivileged user can enter and read. */
export function openScratch(): string {
  const d = scratch();
  chmodSync(d, 0o755);
  return d;
}
