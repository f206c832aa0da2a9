// The inner-loop benchmark's three variants agree, and the mismatch count is the naive one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NSLABS, NSLOTS, POOL_BASE, SEGSIZE, makeInput, makeState, naiveMismatches, r600PteLo, runLoop, slotAlloc, slotFree, writeInputFile } from '../bench/innerloop/loop.js';
import { GartFamily, Kernel, Op, Platform, Dir } from '../src/engine/abi.js';
import { SwiotlbPool } from '../src/model/dma/swiotlb.js';
import { encodePte } from '../src/model/drm/gart.js';
import { runOn } from './engineHarness.js';
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

// The inner loop is a fourth copy of two engine rules (the 2010 swiotlb slot search and the r600
// PTE); this proves it computes what the engines compute, so its timings measure the real thing.
test('inner loop: the same slots and PTEs as the engines (swiotlb 2010, r600)', async () => {
  const list = new Int32Array(NSLABS);
  for (let i = 0; i < NSLABS; i++) list[i] = SEGSIZE - (i % SEGSIZE);
  const pool = new SwiotlbPool(NSLABS);
  let cursor = 0;
  // Three rounds of 9000 one-page maps and their unmaps: the cursor wraps the 32768-slot pool.
  for (let round = 0; round < 3; round++) {
    const taken: number[] = [];
    for (let i = 0; i < 9000; i++) {
      const mine = slotAlloc(list, cursor);
      const engine = pool.swiotlbTblMapSingle(0, 2 * 2048);
      assert.equal(mine, engine, `round ${round} map ${i}`);
      cursor = mine + NSLOTS >= NSLABS ? 0 : mine + NSLOTS;
      taken.push(mine);
      const bus = POOL_BASE + mine * 2048;
      assert.equal(r600PteLo(bus), encodePte(GartFamily.r600, bus).lo);
    }
    for (const slot of taken.reverse()) {
      slotFree(list, slot);
      pool.swiotlbTblUnmapSingle(slot, Kernel['2010'], pool.runSlots[slot]!);
    }
    assert.deepEqual(Array.from(list), Array.from(pool.list), 'the free counters agree after the unmaps');
  }
  // And the Wasm engine puts the first bounces at the same bus addresses (swiotlb=force, r600)
  // once the GART dummy page took slots 0-1 at init: an unmap with the wrong size makes dma-debug
  // report the address it was given.
  const ops: number[][] = [];
  for (let i = 0; i < 6; i++) ops.push([Op.ALLOC, i, 1, 0], [Op.MAP, i, Dir.bidirectional, 0, 4096]);
  for (let i = 0; i < 6; i++) ops.push([Op.UNMAP, i, Dir.bidirectional, 2048]);
  const o = await runOn('wasm', { platform: Platform['swiotlb-force'], maskBits: 40, gartFamily: GartFamily.r600 }, ops);
  assert.deepEqual(o.records.filter((_, i) => o.classes[i] === 'unmap-size').map((r) => Number(r[2])), [2, 4, 6, 8, 10, 12].map((slot) => POOL_BASE + slot * 2048));
});
