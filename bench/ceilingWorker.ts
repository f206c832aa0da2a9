// One thread of bench/ceiling.ts: waits at the shared start line, runs one kind of loop, and
// reports how long it took. The loops are the three things a simulated machine spends its time
// on: arithmetic, moving memory, and touching memory for the first time.
import { parentPort, workerData } from 'node:worker_threads';

export type LoopKind = 'alu' | 'bandwidth' | 'first-touch';

export interface LoopJob {
  kind: LoopKind;
  /** How much work: LCG steps (alu), bytes filled (bandwidth), bytes touched (first-touch). */
  size: number;
  /** Int32Array over a SharedArrayBuffer: [0] threads waiting, [1] the start signal. */
  gate: SharedArrayBuffer;
}

const WASM_PAGE = 65536;
const FILL_BUFFER = 64 * 2 ** 20;

/** Four independent LCG chains: the core's arithmetic, no memory. */
function alu(steps: number): number {
  let a = 1, b = 2, c = 3, d = 4;
  for (let i = 0; i < steps; i++) {
    a = (Math.imul(a, 1103515245) + 12345) | 0;
    b = (Math.imul(b, 22695477) + 1) | 0;
    c = ((c ^ (c << 5)) + i) | 0;
    d = (d + a) ^ b;
  }
  return a + b + c + d;
}

/** Fills one 64 MiB buffer (touched beforehand) over and over: the memory bus. */
function bandwidth(bytes: number, buf: Uint8Array): number {
  for (let done = 0, r = 1; done < bytes; done += buf.length, r++) buf.fill(r & 255);
  return buf[7]!;
}

/** Writes one byte per 4 KiB page of fresh Wasm memory: the page faults a new machine takes. */
function firstTouch(bytes: number): number {
  const m = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE) });
  const a = new Uint8Array(m.buffer);
  for (let i = 0; i < a.length; i += 4096) a[i] = 1;
  return a[0]!;
}

function run(job: LoopJob): number {
  const gate = new Int32Array(job.gate);
  // Set-up outside the timed part: the fill buffer is touched before the start line.
  const buf = job.kind === 'bandwidth' ? new Uint8Array(FILL_BUFFER).fill(1) : new Uint8Array(0);
  Atomics.add(gate, 0, 1);
  Atomics.notify(gate, 0);
  Atomics.wait(gate, 1, 0);
  const t0 = performance.now();
  if (job.kind === 'alu') alu(job.size);
  else if (job.kind === 'bandwidth') bandwidth(job.size, buf);
  else firstTouch(job.size);
  return performance.now() - t0;
}

if (parentPort) parentPort.postMessage(run(workerData as LoopJob));
