// The op stream: workloads and replay scripts both push ops here, straight into the engine's own
// op buffer (its linear memory for the Wasm engine); a full buffer runs, so a script of any length
// runs in bounded memory and no op is copied. What reports need of past ops (their script lines,
// their codes) is kept per op for scripts; a kernel trace keeps only the lines of the ops
// dma-debug recorded (`window`), so a trace of any length holds memory bounded by the buffer.
import { DEBUG_ENTRY_OP_WORD, OP_WORDS, Op } from '../engine/abi.js';
import type { Engine } from '../engine/types.js';

const TRACK_OPS = 16384;
const NO_OPS = new Int32Array(0);

/**
 * Different, for speed only: this thread keeps the last object made of each class passed here
 * (the op sink, a workload's driver) until the next one replaces it. V8's optimised code holds
 * the maps (hidden classes) it was built for weakly, and a class's instance map lives only while
 * an instance does: when a cell's objects all died, the major collection that the next engine's
 * memory triggers dropped those maps, and with them the optimised code of the op stream (push
 * and every workload step that inlines it), which each cell then ran unoptimised while a
 * background thread compiled it again — 10 compilations a cell, taking CPU from a second worker
 * (README, Workers). A sink lets go of its engine when its stream ends (detach), so what is
 * kept is its record of past ops: a byte an op, and a script's line numbers.
 */
const kept = new Map<unknown, object>();
export function keepLast<T extends object>(o: T): T {
  kept.set(o.constructor, o);
  return o;
}

export class OpSink {
  private chunk: Int32Array;
  private capacity: number;
  private fill = 0;
  /** Ops pushed so far (the index of the next op). */
  count = 0;
  /** For replay: op index → script line, so reports can name lines. */
  private origins: Int32Array | null;
  /** Op index → op code: a violation's stamps name the ops that wrote them (one byte per op). */
  private codes = new Uint8Array(TRACK_OPS);

  /** `window` mode: the op index of origins[0]; ops before it keep their line and recorded
   * address only in `kept`. */
  private windowStart = 0;
  private readonly kept = new Map<number, { line: number; recorded: number }>();
  /** `window` mode: the line and recorded address of ops that made something dma-debug may name
   * later as an entry's maker (a trace's live maps and allocations: pin), until unpinned; an unpin
   * takes effect after the next run of the buffer, whose records may still name the op. */
  private readonly pins = new Map<number, { line: number; recorded: number }>();
  private unpinning: number[] = [];
  /** `window` mode: the device address the trace line recorded for each op of the window (NaN: none). */
  private recorded: Float64Array | null;

  /**
   * `track`: 'none' (a workload: op indices name themselves), 'all' (a script: every op's line
   * and code), or 'window' (a trace: lines of the current buffer only, and of the ops the
   * engine's dma-debug records name, read after every run of the buffer; no codes, since a trace
   * has no reads that could name a writer).
   */
  /** The engine the ops go to; null once the stream has ended (detach). */
  private engine: Engine | null;

  constructor(engine: Engine, private readonly track: 'none' | 'all' | 'window' = 'none') {
    this.engine = engine;
    this.chunk = engine.opBuffer();
    this.capacity = this.chunk.length / OP_WORDS;
    this.origins = track === 'none' ? null : new Int32Array(track === 'window' ? this.capacity : TRACK_OPS);
    this.recorded = track === 'window' ? new Float64Array(this.capacity) : null;
    keepLast(this);
  }

  /** `recorded`: a trace's own device address for the call (a trace's ops only; NaN: none). */
  push(code: number, a = 0, b = 0, c = 0, d = 0, origin = 0, e = 0, f = 0, recorded = NaN): void {
    const w = this.fill * OP_WORDS;
    const ch = this.chunk;
    ch[w] = code; ch[w + 1] = a; ch[w + 2] = b; ch[w + 3] = c; ch[w + 4] = d; ch[w + 5] = e; ch[w + 6] = f; ch[w + 7] = 0;
    if (this.track !== 'window' && this.count >= this.codes.length) {
      this.codes = grow(this.codes);
      if (this.origins) this.origins = grow(this.origins);
    }
    if (this.track !== 'window') this.codes[this.count] = code;
    if (this.origins) this.origins[this.count - this.windowStart] = origin;
    if (this.recorded) this.recorded[this.count - this.windowStart] = recorded;
    this.count++;
    if (++this.fill === this.capacity) this.flush();
  }

  flush(): void {
    if (this.fill === 0) return;
    const engine = this.engine;
    if (!engine) throw new Error('op sink: ops pushed after the stream ended');
    engine.runBuffered(this.fill, this.count - this.fill);
    this.fill = 0;
    this.chunk = engine.opBuffer();
    if (this.track === 'window') {
      // Keep the lines of the ops dma-debug recorded in this buffer, and of the ops that made the
      // entries they name; the window moves on.
      for (const r of engine.debug().records) {
        this.keep(Number(r[1]));
        this.keep(Number(r[DEBUG_ENTRY_OP_WORD]));
      }
      for (const op of this.unpinning) this.pins.delete(op);
      this.unpinning = [];
      this.windowStart = this.count;
    }
  }

  /** Keeps op `op`'s line and recorded address past the window, from the window or its pin. */
  private keep(op: number): void {
    if (op < 0 || op >= this.count || this.kept.has(op)) return;
    const at = op - this.windowStart;
    const known = at >= 0 ? { line: this.origins![at]!, recorded: this.recorded![at]! } : this.pins.get(op);
    if (known) this.kept.set(op, known);
  }

  /** `window` mode: keeps op `op`'s line and recorded address (as pushed: its push may have run the
   * buffer and moved the window past it) until unpin(op). */
  pin(op: number, line: number, recorded: number): void {
    if (this.track === 'window' && op >= 0 && op < this.count) this.pins.set(op, { line, recorded });
  }

  unpin(op: number): void {
    if (this.pins.has(op)) this.unpinning.push(op);
  }

  /** Ends the stream: the device is released (dma-debug leak check, teardown). `beforeRelease`
   * sees the engine with every op of the stream done, just before the release. */
  finish(origin = 0, beforeRelease?: () => void): void {
    if (beforeRelease) {
      this.flush();
      beforeRelease();
    }
    this.push(Op.RELEASE, 0, 0, 0, 0, origin);
    this.flush();
    this.detach();
  }

  /** Lets go of the engine and its op buffer (its memory): no op can be pushed after this. What
   * the sink knows of past ops (codeAt, origin) stays. */
  detach(): void {
    this.engine = null;
    this.chunk = NO_OPS;
    this.fill = 0;
    this.capacity = 1; // the next push flushes, which throws
  }

  /** The op code of op index `op`, or -1 when it is not known (no such op; a trace's). */
  codeAt(op: number): number {
    return this.track !== 'window' && op >= 0 && op < this.count ? this.codes[op]! : -1;
  }

  /** The script line (or other origin) of op index `op`; the index itself when not tracked (or,
   * in a trace, for an op dma-debug did not record). */
  origin(op: number): number {
    if (!this.origins || op < 0 || op >= this.count) return op;
    if (op >= this.windowStart) return this.origins[op - this.windowStart]!;
    return (this.kept.get(op) ?? this.pins.get(op))?.line ?? op;
  }

  /** Does origin(op) name op's own line (a trace's ops outside the window: only those kept)? */
  knows(op: number): boolean {
    if (op < 0 || op >= this.count) return false;
    return this.track !== 'window' || op >= this.windowStart || this.kept.has(op) || this.pins.has(op);
  }

  /** The device address a trace line recorded for op index `op` (kept for the ops dma-debug
   * recorded), or undefined: not a trace's, none recorded, or not kept. */
  recordedAt(op: number): number | undefined {
    if (!this.recorded || op < 0 || op >= this.count) return undefined;
    const rec = op >= this.windowStart ? this.recorded[op - this.windowStart]! : (this.kept.get(op) ?? this.pins.get(op))?.recorded ?? NaN;
    return Number.isNaN(rec) ? undefined : rec;
  }
}

function grow<T extends Uint8Array | Int32Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
  bigger.set(a);
  return bigger;
}
