// The Wasm engine's memory reuse (src/engine/wasm.ts, src/run/reuse.ts): a thread with cells still
// to run may hand the memory of the engine it released to its next one, zeroed. A reused memory
// must read as fresh — the same counters, violation, dma-debug records and committed bytes as a new
// memory — and it is handed on only when asked, when it pays, never across runs, never when huge.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InitError, Platform } from '../src/engine/abi.js';
import { createWasmEngine, defaultEnginePath, dropSpareMemory, loadEngineModule, type WasmEngine } from '../src/engine/wasm.js';
import { ThreadMemory, reusePays, threadFaults } from '../src/run/reuse.js';
import { type CellOutput, mergeOutputs, runCell } from '../src/run/cell.js';
import { runCells } from '../src/run/executor.js';
import { cellsOf, planWorkload } from '../src/run/plan.js';
import { runResults } from '../src/report/results.js';
import { loadCosts } from '../src/report/costs.js';
import { simulatorText } from '../src/report/format.js';
import {
  BIDI, PAGE, TO_DEV, alloc, bind, cpuRead, cpuWrite, devRead, devWrite, free, gpuRead, gpuWrite, machineConfig, map,
  type OpWords, opWords, outcomeOf, populate, scrubbedLikeFresh, syncCpu, ttBind, unmap,
} from './engineHarness.js';
import { KERNELS, MODERN_ONLY_PLATFORMS, PLATFORMS } from '../src/engine/abi.js';
import { STRATEGIES, WORKLOADS } from '../src/cli/options.js';
import type { Engine } from '../src/engine/types.js';
import type { DeviceName } from '../src/source/scenario.js';
import type { MachineConfig } from '../src/engine/abi.js';

const mod = loadEngineModule();

/** The seed's bug on the base machine (xen-pv, 2010): a bounced page the GPU reads stale, and a
 * double unmap for dma-debug to report. */
const B: readonly OpWords[] = [
  alloc(0, 4), map(0, TO_DEV, 0, 4 * PAGE), cpuWrite(0, 0, 4 * PAGE), devRead(0, 0, 4 * PAGE),
  bind(0, 0), gpuRead(0, 4), unmap(0, TO_DEV, 4 * PAGE), unmap(0, TO_DEV, 4 * PAGE), free(0),
];
/** A dirtier machine: payload bytes stored, a TTM tt bound, buffers written both ways. */
const A_CFG: Partial<MachineConfig> = { payloadBytes: 64, seed: 7 };
const A: readonly OpWords[] = [
  ...Array.from({ length: 12 }, (_, i) => [alloc(i, 8), map(i, BIDI, 0, 8 * PAGE), devWrite(i, 0, 8 * PAGE), syncCpu(i, BIDI, 0, 8 * PAGE), cpuRead(i, 0, 8 * PAGE)]).flat(),
  populate(12, 64), ttBind(12, 64), gpuWrite(64, 64), gpuRead(64, 64),
];

async function engineOn(cfg: Partial<MachineConfig>, ops: readonly OpWords[]): Promise<WasmEngine> {
  const e = createWasmEngine(await mod);
  assert.equal(e.init(machineConfig(cfg)), InitError.OK);
  e.run(opWords(ops), ops.length, 0);
  return e;
}

describe('a reused Wasm memory', { timeout: 120_000 }, () => {
  it('gives the counters, violation, dma-debug records and committed bytes of a fresh one', async () => {
    dropSpareMemory();
    const fresh = await engineOn({}, B); // not released: the next engine gets a new memory
    const want = outcomeOf(fresh);
    assert.ok(want.c.staleReads > 0 && want.total > 0, 'the script shows the bug and a dma-debug report');
    const dirty = await engineOn(A_CFG, A);
    assert.notEqual(dirty.memory, fresh.memory);
    assert.ok(new Uint8Array(dirty.memory.buffer).some((b) => b !== 0));
    dirty.release?.(true);
    const reused = await engineOn({}, B);
    assert.equal(reused.memory, dirty.memory, 'the released memory was handed on');
    assert.ok(reused.memory.buffer.byteLength >= dirty.committedBytes());
    assert.deepEqual(outcomeOf(reused), want);
    assert.equal(reused.committedBytes(), fresh.committedBytes());
    assert.equal(reused.memoryBytes(), fresh.memoryBytes());
    reused.release?.(false);
  });

  it('only when asked, never past a run, never a memory larger than a spare may be', async () => {
    const off = await engineOn({}, B);
    off.release?.(false);
    assert.notEqual((await engineOn({}, B)).memory, off.memory, 'not asked: the next engine gets a new memory');
    const a = await engineOn({}, B);
    a.release?.(true);
    dropSpareMemory();
    assert.notEqual((await engineOn({}, B)).memory, a.memory, 'the end of a run lets the spare go');
    // 128 GiB of bare-metal RAM: some 1.5 GiB of tables, more than the 512 MiB a thread keeps.
    const big = createWasmEngine(await mod);
    assert.equal(big.init(machineConfig({ platform: Platform['bare-metal'], ramPages: 2 ** 25 })), InitError.OK);
    assert.ok(big.committedBytes() > 512 * 2 ** 20);
    big.release?.(true);
    assert.notEqual((await engineOn({}, B)).memory, big.memory);
  });
});

describe('when a thread hands its memory on', () => {
  it('when the cells still to run would fault more on fresh memories than the first hand-over zeroes', () => {
    assert.equal(reusePays(9, 14_000, 50_000), true); // a cell that faulted 14,000 pages, whose hand-over zeroes 50,000
    assert.equal(reusePays(1, 14_000, 50_000), false);
    assert.equal(reusePays(3, 2_000, 50_000), false); // small cells touch little of a large machine
    assert.equal(reusePays(0, 50_000, 50_000), false);
  });

  it('reads this thread\'s own page faults', () => {
    const before = threadFaults();
    if (before === undefined) return; // not Linux: no reuse at all
    // With transparent huge pages always on, 16 MiB may fault in as a few 2 MiB pages.
    if (thpAlways()) return;
    const touched = new Uint8Array(16 * 2 ** 20);
    for (let i = 0; i < touched.length; i += 4096) touched[i] = 1;
    assert.ok(threadFaults()! - before >= 4096 * 0.9, 'touching 4096 fresh pages faulted them in');
  });

  it('hands on from the first cell that shows it pays, and not after the thread\'s last cell', async () => {
    if (threadFaults() === undefined) return;
    dropSpareMemory();
    const cfg = { payloadBytes: 64 };
    const ops = A;
    /** Three cells on a thread that expects `cells`; their engines. */
    const threeCells = async (cells: number): Promise<WasmEngine[]> => {
      const thread = new ThreadMemory(cells);
      const engines: WasmEngine[] = [];
      for (let i = 0; i < 3; i++) {
        thread.start();
        const e = await engineOn(cfg, ops);
        engines.push(e);
        thread.finish(e);
      }
      return engines;
    };
    const engines = await threeCells(3);
    // The base machine lays out far more than these few buffers touch: with 2 cells left, not worth it.
    assert.notEqual(engines[1]!.memory, engines[0]!.memory);
    assert.notEqual(engines[2]!.memory, engines[1]!.memory);
    const first = await threeCells(100_000);
    assert.equal(first[1]!.memory, first[0]!.memory, 'many cells left: the first memory is handed on');
    assert.equal(first[2]!.memory, first[0]!.memory, 'and on, once begun');
    const last = new ThreadMemory(1);
    last.start();
    const only = await engineOn(cfg, ops);
    last.finish(only);
    assert.notEqual((await engineOn({}, B)).memory, only.memory, 'the last cell keeps nothing');
    dropSpareMemory();
  });

  it('hands on up to the thread\'s last cell, and that one keeps nothing', async () => {
    if (threadFaults() === undefined || thpAlways()) return;
    dropSpareMemory();
    const cfg = { payloadBytes: 64 };
    // What ThreadMemory will measure: the faults of one cell on a fresh memory, against its pages.
    const before = threadFaults()!;
    const probe = await engineOn(cfg, A);
    const touched = threadFaults()! - before, laidOut = probe.committedBytes() / 4096;
    probe.release?.(false);
    // Enough cells that reuse pays from the first with room to spare (it needs cells × touched > laidOut).
    const cells = 2 * Math.ceil(laidOut / Math.max(touched, 1)) + 2;
    if (cells > 400) return; // a host whose faults come in large pages: too many to run here
    const thread = new ThreadMemory(cells);
    const engines: WasmEngine[] = [];
    for (let i = 0; i < cells; i++) {
      thread.start();
      const e = await engineOn(cfg, A);
      engines.push(e);
      thread.finish(e);
    }
    assert.equal(engines[0]!.reusedMemory, false);
    assert.ok(engines.slice(1).every((e) => e.reusedMemory && e.memory === engines[0]!.memory), `${cells} cells: each after the first on the first one's memory`);
    const next = await engineOn(cfg, A);
    assert.equal(next.reusedMemory, false, 'the thread\'s last cell let its memory go');
    assert.notEqual(next.memory, engines[0]!.memory);
  });
});

/** Transparent huge pages always on: a cell's faults then undercount what it touches. */
function thpAlways(): boolean {
  try {
    return readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[always]');
  } catch {
    return false;
  }
}

describe('memory handed on through a run', { timeout: 120_000 }, () => {
  // 2^17-page xen-pv cells touch some 17% of the pages they lay out: on one thread, reuse pays
  // from the first cell once more than about 6 cells are still to run.
  const plan = (replicas: number) => planWorkload({
    platform: 'xen-pv', device: 'r100', kernel: '2010', payloadBytes: 0, seed: 3, strategy: 'sync', gatt: null,
    workload: 'upload', pages: 2 ** 17, boPages: 64, rounds: 1, replicas, engine: 'wasm',
  }, { ram: 2 ** 30, hostRam: 8 * 2 ** 30, xenLowFree: 2 ** 29, swiotlb: 2 ** 26 });
  const same = (a: CellOutput, b: CellOutput, what: string) => {
    assert.deepEqual(a.raw.counters, b.raw.counters, what);
    assert.deepEqual(a.raw.violation, b.raw.violation, what);
    assert.deepEqual(a.raw.debug, b.raw.debug, what);
    assert.equal(a.machineBytes, b.machineBytes, what);
  };

  it('on one thread and on two workers: every cell as on a fresh memory, and some on a handed-on one', async () => {
    if (threadFaults() === undefined || thpAlways()) return;
    dropSpareMemory();
    const cells = cellsOf(plan(24));
    const fresh: CellOutput[] = [];
    for (const c of cells) fresh.push(await runCell(c)); // no thread memory: each engine on a new memory
    assert.ok(fresh.every((o) => !o.reusedMemory));
    assert.ok(fresh[0]!.raw.counters.some((v) => v > 0));
    for (const workers of [1, 2]) {
      const outs = await runCells(cells, { workers, oversubscribe: true });
      outs.forEach((o, i) => same(o, fresh[i]!, `--workers ${workers}, cell ${i}`));
      const reused = outs.filter((o) => o.reusedMemory).length;
      // Each thread's first cell is on a new memory; 12 or more cells per thread pay from then on.
      assert.ok(reused > 0 && reused <= cells.length - workers, `--workers ${workers}: ${reused} of ${cells.length} on a handed-on memory`);
      assert.equal(mergeOutputs(outs).reusedMemories, reused);
    }
    // After the run nothing is kept: a new run's first cell starts on a new memory.
    assert.equal((await runCells(cells.slice(0, 1), { workers: 1 }))[0]!.reusedMemory, false);
  });

  it('a result and its run say how many machines were built on a handed-on memory, and the text says it', async () => {
    if (threadFaults() === undefined || thpAlways()) return;
    const costs = loadCosts(undefined);
    const { results, run } = await runResults([plan(12), plan(1)], costs, { workers: 1 });
    const [many, one] = results.map((r) => r.engine);
    assert.ok(many!.reusedMemories! > 0 && many!.reusedMemories! <= 11, `${many!.reusedMemories} of 12`);
    assert.equal(one!.reusedMemories, 1, 'a run\'s cells share the thread across its plans: the 13th was handed the 12th\'s memory');
    assert.equal(run.reusedMemories, many!.reusedMemories! + one!.reusedMemories!);
    assert.match(simulatorText(many!), new RegExp(`, ${many!.reusedMemories} machines built on a memory handed on \\(zeroed\\) by the cell before on the same thread, peak RSS`));
    assert.doesNotMatch(simulatorText({ ...many!, reusedMemories: 0 }), /handed on/);
    assert.doesNotMatch(simulatorText({ ...many!, reusedMemories: null }), /handed on/);
  });
});

describe('a memory handed on after a workload', { timeout: 300_000 }, () => {
  // The released machine zeroes only what it may have written (assembly/index.ts scrub): every
  // platform, strategy and era, each strategy under every workload (on one platform or another),
  // payload bytes, the GART's devices and AGP's GATT modes, the modern swiotlb's growth and a
  // min_align_mask among them, must leave a memory that reads byte for byte as a fresh one.
  const DEVICES: DeviceName[] = ['r100', 'r600', 'nv04', 'nv50'];
  /** A thread's memory that keeps the engine of its cell instead of releasing it. */
  class Keep extends ThreadMemory {
    engine: Engine | undefined;
    constructor() { super(1); }
    override finish(engine: Engine): void { this.engine = engine; }
  }
  it('reads as a fresh memory, byte for byte', async () => {
    const mod = await loadEngineModule(defaultEnginePath(true)); // asserts kept
    let n = 0;
    for (const kernel of KERNELS) {
      for (const platform of PLATFORMS) {
        if (kernel === '2010' && MODERN_ONLY_PLATFORMS.includes(platform)) continue;
        for (const strategy of STRATEGIES) {
          const i = n++;
          const agp = i % 7 === 3;
          const plan = planWorkload({
            platform, device: agp ? 'agp' : DEVICES[i % DEVICES.length]!, kernel, payloadBytes: i % 3 === 0 ? 64 : 0, seed: 11 + i,
            strategy: agp ? null : strategy, gatt: agp ? (['phys', 'dma-coherent', 'fsb-hooks'] as const)[i % 3]! : null,
            // (strategy + platform) mod 4: each strategy meets every workload across the platforms
            workload: WORKLOADS[(i + Math.floor(i / STRATEGIES.length)) % WORKLOADS.length]!, pages: 2 ** 11, boPages: 64, rounds: 2, replicas: 1, engine: 'wasm',
            ...(kernel === 'modern' && i % 2 === 0 ? { iommuMode: 'lazy' as const } : {}),
            ...(kernel === 'modern' && (platform === 'swiotlb-force' || platform === 'coco') && i % 2 === 1 ? { swiotlbDynamic: true } : {}),
            ...(kernel === 'modern' && i % 3 === 1 ? { minAlignMask: 4095 } : {}),
          }, { ram: 2 ** 28, hostRam: 4 * 2 ** 30 + 2 ** 28 + (i % 2) * 2 ** 26, xenLowFree: 2 ** 25, swiotlb: 2 ** 24 });
          const keep = new Keep();
          const out = await runCell(cellsOf(plan)[0]!, mod, undefined, keep);
          assert.ok(out.raw.counters.some((v) => v > 0), 'the cell ran');
          const what = `${platform}/${plan.scenario.device}/${strategy}/${kernel}/${plan.scenario.workload}${plan.scenario.swiotlbDynamic ? '/dynamic' : ''}`;
          assert.equal(scrubbedLikeFresh(keep.engine as WasmEngine, mod), '', what);
        }
      }
    }
    assert.ok(n >= 36, `${n} cells`);
  });

  it('after blocks of orders 9 and 10: 6.12 ttm_pool\'s whole-order blocks, and under Xen their exchanges', async () => {
    // A 1024-page BO takes order-10 blocks straight off the buddy's top list, and under xen-pv a
    // coherent one exchanges 2 MiB at once: records far from any free list's head are written.
    const mod = await loadEngineModule(defaultEnginePath(true));
    for (const [platform, strategy] of [['bare-metal', 'legacy'], ['bare-metal', 'coherent'], ['xen-pv', 'coherent'], ['xen-pv', 'legacy']] as const) {
      const plan = planWorkload({
        platform, device: 'r600', kernel: 'modern', payloadBytes: 0, seed: 5, strategy, gatt: null,
        workload: 'upload', pages: 2 ** 12, boPages: 1024, rounds: 1, replicas: 1, engine: 'wasm',
      }, { ram: 2 ** 30, hostRam: 8 * 2 ** 30, xenLowFree: 2 ** 28, swiotlb: 2 ** 26 });
      const keep = new Keep();
      await runCell(cellsOf(plan)[0]!, mod, undefined, keep);
      assert.equal(scrubbedLikeFresh(keep.engine as WasmEngine, mod), '', `${platform}/${strategy}`);
    }
  });
});
