// Modelled cost: counters times a cost table (costs/default.json, overridable with --costs).
// Fixed data in, so results stay deterministic.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError, fsReason, jsonWhere, msg } from '../errors.js';
import { PAGE_SIZE, type CounterName } from '../engine/abi.js';
import { packageFile } from '../paths.js';

export type CostKey =
  | 'pageAlloc' | 'pageFree' | 'mapDirect' | 'swiotlbSlots' | 'bounceCopyByte' | 'syncCall' | 'iommuMapPage'
  | 'iommuUnmapPage' | 'iommuQueuedUnmapPage' | 'iommuFlush' | 'coherentAlloc' | 'hypercall' | 'exchangedFrame' | 'gartWrite' | 'tlbFlush' | 'cpuPage' | 'gpuPage'
  | 'cachingChangeCall' | 'cachingChangePage' | 'ccConversion' | 'ccConvertedPage';

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
  // Strict unmaps pay their invalidation page by page; a lazy one queues it (iommuPagesQueued, a
  // part of iommuPagesUnmapped) and the flush queue pays one flush_iotlb_all per full ring.
  iommuUnmapPage: (c) => c.iommuPagesUnmapped - c.iommuPagesQueued,
  iommuQueuedUnmapPage: (c) => c.iommuPagesQueued,
  iommuFlush: (c) => c.iommuFlushes,
  coherentAlloc: (c) => c.coherentAllocs,
  hypercall: (c) => c.hypercalls,
  exchangedFrame: (c) => c.exchangedFrames,
  gartWrite: (c) => c.gartWrites,
  tlbFlush: (c) => c.tlbFlushes,
  cpuPage: (c) => c.cpuReads + c.cpuWrites,
  gpuPage: (c) => c.gpuReads + c.gpuWrites,
  cachingChangeCall: (c) => c.cachingChangeCalls,
  cachingChangePage: (c) => c.cachingChangePages,
  ccConversion: (c) => c.ccConversions,
  ccConvertedPage: (c) => c.ccConvertedPages,
};
export const COST_KEYS = Object.keys(BASIS) as CostKey[];

/** The largest cost accepted, 1000 s per event: any sum of counters times costs stays finite. */
export const MAX_COST_NS = 1e12;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema a costs file names, when it names one (costs/default.json does). */
export const COSTS_SCHEMA = 'gartbench.costs/1';
/** The fields of one cost: its figure, and the shipped table's words for it. */
const ENTRY_FIELDS = ['ns', 'per', 'source'];

function tableFrom(file: string, data: unknown, base?: CostTable): CostTable {
  const costs = isObject(data) ? data.costs : undefined;
  if (!isObject(costs)) throw new UsageError(msg.costsShape(file));
  if (isObject(data) && 'schema' in data && data.schema !== COSTS_SCHEMA) throw new UsageError(msg.costsSchema(file, data.schema, COSTS_SCHEMA));
  const out = { ...(base ?? ({} as CostTable)) };
  for (const [k, v] of Object.entries(costs)) {
    if (!(COST_KEYS as string[]).includes(k)) throw new UsageError(msg.costsUnknown(file, k, COST_KEYS));
    const extra = isObject(v) ? Object.keys(v).find((f) => !ENTRY_FIELDS.includes(f)) : undefined;
    if (extra !== undefined) throw new UsageError(msg.costsField(file, k, extra, ENTRY_FIELDS));
    const ns = isObject(v) ? v.ns : undefined;
    if (typeof ns !== 'number' || !Number.isFinite(ns) || ns < 0 || ns > MAX_COST_NS) throw new UsageError(msg.costsValue(file, k, MAX_COST_NS));
    out[k as CostKey] = ns;
  }
  return out;
}

const DEFAULT_FILE = () => packageFile('costs', 'default.json');

let defaults: CostTable | undefined;
export function defaultCosts(): CostTable {
  if (!defaults) {
    const path = DEFAULT_FILE();
    defaults = tableFrom(path, JSON.parse(readFileSync(path, 'utf8')));
    for (const k of COST_KEYS) if (defaults[k] === undefined) throw new Error(`costs/default.json lacks '${k}'`);
  }
  return defaults;
}

/** One entry of the shipped table as a reader sees it: the cost, what it is paid per, and its source. */
export interface CostEntry { key: CostKey; ns: number; per: string; source: string }

/** costs/default.json's entries in file order, each with its "per" and "source" text. */
export function defaultCostEntries(): CostEntry[] {
  const table = defaultCosts();
  const file = JSON.parse(readFileSync(DEFAULT_FILE(), 'utf8')) as { costs: Record<string, { per?: string; source?: string }> };
  return COST_KEYS.map((key) => ({ key, ns: table[key], per: file.costs[key]?.per ?? '', source: file.costs[key]?.source ?? '' }));
}

/** Where a result's cost table came from: the shipped defaults, or a file (path and SHA-256). */
export type CostSource = 'default' | { path: string; sha256: string };

export interface Costs { table: CostTable; source: CostSource }

export function loadCosts(file: string | undefined): Costs {
  if (!file) return { table: defaultCosts(), source: 'default' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(msg.costsUnreadable(file, fsReason(e)));
  }
  let data: unknown;
  const json = text.replace(/^\uFEFF/, ''); // a byte-order mark is not JSON's, but editors write one
  try {
    data = JSON.parse(json);
  } catch (e) {
    // Where the text breaks, never the text itself (a message quotes the file's first bytes).
    throw new UsageError(msg.costsJson(file, jsonWhere(json, e as Error)));
  }
  return { table: tableFrom(file, data, defaultCosts()), source: { path: file, sha256: createHash('sha256').update(text).digest('hex') } };
}

/** Modelled time, and per moved page: `nsPerPage` null when no page moved (nothing to divide by),
 * `mibPerSec` null then and when the modelled time is zero (a cost table of zeros: no rate). */
export interface Modeled { totalNs: number; nsPerPage: number | null; mibPerSec: number | null }

/** Modelled time over everything counted; throughput is over the pages that moved (completion). */
export function modeledCost(c: Record<CounterName, number>, t: CostTable, pagesMoved: number): Modeled {
  let total = 0;
  for (const k of COST_KEYS) total += BASIS[k](c) * t[k];
  const totalNs = Math.round(total);
  const moved = pagesMoved > 0;
  return {
    totalNs,
    nsPerPage: moved ? Math.round((total / pagesMoved) * 10) / 10 : null,
    mibPerSec: moved && total > 0 ? Math.round(((pagesMoved * PAGE_SIZE) / 2 ** 20 / (total / 1e9)) * 10) / 10 : null,
  };
}
