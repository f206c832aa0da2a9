// Question: what does each hot primitive cost on each engine — swiotlb map+unmap, xen bus
// translation, a GART bind of a 256-page buffer, exchanges of order 0 and 9, a TTM pool take/give?
// Each primitive is a small op batch that leaves the machine as it found it, so one machine
// serves every timed call; the machine is built outside the timed region.
import { Dir, OP_WORDS, Op, Pool, Caching, Zone } from '../src/engine/abi.js';
import { wasmModule } from '../src/engine/factory.js';
import { createJsEngine } from '../src/engine/js.js';
import type { Engine, EngineKind } from '../src/engine/types.js';
import { createWasmEngine } from '../src/engine/wasm.js';
import { type DeviceName, machineConfig } from '../src/machine.js';
import type { PlatformName } from '../src/engine/abi.js';
import { timeTasks } from './tiny.js';
import type { BenchContext, BenchModule, Section } from './types.js';

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

export const micro: BenchModule = {
  id: 'micro',
  async run(ctx: BenchContext): Promise<Section> {
    const mod = await wasmModule();
    const rows: (string | number)[][] = [];
    const bars: { label: string; value: number; group: string }[] = [];
    const ratios: Record<string, number> = {};
    for (const p of PRIMITIVES) {
      ctx.log(`micro: ${p.name}`);
      const batch = encode(p.body, p.reps);
      const count = p.body.length * p.reps;
      const per: Record<string, number> = {};
      for (const kind of ['wasm', 'js'] as const) {
        const engine = machine(kind, p, mod);
        let first = 0;
        const [t] = await timeTasks([{ name: `${kind} ${p.name}`, fn: () => { engine.run(batch, count, first); first += count; } }],
          { iterations: ctx.quick ? 5 : 20, timeMs: ctx.quick ? 100 : 500 });
        per[kind] = (t!.meanMs * 1e6) / p.reps;
        bars.push({ label: p.name, value: per[kind]!, group: kind });
      }
      const ratio = per.js! / per.wasm!;
      ratios[`micro:${p.name}`] = ratio;
      rows.push([p.name, p.unit, per.wasm!.toFixed(0), per.js!.toFixed(0), `${ratio.toFixed(1)}×`]);
    }
    return {
      id: 'micro',
      title: 'Hot primitives',
      question: 'What does each hot primitive cost on each engine (simulator time, not modelled kernel time)?',
      tables: [{ caption: 'ns per repetition, mean over timed batches (the machine is built outside the timed region).', columns: ['primitive', 'one repetition', 'Wasm ns', 'reference model ns', 'Wasm speed-up'], rows }],
      metrics: rows.map((r) => ({ name: `micro: ${r[0]} (Wasm)`, unit: 'M reps/s', value: +(1e3 / Number(r[2])).toFixed(3) })),
      charts: [{ title: 'Hot primitives (ns per repetition, log scale)', unit: 'ns', bars, log: true }],
      targets: [],
      notes: ['Each batch returns the machine to the state it started from, so every timed call does the same work.'],
      ratios,
    };
  },
};
