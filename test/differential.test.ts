// The two engines agree: seeded random DMA-API scripts, misuse included, give identical
// counters, first violation and dma-debug records on the Wasm engine and the reference model.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DIRS, KERNELS, PLATFORMS } from '../src/engine/abi.js';
import { createEngine } from '../src/engine/factory.js';
import { type WasmEngine, defaultEnginePath, loadEngineModule } from '../src/engine/wasm.js';
import { scrubbedLikeFresh } from './engineHarness.js';
import { OpSink } from '../src/source/sink.js';
import type { Engine } from '../src/engine/types.js';
import { machineConfig } from '../src/run/machine.js';
import type { DeviceName } from '../src/source/scenario.js';
import { ReplayTranslator } from '../src/source/replay.js';
import { readRaw } from '../src/run/cell.js';
import { STRATEGY_PROFILES } from '../src/source/workloads.js';
import { STRATEGIES } from '../src/cli/options.js';

const DEVICES: DeviceName[] = ['r100', 'r600', 'nv04', 'nv50'];
const OPS = ['alloc', 'alloc_coherent', 'free', 'free_coherent', 'exchange', 'map', 'mapping_error', 'sync_for_device',
  'sync_for_cpu', 'unmap', 'cpu_write', 'cpu_read', 'dev_write', 'dev_read', 'gart_bind', 'gart_unbind', 'gpu_write', 'gpu_read',
  'tt_populate', 'tt_bind', 'tt_unbind', 'tt_sync', 'tt_unpopulate'] as const;
const TT_ONLY = ['tt_bind', 'tt_unbind', 'tt_sync', 'tt_unpopulate'];
const BUFFER_ONLY = ['free', 'free_coherent', 'exchange', 'map', 'mapping_error', 'sync_for_device', 'sync_for_cpu', 'unmap', 'dev_write', 'dev_read', 'gart_bind'];
const GPU_PAGES = 64;

interface Machine { platform: number; device: number; kernel: number; payload: number; seed: number; swiotlb: number; low: number; strategy: number; lazy: number; dyn: number; align: number; above: number }
/** --iommu-mode: lazy (the flush queue) exists on the modern kernel only. */
const iommuModeOf = (m: Machine): 'lazy' | 'strict' => (m.kernel === 1 && m.lazy === 1 ? 'lazy' : 'strict');
/** The kernel of a machine: coco (platform 4, a confidential-computing guest) is modern only. */
const kernelOf = (m: Machine) => KERNELS[PLATFORMS[m.platform] === 'coco' ? 1 : m.kernel]!;
/** --swiotlb-dynamic: CONFIG_SWIOTLB_DYNAMIC exists on the modern kernel only. */
const dynamicOf = (m: Machine): { swiotlbDynamic?: true; swiotlb?: number } =>
  (kernelOf(m) === 'modern' && m.dyn === 1 ? { swiotlbDynamic: true, swiotlb: 256 * 1024 } : {}); // the smallest pool, so that it grows
/** --min-align-mask: the device's min_align_mask exists on the modern kernel only (absent when 0). */
const alignOf = (m: Machine): { minAlignMask?: number } => (kernelOf(m) === 'modern' && m.align !== 0 ? { minAlignMask: m.align } : {});
type Action = [number, number, number, number, number];

/** Turns abstract random actions into a well-formed script (names valid, ranges inside buffers). */
function toScript(actions: Action[], bytes: boolean): object[] {
  const live: { name: string; pages: number; tt: boolean }[] = [];
  let next = 0;
  const out: object[] = [];
  const g = bytes ? 1 : 2048;
  const range = (pages: number, x: number, y: number) => {
    const total = (pages * 4096) / g;
    const off = x % total;
    const size = 1 + (y % (total - off));
    return { offset: off * g, size: size * g };
  };
  for (const [k, a, b, c, d] of actions) {
    const op = OPS[k % OPS.length]!;
    // A tt op needs a tt, a buffer op a buffer: pick among the live ones of the right kind.
    const fits = live.filter((x) => (TT_ONLY.includes(op) ? x.tt : BUFFER_ONLY.includes(op) ? !x.tt : true));
    if (op === 'alloc' || op === 'alloc_coherent' || op === 'tt_populate' || fits.length === 0) {
      if (live.length >= 8) continue;
      const pages = [1, 1, 2, 3, 4, 8, 16, 64][a % 8]!;
      const name = `b${next++}`;
      const tt = op === 'tt_populate' || (fits.length === 0 && TT_ONLY.includes(op));
      live.push({ name, pages, tt });
      if (tt) out.push({ op: 'tt_populate', buf: name, pages, caching: ['cached', 'wc', 'uc'][b % 3] });
      else out.push(op === 'alloc_coherent' ? { op, buf: name, pages } : { op: 'alloc', buf: name, pages, zone: b % 3 === 0 ? 'normal' : 'dma32' });
      continue;
    }
    const buf = fits[a % fits.length]!;
    const bi = live.indexOf(buf);
    const dir = DIRS[b % 3]!;
    switch (op) {
      case 'free':
      case 'free_coherent':
      case 'tt_unpopulate':
        live.splice(bi, 1);
        out.push({ op, buf: buf.name });
        break;
      case 'tt_unbind':
        out.push({ op, buf: buf.name });
        break;
      case 'tt_sync':
        out.push({ op, buf: buf.name, for: c % 2 ? 'cpu' : 'device' });
        break;
      case 'exchange':
        out.push({ op, buf: buf.name, addressBits: [32, 32, 30, 40][c % 4] });
        break;
      case 'mapping_error':
        out.push({ op, buf: buf.name });
        break;
      case 'unmap':
        out.push({ op, buf: buf.name, dir, size: d % 4 === 0 ? range(buf.pages, 0, c).size : buf.pages * 4096 });
        break;
      case 'map':
      case 'sync_for_device':
      case 'sync_for_cpu':
        out.push({ op, buf: buf.name, dir, ...(d % 3 === 0 ? range(buf.pages, c, d) : {}) });
        break;
      case 'cpu_write':
      case 'cpu_read':
      case 'dev_write':
      case 'dev_read':
        out.push({ op, buf: buf.name, ...(d % 2 === 0 ? range(buf.pages, c, d) : {}) });
        break;
      case 'gart_bind':
      case 'tt_bind':
        out.push({ op, buf: buf.name, gpuPage: c % (GPU_PAGES - buf.pages + 1) });
        break;
      default: {
        const gpuPage = c % GPU_PAGES;
        out.push({ op, gpuPage, pages: 1 + (d % Math.min(8, GPU_PAGES - gpuPage)) });
      }
    }
  }
  return out;
}

function runOn(engine: Engine, m: Machine, script: object[]) {
  const cfg = machineConfig({
    platform: PLATFORMS[m.platform]!, device: DEVICES[m.device]!, kernel: kernelOf(m), iommuMode: iommuModeOf(m), ram: 256 * 2 ** 20,
    hostRam: 4 * 2 ** 30 + 256 * 2 ** 20 + m.above, xenLowFree: m.low, swiotlb: m.swiotlb, payloadBytes: m.payload, seed: m.seed, ...dynamicOf(m), ...alignOf(m),
  });
  assert.equal(engine.init(cfg), 0);
  const sink = new OpSink(engine);
  const tt = STRATEGY_PROFILES[STRATEGIES[m.strategy % STRATEGIES.length]!];
  const t = new ReplayTranslator('fuzz.jsonl', { maxBuffers: cfg.maxBuffers, gartPages: cfg.gartPages, payloadBytes: m.payload, tt }, sink);
  script.forEach((o, i) => t.line(JSON.stringify(o), i + 1));
  let pools: number[] = [];
  sink.finish(0, () => { pools = engine.pools(); });
  return { ...readRaw(engine, sink), invariants: engine.checkInvariants?.() ?? -1, poolPages: [...pools, ...engine.pools()] };
}

import { COUNTERS } from '../src/engine/abi.js';

// The debug build keeps the engine's asserts (record kinds, ranges): a broken one traps.
const debugModule = loadEngineModule(defaultEnginePath(true));

/** What differs between two raw outputs, named. */
function differences(a: ReturnType<typeof readRaw>, b: ReturnType<typeof readRaw>): string[] {
  const out: string[] = [];
  COUNTERS.forEach((n, i) => { if (a.counters[i] !== b.counters[i]) out.push(`${n} wasm=${a.counters[i]} js=${b.counters[i]}`); });
  const v = (x: bigint[] | null) => (x ? x.join(',') : 'null');
  if (v(a.violation) !== v(b.violation)) out.push(`violation wasm=[${v(a.violation)}] js=[${v(b.violation)}]`);
  if (a.debug.total !== b.debug.total) out.push(`debug total wasm=${a.debug.total} js=${b.debug.total}`);
  const n = Math.max(a.debug.records.length, b.debug.records.length);
  for (let i = 0; i < n; i++) {
    const x = a.debug.records[i]?.join(',');
    const y = b.debug.records[i]?.join(',');
    if (x !== y) { out.push(`debug[${i}] wasm=[${x}] js=[${y}]`); break; }
  }
  return out;
}

const machineArb = fc.record({
  platform: fc.integer({ min: 0, max: 4 }), // coco (4) runs on the modern kernel
  device: fc.integer({ min: 0, max: 3 }),
  kernel: fc.integer({ min: 0, max: 1 }),
  payload: fc.constantFrom(0, 0, 64, 4096),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  swiotlb: fc.constantFrom(256 * 1024, 512 * 1024, 4 * 2 ** 20),
  low: fc.constantFrom(0, 128 * 1024, 2 * 2 ** 20, 32 * 2 ** 20), // what Xen has left below 4 GiB once booted (the pool comes on top)
  strategy: fc.nat(), // the TTM pool behind tt_* ops
  lazy: fc.integer({ min: 0, max: 1 }), // modern: --iommu-mode lazy or strict
  dyn: fc.integer({ min: 0, max: 1 }), // modern: --swiotlb-dynamic
  align: fc.constantFrom(0, 511, 4095), // modern: --min-align-mask (none, below a slot, NVMe's)
  // xen-pv: host frames above 4 GiB that are Xen's, free at boot, beside the guest's; destroy
  // exchanges hand them out (the Wasm engine keeps their stamps in chunks: assembly/layout.ts).
  above: fc.constantFrom(0, 64 * 2 ** 20),
});
const actionsArb = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 60 });

describe('differential: Wasm engine vs reference model', () => {
  it('identical results on random scripts (misuse included)', async () => {
    const mod = await debugModule;
    await fc.assert(
      fc.asyncProperty(machineArb, actionsArb, async (m, actions) => {
        const script = toScript(actions, m.payload === 4096);
        const engine = await createEngine('wasm', mod);
        const wasm = runOn(engine, m, script);
        const js = runOn(await createEngine('js'), m, script);
        const diff = differences(wasm, js);
        // One machine in 8 hands its memory on, which must then read as fresh (a scan of all of it).
        const scrub = m.seed % 8 === 0 ? scrubbedLikeFresh(engine as WasmEngine, mod) : '';
        if (scrub) diff.push(`scrub: ${scrub}`);
        if (wasm.invariants !== js.invariants) diff.push(`invariants wasm=${wasm.invariants} js=${js.invariants}`);
        if (wasm.poolPages.join() !== js.poolPages.join()) diff.push(`pools wasm=[${wasm.poolPages}] js=[${js.poolPages}]`);
        // bit 2 (swiotlb back to its initial state) holds only once nothing is mapped; scripts may leak mappings
        if ((wasm.invariants & ~4) !== 0) diff.push(`invariants violated: mask ${wasm.invariants}`);
        if (diff.length) throw new Error(`engines disagree: ${diff.join('; ')}\nscript:\n${script.map((o) => JSON.stringify(o)).join('\n')}`);
      }),
      { includeErrorInReport: true, numRuns: Number(process.env.GARTBENCH_FUZZ_RUNS ?? 150), seed: Number(process.env.GARTBENCH_FUZZ_SEED ?? 20261121) },
    );
  });

  // --swiotlb-dynamic under pressure: a swiotlb-force machine whose boot pool (--swiotlb 256K
  // boots as 2 MiB on modern: 8 areas of 128 slots) seven 64-page maps and a 63-page map fill (the
  // GART dummy page holds slots 0-1 of area 0), then a 6 KiB map that takes a transient pool
  // and has the worker add a pool, released after the random script: its maps find the worker's
  // pool first and grow again when it fills (docs/ENGINE.md §5).
  it('identical results when the swiotlb grows (--swiotlb-dynamic)', async () => {
    const mod = await debugModule;
    const fill = [...Array.from({ length: 8 }, (_, i) => [{ op: 'alloc', buf: `fill${i}`, pages: i < 7 ? 64 : 63, zone: 'dma32' },
      { op: 'map', buf: `fill${i}`, dir: 'to_device' }]).flat(),
      // 6 KiB: a transient pool of 3 slots, an odd count (alloc_dma_pages: get_order of its bytes)
      { op: 'alloc', buf: 'grow', pages: 2, zone: 'dma32' }, { op: 'cpu_write', buf: 'grow' }, { op: 'map', buf: 'grow', dir: 'bidirectional', offset: 0, size: 6144 }];
    const release = [{ op: 'dev_write', buf: 'grow' }, { op: 'unmap', buf: 'grow', dir: 'bidirectional', size: 6144 }, { op: 'cpu_read', buf: 'grow' }];
    await fc.assert(
      fc.asyncProperty(machineArb, actionsArb, async (m0, actions) => {
        const m = { ...m0, platform: PLATFORMS.indexOf('swiotlb-force'), kernel: 1, dyn: 1 };
        const script = [...fill, ...toScript(actions, m.payload === 4096), ...release];
        const engine = await createEngine('wasm', mod);
        const wasm = runOn(engine, m, script);
        const js = runOn(await createEngine('js'), m, script);
        const diff = differences(wasm, js);
        // One machine in 8 hands its memory on, which must then read as fresh (a scan of all of it).
        const scrub = m.seed % 8 === 0 ? scrubbedLikeFresh(engine as WasmEngine, mod) : '';
        if (scrub) diff.push(`scrub: ${scrub}`);
        if (wasm.invariants !== js.invariants) diff.push(`invariants wasm=${wasm.invariants} js=${js.invariants}`);
        if ((wasm.invariants & ~4) !== 0) diff.push(`invariants violated: mask ${wasm.invariants}`);
        if (diff.length) throw new Error(`engines disagree: ${diff.join('; ')}\nscript:\n${script.map((o) => JSON.stringify(o)).join('\n')}`);
      }),
      { includeErrorInReport: true, numRuns: Math.ceil(Number(process.env.GARTBENCH_FUZZ_RUNS ?? 150) / 4), seed: Number(process.env.GARTBENCH_FUZZ_SEED ?? 20261121) },
    );
  });
});

// ---- the TTM / AGP layer (docs/ENGINE.md §11-13) ----------------------------------------------
import { BindMode, GattMode, OP_WORDS, Op, Pool } from '../src/engine/abi.js';

const TT_DEVICES: DeviceName[] = ['r100', 'r600', 'nv04', 'nv50', 'agp'];

/** Random TTM-level op streams: populate/bind/write/read/sync/unbind/unpopulate over a few slots. */
function ttOps(device: DeviceName, actions: Action[], gattMode: number): Int32Array {
  const words: number[][] = [];
  const agp = device === 'agp';
  if (agp) words.push([Op.GATT_CREATE, 1024, gattMode]);
  const agpPool = [Pool.agp, Pool.agpCoherent, Pool.agpFsb][gattMode]!;
  const agpMode = [BindMode.map, BindMode.coherent, BindMode.fsb][gattMode]!;
  const tts: ({ pages: number; pool: number; gpu: number } | null)[] = [null, null, null, null, null, null];
  for (const [k, a, b, c, d] of actions) {
    const slot = a % tts.length;
    const tt = tts[slot];
    switch (k % 8) {
      case 0: {
        if (tt) words.push([Op.TT_UNPOPULATE, slot]);
        // Now and then a large tt, to run the pools dry part way (ttm_pool_alloc's error path with
        // blocks already taken from the pool, swiotlb or Xen's low memory full).
        const pages = b % 7 === 0 ? 64 + (b % 193) : 1 + (b % 48);
        const pool = agp ? agpPool : [Pool.ttm, Pool.ttmDma, Pool.xenAware][c % 3]!;
        tts[slot] = { pages, pool, gpu: -1 };
        words.push([Op.TT_POPULATE, slot, pages, pool, agp ? 2 : c % 3]);
        break;
      }
      case 1:
        if (tt && tt.gpu < 0 && tt.pages <= 64) {
          tt.gpu = slot * 64 + (d % (64 - tt.pages + 1));
          const mode = agp ? agpMode : tt.pool === Pool.ttmDma ? BindMode.coherent : BindMode.map;
          words.push([Op.TT_BIND, slot, tt.gpu, mode]);
        }
        break;
      case 2:
        if (tt) words.push([Op.CPU_WRITE, slot, 0, tt.pages * 4096]);
        break;
      case 3:
        if (tt) words.push([Op.CPU_READ, slot, 0, tt.pages * 4096]);
        break;
      case 4:
        if (tt && tt.gpu >= 0) words.push([d % 2 ? Op.GPU_READ : Op.GPU_WRITE, tt.gpu, tt.pages]);
        else words.push([Op.GPU_READ, (c % 6) * 64, 1 + (d % 8)]);
        break;
      case 5:
        if (tt) words.push([Op.TT_SYNC, slot, b % 2, (c >> 1) % 2]); // mode: per page, or 6.12 nouveau's runs
        break;
      case 6:
        if (tt && tt.gpu >= 0) { words.push([Op.TT_UNBIND, slot]); tt.gpu = -1; }
        break;
      case 7:
        if (tt) { words.push([Op.TT_UNPOPULATE, slot]); tts[slot] = null; }
        break;
    }
  }
  words.push([Op.RELEASE]);
  const ops = new Int32Array(words.length * OP_WORDS);
  words.forEach((w, i) => ops.set(w, i * OP_WORDS));
  return ops;
}

function runTt(engine: Engine, m: Machine & { ttDevice: number; gattMode: number }, ops: Int32Array) {
  const device = TT_DEVICES[m.ttDevice]!;
  const cfg = machineConfig({
    platform: PLATFORMS[m.platform]!, device, kernel: kernelOf(m), iommuMode: iommuModeOf(m), ram: 256 * 2 ** 20,
    hostRam: 4 * 2 ** 30 + 256 * 2 ** 20 + m.above, xenLowFree: m.low, swiotlb: m.swiotlb, payloadBytes: m.payload, seed: m.seed, ...dynamicOf(m), ...alignOf(m),
  });
  assert.equal(engine.init(cfg), 0);
  engine.run(ops, ops.length / OP_WORDS, 0);
  return { ...readRaw(engine), invariants: engine.checkInvariants?.() ?? -1 };
}

describe('differential: the TTM and AGP layer', () => {
  it('identical results on random TTM/AGP op streams, invariants hold after teardown', async () => {
    const mod = await debugModule;
    const ttMachine = fc.record({ ttDevice: fc.integer({ min: 0, max: 4 }), gattMode: fc.integer({ min: 0, max: 2 }) });
    await fc.assert(
      fc.asyncProperty(machineArb, ttMachine, actionsArb, async (m0, t, actions) => {
        const m = { ...m0, ...t };
        const ops = ttOps(TT_DEVICES[m.ttDevice]!, actions, m.gattMode);
        const engine = await createEngine('wasm', mod);
        const wasm = runTt(engine, m, ops);
        const js = runTt(await createEngine('js'), m, ops);
        const diff = differences(wasm, js);
        // One machine in 8 hands its memory on, which must then read as fresh (a scan of all of it).
        const scrub = m.seed % 8 === 0 ? scrubbedLikeFresh(engine as WasmEngine, mod) : '';
        if (scrub) diff.push(`scrub: ${scrub}`);
        if (wasm.invariants !== js.invariants) diff.push(`invariants wasm=${wasm.invariants} js=${js.invariants}`);
        if (wasm.invariants !== 0) diff.push(`invariants violated: mask ${wasm.invariants}`);
        if (diff.length) throw new Error(`engines disagree: ${diff.join('; ')}\nops: ${Array.from(ops).join(',')}`);
      }),
      { includeErrorInReport: true, numRuns: Number(process.env.GARTBENCH_FUZZ_RUNS ?? 150), seed: Number(process.env.GARTBENCH_FUZZ_SEED ?? 20261121) },
    );
  });
});
