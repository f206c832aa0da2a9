// A scenario (platform × device × strategy|gatt × workload) and the cells it runs as: one per
// replica, each an independent machine with its own seed. A cell is plain data, so it can be
// sent to a worker thread.
import { performance } from 'node:perf_hooks';
import { COUNTER_INDEX, InitError, MAX_BO_PAGES, MAX_DEBUG_RECORDS, type MachineConfig, PAGE_SIZE } from '../engine/abi.js';
import { createEngine } from '../engine/factory.js';
import { OpSink } from '../engine/stream.js';
import type { EngineKind } from '../engine/types.js';
import { CellError, UsageError, msg } from '../errors.js';
import { type DeviceName, GART_PAGES, MAX_BUFFERS, type MachineOptions, machineConfig, reservedPages } from '../machine.js';
import type { Values } from '../cli/options.js';
import { readRaw, type RawOutput, type Scenario } from '../result.js';
import { replicaSeed } from '../rand.js';
import { formatSize } from '../units.js';
import { initErrorText } from '../replay/run.js';
import {
  GATT_PROFILES, STRATEGY_PROFILES, type GattName, type StrategyName, type WorkloadName, type WorkloadSpec,
  aperturePages, generateWorkload, residentPages, runWorkload, slotsNeeded,
} from './workloads.js';

export interface ScenarioSpec {
  machine: MachineOptions;
  strategy: StrategyName | null;
  gatt: GattName | null;
  workload: WorkloadName;
  pages: number;
  boPages: number;
  rounds: number;
  replicas: number;
  engine: EngineKind;
}

export interface Cell {
  spec: ScenarioSpec;
  replica: number;
  seed: number;
}

export interface CellOutput {
  raw: RawOutput;
  wallMs: number;
}

/** Reads and cross-checks scenario options; `given` tells which the user typed. */
export function scenarioFrom(v: Values, given: Set<string>, machine: MachineOptions): ScenarioSpec {
  const agp = machine.device === 'agp';
  if (agp && given.has('strategy')) throw new UsageError(`--strategy: not with --device agp (AGP uses --gatt: phys, dma-coherent, fsb-hooks)`);
  if (!agp && given.has('gatt')) throw new UsageError(`--gatt: only with --device agp (TTM devices use --strategy: legacy, coherent, sync, xen-aware)`);
  const spec: ScenarioSpec = {
    machine,
    strategy: agp ? null : (v.strategy as StrategyName),
    gatt: agp ? (v.gatt as GattName) : null,
    workload: v.workload as WorkloadName,
    pages: v.pages as number,
    boPages: v['bo-pages'] as number,
    rounds: v.rounds as number,
    replicas: v.replicas as number,
    engine: v.engine as EngineKind,
  };
  checkScenario(spec);
  return spec;
}

export function checkScenario(s: ScenarioSpec): MachineConfig {
  const cfg = cellConfig(s, s.machine.seed);
  if (s.boPages > MAX_BO_PAGES) throw new UsageError(msg.badInt('bo-pages', String(s.boPages), 1, MAX_BO_PAGES));
  const usable = cfg.ramPages - reservedPages(s.machine.swiotlb);
  const resident = residentPages(s);
  if (resident > usable) {
    throw new UsageError(`--pages: a working set of ${resident} pages (${formatSize(resident * PAGE_SIZE)}) is larger than the ${usable} pages --ram ${formatSize(s.machine.ram)} leaves free; raise --ram or lower --pages`);
  }
  const ap = aperturePages(s);
  if (ap > GART_PAGES) throw new UsageError(`--pages: ${s.workload} keeps ${ap} pages bound, more than the ${GART_PAGES}-page (4 GiB) GART aperture`);
  if (s.gatt && ap > 1 << 19) throw new UsageError(`--pages: the AGP GATT holds at most ${1 << 19} entries here (a 2 MiB table); ${s.workload} needs ${ap}`);
  return cfg;
}

function cellConfig(s: ScenarioSpec, seed: number): MachineConfig {
  const cfg = machineConfig({ ...s.machine, seed });
  cfg.maxBuffers = Math.max(MAX_BUFFERS, slotsNeeded(s));
  return cfg;
}

export function cellsOf(s: ScenarioSpec): Cell[] {
  const fault = injectedFault();
  return Array.from({ length: s.replicas }, (_, i) => ({
    spec: s, replica: i, seed: replicaSeed(s.machine.seed, i), ...(fault && fault.replica === i ? { fault: fault.kind } : {}),
  }));
}

/** GARTBENCH_FAULT=KIND:REPLICA (KIND: throw, trap, oom) — for the fault tests only. */
function injectedFault(): { kind: Fault; replica: number } | undefined {
  const v = process.env.GARTBENCH_FAULT;
  if (!v) return undefined;
  const [kind, replica] = v.split(':');
  if (!FAULTS.includes(kind as Fault)) return undefined;
  return { kind: kind as Fault, replica: Number(replica ?? 0) };
}

export function describeCell(c: Cell): string {
  const s = c.spec;
  return `${s.machine.platform}/${s.machine.device}/${s.strategy ?? s.gatt}/${s.workload} replica ${c.replica} (seed ${c.seed})`;
}

/** Test-only fault injection, so the failure paths can be exercised: `kind` at one replica. */
export type Fault = 'throw' | 'trap' | 'oom';
export const FAULTS: Fault[] = ['throw', 'trap', 'oom'];
const TRAP_OP = 0x7fff_ffff;

/** Runs one cell on this thread; `signal` stops it between two buffer objects. Any failure comes
 * back as a CellError naming the cell and its seed. */
export async function runCell(c: Cell & { fault?: Fault }, mod?: WebAssembly.Module, signal?: AbortSignal): Promise<CellOutput> {
  try {
    return await runCellUnchecked(c, mod, signal);
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof CellError) throw e;
    const err = e as Error;
    const what = err instanceof WebAssembly.RuntimeError ? `the Wasm engine trapped (${err.message})` : err.message;
    throw new CellError(`cell ${describeCell(c)} failed: ${what}`);
  }
}

async function runCellUnchecked(c: Cell & { fault?: Fault }, mod?: WebAssembly.Module, signal?: AbortSignal): Promise<CellOutput> {
  const s = c.spec;
  if (c.fault === 'throw') throw new Error('injected fault');
  const profile = s.gatt ? GATT_PROFILES[s.gatt] : STRATEGY_PROFILES[s.strategy!];
  const engine = await createEngine(s.engine, mod);
  const t0 = performance.now();
  const cfg = cellConfig(s, c.seed);
  if (c.fault === 'oom') cfg.hostPages = cfg.ramPages = 1 << 30; // 4 TiB: more than any engine can hold
  const code = engine.init(cfg);
  if (code !== InitError.OK) throw new CellError(`cell ${describeCell(c)} failed: ${initErrorText(code)}`);
  const sink = new OpSink(engine);
  if (c.fault === 'trap') sink.push(TRAP_OP);
  const w: WorkloadSpec = { workload: s.workload, pages: s.pages, boPages: s.boPages, rounds: s.rounds, seed: c.seed, profile };
  if (signal) await runWorkload(w, sink, signal);
  else generateWorkload(w, sink);
  return { raw: readRaw(engine, sink), wallMs: performance.now() - t0 };
}

export function scenarioRecord(s: ScenarioSpec): Scenario {
  return {
    platform: s.machine.platform, device: s.machine.device as DeviceName, strategy: s.strategy, gatt: s.gatt,
    workload: s.workload, pages: s.pages, boPages: s.boPages, rounds: s.rounds, seed: s.machine.seed,
    kernel: s.machine.kernel, replicas: s.replicas, payloadBytes: s.machine.payloadBytes, engine: s.engine,
  };
}

/** Sums replicas: counters add up (swiotlbPeakSlots takes the largest), the earliest violation wins. */
export function mergeOutputs(outs: CellOutput[]): { raw: RawOutput; wallMs: number } {
  const first = outs[0]!.raw;
  const counters = first.counters.map(() => 0);
  const peakIdx = COUNTER_INDEX.swiotlbPeakSlots;
  let violation: bigint[] | null = null;
  let writers: RawOutput['writers'] = null;
  const records: bigint[][] = [];
  let total = 0;
  let wallMs = 0;
  for (const o of outs) {
    o.raw.counters.forEach((v, i) => { counters[i] = i === peakIdx ? Math.max(counters[i]!, v) : counters[i]! + v; });
    if (!violation && o.raw.violation) ({ violation, writers } = o.raw);
    for (const r of o.raw.debug.records) if (records.length < MAX_DEBUG_RECORDS) records.push(r);
    total += o.raw.debug.total;
    wallMs += o.wallMs;
  }
  return { raw: { counters, violation, writers, debug: { total, records } }, wallMs };
}
