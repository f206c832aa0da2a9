// Question: what does each hot primitive cost on each engine — swiotlb map+unmap, xen bus
// translation, a GART bind of a 256-page buffer, exchanges of order 0 and 9, a TTM pool take/give?
// Each primitive is a small op batch that leaves the machine as it found it, so one machine
// serves every timed call; the machine is built outside the timed region.
import { Dir, OP_WORDS, Op, Pool, Caching, Zone } from '../src/engine/abi.js';
import { wasmModule } from '../src/engine/factory.js';
import { createJsEngine } from '../src/engine/js.js';
import type { Engine, EngineKind } from '../src/engine/types.js';
import { createWasmEngine } from '../src/engine/wasm.js';
import { machineConfig } from '../src/run/machine.js';
import type { DeviceName } from '../src/source/scenario.js';
import type { PlatformName } from '../src/engine/abi.js';
import { timedMetric } from './metrics.js';
import { timeRounds } from './rounds.js';
import { pairedRatios, readable, statCell, summarize, summarizeAs } from './stats.js';
import type { Bar, BenchContext, BenchModule, Metric, Ratio, Section } from './types.js';

type Word = [number, number?, number?, number?, number?];

interface Primitive {
  name: string;
  platform: PlatformName;
  device: DeviceName;
  /** Ops run once, untimed, to set the machine up. */
  setup: Word[];
  /** One repetition; the batch repeats it `reps` times. */
  body: Word[];
  reps: number;
  /** What one repetition is, for the per-op figure. */
  unit: string;
}

const PAGE = 4096;
const PRIMITIVES: Primitive[] = [
  {
    name: 'swiotlb map+unmap (1 page, swiotlb-force)', platform: 'swiotlb-force', device: 'r100', unit: 'map+unmap',
    setup: [[Op.ALLOC, 0, 1, Zone.dma32]], reps: 4096,
    body: [[Op.MAP, 0, Dir.bidirectional, 0, PAGE], [Op.UNMAP, 0, Dir.bidirectional, PAGE]],
  },
  {
    name: 'xen bus translation (map+unmap, 40-bit device, no bounce)', platform: 'xen-pv', device: 'r600', unit: 'map+unmap',
    setup: [[Op.ALLOC, 0, 1, Zone.dma32]], reps: 4096,
    body: [[Op.MAP, 0, Dir.bidirectional, 0, PAGE], [Op.UNMAP, 0, Dir.bidirectional, PAGE]],
  },
  {
    name: 'GART bind+unbind of a 256-page buffer (r600)', platform: 'bare-metal', device: 'r600', unit: 'bind+unbind',
    setup: [[Op.ALLOC_COHERENT, 0, 256]], reps: 256,
    body: [[Op.GART_BIND, 0, 0], [Op.GART_UNBIND, 0, 256]],
  },
  {
    name: 'XENMEM_exchange, order 0', platform: 'xen-pv', device: 'r100', unit: 'exchange',
    setup: [[Op.ALLOC, 0, 1, Zone.dma32]], reps: 1024,
    body: [[Op.EXCHANGE, 0, 32]],
  },
  {
    name: 'XENMEM_exchange, order 9', platform: 'xen-pv', device: 'r100', unit: 'exchange',
    setup: [[Op.ALLOC, 0, 512, Zone.dma32]], reps: 64,
    body: [[Op.EXCHANGE, 0, 32]],
  },
  {
    name: 'TTM pool take+give (1 page, wc, dma32)', platform: 'bare-metal', device: 'r100', unit: 'take+give',
    setup: [[Op.TT_POPULATE, 0, 1, Pool.ttm, Caching.wc], [Op.TT_UNPOPULATE, 0]], reps: 4096,
    body: [[Op.TT_POPULATE, 0, 1, Pool.ttm, Caching.wc], [Op.TT_UNPOPULATE, 0]],
  },
];

function encode(words: Word[], reps = 1): Int32Array {
  const ops = new Int32Array(words.length * reps * OP_WORDS);
  for (let r = 0; r < reps; r++) {
    words.forEach((w, i) => ops.set(w.map((x) => x ?? 0), (r * words.length + i) * OP_WORDS));
  }
  return ops;
}

function machine(kind: EngineKind, p: Primitive, mod: WebAssembly.Module): Engine {
  const engine = kind === 'wasm' ? createWasmEngine(mod) : createJsEngine();
  const cfg = machineConfig({
    platform: p.platform, device: p.device, kernel: '2010', ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 256 * 2 ** 20,
    swiotlb: 64 * 2 ** 20, payloadBytes: 0, seed: 1,
  });
  if (engine.init(cfg) !== 0) throw new Error(`init failed for ${p.name}`);
  engine.run(encode(p.setup), p.setup.length, 0);
  return engine;
}

const ENGINE_NAME = { js: 'reference model', wasm: 'Wasm engine' } as const;

export const micro: BenchModule = {
  id: 'micro',
  async run(ctx: BenchContext): Promise<Section> {
    const mod = await wasmModule();
    const rounds = ctx.quick ? 15 : 50;
    // The reference model's longer primitives take several rounds to reach their optimised code.
    const warmup = ctx.quick ? 5 : 10;
    const drifts: string[] = [];
    const rows: (string | number)[][] = [];
    const bars: Bar[] = [];
    const ratios: Record<string, Ratio> = {};
    const metrics: Metric[] = [];
    for (const p of PRIMITIVES) {
      ctx.log(`micro: ${p.name}`);
      const batch = encode(p.body, p.reps);
      const count = p.body.length * p.reps;
      // One machine per engine serves every round: each batch leaves it as it found it.
      const variants = (['js', 'wasm'] as const).map((kind) => {
        const engine = machine(kind, p, mod);
        let first = 0;
        return { name: kind, fn: () => { engine.run(batch, count, first); first += count; } };
      });
      const t = await timeRounds(variants, rounds, warmup);
      const ns = (ms: number[]) => ms.map((v) => (v * 1e6) / p.reps);
      const speedUp = pairedRatios(t.js!, t.wasm!);
      ratios[`micro:${p.name}`] = { kind: 'micro', samples: speedUp };
      // Still settling: the first and the second half of the rounds disagree by more than a quarter.
      const half = Math.floor(speedUp.length / 2);
      const [a, b] = [summarize(speedUp.slice(0, half)).median, summarize(speedUp.slice(half)).median];
      const drift = Math.max(a, b) / Math.min(a, b) > 1.25 ? `${a.toFixed(1)}× in the first ${half} rounds, ${b.toFixed(1)}× in the last ${speedUp.length - half}` : '';
      if (drift) drifts.push(`${p.name} (${drift})`);
      for (const kind of ['js', 'wasm'] as const) {
        const s = summarize(ns(t[kind]!));
        rows.push([p.name, p.unit, ENGINE_NAME[kind], statCell(s, readable), s.samples, kind === 'js' ? 'baseline' : `${statCell(summarize(speedUp), readable)}×`]);
        bars.push({ label: p.name, series: ENGINE_NAME[kind], value: s.median, lo: s.min, hi: s.max, text: `${readable(s.median)} ns` });
      }
      const m = timedMetric(`micro: ${p.name} (Wasm)`, 'M reps/s', summarizeAs(t.wasm!, (ms) => p.reps / (ms * 1e3)));
      metrics.push(drift ? { ...m, extra: `${m.extra}; still settling (Wasm ÷ model ${drift})` } : m);
    }
    return {
      id: 'micro',
      title: 'Hot primitives',
      question: 'What does each hot primitive cost on each engine (simulator time, not modelled kernel time)?',
      tables: [{
        caption: `ns per repetition: median (min–max) of ${rounds} timed batches per engine, after ${warmup} warm-up rounds; each round runs the reference model's batch, then the Wasm engine's (the machine is built outside the timed region). The reference model is each primitive's baseline row.`,
        columns: ['primitive', 'one repetition', 'engine', 'ns per repetition', 'samples', 'Wasm ÷ model, speed (below 1: slower)'],
        rows,
      }],
      metrics,
      charts: [{ title: 'Hot primitives (ns per repetition, log scale; shorter is faster; whiskers: min–max)', unit: 'ns', bars, log: true, legend: 'engine' }],
      targets: [],
      notes: [
        'Each batch repeats the same calls on one machine, which every batch leaves with the same buffers, mappings and pools; an exchange trades the page\'s frame for another each time, and Xen\'s heap hands frames out in FIFO order, so the exchanges\' work varies a little from batch to batch.',
        drifts.length ? `Still settling after the warm-up (medians of the two halves of the rounds differ by more than 25%): ${drifts.join('; ')}; the median over all rounds lies between.` : 'No ratio drifted: the medians of the first and the second half of the rounds are within 25% of each other for every primitive.',
        'Micro-benchmark ratios swing with the machine\'s load: CI prints them beside their baseline and never fails on them.',
      ],
      ratios,
    };
  },
};
