// Lanes (src/run/lanes.ts, src/run/pool.ts): the threads of a run take cells from one shared queue,
// the main thread among them. Every cell runs exactly once whatever the interleaving; a failing cell
// stops every lane and is named; the merged outputs are in cell order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CellQueue, laneError, laneErrorOf } from '../src/run/lanes.js';
import { CellError, UsageError } from '../src/errors.js';
import runLane from '../src/run/worker.js';
import type { CellOutput } from '../src/run/cell.js';
import { type Cell, cellsOf, planWorkload } from '../src/run/plan.js';
import { runLanes } from '../src/run/pool.js';
import { runCells } from '../src/run/executor.js';

/** Stand-in cells: only their index matters to the queue. */
const fakeCells = (n: number): Cell[] => Array.from({ length: n }, (_, i) => ({ seed: i }) as unknown as Cell);
const fakeOut = (c: Cell): CellOutput => ({ wallMs: (c as { seed: number }).seed }) as unknown as CellOutput;

describe('the shared cell queue', () => {
  it('two lanes draining at once run every cell exactly once, and count them done', async () => {
    const cells = fakeCells(37);
    const q = CellQueue.create(2);
    const ran: number[][] = [[], []];
    const lane = (l: number, ms: number) => q.drain(cells, l, async (c) => {
      await sleep(ms * ((c as { seed: number }).seed % 3));
      return fakeOut(c);
    }, (i) => ran[l]!.push(i));
    await Promise.all([lane(0, 1), lane(1, 2)]);
    assert.deepEqual([...ran[0]!, ...ran[1]!].sort((a, b) => a - b), cells.map((_, i) => i));
    assert.ok(ran[0]!.length > 0 && ran[1]!.length > 0, `both lanes ran cells: ${ran[0]!.length} and ${ran[1]!.length}`);
    assert.equal(q.done(), 37);
    assert.equal(q.at(0), -1);
  });

  it('a cell that throws stops every lane, and the lane still names the cell it failed on', async () => {
    const cells = fakeCells(50);
    const q = CellQueue.create(2);
    const ran: number[] = [];
    const run = async (c: Cell) => {
      if ((c as { seed: number }).seed === 3) throw new Error('boom');
      await sleep(1);
      return fakeOut(c);
    };
    const lanes = await Promise.allSettled([0, 1].map((l) => q.drain(cells, l, run, (i) => ran.push(i))));
    const failed = lanes.flatMap((r, l) => (r.status === 'rejected' ? [[l, String(r.reason)]] : []));
    assert.equal(failed.length, 1);
    assert.match(failed[0]![1] as string, /boom/);
    assert.equal(q.at(failed[0]![0] as number), 3);
    assert.ok(ran.length < 49, `the lanes stopped: ${ran.length} cells ran of 49`);
    assert.ok(!ran.includes(3));
  });
});

describe('the main thread is a lane', () => {
  const spec = planWorkload({
    platform: 'bare-metal', device: 'r100', kernel: '2010', payloadBytes: 0, seed: 11,
    strategy: 'legacy', gatt: null, workload: 'upload', pages: 256, boPages: 32, rounds: 1, replicas: 6, engine: 'wasm',
  }, { ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 2 ** 28, swiotlb: 2 ** 23 });

  it('two lanes give every cell, in cell order, with the counters one thread gives', async () => {
    const one = await runCells(cellsOf(spec), { workers: 1 });
    const two = await runLanes(cellsOf(spec), { workers: 2 });
    assert.equal(two.length, 6);
    assert.deepEqual(two.map((o) => o.raw.counters), one.map((o) => o.raw.counters));
  });

  it('progress reaches every cell, and a stopped run throws the signal\'s reason', async () => {
    const seen: number[] = [];
    await runLanes(cellsOf(spec), { workers: 2, onProgress: (done) => seen.push(done) });
    assert.equal(seen.at(-1), 6);
    assert.ok(seen.every((d, i) => i === 0 || d > seen[i - 1]!), `progress only grows: ${seen.join(' ')}`);
    const stop = new AbortController();
    stop.abort(new Error('stopped by the test'));
    await assert.rejects(runLanes(cellsOf(spec), { workers: 2, signal: stop.signal }), /stopped by the test/);
  });
});

describe('an error crossing from a worker lane', () => {
  it('keeps its class, so a bad script line exits 2 on any thread', () => {
    const usage = laneErrorOf(laneError(new UsageError('s.jsonl:12001: unknown buffer')));
    assert.ok(usage instanceof UsageError);
    assert.equal(usage.message, 's.jsonl:12001: unknown buffer');
    assert.ok(laneErrorOf(laneError(new CellError('cell x failed'))) instanceof CellError);
    const other = laneErrorOf(laneError(new TypeError('oops')));
    assert.ok(!(other instanceof UsageError) && !(other instanceof CellError));
    assert.equal(laneError(undefined).message, 'undefined');
  });

  it('a worker lane returns what it ran and the error that stopped it, naming the cell', async () => {
    const spec = planWorkload({
      platform: 'bare-metal', device: 'r100', kernel: '2010', payloadBytes: 0, seed: 5,
      strategy: 'legacy', gatt: null, workload: 'upload', pages: 64, boPages: 16, rounds: 1, replicas: 3, engine: 'wasm',
    }, { ram: 2 ** 30, hostRam: 6 * 2 ** 30, xenLowFree: 2 ** 28, swiotlb: 2 ** 23 });
    const cells = cellsOf(spec).map((c, i): Cell => (i === 1 ? { ...c, fault: 'throw' } : c));
    const q = CellQueue.create(2);
    const got = await runLane({ cells, queue: q.buffer, lane: 1, lanes: 2 });
    assert.deepEqual(got.outs.map(([i]) => i), [0]);
    assert.equal(got.error?.kind, 'cell');
    assert.match(got.error!.message, /replica 1 \(seed \d+\)/);
    assert.equal(q.at(1), 1);
  });
});
