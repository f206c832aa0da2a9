// The inner-loop benchmark's three variants agree, and the mismatch count is the naive one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NSLABS, SEGSIZE, makeInput, makeState, naiveMismatches, runLoop, writeInputFile } from '../bench/innerloop/loop.js';
import { compileC, createWasmLoop, loadInnerLoopModule, runC } from '../bench/innerLoop.js';

const hasCc = !spawnSync('cc', ['--version']).error;

test('inner loop: TS and Wasm agree on a small input; mismatches = naive count', async () => {
  // 10 000 requests: 3 batches (4096, 4096, 1808), so the allocator wraps the 32768-slot pool.
  const inp = makeInput(12345, 10_000, 1 << 12);
  const naive = naiveMismatches(inp);
  assert.ok(naive > 0, 'the input has stale entries');

  const st = makeState(inp.batch);
  const ts = runLoop(inp, st);
  assert.equal(ts.mismatches, naive);
  // Every run is freed: the pool is back in its initial state.
  for (let i = 0; i < NSLABS; i++) assert.equal(st.list[i], SEGSIZE - (i % SEGSIZE));
  assert.deepEqual(runLoop(inp, st), ts, 'a second TS run gives the same result');

  const wasm = createWasmLoop(await loadInnerLoopModule(), inp);
  assert.deepEqual(wasm.run(), ts);
  assert.deepEqual(wasm.run(), ts, 'a second Wasm run gives the same result');

});

test('inner loop: C (cc -O2) agrees with TS on a small input', { skip: hasCc ? false : 'no C compiler (cc not found)' }, () => {
  const inp = makeInput(12345, 10_000, 1 << 12);
  const ts = runLoop(inp, makeState(inp.batch));
  const dir = mkdtempSync(join(tmpdir(), 'gartbench-innerloop-test-'));
  try {
    const build = compileC(dir);
    assert.ok(build.ok, build.ok ? '' : build.reason);
    const file = join(dir, 'input.bin');
    writeInputFile(inp, file);
    const c = runC(build.bin, file, 5);
    assert.deepEqual({ mismatches: c.mismatches, checksum: c.checksum }, ts);
    assert.equal(c.samplesNs.length, 5, 'every timed run is reported, not just a mean');
    for (const ns of c.samplesNs) assert.ok(Number.isFinite(ns) && ns >= 0);
    assert.equal(c.mismatches, naiveMismatches(inp));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inner loop: a different seed changes the checksum and the naive count still holds', () => {
  const a = makeInput(1, 5000, 1 << 12);
  const b = makeInput(2, 5000, 1 << 12);
  const ra = runLoop(a, makeState());
  const rb = runLoop(b, makeState());
  assert.notEqual(ra.checksum, rb.checksum);
  assert.equal(ra.mismatches, naiveMismatches(a));
  assert.equal(rb.mismatches, naiveMismatches(b));
});
