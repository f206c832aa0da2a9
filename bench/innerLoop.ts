// Question: how fast is one hot inner loop (swiotlb map + r600 GART bind, GPU read pass, unmap)
// written three ways — AssemblyScript → Wasm, plain typed-array TypeScript, and C from the
// system compiler — on the same input in the same run?
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  NSLABS, N_PAGES, type LoopInput, type LoopResult, makeInput, makeState, runLoop, writeInputFile,
} from './innerloop/loop.js';
import { timedMetric } from './metrics.js';
import { timeRounds } from './rounds.js';
import { pairedRatios, readable, round3, statCell, summarize, summarizeAs } from './stats.js';
import type { BenchContext, BenchModule, Section } from './types.js';
import { packageFile } from '../src/paths.js';


// ---- Wasm host ----

interface InnerLoopExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  checksum(): number;
  run(p2m: number, orig: number, expected: number, req: number, m: number, batch: number,
      list: number, bounce: number, slotOrig: number, pte: number): number;
}

export async function loadInnerLoopModule(): Promise<WebAssembly.Module> {
  const file = packageFile('build', 'innerloop.wasm');
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
  const src = packageFile('bench', 'innerloop', 'loop.c');
  if (!existsSync(src)) return { ok: false, reason: `${src} not found` };
  const bin = join(dir, process.platform === 'win32' ? 'innerloop.exe' : 'innerloop');
  const r = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no C compiler (cc not found)' : `cc: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `cc -O2 failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n')[0] ?? ''}` };
  return { ok: true, bin };
}

export interface CRun extends LoopResult {
  /** Nanoseconds of each timed run, in run order. */
  samplesNs: number[];
}

/** Runs the compiled C binary on an input file: one untimed warm-up, then `runs` timed runs, each reported. */
export function runC(bin: string, inputFile: string, runs: number): CRun {
  const r = spawnSync(bin, [inputFile, String(runs)], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`C inner loop: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`C inner loop exited ${r.status}: ${r.stderr.trim()}`);
  const parts = r.stdout.trim().split(/\s+/).map(Number);
  if (parts.length !== 2 + runs || parts.some((v) => !Number.isFinite(v))) throw new Error(`C inner loop: unexpected output '${r.stdout.trim()}'`);
  return { mismatches: parts[0]!, checksum: parts[1]!, samplesNs: parts.slice(2) };
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
    const rounds = ctx.quick ? 8 : 15;
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
      ctx.log(`inner loop: timing TypeScript and Wasm (${rounds} rounds, each runs both, after a warm-up round)`);
      const t = await timeRounds([
        { name: 'ts', fn: () => { tsOut = runLoop(inp, st); } },
        { name: 'wasm', fn: () => { wasmOut = wasm.run(); } },
      ], rounds);
      if (!tsOut || !wasmOut) throw new Error('inner loop: a variant did not run');
      if (!same(tsOut, wasmOut)) throw new Error(`inner loop: Wasm (${wasmOut.mismatches}, ${hex(wasmOut.checksum)}) disagrees with TypeScript (${tsOut.mismatches}, ${hex(tsOut.checksum)})`);

      ctx.log('inner loop: compiling and running C (cc -O2)');
      const build = compileC(dir);
      let cOut: CRun | undefined;
      let cReason = '';
      if (build.ok) {
        cOut = runC(build.bin, inputFile, rounds);
        if (!same(cOut, tsOut)) throw new Error(`inner loop: C (${cOut.mismatches}, ${hex(cOut.checksum)}) disagrees with TypeScript (${tsOut.mismatches}, ${hex(tsOut.checksum)})`);
      } else {
        cReason = build.reason;
        ctx.log(`inner loop: C not available: ${cReason}`);
      }

      // Per request: ns from each sample, then M requests/s (bigger is better) from each.
      const perReq = (ms: number[]) => ms.map((v) => (v * 1e6) / m);
      const nsTs = perReq(t.ts!);
      const nsWasm = perReq(t.wasm!);
      const nsC = cOut ? cOut.samplesNs.map((v) => v / m) : [];
      const mps = (ns: number) => 1e3 / ns; // M requests/s from ns/request
      const wasmVsTs = pairedRatios(nsTs, nsWasm); // round by round: TS time ÷ Wasm time
      const wasmOverC = cOut ? pairedRatios(nsC, nsWasm) : []; // C's i-th run against Wasm's i-th: C time ÷ Wasm time
      const fig = (ns: number[]) => ({ ns: summarize(ns), rate: summarizeAs(ns, mps) });
      const ts = fig(nsTs);
      const wa = fig(nsWasm);
      const c = cOut ? fig(nsC) : undefined;
      const f2 = readable;
      const row = (name: string, f: ReturnType<typeof fig>, vs: string, r: LoopResult) =>
        [name, statCell(f.ns, f2), statCell(f.rate), f.ns.samples, vs, r.mismatches.toLocaleString('en-US'), hex(r.checksum)];
      const rows: (string | number)[][] = [
        row('TypeScript (typed arrays)', ts, 'baseline', tsOut),
        row('AssemblyScript → Wasm', wa, `${statCell(summarize(wasmVsTs), f2)}×`, wasmOut),
        c && cOut ? row('C (cc -O2)', c, `${statCell(summarize(pairedRatios(nsTs, nsC)), f2)}×`, cOut) : ['C (cc -O2)', `not available: ${cReason}`, '—', '—', '—', '—', '—'],
      ];
      const bar = (label: string, f: ReturnType<typeof fig>) => ({ label, value: +round3(f.rate.median), lo: f.rate.min, hi: f.rate.max, text: round3(f.rate.median) });
      const bars = [bar('TypeScript', ts), bar('Wasm (AssemblyScript)', wa), ...(c ? [bar('C (cc -O2)', c)] : [])];
      const batches = Math.ceil(m / inp.batch);
      const vt = summarize(wasmVsTs);
      const vc = cOut ? summarize(wasmOverC) : undefined;
      return {
        id: 'inner-loop',
        title: 'One inner loop three ways: Wasm, TypeScript, C',
        question: 'How fast is one hot inner loop (swiotlb map + r600 GART bind, a GPU read pass, unmap) written three ways — AssemblyScript compiled to Wasm, plain typed-array TypeScript, and C compiled by the system compiler — on the same input in the same run?',
        tables: [{
          caption: `${m.toLocaleString('en-US')} requests over a ${N_PAGES.toLocaleString('en-US')}-page p2m, in ${batches} batches of ${inp.batch} (map+bind, read, unmap) through a ${NSLABS}-slot swiotlb pool, one thread. Median (min–max) of ${rounds} runs after a warm-up. "vs baseline" is the speed relative to TypeScript.`,
          columns: ['variant', 'ns per request', 'M requests/s', 'samples', 'vs baseline', 'mismatches', 'checksum'],
          rows,
        }],
        metrics: [
          timedMetric('Inner loop, Wasm (AssemblyScript)', 'M req/s', wa.rate),
          timedMetric('Inner loop, TypeScript (typed arrays)', 'M req/s', ts.rate),
          ...(c ? [timedMetric('Inner loop, C (cc -O2)', 'M req/s', c.rate)] : []),
          timedMetric('Inner loop, Wasm ÷ TypeScript', 'x', vt),
          ...(vc ? [timedMetric('Inner loop, Wasm ÷ C', 'x', vc)] : []),
        ],
        charts: [{ title: 'Inner loop throughput (M requests/s; whiskers: min–max)', unit: 'M req/s', bars }],
        targets: [
          { what: 'inner loop: Wasm ≥ 2.5× the typed-array TypeScript (median)', measured: `${statCell(vt, f2)}×, ${vt.samples} rounds (${f2(wa.ns.median)} vs ${f2(ts.ns.median)} ns/request)`, met: vt.median >= 2.5 },
          vc && c
            ? { what: 'inner loop: Wasm within 2× of C (Wasm ÷ C ≥ 0.5, median)', measured: `Wasm ÷ C = ${statCell(vc, f2)}, ${vc.samples} rounds (${f2(wa.ns.median)} vs ${f2(c.ns.median)} ns/request)`, met: vc.median >= 0.5 }
            : { what: 'inner loop: Wasm within 2× of C (Wasm ÷ C ≥ 0.5, median)', measured: `not measured: C not available: ${cReason}`, met: null, notJudged: 'C not available' },
        ],
        notes: [
          'All variants ran the same input (seeded xorshift32, generated once in TypeScript; C reads it from a binary file in a temp dir) and produced the same mismatch count and checksum; a disagreement fails the benchmark.',
          'Per request: allocate 2 consecutive slots with the 2010 swiotlb algorithm (stride 1, next-fit cursor, 128-slot segments), look up the mfn, copy the page\'s 2 unit stamps into the bounce slots, write the r600 PTE (bus & ~0xFFF) | 0x67; then a separate pass decodes every PTE, reads the bounce stamps, compares them with the expected stamps (~1/8 of pages differ) and folds PTE and the slot\'s recorded mfn into an FNV-style checksum; then every run is freed with the kernel\'s merge rule.',
          `TypeScript and Wasm run in turn in each of ${rounds} rounds after a warm-up round (instantiation, input copies and state allocation are outside the timed calls), so Wasm ÷ TypeScript is taken round by round. The C binary times each of its ${rounds} runs with clock_gettime(CLOCK_MONOTONIC) after one untimed warm-up and reports every one; its process start and file read are not timed. C's process runs after all the TypeScript and Wasm rounds, so Wasm ÷ C (and C's "vs baseline") pair the i-th Wasm (TypeScript) run with C's i-th, taken at another time: unlike Wasm ÷ TypeScript, a change of load between them moves these ratios.`,
          cOut ? 'C was compiled at bench time with `cc -O2` from bench/innerloop/loop.c.' : `C: not available: ${cReason}. The C row shows the reason, the C metric and the Wasm ÷ C ratio are omitted, and the "within 2× of C" target could not be checked (reported as not met).`,
        ],
        ratios: {
          wasmVsTs: { kind: 'micro', samples: wasmVsTs },
          ...(cOut ? { wasmOverC: { kind: 'micro' as const, samples: wasmOverC } } : {}),
        },
        data: { m, n: N_PAGES, batch: inp.batch, rounds, nsTs, nsWasm, nsC: cOut ? nsC : null, cAvailable: !!cOut, cReason: cReason || undefined },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
