// Faults inside a cell — a worker that throws, a Wasm trap, an engine out of memory — end the run
// with exit 1 and a message naming the cell and its seed; nothing hangs, nothing is written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cliWith, scratch } from './helpers.js';

const dir = scratch();
const RUN = ['run', '--platform', 'xen-pv', '--strategy', 'legacy', '--workload', 'upload', '--pages', '256', '--bo-pages', '64',
  '--replicas', '3', '--seed', '5', '--ram', '1G', '--host-ram', '6G', '--swiotlb', '8M'];

describe('faults in a cell', () => {
  for (const kind of ['throw', 'trap', 'oom']) {
    for (const workers of ['1', '2']) {
      for (const engine of kind === 'trap' ? ['wasm', 'js'] : ['wasm']) {
        it(`${kind} in replica 1 (${engine}, ${workers} worker${workers === '1' ? '' : 's'}) exits 1 naming the cell`, () => {
          const out = `${dir}/${kind}-${workers}-${engine}.json`;
          const r = cliWith({ GARTBENCH_FAULT: `${kind}:1` }, ...RUN, '--workers', workers, '--engine', engine, '--out', out);
          assert.equal(r.code, 1, r.stderr);
          assert.equal(r.stdout, '');
          assert.match(r.stderr, /xen-pv\/r100\/legacy\/upload replica 1 \(seed \d+\)/);
          if (kind === 'trap' && engine === 'wasm') assert.match(r.stderr, /trap|abort|unknown op/i);
          assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
          assert.equal(existsSync(out), false, 'no output file');
        });
      }
    }
  }
});
