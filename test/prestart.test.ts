// The worker threads a `--workers N` command starts before it reads its options (run/prestart.ts):
// a guess from the command line that the run takes only when it fits, released otherwise, and
// never a change to what the run counts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guessThreads } from '../src/run/prestart.js';
import { cli } from './helpers.js';

describe('prestarted worker threads', () => {
  it('guesses the threads besides this one from --workers, capped by the cores unless --oversubscribe', () => {
    const cases: [string[], number, number][] = [
      [['matrix', '--workers', '2'], 2, 1],
      [['matrix', '--workers=4'], 2, 1],
      [['matrix', '--workers', '4', '--oversubscribe'], 2, 3],
      [['run', '--workers', '3', '--workers', '2'], 8, 1], // the last one counts, as the parser's
      [['replay', 'x.jsonl', '--workers', '2'], 2, 1],
      [['matrix'], 2, 0],
      [['matrix', '--workers', '1'], 2, 0],
      [['matrix', '--workers', '2', '--help'], 2, 0],
      [['bench', '--workers', '2'], 2, 0],
      [['matrix', '--', '--workers', '2'], 2, 0],
      [['matrix', '--workers', 'two'], 2, 0],
    ];
    for (const [argv, cores, threads] of cases) assert.equal(guessThreads(argv, cores), threads, argv.join(' '));
  });

  it('a guess the run does not take (one cell) is released: the run ends, capped, with the counters of one worker', () => {
    const one = cli('run', '--pages', '64', '--json');
    const two = cli('run', '--pages', '64', '--workers', '2', '--json');
    assert.equal(two.code, 0, two.stderr);
    const [a, b] = [JSON.parse(one.stdout), JSON.parse(two.stdout)];
    assert.deepEqual(b.counters, a.counters);
    assert.equal(b.engine.workers, 1);
    assert.equal(b.engine.workersCappedBy, 'cells');
  });

  it('refused options with --workers still exit 2 with one line, the pool torn down', () => {
    const r = cli('matrix', '--workers', '2', '--pages', '64', '--platfrom', 'xen-pv');
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^gartbench: unknown option '--platfrom' for 'matrix'/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  it('a matrix taken by the prestarted pool counts as on one worker', () => {
    const args = ['matrix', '--pages', '256', '--bo-pages', '64', '--ram', '1G', '--host-ram', '6G', '--json'];
    const one = JSON.parse(cli(...args).stdout);
    const r = cli(...args, '--workers', '2', '--oversubscribe');
    assert.equal(r.code, 0, r.stderr);
    const two = JSON.parse(r.stdout);
    assert.equal(two.engine.workers, 2);
    assert.deepEqual(two.cells.map((c: { counters: object }) => c.counters), one.cells.map((c: { counters: object }) => c.counters));
  });
});
