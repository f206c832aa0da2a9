// The one cell runner, for workloads and replays alike: build the machine, feed the engine the
// cell's ops (a generated workload, or a script translated line by line) and read back what it
// counted. A cell is run on this thread or on a worker (run/pool.ts); its output is plain data.
import { performance } from 'node:perf_hooks';
import { COUNTER_INDEX, DEBUG_CLASSES, DEBUG_ENTRY_OP_WORD, InitError, MAX_DEBUG_RECORDS, Op, VIOLATION_FIELDS } from '../engine/abi.js';
import { engineMaker } from '../engine/factory.js';
import type { Engine } from '../engine/types.js';
import { CellError, UsageError, msg } from '../errors.js';
import { isWorkload } from '../source/scenario.js';
import { OpSink } from '../source/sink.js';
import { GATT_PROFILES, generateWorkload, runWorkload, ttProfileOf } from '../source/workloads.js';
import type { TraceSummary } from '../source/traceSummary.js';
import { type Cell, GATT_MAX_ENTRIES, describeCell } from './plan.js';
import type { ThreadMemory } from './reuse.js';

/** Raw engine output (also what workers send back), with the script's names for what it mentions. */
export interface RawOutput {
  counters: number[];
  violation: bigint[] | null;
  /** The op codes that wrote what the first violation saw and expected (the harness knows them). */
  writers: [seenCode: number, expectedCode: number] | null;
  debug: { total: number; records: bigint[][] };
  /** Replay: the script line of each op index the output mentions (of the ops that made the entries
   * dma-debug's records name, only those whose line is known: a trace keeps its live ones'). */
  lines?: Record<number, number>;
  /** Replay: the script's name of each buffer id the output mentions. */
  names?: Record<number, string>;
  /** Replay: free pages per TTM pool (TTM_POOLS) at the end of the script, and after the release. */
  pools?: { end: number[]; released: number[] };
  /** Replay of a kernel trace: what the trace held and what was not replayed (source/trace.ts). */
  trace?: TraceSummary;
  /** Replay of a kernel trace: the device address the trace line recorded for each op a dma-debug
   * record names, as the trace printed it (none for an op the trace gave no address: the release). */
  recorded?: Record<number, string>;
}

export interface CellOutput {
  raw: RawOutput;
  /** The engine's time on this cell: building the machine and running its ops. */
  wallMs: number;
  /** When that time began and ended, in ms on one clock for every thread of the process
   * (performance.timeOrigin + performance.now()), so a plan's wall can be taken over workers. */
  startMs: number;
  endMs: number;
  /** The memory the cell's machine held at its end: the Wasm engine's linear memory, or the
   * reference model's JS heap in use plus the memory outside it that its typed arrays hold (its
   * thread's V8 heapUsed + external, garbage included). One worker holds one machine at a time,
   * so this bounds what a worker needs. */
  machineBytes: number;
  /** The Wasm engine built the machine on a memory the thread's previous cell handed on (run/reuse.ts). */
  reusedMemory: boolean;
  /** The lane that ran the cell (run/lanes.ts: 0 is this thread), set when a run's lane takes it. */
  lane?: number;
}

const TRAP_OP = 0x7fff_ffff;
const VERSION_MASK = 0x7fff_ffffn;
const V = Object.fromEntries(VIOLATION_FIELDS.map((f, i) => [f, i])) as Record<(typeof VIOLATION_FIELDS)[number], number>;

/** Runs one cell; `signal` (Ctrl-C) stops it between two buffer objects or script lines. A failure
 * comes back as a CellError naming the cell and its seed (a bad script line stays a usage error).
 * `memory`: the thread's cells of this run, whose engines may hand their memory on (run/reuse.ts). */
export async function runCell(c: Cell, mod?: WebAssembly.Module, signal?: AbortSignal, memory?: ThreadMemory): Promise<CellOutput> {
  try {
    return await runCellUnchecked(c, mod, signal, memory);
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof CellError || e instanceof UsageError) throw e;
    const err = e as Error;
    const what = err instanceof WebAssembly.RuntimeError ? `the Wasm engine trapped (${err.message})` : err.message;
    throw new CellError(`cell ${describeCell(c)} failed: ${what}`);
  }
}

async function runCellUnchecked(c: Cell, mod?: WebAssembly.Module, signal?: AbortSignal, memory?: ThreadMemory): Promise<CellOutput> {
  const s = c.plan.scenario;
  if (c.fault === 'throw') throw new Error('injected fault');
  const make = await engineMaker(s.engine, mod);
  memory?.start();
  // The cell's time starts with its engine: a memory handed on is zeroed there (src/engine/wasm.ts).
  const t0 = performance.now();
  const engine = make();
  try {
    return await runOn(engine, c, t0, signal);
  } finally {
    if (memory) memory.finish(engine);
    else engine.release?.(false);
  }
}

async function runOn(engine: Engine, c: Cell, t0: number, signal?: AbortSignal): Promise<CellOutput> {
  const s = c.plan.scenario;
  const done = (raw: RawOutput): CellOutput => {
    const t1 = performance.now();
    const reusedMemory = (engine as Engine & { reusedMemory?: boolean }).reusedMemory ?? false;
    return { raw, wallMs: t1 - t0, startMs: performance.timeOrigin + t0, endMs: performance.timeOrigin + t1, machineBytes: machineBytes(engine), reusedMemory };
  };
  const cfg = { ...c.plan.cfg, seed: c.seed >>> 0 };
  if (c.fault === 'oom') cfg.hostPages = cfg.ramPages = 1 << 30; // 4 TiB: more than any engine can hold
  const code = engine.init(cfg);
  if (code !== InitError.OK) {
    if (!isWorkload(s)) throw new UsageError(msg.initFailed(initErrorText(code)));
    throw new CellError(`cell ${describeCell(c)} failed: ${initErrorText(code)}`);
  }
  const sink = new OpSink(engine, isWorkload(s) ? 'none' : s.scriptFormat === 'ftrace' ? 'window' : 'all');
  try {
    if (c.fault === 'trap') sink.push(TRAP_OP);
    // The driver's probe failed on this machine (run/plan.ts): the engine drops what follows.
    if (c.plan.deviceDown) sink.push(Op.DEVICE_DOWN);
    // A replay's agp device comes up with its GATT (a workload makes its own, sized to its aperture).
    const gattEntries = Math.min(cfg.gartPages, GATT_MAX_ENTRIES);
    if (!isWorkload(s) && s.gatt) sink.push(Op.GATT_CREATE, gattEntries, GATT_PROFILES[s.gatt].gattMode!);
    if (isWorkload(s)) {
      if (signal) await runWorkload(s, c.seed, sink, signal);
      else generateWorkload(s, c.seed, sink);
      return done(readRaw(engine, sink));
    }
    // Only a replay reads a script (and loads the reader it needs).
    let names: Record<number, string>; // buffer id → name; a trace keeps only its live buffers'
    let trace: TraceSummary | undefined;
    let addressText: ((a: number) => string) | undefined; // a trace's own addresses, as it printed them
    if (s.scriptFormat === 'ftrace') {
      const { translateTrace } = await import('../source/traceFile.js');
      const tr = await translateTrace(s.script!, { maxBuffers: cfg.maxBuffers, allocPagesMapped: s.platform === 'xen-pv' && s.kernel === 'modern', modern: s.kernel === 'modern' }, sink, s.traceDevice, signal);
      ({ names, summary: trace } = tr);
      addressText = (a) => tr.addressText(a);
    } else {
      const { translateScript } = await import('../source/replay.js');
      const limits = { maxBuffers: cfg.maxBuffers, gartPages: s.gatt ? gattEntries : cfg.gartPages, payloadBytes: cfg.payloadBytes, tt: ttProfileOf(s) };
      ({ names } = await translateScript(s.script!, limits, sink, signal));
    }
    let end: number[] = [];
    // The release comes after the script's last op; a trace ends at its last line read, whatever device it was.
    sink.finish(trace ? trace.lines - trace.skipped.cut : sink.count > 0 ? sink.origin(sink.count - 1) : 0, () => { end = engine.pools(); });
    const raw = readRaw(engine, sink, names, addressText);
    raw.pools = { end, released: engine.pools() };
    if (trace) raw.trace = trace;
    return done(raw);
  } finally {
    sink.detach(); // also when the cell failed: the thread keeps its last sink (source/sink.ts keepLast)
  }
}

function machineBytes(engine: Engine): number {
  const wasm = engine as Engine & { committedBytes?: () => number };
  if (wasm.committedBytes) return wasm.committedBytes();
  // The model's tables are typed arrays, whose memory V8 counts as external, not in the heap.
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

const LEAK = DEBUG_CLASSES.indexOf('leak');

/** What the engine counted and recorded; with a script, the lines and names the output mentions. */
export function readRaw(engine: Engine, sink?: OpSink, names?: Record<number, string>, addressText?: (a: number) => string): RawOutput {
  const violation = engine.violation();
  const debug = engine.debug();
  // A version is the writing op's index + 1 (0: never written).
  const writerOp = (lo: bigint) => Number(lo & VERSION_MASK) - 1;
  const writers = violation && sink
    ? [sink.codeAt(writerOp(violation[V.seenLo]!)), sink.codeAt(writerOp(violation[V.expLo]!))] as [number, number]
    : null;
  const raw: RawOutput = { counters: engine.counters(), violation, writers, debug };
  if (!sink || !names) return raw;
  // Every op a report names: dma-debug's records, the violation's op, its writers, and the unmap of a
  // lazily freed IOVA it went through.
  const ops = [...debug.records.map((r) => Number(r[1])), ...(violation ? [Number(violation[V.op]), writerOp(violation[V.seenLo]!), writerOp(violation[V.expLo]!), Number(violation[V.iovaUnmapOp])] : [])];
  const made = debug.records.map((r) => Number(r[DEBUG_ENTRY_OP_WORD])).filter((op) => sink.knows(op));
  raw.lines = Object.fromEntries([...ops.filter((op) => op >= 0), ...made].map((op) => [op, sink.origin(op)]));
  if (addressText) {
    raw.recorded = {};
    for (const r of debug.records) {
      // A leak record's op is the release, which has no address: the entry it names was made at one.
      const op = Number(r[1]), a = sink.recordedAt(Number(r[0]) === LEAK ? Number(r[DEBUG_ENTRY_OP_WORD]) : op);
      if (a !== undefined) raw.recorded[op] = addressText(a);
    }
  }
  const ids = violation ? [violation[V.bufId]!, violation[V.seenHi]!, violation[V.expHi]!].map(Number) : [];
  raw.names = Object.fromEntries(ids.filter((id) => id > 0 && names[id] !== undefined).map((id) => [id, names[id]!]));
  return raw;
}

export interface MergedOutput extends Omit<CellOutput, 'reusedMemory'> {
  /** The sum of the replicas' engine times (wallMs, the wall, is less when they overlapped). */
  cellMs: number;
  /** How many of the replicas' machines were built on a memory handed on (run/reuse.ts). */
  reusedMemories: number;
}

/** Sums replicas: counters add up (the peaks, swiotlbPeakSlots and ttmDmaPeakInUse, take the largest), the earliest violation
 * wins; the wall time is wallOf the replicas (not the sum of their times: on several workers
 * they overlap), and the machine the largest one. */
export function mergeOutputs(outs: CellOutput[]): MergedOutput {
  const counters = outs[0]!.raw.counters.map(() => 0);
  const peaks = new Set([COUNTER_INDEX.swiotlbPeakSlots, COUNTER_INDEX.ttmDmaPeakInUse]); // one machine's peak each
  let first: RawOutput | undefined;
  const records: bigint[][] = [];
  let total = 0;
  let cellMs = 0;
  let machine = 0;
  for (const o of outs) {
    o.raw.counters.forEach((v, i) => { counters[i] = peaks.has(i) ? Math.max(counters[i]!, v) : counters[i]! + v; });
    if (!first && o.raw.violation) first = o.raw;
    for (const r of o.raw.debug.records) if (records.length < MAX_DEBUG_RECORDS) records.push(r);
    total += o.raw.debug.total;
    cellMs += o.wallMs;
    machine = Math.max(machine, o.machineBytes);
  }
  const startMs = outs.reduce((m, o) => Math.min(m, o.startMs), Infinity);
  const endMs = outs.reduce((m, o) => Math.max(m, o.endMs), -Infinity);
  const named = outs[0]!.raw;
  return {
    raw: {
      counters, violation: first?.violation ?? null, writers: first?.writers ?? null, debug: { total, records },
      lines: named.lines, names: named.names, pools: named.pools, ...(named.trace ? { trace: named.trace, recorded: named.recorded } : {}),
    },
    wallMs: wallOf(outs), cellMs, startMs, endMs, machineBytes: machine, reusedMemories: outs.filter((o) => o.reusedMemory).length,
  };
}

/** The wall time of cells that ran on one or more threads: the span of their intervals, less the
 * gaps in which none of them ran (so cells run one after another still give the sum of their
 * times, and cells run side by side count once). */
export function wallOf(outs: readonly Pick<CellOutput, 'startMs' | 'endMs'>[]): number {
  const spans = outs.map((o) => [o.startMs, o.endMs] as const).sort((a, b) => a[0] - b[0]);
  let wall = 0;
  let [from, to] = spans[0] ?? [0, 0];
  for (const [a, b] of spans) {
    if (a > to) {
      wall += to - from;
      [from, to] = [a, b];
    } else to = Math.max(to, b);
  }
  return wall + (to - from);
}

export function initErrorText(code: number): string {
  switch (code) {
    case InitError.TOO_LARGE: return 'it needs more engine memory than the limit (4 GiB of Wasm memory); use a smaller --host-ram, --ram or --payload-bytes';
    case InitError.XEN_LOW: return 'xen_swiotlb_fixup found no machine frames below 4 GiB for a piece of the xen-swiotlb pool (the kernel panics); lower --swiotlb';
    case InitError.LAYOUT: return '--ram is too small for the kernel, the swiotlb pool and the GART dummy page';
    default: return `engine init failed with code ${code}`;
  }
}
