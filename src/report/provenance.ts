// What a result needs to be reproduced from itself: every machine option in force, the cost
// table, the tool's version and the exact engine build that ran, and the host it ran on.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFile } from '../paths.js';
import type { CostSource } from './costs.js';
import type { EngineKind } from '../engine/types.js';
import type { MachineOptions } from '../run/machine.js';

/** The simulated machine, in bytes; an option that does not apply to the platform is null. */
export interface MachineRecord {
  ramBytes: number;
  hostRamBytes: number | null;
  xenLowFreeBytes: number | null;
  swiotlbBytes: number;
  costs: CostSource;
}

export interface ToolRecord {
  version: string;
  /** SHA-256 of the engine that ran: build/engine.wasm, or the reference model's compiled files. */
  engineSha256: string;
  node: string;
}

/** The computer that ran the simulation (timings depend on it; counters never do). */
export interface HostRecord { cpu: string; cores: number; memoryGiB: number; os: string }

export function machineRecord(m: MachineOptions, costs: CostSource): MachineRecord {
  const xen = m.platform === 'xen-pv';
  return {
    ramBytes: m.ram,
    hostRamBytes: xen ? m.hostRam : null,
    xenLowFreeBytes: xen ? m.xenLowFree : null,
    swiotlbBytes: m.swiotlb,
    costs,
  };
}


let version: string | undefined;
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
  return version;
}

const engineHash = new Map<EngineKind, string>();
function engineSha256(kind: EngineKind): string {
  let h = engineHash.get(kind);
  if (h) return h;
  const sha = createHash('sha256');
  if (kind === 'wasm') sha.update(readFileSync(packageFile('build', 'engine.wasm')));
  else {
    const dir = fileURLToPath(new URL('../model/', import.meta.url));
    for (const f of readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).sort()) {
      sha.update(f).update(readFileSync(join(dir, f)));
    }
  }
  h = sha.digest('hex');
  engineHash.set(kind, h);
  return h;
}

export function toolRecord(kind: EngineKind): ToolRecord {
  return { version: toolVersion(), engineSha256: engineSha256(kind), node: process.version };
}

export function hostRecord(): HostRecord {
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${process.platform}-${process.arch}` };
}

/**
 * This process's peak resident memory so far, all threads, in bytes: Linux's VmHWM (the peak of
 * the program's own address space). getrusage's maxrss is not used there: the kernel folds the
 * forked copy of the parent into it at exec, so a run started from a large process (a harness,
 * the bench) reported at least that process's size. Elsewhere, maxrss.
 */
export function peakRssBytes(): number {
  try {
    const kb = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
