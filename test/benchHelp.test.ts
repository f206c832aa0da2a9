// gartbench bench --help says what each option takes: --out a DIR (not a FILE), --only the
// benchmark ids, and --quick how long it took here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers.js';
import { BENCHMARKS } from '../bench/index.js';

describe('gartbench bench --help', () => {
  const h = cli('bench', '--help');
  it('names --out a DIR, says what --only takes, and gives --quick its measured duration', () => {
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--out DIR +directory/);
    assert.doesNotMatch(h.stdout, /--out FILE/);
    assert.match(h.stdout, /--only IDS +run only these benchmarks: a comma-separated list of ids from /);
    assert.ok(h.stdout.includes(BENCHMARKS.map((b) => b.id).join(', ')), 'every id listed');
    assert.match(h.stdout, /--quick +.*measured: \d+(–\d+)? s/);
  });
});
