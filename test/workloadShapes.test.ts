// The workload steps keep their optimised code from cell to cell (src/source/workloads.ts, profileCopy
// and Steps; README, Workers): each platform's and strategy's scenario and driver profile once
// came in a shape of its own, and each new one threw V8's optimised steps away ("wrong map"
// deopts: 19 in the modern nv50 churn matrix below, 1 in the r100 stream one). V8's own trace
// says whether any happens; a shape that varies again makes it say so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { BIN } from './helpers.js';

/** Deopts V8 reports as "wrong map" whose code sits in source/workloads.js, for one matrix. */
function wrongMapDeopts(...args: string[]): number {
  const r = spawnSync(process.execPath, ['--trace-deopt-verbose', BIN, 'matrix', ...args, '--pages', '16384', '--json'], {
    encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 120_000, maxBuffer: 256 * 2 ** 20,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  let n = 0;
  lines.forEach((l, i) => {
    if (l.includes('reason: wrong map') && (lines[i + 1] ?? '').includes('source/workloads.js')) n++;
  });
  return n;
}

describe('workload code keeps one shape across a matrix', () => {
  for (const args of [['--device', 'nv50', '--workload', 'churn', '--kernel', 'modern'], ['--device', 'r100', '--workload', 'stream'], ['--device', 'agp', '--workload', 'readback']]) {
    it(`matrix ${args.join(' ')}: no "wrong map" deopt in the workload steps`, () => {
      assert.equal(wrongMapDeopts(...args), 0);
    });
  }
});
