// The Wasm engine's host side: loads build/engine.wasm (AssemblyScript, raw bindings), copies op
// batches into its fixed ops buffer and reads counters, the first violation and dma-debug
// records straight from linear memory. Semantics: docs/ENGINE.md; layout: assembly/layout.ts.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COUNTERS, DEBUG_WORDS, MAX_DEBUG_RECORDS, OP_WORDS, POOL_ID_END, TTM_NR_PAGE_ORDERS, VIOLATION_WORDS } from './abi.js';
import type { MachineConfig } from './abi.js';
import type { Engine } from './types.js';
import { packageFile } from '../paths.js';

interface EngineExports {
  memory: WebAssembly.Memory;
  init(
    platform: number, maskBits: number, kernel: number, ramPages: number, hostPages: number,
    xenLowPages: number, nslabs: number, payloadBytes: number, seed: number, maxBuffers: number,
    gartPages: number, gartFamily: number, iommuMode: number, swiotlbDynamic: number, minAlignMask: number,
  ): number;
  tablesBytes(
    platform: number, maskBits: number, kernel: number, ramPages: number, hostPages: number,
    xenLowPages: number, nslabs: number, payloadBytes: number, maxBuffers: number,
    gartPages: number, gartFamily: number, swiotlbDynamic: number,
  ): number;
  maxMemoryBytes(): number;
  opsPtr(): number;
  opsCapacity(): number;
  run(count: number, firstOp: number): void;
  countersPtr(): number;
  violationPtr(): number;
  debugPtr(): number;
  debugTotal(): number;
  memoryBytes(): number;
  committedBytes(): number;
  checkInvariants(): number;
  poolPages(p: number, order: number): number;
  scrubBytes(): number;
  scrub(): void;
}


/** Default build: the release engine; `debug` picks build/engine.debug.wasm (asserts kept). */
export function defaultEnginePath(debug = false): string {
  return packageFile('build', debug ? 'engine.debug.wasm' : 'engine.wasm');
}

export async function loadEngineModule(path?: string): Promise<WebAssembly.Module> {
  const file = path ?? defaultEnginePath();
  const bytes = await readFile(file);
  return WebAssembly.compile(bytes);
}

/** AssemblyScript strings: UTF-16LE, byte length in the u32 just before the pointer. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

/** The Engine plus two measurements only the Wasm engine can give. */
export interface WasmEngine extends Engine {
  /** Bytes of linear memory the machine's tables and payload storage use. */
  memoryBytes(): number;
  /** Bytes of linear memory the machine committed (what memory.grow reached on a fresh memory). */
  committedBytes(): number;
  /** Bytes the machine would zero if its memory were handed on now (assembly/index.ts scrub). */
  scrubBytes(): number;
  /** docs/ENGINE.md §13: the bitmask of violated invariants (the export checkInvariants). */
  checkInvariants(): number;
  /** The engine's linear memory (after release, the thread's next engine may be given it). */
  readonly memory: WebAssembly.Memory;
  /** Whether that memory was handed on by the thread's previous engine (zeroed) rather than new. */
  readonly reusedMemory: boolean;
}

/**
 * The linear memory a machine's tables need on the Wasm engine, and the most it may use (bytes),
 * from an instance of its own that lays the machine out and commits nothing
 * (assembly/index.ts tablesBytes). `need` is −1 when the numbers make no machine at all.
 */
export function wasmTablesBytes(module: WebAssembly.Module, cfg: MachineConfig): { need: number; limit: number } {
  const ex = instantiate(module);
  const need = ex.tablesBytes(cfg.platform, cfg.maskBits, cfg.kernel, cfg.ramPages, cfg.hostPages, cfg.xenLowPages,
    cfg.nslabs, cfg.payloadBytes, cfg.maxBuffers, cfg.gartPages, cfg.gartFamily, cfg.swiotlbDynamic ?? 0);
  return { need, limit: ex.maxMemoryBytes() };
}

function instantiate(module: WebAssembly.Module, memory = new WebAssembly.Memory({ initial: 1 })): EngineExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(msg: number, file: number, line: number, column: number): never {
        const m = readAsString(memory, msg);
        const f = readAsString(memory, file);
        throw new Error(`engine abort: ${m} at ${f}:${line}:${column}`);
      },
      seed: () => Date.now(),
      trace: () => {},
    },
  });
  return { ...(instance.exports as unknown as EngineExports), memory };
}

// Different, for speed only: each machine gets linear memory that reads as fresh (all zero). A
// fresh memory costs a page fault for every 4 KiB the machine touches, and a page the engine read
// before writing it costs a second fault, whose TLB flush interrupts the other worker threads of
// the process (the kernel's do_wp_page leaving the shared zero page). So a thread with cells still
// to run may keep the memory of the engine it released (release(true): src/run/reuse.ts decides)
// for its next engine. The released engine zeroes what it may have written (assembly/index.ts
// scrub: the tables it tracks page by page where written, the others whole), just before the next
// takes the memory; pages it never touched stay untouched, so the thread's memory faults in only
// what its machines touched and the tables scrub zeroes whole. The new instance writes its static
// data again and starts over, so the bytes it sees and the counters it makes are a fresh memory's.
// A memory larger than SPARE_MAX_BYTES is let go.
let spare: { memory: WebAssembly.Memory; scrub: () => void } | undefined;
const SPARE_MAX_BYTES = 512 * 2 ** 20;

/** Lets go of the memory this thread kept for its next engine (the end of a run). */
export function dropSpareMemory(): void {
  spare = undefined;
}

/** The thread's spare memory, scrubbed by the engine that held it, or undefined (the new instance
 * then makes its own, as it does should the scrub ever trap). */
function takeMemory(): WebAssembly.Memory | undefined {
  const s = spare;
  spare = undefined;
  try {
    s?.scrub();
    return s?.memory;
  } catch {
    return undefined;
  }
}

export function createWasmEngine(module: WebAssembly.Module): WasmEngine {
  const handed = takeMemory();
  const ex = instantiate(module, handed);
  const capacity = ex.opsCapacity();
  let released = false;

  return {
    kind: 'wasm',
    init(cfg: MachineConfig): number {
      return ex.init(
        cfg.platform, cfg.maskBits, cfg.kernel, cfg.ramPages, cfg.hostPages, cfg.xenLowPages,
        cfg.nslabs, cfg.payloadBytes, cfg.seed | 0, cfg.maxBuffers, cfg.gartPages, cfg.gartFamily, cfg.iommuMode,
        cfg.swiotlbDynamic ?? 0, cfg.minAlignMask ?? 0,
      );
    },
    run(ops: Int32Array, count: number, firstOp: number): void {
      for (let done = 0; done < count; ) {
        const n = Math.min(capacity, count - done);
        // A fresh view each batch: running may grow (and so detach) the memory buffer.
        const dst = new Int32Array(ex.memory.buffer, ex.opsPtr(), n * OP_WORDS);
        dst.set(ops.subarray(done * OP_WORDS, (done + n) * OP_WORDS));
        ex.run(n, firstOp + done);
        done += n;
      }
    },
    // A fresh view each time: running may grow (and so detach) the memory buffer.
    opBuffer: () => new Int32Array(ex.memory.buffer, ex.opsPtr(), capacity * OP_WORDS),
    runBuffered(count: number, firstOp: number): void {
      ex.run(count, firstOp);
    },
    counters(): number[] {
      const v = new BigInt64Array(ex.memory.buffer, ex.countersPtr(), COUNTERS.length);
      return Array.from(v, Number);
    },
    violation(): bigint[] | null {
      const v = new BigInt64Array(ex.memory.buffer, ex.violationPtr(), VIOLATION_WORDS);
      return v[0] === 0n ? null : Array.from(v);
    },
    debug(): { total: number; records: bigint[][] } {
      const total = ex.debugTotal();
      const n = Math.min(total, MAX_DEBUG_RECORDS);
      const v = new BigInt64Array(ex.memory.buffer, ex.debugPtr(), n * DEBUG_WORDS);
      const records: bigint[][] = [];
      for (let i = 0; i < n; i++) records.push(Array.from(v.subarray(i * DEBUG_WORDS, (i + 1) * DEBUG_WORDS)));
      return { total, records };
    },
    checkInvariants: () => ex.checkInvariants(),
    pools: () => Array.from({ length: POOL_ID_END * TTM_NR_PAGE_ORDERS }, (_, i) => ex.poolPages(i % POOL_ID_END, Math.floor(i / POOL_ID_END))),
    memoryBytes: () => ex.memoryBytes(),
    committedBytes: () => ex.committedBytes(),
    scrubBytes: () => ex.scrubBytes(),
    memory: ex.memory,
    reusedMemory: handed !== undefined,
    release(keepMemory: boolean): void {
      if (released) return;
      released = true;
      spare = keepMemory && ex.memory.buffer.byteLength <= SPARE_MAX_BYTES ? { memory: ex.memory, scrub: () => ex.scrub() } : undefined;
    },
  };
}

