// gartbench.result/1 (INTERFACE.md): engine words in, the contract's JSON out. The violation
// chain and dma-debug messages are written here from numbers, so both engines read the same.
import { COCO_COUNTERS, COUNTERS, type CounterName, DEBUG_CLASSES, DEBUG_ENTRY_OP_WORD, DIRS, DebugType, type KernelName, FLUSH_QUEUE_COUNTERS, RESULT_COUNTERS, SWIOTLB_DYNAMIC_COUNTERS, POOL_ID_END, TTM_NR_PAGE_ORDERS, TTM_POOLS } from '../engine/abi.js';
import type { RawOutput } from '../run/cell.js';
import type { MachineSizes } from '../run/machine.js';
import { type Scenario, defaultIommuMode } from '../source/scenario.js';
import type { TraceSummary } from '../source/traceSummary.js';
import { hex } from '../units.js';
import { type Costs, type Modeled, modeledCost } from './costs.js';
import { type HostRecord, type MachineRecord, type ToolRecord, hostRecord, machineRecord, peakRssBytes, toolRecord } from './provenance.js';
import { type Violation, violationFrom } from './violation.js';

export type { Scenario } from '../source/scenario.js';

/** `entryOp`: the op (a script's or trace's line) that made the entry the record names (its map or
 * allocation), where known. `traceAddress` (a kernel trace's replay): the device address the trace
 * line itself recorded for the call (a leak's: for its entry's map or allocation), where the
 * message's is the simulated machine's. */
export interface DebugRecord { class: string; op: number; message: string; entryOp?: number; traceAddress?: string }

/**
 * Pages the work asked to move through the device (every page of every GPU or device read and
 * write), and pages that did: a page is skipped when an allocation, map or bind on its way failed.
 */
export interface Completion {
  pagesRequested: number;
  pagesMoved: number;
  /** Why nothing moved when the driver never came up on this machine (run/plan.ts); else absent. */
  deviceDown?: string;
}

export interface Result {
  schema: 'gartbench.result/1';
  scenario: Scenario;
  machine: MachineRecord;
  tool: ToolRecord;
  host: HostRecord;
  verdict: 'coherent' | 'corrupt';
  completion: Completion;
  counters: Record<string, number>;
  modeled: Modeled;
  engine: EngineRecord;
  firstViolation: Violation | null;
  dmaDebug: DebugRecord[];
  extra: Record<string, number>;
  /** Replay: every TTM pool's free pages at the end of the script, and after the device's release. */
  pools?: PoolRecord[];
  poolsAfterRelease?: PoolRecord[];
  /** Replay of a kernel trace (--format ftrace): the devices it held, the events replayed and
   * not, and the bounces the recording machine made (source/trace.ts). */
  trace?: TraceSummary;
}

/**
 * How the simulator ran (INTERFACE `engine`; the fields after `workers` are additions). Timings and
 * memory vary from run to run; counters never do.
 */
export interface EngineRecord {
  kind: string;
  /** Wall time of the engine work: while at least one of the result's machines was being built or
   * run, whatever the number of workers (not the sum of their times: that is cellMs). */
  wallMs: number;
  /** Page-operations (pageOps) per second of wallMs. */
  pageOpsPerSec: number;
  /** Threads that ran cells (this one and its worker threads): at most one per cell, and per core unless --oversubscribe. */
  workers: number;
  /** What --workers asked for, and what capped it ('cells', 'cores'; null: nothing). */
  workersAsked: number;
  workersCappedBy: 'cells' | 'cores' | null;
  /** Of those threads, the ones that ran at least one cell: fewer when this thread took every cell
   * before a worker thread was up to take one (timing, as wallMs). null: a merge of shards of which
   * one was made before results said. */
  workersRan: number | null;
  /** The sum of the replicas' engine times (equal to wallMs on one worker, up to workers × wallMs on more). */
  cellMs: number;
  /** The largest machine one worker held (Wasm linear memory; the reference model's JS heap and
   * typed arrays):
   * a worker holds one machine at a time, so this is the memory per worker. */
  machineBytes: number;
  /** Machines (cells) the Wasm engine built on a memory its thread's previous cell handed on,
   * zeroed, instead of a new one (src/run/reuse.ts: when the cells still to run pay for it). Their
   * counters are a new memory's; their time and the process's RSS are not. null: a merge of
   * shards of which one was made before results said (src/report/shard.ts). */
  reusedMemories: number | null;
  /** The process's peak resident memory so far, all threads (Linux VmHWM, else getrusage maxrss:
   * provenance.ts peakRssBytes). */
  peakRssBytes: number;
}

/** What resultsOf knows of how a plan ran, for EngineRecord. */
export interface EngineRun {
  wallMs: number;
  cellMs: number;
  machineBytes: number;
  reusedMemories: number;
  workers: { workers: number; asked: number; cappedBy: 'cells' | 'cores' | null };
  /** Threads that ran at least one of the run's cells. */
  workersRan: number;
}

export interface PoolRecord { pool: string; order: number; pages: number }

/** Every pool at order 0 (2010's pools hold single pages), then each (pool, order > 0) that holds
 * pages (6.12's pool types are per order: a block is reused only at its own order). `pages` is
 * engine.pools(): index id + POOL_ID_END × order. */
function poolRecords(pages: number[]): PoolRecord[] {
  const out: PoolRecord[] = TTM_POOLS.map((pool, i) => ({ pool, order: 0, pages: pages[i] ?? 0 }));
  TTM_POOLS.forEach((pool, p) => {
    for (let order = 1; order < TTM_NR_PAGE_ORDERS; order++) {
      const n = pages[p + POOL_ID_END * order] ?? 0;
      if (n > 0) out.push({ pool, order, pages: n });
    }
  });
  return out;
}

export function counterRecord(counters: number[]): Record<CounterName, number> {
  return Object.fromEntries(COUNTERS.map((n, i) => [n, counters[i] ?? 0])) as Record<CounterName, number>;
}

/**
 * Page-operations: every page an operation handled — allocated, freed, mapped or unmapped (a
 * map counts once per call), written into the GART, or read or written by the CPU or GPU. The
 * engine's unit of work for throughput figures.
 */
export function pageOps(c: Record<CounterName, number>): number {
  return c.pagesAllocated + c.pagesFreed + c.maps + c.unmaps + c.gartWrites + c.gpuReads + c.gpuWrites + c.cpuReads + c.cpuWrites;
}

// type2name: 2.6.37's lib/dma-debug.c spells "scather-gather"; 6.12's kernel/dma/debug.c "scatter-gather".
const typeName = (t: bigint, kernel: KernelName) =>
  ({ [DebugType.single]: 'single', [DebugType.coherent]: 'coherent', [DebugType.sg]: kernel === 'modern' ? 'scatter-gather' : 'scather-gather', [DebugType.noncoherent]: 'noncoherent' } as Record<number, string>)[Number(t)] ?? `type ${t}`;
// dir2name ("DMA_TO_DEVICE"), and the kernel's 0x%016llx for a device address.
const dirName = (d: bigint) => (d >= 0n ? `DMA_${(DIRS[Number(d)] ?? `dir ${d}`).toUpperCase()}` : '?');
const devAddr = (a: bigint) => `[device address=${hex(a, 16)}]`;

/**
 * Kernel-like dma-debug messages: the err_printk texts of kernel/dma/debug.c (6.12) and
 * lib/dma-debug.c (2.6.37), as the kernel fills them in ([size] of a sync mismatch is the entry's);
 * what gartbench adds to one is in parentheses.
 */
export function debugMessage(w: bigint[], kernel: KernelName): string {
  const [cls, , dma, size, eDir, rDir, eType, rType, count, eSize] = w as [bigint, ...bigint[]];
  const at = `${devAddr(dma!)} [size=${size} bytes]`;
  const entryAt = `${devAddr(dma!)} [size=${eSize} bytes]`;
  switch (DEBUG_CLASSES[Number(cls)]) {
    case 'unmap-unknown': // count −1: the address is the platform's mapping error (ENGINE.md D13)
      return count < 0n ? 'device driver tries to free an invalid DMA memory address' : `device driver tries to free DMA memory it has not allocated ${at}`;
    case 'unmap-size': return `device driver frees DMA memory with different size ${devAddr(dma!)} [map size=${eSize} bytes] [unmap size=${size} bytes]`;
    case 'unmap-direction': return `device driver frees DMA memory with different direction ${at} [mapped with ${dirName(eDir!)}] [unmapped with ${dirName(rDir!)}]`;
    case 'unmap-wrong-function': return `device driver frees DMA memory with wrong function ${at} [mapped as ${typeName(eType!, kernel)}] [unmapped as ${typeName(rType!, kernel)}]`;
    case 'map-error-unchecked': return `device driver failed to check map error${at} [mapped as ${typeName(eType!, kernel)}]`;
    case 'sync-unknown': return `device driver tries to sync DMA memory it has not allocated ${at}`;
    case 'sync-outside': return `device driver syncs DMA memory outside allocated range ${devAddr(dma!)} [allocation size=${eSize} bytes] [sync offset+size=${size}]`;
    case 'sync-direction': return `device driver syncs DMA memory with different direction ${entryAt} [mapped with ${dirName(eDir!)}] [synced with ${dirName(rDir!)}]`;
    case 'sync-cpu-readonly': return `device driver syncs device read-only DMA memory for cpu ${entryAt} [mapped with ${dirName(eDir!)}] [synced with ${dirName(rDir!)}]`;
    case 'sync-device-writeonly': return `device driver syncs device write-only DMA memory to device ${entryAt} [mapped with ${dirName(eDir!)}] [synced with ${dirName(rDir!)}]`;
    case 'leak': // 6.12 names one leaked entry (dma-debug's last in its hash walk), unless a pool holds some (T20)
      return `device driver has pending DMA allocations while released from device [count=${count}]${eSize < 0n ? '' : ` One of leaked entries details: ${at} [mapped with ${dirName(eDir!)}] [mapped as ${typeName(eType!, kernel)}]`}`;
    case 'overlap': return `cacheline tracking EEXIST, overlapping mappings aren't supported (the new mapping: device address ${hex(dma!)}, ${size} bytes, ${dirName(eDir!)}; its memory's first cacheline already starts ${count > 7n ? 'more than 7 other live mappings (the counter stops at 7)' : `${count} other live mapping${count === 1n ? '' : 's'}`} the device may write, and cache maintenance for one can clobber the other)`;
    default: return `unknown dma-debug class ${cls}`;
  }
}

/** `entryOrigin`: the line of the op that made an entry, undefined where not known. */
export function debugFrom(d: RawOutput['debug'], origin: (op: number) => number, kernel: KernelName, recorded?: Record<number, string>,
  entryOrigin: (op: number) => number | undefined = origin): DebugRecord[] {
  return d.records.map((w) => {
    const rec = recorded?.[Number(w[1])];
    const made = Number(w[DEBUG_ENTRY_OP_WORD] ?? -1), entryOp = made >= 0 ? entryOrigin(made) : undefined;
    return { class: DEBUG_CLASSES[Number(w[0])] ?? String(w[0]), op: origin(Number(w[1])), message: debugMessage(w, kernel),
      ...(entryOp !== undefined ? { entryOp } : {}), ...(rec ? { traceAddress: rec } : {}) };
  });
}

/** Completion from the counters: GPU and device page accesses made, and those skipped (T15). */
export function completionOf(c: Record<CounterName, number>): Completion {
  const reached = c.gpuReads + c.gpuWrites;
  // A page reached though a map on its way had failed did not move (D24).
  return { pagesRequested: reached + c.gpuSkippedPages, pagesMoved: reached - c.failedMapPages };
}

/** Everything a result says besides what the engine returned. */
export interface ResultContext {
  scenario: Scenario;
  /** The plan's deviceDown (run/plan.ts), when the driver never came up. */
  deviceDown?: string;
  sizes: MachineSizes;
  costs: Costs;
  run: EngineRun;
}

const tenth = (ms: number) => Math.round(ms * 10) / 10;

export function engineRecord(kind: string, run: EngineRun, ops: number): EngineRecord {
  const { wallMs, workers: w } = run;
  return {
    kind, wallMs: tenth(wallMs), pageOpsPerSec: wallMs > 0 ? Math.round(ops / (wallMs / 1000)) : 0, workers: w.workers,
    workersAsked: w.asked, workersCappedBy: w.cappedBy, workersRan: run.workersRan, cellMs: tenth(run.cellMs), machineBytes: run.machineBytes,
    reusedMemories: run.reusedMemories, peakRssBytes: peakRssBytes(),
  };
}

export function buildResult(ctx: ResultContext, raw: RawOutput): Result {
  const { scenario } = ctx;
  // A replay names ops by script line and buffers by the script's names.
  const origin = (op: number) => raw.lines?.[op] ?? op;
  const names = raw.names ? (id: number) => raw.names![id] ?? `#${id}` : undefined;
  const all = counterRecord(raw.counters);
  const counters: Record<string, number> = {};
  for (const k of RESULT_COUNTERS) counters[k] = all[k];
  const extra: Record<string, number> = {};
  // The flush queue's counters exist only on a lazy iommu (docs/ENGINE.md §8).
  const flushQueue = scenario.platform === 'iommu' && (scenario.iommuMode ?? defaultIommuMode(scenario.kernel)) === 'lazy';
  // The private <-> shared conversions exist only in a confidential-computing guest (§16).
  const coco = scenario.platform === 'coco';
  // The dynamic pools' counters exist only with --swiotlb-dynamic (docs/ENGINE.md §5).
  const dynamic = scenario.swiotlbDynamic === true;
  for (const k of COUNTERS.slice(RESULT_COUNTERS.length)) {
    if ((flushQueue || !FLUSH_QUEUE_COUNTERS.includes(k)) && (coco || !COCO_COUNTERS.includes(k))
      && (dynamic || !SWIOTLB_DYNAMIC_COUNTERS.includes(k))) extra[k] = all[k];
  }
  const corrupt = all.staleReads + all.foreignReads + all.lostWrites > 0;
  const completion: Completion = { ...completionOf(all), ...(ctx.deviceDown ? { deviceDown: ctx.deviceDown } : {}) };
  return {
    schema: 'gartbench.result/1',
    scenario,
    machine: machineRecord({ ...scenario, ...ctx.sizes }, ctx.costs.source),
    tool: toolRecord(scenario.engine),
    host: hostRecord(),
    verdict: corrupt ? 'corrupt' : 'coherent',
    completion,
    counters,
    modeled: modeledCost(all, ctx.costs.table, completion.pagesMoved),
    engine: engineRecord(scenario.engine, ctx.run, pageOps(all)),
    firstViolation: violationFrom(raw.violation, { origin, opWord: scenario.script !== undefined ? 'line' : 'op', names, writers: raw.writers, kernel: scenario.kernel, gatt: scenario.gatt ?? undefined, platform: scenario.platform, device: scenario.device }),
    dmaDebug: debugFrom(raw.debug, origin, scenario.kernel, raw.recorded, raw.lines ? (op) => raw.lines![op] : origin),
    extra,
    ...(raw.pools ? { pools: poolRecords(raw.pools.end), poolsAfterRelease: poolRecords(raw.pools.released) } : {}),
    ...(raw.trace ? { trace: raw.trace } : {}),
  };
}
