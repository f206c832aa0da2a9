// The header every report opens with: what ran, where, on which commit and seed.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { packageRoot } from '../src/paths.js';
import { toolRecord } from '../src/report/provenance.js';

export interface Environment {
  node: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  commit: string;
  seed: number;
  quick: boolean;
  date: string;
  /** The 1-minute load average when the bench started and when it ended: how busy the machine was. */
  loadAverage?: { start: number; end: number };
  /** gartbench's version and the Wasm engine build (SHA-256 of build/engine.wasm); absent in
   * reports made before they were recorded. */
  version?: string;
  engineSha256?: string;
  /** The bench command as run (its options: --quick, --only, --shard, --seed). */
  command?: string;
}

/** The tool that made a report: "gartbench 0.1.0 (engine 1a2b3c4d5e6f)"; '' in reports made before it was recorded. */
export function toolText(e: Environment): string {
  return e.version ? `gartbench ${e.version}${e.engineSha256 ? ` (engine ${e.engineSha256.slice(0, 12)})` : ''}` : '';
}

/** The 1-minute load average, 2 decimals. */
export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export function environment(seed: number, quick: boolean, command = `gartbench bench${quick ? ' --quick' : ''}`): Environment {
  let commit = 'unknown';
  // gartbench's own commit: git asked in the package's directory, and only when that directory is
  // the checkout's top (an installed copy inside someone's repository is not that repository).
  const root = packageRoot();
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    if (realpathSync(git('rev-parse', '--show-toplevel')) === realpathSync(root)) {
      commit = git('rev-parse', '--short', 'HEAD');
      if (git('status', '--porcelain', '--untracked-files=no')) commit += '+dirty';
    }
  } catch {
    // not a git checkout: keep 'unknown'
  }
  const c = cpus();
  const tool = toolRecord('wasm');
  return {
    node: process.version,
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    commit,
    seed,
    quick,
    date: new Date().toISOString(),
    loadAverage: { start: loadAverage(), end: loadAverage() },
    version: tool.version,
    engineSha256: tool.engineSha256,
    command,
  };
}
