// The op stream: workloads and replay scripts both push ops here, straight into the engine's own
// op buffer (its linear memory for the Wasm engine); a full buffer runs, so a script of any length
// runs in bounded memory and no op is copied.
import { OP_WORDS, Op } from '../engine/abi.js';
import type { Engine } from '../engine/types.js';

const TRACK_OPS = 16384;

export class OpSink {
  private chunk: Int32Array;
  private readonly capacity: number;
  private fill = 0;
  /** Ops pushed so far (the index of the next op). */
  count = 0;
  /** For replay: op index → script line, so reports can name lines. */
  private origins: Int32Array | null;
  /** Op index → op code: a violation's stamps name the ops that wrote them (one byte per op). */
  private codes = new Uint8Array(TRACK_OPS);

  constructor(private readonly engine: Engine, trackOrigins = false) {
    this.origins = trackOrigins ? new Int32Array(TRACK_OPS) : null;
    this.chunk = engine.opBuffer();
    this.capacity = this.chunk.length / OP_WORDS;
  }

  push(code: number, a = 0, b = 0, c = 0, d = 0, origin = 0): void {
    const w = this.fill * OP_WORDS;
    const ch = this.chunk;
    ch[w] = code; ch[w + 1] = a; ch[w + 2] = b; ch[w + 3] = c; ch[w + 4] = d; ch[w + 5] = 0; ch[w + 6] = 0; ch[w + 7] = 0;
    if (this.count >= this.codes.length) {
      this.codes = grow(this.codes);
      if (this.origins) this.origins = grow(this.origins);
    }
    this.codes[this.count] = code;
    if (this.origins) this.origins[this.count] = origin;
    this.count++;
    if (++this.fill === this.capacity) this.flush();
  }

  flush(): void {
    if (this.fill === 0) return;
    this.engine.runBuffered(this.fill, this.count - this.fill);
    this.fill = 0;
    this.chunk = this.engine.opBuffer();
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
  }

  /** The op code of op index `op`, or -1 when there is no such op. */
  codeAt(op: number): number {
    return op >= 0 && op < this.count ? this.codes[op]! : -1;
  }

  /** The script line (or other origin) of op index `op`; the index itself when not tracked. */
  origin(op: number): number {
    return this.origins && op >= 0 && op < this.count ? this.origins[op]! : op;
  }
}

function grow<T extends Uint8Array | Int32Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
  bigger.set(a);
  return bigger;
}
