// Question: how fast is one hot inner loop (swiotlb map + r600 GART bind, GPU read pass, unmap)
// written three ways — AssemblyScript → Wasm, plain typed-array TypeScript, and C from the
// system compiler — on the same input in the same run?
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BATCH, NSLABS, N_PAGES, type LoopInput, type LoopResult, makeInput, makeState, runLoop, writeInputFile,
} from './innerloop/loop.js';
import { timeTasks } from './tiny.js';
import type { BenchContext, BenchModule, Section } from './types.js';

/** The package root: the first directory above this file that holds package.json. */
export function packageRoot(from = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(from)}`);
    dir = up;
  }
}

// ---- Wasm host ----

interface InnerLoopExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  checksum(): number;
  run(p2m: number, orig: number, expected: number, req: number, m: number, batch: number,
      list: number, bounce: number, slotOrig: number, pte: number): number;
}

export async function loadInnerLoopModule(): Promise<WebAssembly.Module> {
  const file = join(packageRoot(), 'build', 'innerloop.wasm');
  if (!existsSync(file)) throw new Error(`${file} is missing: build it with npx asc bench/innerloop/loop.as.ts --config bench/innerloop/asconfig.json --target release`);
  return WebAssembly.compile(readFileSync(file));
}

/** A fresh instance with the input copied into its linear memory; run() is the whole loop. */
export function createWasmLoop(mod: WebAssembly.Module, inp: LoopInput): { run(): LoopResult } {
  const inst = new WebAssembly.Instance(mod, {
    env: { abort: () => { throw new Error('innerloop.wasm aborted (out of memory?)'); } },
  });
  const x = inst.exports as unknown as InnerLoopExports;
  const p2m = x.alloc(4 * inp.n);
  const orig = x.alloc(8 * inp.n);
  const expected = x.alloc(8 * inp.n);
  const req = x.alloc(4 * Math.max(1, inp.m));
  const list = x.alloc(4 * NSLABS);
  const bounce = x.alloc(4 * NSLABS);
  const slotOrig = x.alloc(4 * NSLABS);
  const pte = x.alloc(8 * inp.batch);
  // All growth happened above: views made now stay attached.
  const buf = x.memory.buffer;
  new Uint32Array(buf, p2m, inp.n).set(inp.p2m);
  new Uint32Array(buf, orig, 2 * inp.n).set(inp.orig);
  new Uint32Array(buf, expected, 2 * inp.n).set(inp.expected);
  new Uint32Array(buf, req, inp.m).set(inp.req);
  return {
    run: () => {
      const mismatches = x.run(p2m, orig, expected, req, inp.m, inp.batch, list, bounce, slotOrig, pte);
      return { mismatches: mismatches >>> 0, checksum: x.checksum() >>> 0 };
    },
  };
}

// ---- C ----

export type CBuild = { ok: true; bin: string } | { ok: false; reason: string };

/** Compiles bench/innerloop/loop.c with `cc -O2` into dir; never throws. */
export function compileC(dir: string): CBuild {
  const src = join(packageRoot(), 'bench', 'innerloop', 'loop.c');
  if (!existsSync(src)) return { ok: false, reason: `${src} not found` };
  const bin = join(dir, process.platform === 'win32' ? 'innerloop.exe' : 'innerloop');
  const r = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no C compiler (cc not found)' : `cc: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `cc -O2 failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n')[0] ?? ''}` };
  return { ok: true, bin };
}

export interface CRun extends LoopResult { nsPerRun: number }

/** Runs the compiled C binary on an input file: one untimed warm-up, then `runs` timed runs (mean). */
export function runC(bin: string, inputFile: string, runs: number): CRun {
  const r = spawnSync(bin, [inputFile, String(runs)], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`C inner loop: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`C inner loop exited ${r.status}: ${r.stderr.trim()}`);
  const parts = r.stdout.trim().split(/\s+/).map(Number);
  if (parts.length !== 3 || parts.some((v) => !Number.isFinite(v))) throw new Error(`C inner loop: unexpected output '${r.stdout.trim()}'`);
  return { nsPerRun: parts[0]!, mismatches: parts[1]!, checksum: parts[2]! };
}

function same(a: LoopResult, b: LoopResult): boolean {
  return a.mismatches === b.mismatches && a.checksum === b.checksum;
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

export const innerLoop: BenchModule = {
  id: 'inner-loop',
  async run(ctx: BenchContext): Promise<Section> {
    const m = ctx.quick ? 1 << 18 : 1 << 20;
    const iterations = ctx.quick ? 8 : 15;
    ctx.log(`inner loop: generating input (n=${N_PAGES}, m=${m}, seed ${ctx.seed})`);
    const inp = makeInput(ctx.seed, m);
    const dir = mkdtempSync(join(tmpdir(), 'gartbench-innerloop-'));
    try {
      const inputFile = join(dir, 'input.bin');
      writeInputFile(inp, inputFile);

      // Setup (instantiation, copies, state arrays) outside the timed functions.
      const mod = await loadInnerLoopModule();
      const wasm = createWasmLoop(mod, inp);
      const st = makeState(inp.batch);
      let tsOut: LoopResult | undefined;
      let wasmOut: LoopResult | undefined;
      ctx.log(`inner loop: timing TypeScript and Wasm (${iterations} runs each after a warm-up)`);
      const [tsT, wasmT] = await timeTasks([
        { name: 'typescript', fn: () => { tsOut = runLoop(inp, st); return tsOut; } },
        { name: 'wasm', fn: () => { wasmOut = wasm.run(); return wasmOut; } },
      ], { iterations, timeMs: 0 });
      if (!tsOut || !wasmOut) throw new Error('inner loop: a variant did not run');
      if (!same(tsOut, wasmOut)) throw new Error(`inner loop: Wasm (${wasmOut.mismatches}, ${hex(wasmOut.checksum)}) disagrees with TypeScript (${tsOut.mismatches}, ${hex(tsOut.checksum)})`);

      ctx.log('inner loop: compiling and running C (cc -O2)');
      const build = compileC(dir);
      let cOut: CRun | undefined;
      let cReason = '';
      if (build.ok) {
        cOut = runC(build.bin, inputFile, iterations);
        if (!same(cOut, tsOut)) throw new Error(`inner loop: C (${cOut.mismatches}, ${hex(cOut.checksum)}) disagrees with TypeScript (${tsOut.mismatches}, ${hex(tsOut.checksum)})`);
      } else {
        cReason = build.reason;
        ctx.log(`inner loop: C not available: ${cReason}`);
      }

      const tsNs = (tsT!.meanMs * 1e6) / m;
      const wasmNs = (wasmT!.meanMs * 1e6) / m;
      const cNs = cOut ? cOut.nsPerRun / m : NaN;
      const mps = (ns: number) => 1e3 / ns; // M requests/s from ns/request
      const wasmVsTs = tsNs / wasmNs;
      const cVsWasm = cOut ? wasmNs / cNs : NaN;
      const row = (name: string, ns: number, rme: string, r: LoopResult) =>
        [name, `${ns.toFixed(2)}${rme}`, mps(ns).toFixed(1), (tsNs / ns).toFixed(2) + '×', r.mismatches, hex(r.checksum)];
      const rows: (string | number)[][] = [
        row('TypeScript (typed arrays)', tsNs, ` ±${tsT!.rmePct.toFixed(0)}%`, tsOut),
        row('AssemblyScript → Wasm', wasmNs, ` ±${wasmT!.rmePct.toFixed(0)}%`, wasmOut),
        cOut ? row('C (cc -O2)', cNs, '', cOut) : ['C (cc -O2)', `not available: ${cReason}`, '—', '—', '—', '—'],
      ];
      const bars = [
        { label: 'TypeScript', value: +mps(tsNs).toFixed(2) },
        { label: 'Wasm (AssemblyScript)', value: +mps(wasmNs).toFixed(2) },
        ...(cOut ? [{ label: 'C (cc -O2)', value: +mps(cNs).toFixed(2) }] : []),
      ];
      const batches = Math.ceil(m / inp.batch);
      return {
        id: 'inner-loop',
        title: 'One inner loop three ways: Wasm, TypeScript, C',
        question: 'How fast is one hot inner loop (swiotlb map + r600 GART bind, a GPU read pass, unmap) written three ways — AssemblyScript compiled to Wasm, plain typed-array TypeScript, and C compiled by the system compiler — on the same input in the same run?',
        tables: [{
          caption: `${m.toLocaleString('en-US')} requests over a ${N_PAGES.toLocaleString('en-US')}-page p2m, in ${batches} batches of ${inp.batch} (map+bind, read, unmap) through a ${NSLABS}-slot swiotlb pool; mean of ${iterations} runs after a warm-up, one thread. Ratio = speed relative to TypeScript.`,
          columns: ['variant', 'ns per request', 'M requests/s', 'ratio vs TS', 'mismatches', 'checksum'],
          rows,
        }],
        metrics: [
          { name: 'Inner loop, Wasm (AssemblyScript)', unit: 'M req/s', value: +mps(wasmNs).toFixed(2) },
          { name: 'Inner loop, TypeScript (typed arrays)', unit: 'M req/s', value: +mps(tsNs).toFixed(2) },
          ...(cOut ? [{ name: 'Inner loop, C (cc -O2)', unit: 'M req/s', value: +mps(cNs).toFixed(2) }] : []),
          { name: 'Inner loop, Wasm ÷ TypeScript', unit: 'x', value: +wasmVsTs.toFixed(2) },
          ...(cOut ? [{ name: 'Inner loop, C ÷ Wasm', unit: 'x', value: +cVsWasm.toFixed(2) }] : []),
        ],
        charts: [{ title: 'Inner loop throughput (M requests/s)', unit: 'M req/s', bars }],
        targets: [
          { what: 'Wasm ≥ 2.5× the typed-array TypeScript', measured: `${wasmVsTs.toFixed(2)}× (${wasmNs.toFixed(2)} vs ${tsNs.toFixed(2)} ns/request)`, met: wasmVsTs >= 2.5 },
          cOut
            ? { what: 'Wasm within 2× of C', measured: `C is ${cVsWasm.toFixed(2)}× Wasm (${cNs.toFixed(2)} vs ${wasmNs.toFixed(2)} ns/request)`, met: cVsWasm <= 2 }
            : { what: 'Wasm within 2× of C', measured: `not measured: C not available: ${cReason}`, met: false },
        ],
        notes: [
          'All variants ran the same input (seeded xorshift32, generated once in TypeScript; C reads it from a binary file in a temp dir) and produced the same mismatch count and checksum; a disagreement fails the benchmark.',
          'Per request: allocate 2 consecutive slots with the 2010 swiotlb algorithm (stride 1, next-fit cursor, 128-slot segments), look up the mfn, copy the page\'s 2 unit stamps into the bounce slots, write the r600 PTE (bus & ~0xFFF) | 0x67; then a separate pass decodes every PTE, reads the bounce stamps, compares them with the expected stamps (~1/8 of pages differ) and folds PTE and the slot\'s recorded mfn into an FNV-style checksum; then every run is freed with the kernel\'s merge rule.',
          `TypeScript and Wasm are timed with tinybench (mean of ${iterations} runs after a warm-up; instantiation, input copies and state allocation are outside the timed function). The C binary times itself with clock_gettime(CLOCK_MONOTONIC) and reports the MEAN of ${iterations} runs after one untimed warm-up; its process start and file read are not timed.`,
          cOut ? 'C was compiled at bench time with `cc -O2` from bench/innerloop/loop.c.' : `C: not available: ${cReason}. The C row shows the reason, the C metric and the C÷Wasm ratio are omitted, and the "within 2× of C" target could not be checked (reported as not met).`,
        ],
        ratios: cOut ? { wasmVsTs, cVsWasm } : { wasmVsTs },
        data: { m, n: N_PAGES, batch: inp.batch, iterations, tsNs, wasmNs, cNs: cOut ? cNs : null, cAvailable: !!cOut, cReason: cReason || undefined },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
