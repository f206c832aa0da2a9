// Modelled cost: counters times a cost table (costs/default.json, overridable with --costs).
// Fixed data in, so results stay deterministic.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, listOf } from './errors.js';
import { PAGE_SIZE, type CounterName } from './engine/abi.js';

export type CostKey =
  | 'pageAlloc' | 'pageFree' | 'mapDirect' | 'swiotlbSlots' | 'bounceCopyByte' | 'syncCall' | 'iommuMapPage'
  | 'iommuUnmapPage' | 'coherentAlloc' | 'hypercall' | 'exchangedFrame' | 'gartWrite' | 'tlbFlush' | 'cpuPage' | 'gpuPage'
  | 'cachingChangeCall' | 'cachingChangePage';

export type CostTable = Record<CostKey, number>;

/** Which counter each cost multiplies. */
const BASIS: Record<CostKey, (c: Record<CounterName, number>) => number> = {
  pageAlloc: (c) => c.pagesAllocated,
  pageFree: (c) => c.pagesFreed,
  mapDirect: (c) => c.maps + c.unmaps,
  swiotlbSlots: (c) => c.bounces,
  bounceCopyByte: (c) => c.bounceBytes,
  syncCall: (c) => c.syncsForCpu + c.syncsForDevice,
  iommuMapPage: (c) => c.iommuPagesMapped,
  iommuUnmapPage: (c) => c.iommuPagesUnmapped,
  coherentAlloc: (c) => c.coherentAllocs,
  hypercall: (c) => c.hypercalls,
  exchangedFrame: (c) => c.exchangedFrames,
  gartWrite: (c) => c.gartWrites,
  tlbFlush: (c) => c.tlbFlushes,
  cpuPage: (c) => c.cpuReads + c.cpuWrites,
  gpuPage: (c) => c.gpuReads + c.gpuWrites,
  cachingChangeCall: (c) => c.cachingChangeCalls,
  cachingChangePage: (c) => c.cachingChangePages,
};
export const COST_KEYS = Object.keys(BASIS) as CostKey[];

interface CostFile { costs: Record<string, { ns: unknown }> }

function tableFrom(file: string, data: unknown, base?: CostTable): CostTable {
  const costs = (data as CostFile | null)?.costs;
  if (typeof costs !== 'object' || costs === null) throw new UsageError(`--costs: ${file}: expected {"costs": {KEY: {"ns": N}}}`);
  const out = { ...(base ?? ({} as CostTable)) };
  for (const [k, v] of Object.entries(costs)) {
    if (!(COST_KEYS as string[]).includes(k)) throw new UsageError(`--costs: ${file}: unknown cost '${k}' (valid: ${listOf(COST_KEYS)})`);
    const ns = (v as { ns: unknown } | null)?.ns;
    if (typeof ns !== 'number' || !Number.isFinite(ns) || ns < 0) throw new UsageError(`--costs: ${file}: '${k}.ns' must be a number >= 0`);
    out[k as CostKey] = ns;
  }
  return out;
}

let defaults: CostTable | undefined;
export function defaultCosts(): CostTable {
  if (!defaults) {
    const path = fileURLToPath(new URL('../../costs/default.json', import.meta.url));
    defaults = tableFrom(path, JSON.parse(readFileSync(path, 'utf8')));
    for (const k of COST_KEYS) if (defaults[k] === undefined) throw new Error(`costs/default.json lacks '${k}'`);
  }
  return defaults;
}

export function loadCosts(file: string | undefined): CostTable {
  if (!file) return defaultCosts();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--costs: cannot read '${file}'`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--costs: ${file}: not valid JSON (${(e as Error).message})`);
  }
  return tableFrom(file, data, defaultCosts());
}

export interface Modeled { totalNs: number; nsPerPage: number; mibPerSec: number }

/** Modelled time; throughput is over the pages the GPU moved (or the CPU, when the GPU moved none). */
export function modeledCost(c: Record<CounterName, number>, t: CostTable): Modeled {
  let total = 0;
  for (const k of COST_KEYS) total += BASIS[k](c) * t[k];
  const pages = c.gpuReads + c.gpuWrites || c.cpuReads + c.cpuWrites;
  const totalNs = Math.round(total);
  return {
    totalNs,
    nsPerPage: pages ? Math.round((total / pages) * 10) / 10 : 0,
    mibPerSec: total > 0 ? Math.round(((pages * PAGE_SIZE) / 2 ** 20 / (total / 1e9)) * 10) / 10 : 0,
  };
}
