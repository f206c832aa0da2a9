// Workers, honestly: never more than the cells, nor (unless --oversubscribe) the cores; a capped
// request is said so; engine.wallMs is the wall over the workers, not the sum of their times;
// the memory one machine (so one worker) held and the process's peak are in the result.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { cli } from './helpers.js';
import { chooseWorkers } from '../src/run/executor.js';
import { wallOf } from '../src/run/cell.js';
import { simulatorText } from '../src/report/format.js';

const SMALL = ['--pages', '128', '--bo-pages', '32', '--ram', '1G', '--host-ram', '6G', '--swiotlb', '8M'];

describe('how many workers', () => {
  it('at most one per cell, and per core unless oversubscribed', () => {
    assert.deepEqual(chooseWorkers(1, 4, false, 2), { workers: 1, asked: 1, cappedBy: null, cores: 2 });
    assert.deepEqual(chooseWorkers(2, 4, false, 2), { workers: 2, asked: 2, cappedBy: null, cores: 2 });
    assert.deepEqual(chooseWorkers(8, 4, false, 2), { workers: 2, asked: 8, cappedBy: 'cores', cores: 2 });
    assert.deepEqual(chooseWorkers(8, 4, true, 2), { workers: 4, asked: 8, cappedBy: 'cells', cores: 2 });
    assert.deepEqual(chooseWorkers(3, 4, true, 2), { workers: 3, asked: 3, cappedBy: null, cores: 2 });
    assert.deepEqual(chooseWorkers(256, 2, false, 64), { workers: 2, asked: 256, cappedBy: 'cells', cores: 64 });
    assert.deepEqual(chooseWorkers(4, 0, false, 8), { workers: 1, asked: 4, cappedBy: 'cells', cores: 8 });
    assert.deepEqual(chooseWorkers(1, 0, false, 8).cappedBy, null);
  });
});

describe('wall time over workers', () => {
  it('cells side by side count once; one after another, their sum; gaps do not count', () => {
    assert.equal(wallOf([{ startMs: 0, endMs: 10 }, { startMs: 0, endMs: 10 }]), 10);
    assert.equal(wallOf([{ startMs: 100, endMs: 110 }, { startMs: 105, endMs: 125 }]), 25);
    assert.equal(wallOf([{ startMs: 0, endMs: 10 }, { startMs: 30, endMs: 40 }]), 20);
    assert.equal(wallOf([{ startMs: 30, endMs: 40 }, { startMs: 0, endMs: 10 }, { startMs: 5, endMs: 8 }]), 20);
    assert.equal(wallOf([]), 0);
  });
});

describe('the engine record and the human line', () => {
  it('--workers 256 for 2 replicas runs 2 workers at most, and says it was capped', () => {
    const r = cli('run', ...SMALL, '--replicas', '2', '--workers', '256', '--json');
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout).engine;
    const expected = Math.min(2, availableParallelism());
    assert.equal(e.workers, expected);
    assert.equal(e.workersAsked, 256);
    assert.equal(e.workersCappedBy, availableParallelism() >= 2 ? 'cells' : 'cores');
    const human = cli('run', ...SMALL, '--replicas', '2', '--workers', '256', '--oversubscribe');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /simulator .* 2 workers \(asked 256; capped at 2, one per cell\)/);
  });

  it('records the wall, the engine time over the workers and the memory', () => {
    const r = cli('run', ...SMALL, '--replicas', '3', '--workers', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout).engine;
    assert.equal(e.workers, 1);
    assert.equal(e.workersCappedBy, null);
    // One worker: the replicas run one after another, so the wall is the sum of their times.
    assert.ok(Math.abs(e.cellMs - e.wallMs) <= 0.2, `${e.cellMs} vs ${e.wallMs}`);
    // A 1 GiB guest's tables and frames: more than a few MiB of Wasm memory, less than the 4 GiB limit.
    assert.ok(e.machineBytes > 4 * 2 ** 20 && e.machineBytes <= 4 * 2 ** 30, String(e.machineBytes));
    assert.ok(e.peakRssBytes >= e.machineBytes / 4, String(e.peakRssBytes));
    const human = cli('run', ...SMALL);
    assert.match(human.stdout, /simulator +[\d.]+ ms wall, [\d,]+ page-ops\/s, 1 worker, \d+ MiB per machine \(one per worker at a time\), peak RSS \d+ MiB/);
  });

  it('the reference model\'s machine counts its typed arrays, not only its JS heap', () => {
    // Xen's heap alone on a 16 GiB host: next and prev links (Int32Array) and an order byte per
    // frame, 9 bytes × 4 Mi frames, all outside the JS heap.
    const r = cli('run', ...SMALL, '--host-ram', '16G', '--platform', 'xen-pv', '--engine', 'js', '--json');
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout).engine;
    assert.ok(e.machineBytes >= 9 * 4 * 2 ** 20, String(e.machineBytes));
  });

  it('two workers: the wall is at most the sum of the replicas\' times', () => {
    const r = cli('run', ...SMALL, '--replicas', '4', '--workers', '2', '--oversubscribe', '--json');
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout).engine;
    assert.equal(e.workers, 2);
    assert.ok(e.wallMs <= e.cellMs + 0.2, `${e.wallMs} vs ${e.cellMs}`);
  });

  it('says how many of the threads ran cells, and the human line says when some ran none', () => {
    for (const [args, started] of [[['--replicas', '3', '--workers', '1'], 1], [['--replicas', '4', '--workers', '3', '--oversubscribe'], 3]] as const) {
      const r = cli('run', ...SMALL, ...args, '--json');
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout).engine;
      assert.equal(e.workers, started);
      // Which lanes take cells is timing; how many took one is between 1 and the lanes started.
      assert.ok(Number.isInteger(e.workersRan) && e.workersRan >= 1 && e.workersRan <= started, String(e.workersRan));
      if (started === 1) assert.equal(e.workersRan, 1);
      const line = simulatorText(e);
      const idle = started - e.workersRan === 1 ? 'the other was' : 'the rest were';
      if (e.workersRan < started) assert.match(line, new RegExp(`${started} workers, ${e.workersRan} of which ran cells \\(${idle} still starting when the last cell was taken\\)`));
      else assert.doesNotMatch(line, /of which ran cells/);
    }
    const e = JSON.parse(cli('run', ...SMALL, '--replicas', '2', '--workers', '2', '--oversubscribe', '--json').stdout).engine;
    assert.match(simulatorText({ ...e, workers: 2, workersRan: 1, workersCappedBy: null }), / 2 workers, 1 of which ran cells \(the other was still starting when the last cell was taken\), /);
    assert.doesNotMatch(simulatorText({ ...e, workers: 2, workersRan: 2 }), /of which ran/);
    assert.doesNotMatch(simulatorText({ ...e, workers: 2, workersRan: null }), /of which ran/, 'a merge with a shard from before it was recorded');
  });

  it('a matrix reports how the whole run went', () => {
    const r = cli('matrix', ...SMALL, '--workers', '2', '--oversubscribe', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(doc), ['schema', 'engine', 'cells']);
    assert.equal(doc.engine.workers, 2);
    assert.ok(doc.engine.wallMs <= doc.engine.cellMs + 0.2);
    const human = cli('matrix', ...SMALL);
    assert.match(human.stdout, /\nsimulator: [\d.]+ ms wall, .*1 worker/);
  });
});
