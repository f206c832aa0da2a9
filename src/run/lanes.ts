// The cells of a run on several threads: each thread is a lane that takes the next cell from one
// counter all lanes share (a SharedArrayBuffer), runs it, and takes the next, until none is left.
// The main thread is lane 0 (run/pool.ts), worker threads the others (run/worker.ts). Which lane
// runs which cell depends on timing; outputs are stored by cell index, so the merged counters
// never do.
import { CellError, UsageError } from '../errors.js';
import type { CellOutput } from './cell.js';
import type { Cell } from './plan.js';

const NEXT = 0; // the next cell to take
const STOP = 1; // non-zero: take no more cells (a cell failed, or the run was stopped)
const DONE = 2; // cells finished
const AT = 3;   // AT + lane: the cell that lane runs now, −1 between cells

/** What a worker lane is given: every cell of the run, the shared counters, its lane number and
 * how many lanes there are. */
export interface LaneTask {
  cells: Cell[];
  queue: SharedArrayBuffer;
  lane: number;
  lanes: number;
  /** The compiled engine (shared code, not recompiled), when a cell runs on it. */
  module?: WebAssembly.Module;
}

/** An error as it crosses from a worker: a thread passes an Error's message, not its class, and
 * the class decides the exit code (a bad script line is a usage error, exit 2, on any thread). */
export interface LaneError {
  kind: 'usage' | 'cell' | 'other';
  message: string;
}

/** What a worker lane returns: the cells it ran, by index, with their outputs, and the error that
 * stopped it, if one did. */
export interface LaneOutput {
  outs: [index: number, output: CellOutput][];
  error?: LaneError;
}

export function laneError(e: unknown): LaneError {
  const kind = e instanceof UsageError ? 'usage' : e instanceof CellError ? 'cell' : 'other';
  return { kind, message: (e as Error)?.message ?? String(e) };
}

/** The error a worker lane passed, as its own class again ('other' stays a plain Error). */
export function laneErrorOf(e: LaneError): Error {
  return e.kind === 'usage' ? new UsageError(e.message) : e.kind === 'cell' ? new CellError(e.message) : new Error(e.message);
}

export class CellQueue {
  private readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  static create(lanes: number): CellQueue {
    const q = new CellQueue(new SharedArrayBuffer((AT + lanes) * 4));
    for (let l = 0; l < lanes; l++) Atomics.store(q.words, AT + l, -1);
    return q;
  }

  /** Takes no more cells, on any lane. */
  stop(): void {
    Atomics.store(this.words, STOP, 1);
  }

  /** Cells finished so far, on every lane. */
  done(): number {
    return Atomics.load(this.words, DONE);
  }

  /** Cells a lane may still take, of `total` over `lanes`: those no lane has taken yet, shared out. */
  share(total: number, lanes: number): number {
    return Math.ceil(Math.max(0, total - Atomics.load(this.words, NEXT)) / lanes);
  }

  /** The cell index `lane` runs now, or −1. */
  at(lane: number): number {
    return Atomics.load(this.words, AT + lane);
  }

  /**
   * Runs cells on this thread as lane `lane` until none is left or the queue is stopped; each
   * output goes to `store` as it comes. A cell that throws stops the queue, and the error goes on.
   */
  async drain(cells: Cell[], lane: number, run: (c: Cell) => Promise<CellOutput>, store: (index: number, out: CellOutput) => void): Promise<void> {
    const w = this.words;
    for (;;) {
      if (Atomics.load(w, STOP) !== 0) return;
      const i = Atomics.add(w, NEXT, 1);
      if (i >= cells.length) return;
      Atomics.store(w, AT + lane, i);
      try {
        store(i, { ...await run(cells[i]!), lane });
      } catch (e) {
        this.stop();
        throw e;
      }
      Atomics.store(w, AT + lane, -1);
      Atomics.add(w, DONE, 1);
    }
  }
}
