// Sharding never changes a counter, and a failing cell fails the run cleanly, naming the cell.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers.js';
import { runLanes } from '../src/run/pool.js';
import { type Cell, cellsOf, planWorkload } from '../src/run/plan.js';
import { runCells } from '../src/run/executor.js';
import { createPool } from '../src/run/piscina.js';
import { fileURLToPath } from 'node:url';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ARGS = ['run', '--json', '--platform', 'xen-pv', '--strategy', 'legacy', '--workload', 'churn', '--pages', '2048', '--bo-pages', '64',
  '--replicas', '4', '--ram', '1G', '--host-ram', '6G', '--swiotlb', '8M'];

function counters(extra: string[]) {
  const r = cli(...ARGS, ...extra);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  return { counters: res.counters, firstViolation: res.firstViolation, dmaDebug: res.dmaDebug };
}

describe('workers and engines', () => {
  it('1 and 2 workers, and either engine, give identical counters', () => {
    const one = counters(['--workers', '1']);
    const two = counters(['--workers', '2']);
    const js = counters(['--workers', '2', '--engine', 'js']);
    assert.deepEqual(two, one);
    assert.deepEqual(js, one);
    assert.ok(one.counters.cpuWrites > 0);
  });

  it('replicas sum their counters but not their peaks: swiotlbPeakSlots and ttmDmaPeakInUse are one machine\'s', () => {
    const of = (n: string) => {
      const r = cli('run', '--json', '--platform', 'swiotlb-force', '--strategy', 'coherent', '--pages', '256', '--bo-pages', '64', '--ram', '1G', '--swiotlb', '8M', '--replicas', n);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const [one, three] = [of('1'), of('3')];
    assert.ok(one.extra.ttmDmaPeakInUse > 0 && one.counters.swiotlbPeakSlots > 0);
    assert.deepEqual([three.extra.ttmDmaPeakInUse, three.counters.swiotlbPeakSlots], [one.extra.ttmDmaPeakInUse, one.counters.swiotlbPeakSlots]);
    assert.equal(three.counters.pagesAllocated, 3 * one.counters.pagesAllocated);
  });

  it('the human report says the counters are replicas summed, and from which seed theirs derive', () => {
    const r = cli(...ARGS.filter((a) => a !== '--json'), '--seed', '5');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0]!, /, 4 replicas summed \(seeds derived from 5\), engine wasm$/);
  });

  it('a cell that throws fails the run and names the cell and its seed', async () => {
    const spec = planWorkload({
      platform: 'bare-metal', device: 'r100', kernel: '2010', payloadBytes: 0, seed: 7,
      strategy: 'legacy', gatt: null, workload: 'upload', pages: 64, boPages: 16, rounds: 1, replicas: 3, engine: 'wasm',
    }, { ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 2 ** 28, swiotlb: 2 ** 23 });
    const cells = cellsOf(spec).map((c, i): Cell => (i === 1 ? { ...c, fault: 'throw' } : c));
    await assert.rejects(runLanes(cells, { workers: 2 }), (e: Error) => {
      assert.match(e.message, /bare-metal\/r100\/legacy\/upload replica 1 \(seed \d+\)/);
      return true;
    });
    // and the in-process path still works afterwards
    const outs = await runCells(cellsOf(spec), { workers: 1 });
    assert.equal(outs.length, 3);
  });

  it('a pool torn down at once still waits for its workers to load (tearing a loading worker down aborts node)', async () => {
    // The task file runs use (run/pool.ts): CommonJS, since piscina require()s it and a worker torn
    // down while require() builds an ES module's facade aborts node even after its top level ran.
    const pool = createPool<Cell, unknown>(fileURLToPath(new URL('../src/run/workerEntry.cjs', import.meta.url)), 2, {});
    assert.equal(pool.loaded, 0, 'no worker has loaded yet');
    await pool.destroy();
    assert.equal(pool.loaded, 2);
    assert.equal(pool.failure, undefined);
  });

  it('a worker whose module throws at load still marks itself loaded: the pool goes at once, not after its 10 s wait', async () => {
    // The task file and load gate as built, beside a worker module that throws.
    const dir = mkdtempSync(join(tmpdir(), 'gartbench-worker-'));
    for (const f of ['workerEntry.cjs', 'loadGate.js']) copyFileSync(fileURLToPath(new URL(`../src/run/${f}`, import.meta.url)), join(dir, f));
    writeFileSync(join(dir, 'worker.js'), 'throw new Error("worker boom");\n');
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    const pool = createPool<object, unknown>(join(dir, 'workerEntry.cjs'), 1, {});
    await assert.rejects(pool.run({}), /worker boom/);
    const t0 = performance.now();
    await pool.destroy();
    assert.ok(performance.now() - t0 < 5000, `destroy took ${performance.now() - t0} ms`);
    assert.equal(pool.loaded, 1);
    rmSync(dir, { recursive: true, force: true });
  });
});
