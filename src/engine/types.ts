// What both engines offer the harness. Records cross as bigint words so that the two engines
// can be compared with a plain deep-equal.
import type { MachineConfig } from './abi.js';

export type EngineKind = 'wasm' | 'js';

export interface Engine {
  readonly kind: EngineKind;
  /** Builds the machine; returns an InitError code (0 = ok). Call once. */
  init(cfg: MachineConfig): number;
  /** Executes `count` ops (OP_WORDS i32 each) from `ops`; the first has index `firstOp`. */
  run(ops: Int32Array, count: number, firstOp: number): void;
  /**
   * The engine's own op buffer (the Wasm engine's is a view of its linear memory): a producer
   * writes ops straight into it and calls runBuffered, so no op is copied. Ask again after each
   * runBuffered: running may move it.
   */
  opBuffer(): Int32Array;
  /** Executes the first `count` ops of opBuffer(); the first has index `firstOp`. */
  runBuffered(count: number, firstOp: number): void;
  /** Counters in COUNTERS order. */
  counters(): number[];
  /** The first violation (VIOLATION_WORDS words) or null. */
  violation(): bigint[] | null;
  /** Total dma-debug reports, and the first MAX_DEBUG_RECORDS as DEBUG_WORDS words each. */
  debug(): { total: number; records: bigint[][] };
  /** Free pages in each TTM pool's blocks of each order: index id + POOL_ID_END × order (TTM_POOLS;
   * 2010's pools hold single pages, order 0). */
  pools(): number[];
  /** docs/ENGINE.md §13: a bitmask of violated invariants, 0 when all hold. */
  checkInvariants?(): number;
  /** Bytes of engine memory in use (Wasm linear memory), when the engine can tell. */
  memoryBytes?(): number;
  /** The caller is done with this engine (no call after); with `keepMemory`, its memory serves
   * the thread's next engine (src/engine/wasm.ts). */
  release?(keepMemory: boolean): void;
}
