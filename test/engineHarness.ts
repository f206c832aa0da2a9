// The one harness of the engine tests (test/engine-*.test.ts): one base machine, the op-word
// builders, and runOn(engine, overrides, ops), so that every case runs on both engines — the
// Wasm engine (debug build: its asserts are kept) and the TypeScript reference model. Semantics:
// docs/ENGINE.md. Not a test file itself.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  BindMode, COUNTERS, Caching, DEBUG_CLASSES, Dir, GartFamily, InitError, IommuMode, Kernel, Op, OP_WORDS, Platform, Pool,
  POOL_ID_END, TTM_NR_PAGE_ORDERS, TTM_POOLS, ViolationKind, Zone, type CounterName, type DebugClass, type MachineConfig,
} from '../src/engine/abi.js';
import { createJsEngine } from '../src/engine/js.js';
import { Model } from '../src/model/index.js';
import type { Engine } from '../src/engine/types.js';
import { type WasmEngine, createWasmEngine, defaultEnginePath, dropSpareMemory, loadEngineModule } from '../src/engine/wasm.js';

export const ENGINES = ['wasm', 'js'] as const;
export type EngineName = (typeof ENGINES)[number];

export const PAGE = 4096;
export const { bidirectional: BIDI, to_device: TO_DEV, from_device: FROM_DEV } = Dir;

/**
 * The base machine: a 512 MiB xen-pv guest on an 8 GiB host, a 32-bit r100 device, the 2010
 * kernel, a 64 MiB swiotlb pool (32768 slots) and Xen's whole 256 MiB low reserve. Derived
 * numbers the cases use: the pool is pfns [4096, 4096 + 16384), the 2010 overflow buffer the 8
 * pages after it, the dummy page next, so the buddy gets pfns [20489, 131072) (all DMA32); the
 * TTM pool cap is ramPages / 4 = 32768 pages; the guest owns the highest 131072 of the host's
 * 2097152 frames, all above 4 GiB.
 */
export const BASE: MachineConfig = {
  platform: Platform['xen-pv'], maskBits: 32, kernel: Kernel['2010'], ramPages: 131072, hostPages: 2097152,
  xenLowPages: 65536, nslabs: 32768, payloadBytes: 0, seed: 1, maxBuffers: 16, gartPages: 1024,
  gartFamily: GartFamily.r100, iommuMode: IommuMode.strict,
};
/** io_tlb_start: the first pfn of the swiotlb pool (after the 16 MiB the kernel keeps). */
export const POOL_PFN = 4096;
/** The 2010 overflow buffer's first pfn for a pool of `nslabs` slots. */
export const overflowPfn = (nslabs: number): number => POOL_PFN + nslabs / 2;
/** The first pfn the buddy allocator gets: after the pool, the overflow buffer and the dummy page. */
export const firstFreePfn = (nslabs: number): number => overflowPfn(nslabs) + 8 + 1;

/** The base with `over` applied; off xen-pv the host is the guest (docs/ENGINE.md §1). */
export function machineConfig(over: Partial<MachineConfig> = {}): MachineConfig {
  const cfg = { ...BASE, ...over };
  if (cfg.platform !== Platform['xen-pv']) cfg.hostPages = cfg.ramPages;
  return cfg;
}

// The Wasm module is compiled once for every case of a test file; the debug build keeps the
// engine's asserts (record kinds and ranges trap).
const wasmModule = loadEngineModule(defaultEnginePath(true));
wasmModule.catch(() => {}); // reported by the first case that awaits it, not as an unhandled rejection

export async function createEngine(engine: EngineName): Promise<Engine> {
  return engine === 'wasm' ? createWasmEngine(await wasmModule) : createJsEngine();
}

/** init()'s return code for the base with `over` (InitError). */
export async function initOn(engine: EngineName, over: Partial<MachineConfig> = {}): Promise<number> {
  return (await createEngine(engine)).init(machineConfig(over));
}

export type OpWords = readonly number[];
export const alloc = (slot: number, pages = 1, zone: number = Zone.dma32): OpWords => [Op.ALLOC, slot, pages, zone];
export const free = (slot: number): OpWords => [Op.FREE, slot];
export const allocCoherent = (slot: number, pages = 1): OpWords => [Op.ALLOC_COHERENT, slot, pages];
export const freeCoherent = (slot: number): OpWords => [Op.FREE_COHERENT, slot];
export const exchange = (slot: number, bits = 32): OpWords => [Op.EXCHANGE, slot, bits];
export const map = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.MAP, slot, dir, offset, size];
export const mappingError = (slot: number): OpWords => [Op.MAPPING_ERROR, slot];
export const syncDev = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.SYNC_FOR_DEVICE, slot, dir, offset, size];
export const syncCpu = (slot: number, dir: number = BIDI, offset = 0, size = PAGE): OpWords => [Op.SYNC_FOR_CPU, slot, dir, offset, size];
export const unmap = (slot: number, dir: number = BIDI, size = PAGE): OpWords => [Op.UNMAP, slot, dir, size];
export const cpuWrite = (slot: number, offset = 0, size = PAGE): OpWords => [Op.CPU_WRITE, slot, offset, size];
export const cpuRead = (slot: number, offset = 0, size = PAGE): OpWords => [Op.CPU_READ, slot, offset, size];
export const devWrite = (slot: number, offset = 0, size = PAGE): OpWords => [Op.DEV_WRITE, slot, offset, size];
export const devRead = (slot: number, offset = 0, size = PAGE): OpWords => [Op.DEV_READ, slot, offset, size];
export const bind = (slot: number, gpuPage = 0): OpWords => [Op.GART_BIND, slot, gpuPage];
export const unbind = (gpuPage = 0, pages = 1): OpWords => [Op.GART_UNBIND, gpuPage, pages];
export const gpuWrite = (gpuPage = 0, pages = 1): OpWords => [Op.GPU_WRITE, gpuPage, pages];
export const gpuRead = (gpuPage = 0, pages = 1): OpWords => [Op.GPU_READ, gpuPage, pages];
export const release = (): OpWords => [Op.RELEASE];
export const populate = (slot: number, pages: number, pool: number = Pool.ttm, caching: number = Caching.wc): OpWords =>
  [Op.TT_POPULATE, slot, pages, pool, caching];
export const unpopulate = (slot: number): OpWords => [Op.TT_UNPOPULATE, slot];
export const ttBind = (slot: number, gpuPage = 0, mode: number = BindMode.map): OpWords => [Op.TT_BIND, slot, gpuPage, mode];
export const ttUnbind = (slot: number): OpWords => [Op.TT_UNBIND, slot];
export const ttSync = (slot: number, toCpu: number): OpWords => [Op.TT_SYNC, slot, toCpu];
export const gattCreate = (entries: number, mode: number): OpWords => [Op.GATT_CREATE, entries, mode];

/** The op list as the engine's i32 words (OP_WORDS per op). */
export function opWords(list: readonly OpWords[]): Int32Array {
  const ops = new Int32Array(list.length * OP_WORDS);
  list.forEach((words, i) => ops.set(words, i * OP_WORDS));
  return ops;
}

export type Counters = Record<CounterName, number>;

/** What one run left behind, read through the Engine interface only. */
export interface Outcome {
  /** Counters by name. */
  c: Counters;
  /** The first violation's words (VIOLATION_FIELDS), or null. */
  violation: bigint[] | null;
  /** The first violation's kind (ViolationKind), 0 when there is none. */
  kind: number;
  /** dma-debug: reports in all, the records kept, their classes and dma addresses. */
  total: number;
  records: bigint[][];
  classes: DebugClass[];
  dma: bigint[];
  /** checkInvariants() (docs/ENGINE.md §13): 0 when every invariant holds. */
  invariants: number;
}

export function outcomeOf(e: Engine): Outcome {
  const values = e.counters();
  const c = Object.fromEntries(COUNTERS.map((name, i) => [name, values[i]])) as Counters;
  const violation = e.violation();
  const { total, records } = e.debug();
  return {
    c, violation, kind: violation === null ? ViolationKind.none : Number(violation[0]), total, records,
    classes: records.map((r) => DEBUG_CLASSES[Number(r[0])]), dma: records.map((r) => r[2]),
    invariants: e.checkInvariants?.() ?? -1,
  };
}

/** Builds the base machine with `over` on `engine`, runs `ops` from op index 0, reads the outcome. */
export async function runOn(engine: EngineName, over: Partial<MachineConfig>, ops: readonly OpWords[]): Promise<Outcome> {
  const e = await createEngine(engine);
  assert.equal(e.init(machineConfig(over)), InitError.OK);
  e.run(opWords(ops), ops.length, 0);
  return outcomeOf(e);
}

export const oracleOf = (o: Outcome) => ({ stale: o.c.staleReads, lost: o.c.lostWrites, foreign: o.c.foreignReads });
export const COHERENT = { stale: 0, lost: 0, foreign: 0 };

/** The counters named in `expect`, read from `c`. */
export const pick = (c: Counters, expect: Partial<Counters>) =>
  Object.fromEntries(Object.keys(expect).map((k) => [k, c[k as CounterName]]));

/** One case of a table: a scenario, its machine (overrides of BASE), its ops and what must hold. */
export interface EngineCase {
  description: string;
  cfg?: Partial<MachineConfig>;
  ops: readonly OpWords[];
  /** Counters that must have exactly these values. */
  expect?: Partial<Counters>;
  /** The first violation's kind (0: none). */
  kind?: number;
  /** checkInvariants() must be 0 (the default); false where a case leaves the machine inconsistent on purpose. */
  invariants?: boolean;
  /** Further checks on the outcome. */
  check?: (o: Outcome) => void;
}

export async function checkCase(engine: EngineName, tc: EngineCase): Promise<Outcome> {
  const o = await runOn(engine, tc.cfg ?? {}, tc.ops);
  if (tc.expect) assert.deepEqual(pick(o.c, tc.expect), tc.expect);
  if (tc.kind !== undefined) assert.equal(o.kind, tc.kind, 'first violation kind');
  if (tc.invariants !== false) assert.equal(o.invariants, 0, 'invariants');
  tc.check?.(o);
  return o;
}

/** One `it` per case, on `engine`. */
export function runCases(engine: EngineName, cases: readonly EngineCase[]): void {
  for (const tc of cases) it(tc.description, () => checkCase(engine, tc).then(() => undefined));
}

/**
 * Reference model only: runs `ops` on a Model built directly, so a test can look inside (pools,
 * Xen's reserve, the zones) where the Engine interface cannot. Use it for checks labelled model-only.
 */
export function runModel(over: Partial<MachineConfig>, ops: readonly OpWords[]): Model {
  const model = Model.create(machineConfig(over));
  assert.ok(model instanceof Model);
  model.run(opWords(ops), ops.length, 0);
  return model;
}

/** An engine's free pool pages by pool name, over all orders (engine.pools() is by id and order). */
export function poolsByName(e: Engine): Record<(typeof TTM_POOLS)[number], number> {
  const pages = e.pools();
  const total = (p: number) => Array.from({ length: TTM_NR_PAGE_ORDERS }, (_, o) => pages[p + POOL_ID_END * o]!).reduce((a, b) => a + b, 0);
  return Object.fromEntries(TTM_POOLS.map((name, p) => [name, total(p)])) as Record<(typeof TTM_POOLS)[number], number>;
}

/**
 * Hands a Wasm engine's memory on as a thread does (release(true), then the next engine takes it:
 * the released one scrubs it, src/engine/wasm.ts) and compares it with a fresh instance's memory,
 * byte for byte, its static data included, zero beyond. '' when they match, else where the first
 * byte differs. Leaves no spare memory behind.
 */
export function scrubbedLikeFresh(engine: WasmEngine, mod: WebAssembly.Module): string {
  dropSpareMemory();
  const fresh = new Uint8Array(createWasmEngine(mod).memory.buffer);
  engine.release?.(true);
  const next = createWasmEngine(mod);
  dropSpareMemory();
  if (next.memory !== engine.memory) return 'the memory was not handed on';
  const got = new Uint8Array(next.memory.buffer);
  if (got.length < fresh.length) return `the handed-on memory is smaller (${got.length} bytes) than a fresh one (${fresh.length})`;
  const words = new Uint32Array(next.memory.buffer);
  const head = fresh.length >> 2;
  const freshWords = new Uint32Array(fresh.buffer, 0, head);
  for (let i = 0; i < words.length; i++) {
    if (words[i] === (i < head ? freshWords[i] : 0)) continue;
    return `byte ${i * 4} (of ${got.length}) reads 0x${words[i]!.toString(16)} after the hand-over, 0x${(i < head ? freshWords[i]! : 0).toString(16)} on a fresh memory`;
  }
  return '';
}
