// The worker threads a `--workers N` command starts before it reads its options (run/prestart.ts):
// a guess from the command line that the run takes only when it fits, released otherwise, and
// never a change to what the run counts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guessThreads } from '../src/run/prestart.js';
import { cli } from './helpers.js';

describe('prestarted worker threads', () => {
  it('guesses only the threads the command line shows it will get: several cells, within the cores and --workers\' range', () => {
    const cases: [string[], number, number][] = [
      [['matrix', '--workers', '2'], 2, 1],
      [['matrix', '--workers=4'], 2, 1],
      [['matrix', '--workers', '4'], 8, 3],
      [['matrix', '--workers', '8'], 16, 3], // a matrix has at least 4 cells
      [['run', '--replicas', '4', '--workers', '3', '--workers', '2'], 8, 1], // the last one counts, as the parser's
      [['run', '--replicas=3', '--workers', '8'], 8, 2],
      [['run', '--workers', '2'], 2, 0], // one replica: one cell
      [['replay', 'x.jsonl', '--workers', '2'], 2, 0], // one platform: one cell
      [['replay', 'x.jsonl', '--platform', 'all', '--workers', '2'], 2, 1],
      [['matrix', '--workers', '4', '--oversubscribe'], 2, 0], // no guess past the cores
      [['matrix', '--workers', '2', '--shard', '1/10'], 2, 0], // a shard may hold one cell
      [['matrix', '--workers', '9999'], 2, 0], // out of range: the parser refuses it
      [['matrix', '--workers', '257'], 64, 0],
      [['matrix'], 2, 0],
      [['matrix', '--workers', '1'], 2, 0],
      [['matrix', '--workers', '2', '--help'], 2, 0],
      [['bench', '--workers', '2'], 2, 0],
      [['matrix', '--', '--workers', '2'], 2, 0],
      [['matrix', '--workers', 'two'], 2, 0],
    ];
    for (const [argv, cores, threads] of cases) assert.equal(guessThreads(argv, cores), threads, argv.join(' '));
  });

  it('one cell with --workers 2: no guess, the run ends capped, with the counters of one worker', () => {
    const one = cli('run', '--pages', '64', '--json');
    const two = cli('run', '--pages', '64', '--replicas', '2', '--workers', '2', '--replicas', '1', '--json');
    assert.equal(two.code, 0, two.stderr);
    const [a, b] = [JSON.parse(one.stdout), JSON.parse(two.stdout)];
    assert.deepEqual(b.counters, a.counters);
    assert.equal(b.engine.workers, 1);
    assert.equal(b.engine.workersCappedBy, 'cells');
  });

  it('refused options with --workers still exit 2 with one line, the pool torn down', () => {
    // A guess made (a matrix, 2 workers on 2 cores or more), then the options refused: it is released.
    const r = cli('matrix', '--workers', '2', '--pages', '64', '--platfrom', 'xen-pv');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^gartbench: unknown option '--platfrom' for 'matrix'/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('a matrix taken by the prestarted pool counts as on one worker', () => {
    const args = ['matrix', '--pages', '256', '--bo-pages', '64', '--ram', '1G', '--host-ram', '6G', '--json'];
    const one = JSON.parse(cli(...args).stdout);
    const r = cli(...args, '--workers', '2');
    assert.equal(r.code, 0, r.stderr);
    const two = JSON.parse(r.stdout);
    assert.equal(two.engine.workers, 2);
    assert.deepEqual(two.cells.map((c: { counters: object }) => c.counters), one.cells.map((c: { counters: object }) => c.counters));
  });
});
