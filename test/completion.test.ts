// Completion beside the verdict, cost per moved page, and results that name the machine and the
// tool that made them (INTERFACE.md gartbench.result/1: completion, modeled, machine, tool).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cli, scratch, script } from './helpers.js';
import type { Result } from '../src/report/result.js';
import { failureText, verdictCell, verdictWhyCell } from '../src/report/format.js';

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// Xen's low memory runs out half way: the incomplete run, smaller.
const STARVED = ['--platform', 'xen-pv', '--strategy', 'coherent', '--xen-low-free', '16M', '--pages', '8192'];

function json(...args: string[]) {
  const r = cli(...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('completion', () => {
  it('a complete upload moves pages × rounds', () => {
    const r = json('run', '--platform', 'bare-metal', '--pages', '300', '--bo-pages', '64', '--rounds', '3', '--ram', '512M');
    assert.deepEqual(r.completion, { pagesRequested: 900, pagesMoved: 900 });
    assert.equal(r.modeled.nsPerPage, Math.round((r.modeled.totalNs / 900) * 10) / 10);
  });

  it('Xen low memory running out: coherent but incomplete, and the cost is per moved page', () => {
    const r = json('run', ...STARVED);
    assert.equal(r.verdict, 'coherent');
    const { pagesRequested, pagesMoved } = r.completion;
    assert.equal(pagesRequested, 8192);
    assert.ok(pagesMoved > 0 && pagesMoved < pagesRequested, `${pagesMoved} of ${pagesRequested}`);
    assert.equal(pagesMoved, r.counters.gpuReads);
    assert.equal(pagesRequested - pagesMoved, r.extra.gpuSkippedPages);
    assert.ok(r.counters.allocFailures > 0 && r.extra.bindFailures > 0);
    const perMoved = r.modeled.totalNs / pagesMoved;
    assert.ok(Math.abs(r.modeled.nsPerPage - perMoved) < 0.1, 'nsPerPage is over the pages that moved');
  });

  it('the human verdict says it beside the verdict, with the failures that caused it', () => {
    const r = cli('run', ...STARVED);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const i = lines.findIndex((l) => l.startsWith('verdict: COHERENT'));
    assert.ok(i > 0, r.stdout);
    const pct = /^completion: INCOMPLETE — (\d+)% moved/.exec(lines[i + 1]!)?.[1];
    assert.ok(pct !== undefined, lines[i + 1]);
    assert.ok(lines[i]!.startsWith(`verdict: COHERENT, ${pct}% moved — every CPU and GPU read saw the latest write`), lines[i]);
    assert.match(lines[i + 1]!, /^completion: INCOMPLETE — \d+% moved \([\d,]+ of 8,192 page moves\): \d+ allocation failures, \d+ bind failures/);
    assert.match(r.stdout, /ns per moved page/);
  });

  it('a report table\'s cell gives the failures beside the verdict; a complete run, or one whose driver never came up, gives none', () => {
    const r = json('run', ...STARVED) as Result;
    const cell = verdictWhyCell(r);
    assert.match(cell, /^coherent, \d+% moved: [\d,]+ allocation failures, [\d,]+ bind failures$/);
    assert.ok(cell.startsWith(`${verdictCell(r)}: ${failureText(r)}`));
    const whole = json('run', '--platform', 'bare-metal', '--pages', '300', '--bo-pages', '64', '--ram', '512M') as Result;
    assert.equal(verdictWhyCell(whole), 'coherent');
    assert.equal(verdictWhyCell({ ...r, completion: { ...r.completion, deviceDown: 'the driver never came up' } }), 'no driver');
  });

  it('completion counts page moves, not pages: churn reads pages back, so it moves more than --pages', () => {
    const args = ['run', '--platform', 'xen-pv', '--device', 'r100', '--strategy', 'sync', '--workload', 'churn', '--pages', '1024'];
    const j = cli(...args, '--json');
    assert.equal(j.code, 0, j.stderr);
    const moves = (JSON.parse(j.stdout) as Result).completion.pagesRequested;
    assert.ok(moves > 1024, `churn asks ${moves} page moves of 1,024 pages`);
    const human = cli(...args);
    assert.match(human.stdout, new RegExp(`^completion: COMPLETE — all ${moves.toLocaleString('en-US')} page moves the work asked for went through the device$`, 'm'));
  });

  it('matrix details never round a bounce down to 0 MiB: 16 pages bounced are 128 KiB (4 KiB copied in at the map and out at the unmap, each)', () => {
    const r = cli('matrix', '--device', 'r100', '--pages', '16');
    assert.match(r.stdout, /^ {2}swiotlb-force legacy +16 \/ 0 \/ 0 .* 128 KiB bounced /m);
    assert.match(r.stdout, /^ {2}bare-metal legacy +0 \/ 0 \/ 0 .* 0 B bounced /m);
  });

  it('every matrix cell says it too', () => {
    const r = cli('matrix', '--xen-low-free', '16M', '--pages', '8192');
    assert.equal(r.code, 0, r.stderr);
    const xen = r.stdout.split('\n').find((l) => l.startsWith('xen-pv '))!;
    assert.match(xen, /coherent, \d+% moved/, xen);
    const m = json('matrix', '--xen-low-free', '16M', '--pages', '8192');
    const cell = m.cells.find((c: { scenario: { platform: string; strategy: string } }) => c.scenario.platform === 'xen-pv' && c.scenario.strategy === 'coherent');
    assert.ok(cell.completion.pagesMoved < cell.completion.pagesRequested);
  });

  it('a replay that moves nothing through the device says so, with no per-page figure', () => {
    const dir = scratch();
    const path = join(dir, 'cpu-only.jsonl');
    writeFileSync(path, '{"op":"alloc","buf":"a","pages":1,"zone":"dma32"}\n{"op":"cpu_write","buf":"a"}\n{"op":"cpu_read","buf":"a"}\n');
    const r = json('replay', path);
    assert.deepEqual(r.completion, { pagesRequested: 0, pagesMoved: 0 });
    assert.equal(r.modeled.nsPerPage, null);
    assert.equal(r.modeled.mibPerSec, null);
    const human = cli('replay', path);
    assert.match(human.stdout, /completion: no page was asked to move through the device/);
    assert.match(human.stdout, /no page moved, so no per-page figure/);
  });

  it('a cost table of zeros: pages moved, 0 ns per page, no rate (not "no page moved")', () => {
    const dir = scratch();
    const costs = join(dir, 'zero.json');
    const table = JSON.parse(readFileSync(join(ROOT, 'costs', 'default.json'), 'utf8')) as { costs: Record<string, unknown> };
    writeFileSync(costs, JSON.stringify({ costs: Object.fromEntries(Object.keys(table.costs).map((k) => [k, { ns: 0 }])) }));
    const r = json('run', '--pages', '64', '--costs', costs);
    assert.equal(r.completion.pagesMoved, 64);
    assert.deepEqual(r.modeled, { totalNs: 0, nsPerPage: 0, mibPerSec: null });
    const human = cli('run', '--pages', '64', '--costs', costs);
    assert.match(human.stdout, /modelled {3}0 ns kernel\+bus time, 0 ns per moved page \(the cost table charges nothing for what ran: no rate\)/);
    assert.doesNotMatch(human.stdout, /no page moved/);
    const m = cli('matrix', '--pages', '64', '--costs', costs);
    assert.match(m.stdout, /zero modelled cost/);
    assert.doesNotMatch(m.stdout, /no page moved/);
  });

  // D24: a replay that binds (or hands the device) a failed map's address: the GPU reaches whatever
  // is there and the oracle judges it, but the page did not move. 128 pages = 512 KiB, more than a
  // swiotlb map may take (IO_TLB_SEGSIZE × 2 KiB = 256 KiB), so the map fails on every platform that
  // bounces a 32-bit r100's pages: 2.6.37 returns the overflow buffer (swiotlb-force) or 0
  // (xen-swiotlb), 6.12 DMA_MAPPING_ERROR. 64 pages map, and move.
  it("pages reached through a failed map's address did not move (D24), on both engines and kernels", () => {
    const dir = scratch();
    const script = (pages: number) => {
      const path = join(dir, `failed-map-${pages}.jsonl`);
      writeFileSync(path, [
        `{"op":"alloc","buf":"a","pages":${pages},"zone":"dma32"}`, '{"op":"map","buf":"a","dir":"bidirectional"}',
        '{"op":"gart_bind","buf":"a","gpuPage":0}', '{"op":"cpu_write","buf":"a"}', `{"op":"gpu_read","gpuPage":0,"pages":${pages}}`,
        '{"op":"dev_read","buf":"a","size":8192}',
      ].join('\n') + '\n');
      return path;
    };
    for (const [platform, kernel] of [['swiotlb-force', '2010'], ['xen-pv', '2010'], ['swiotlb-force', 'modern']]) {
      for (const engine of ['wasm', 'js']) {
        const what = `${platform} ${kernel} ${engine}`;
        const bad = json('replay', script(128), '--platform', platform, '--kernel', kernel, '--engine', engine);
        assert.equal(bad.counters.mappingErrors, 1, what);
        assert.equal(bad.extra.failedMapPages, 128 + 2, what);
        assert.deepEqual(bad.completion, { pagesRequested: 130, pagesMoved: 0 }, what);
        const good = json('replay', script(64), '--platform', platform, '--kernel', kernel, '--engine', engine);
        assert.deepEqual([good.counters.mappingErrors, good.extra.failedMapPages], [0, 0], what);
        assert.deepEqual(good.completion, { pagesRequested: 66, pagesMoved: 66 }, what);
      }
    }
    const human = cli('replay', script(128), '--platform', 'swiotlb-force').stdout;
    assert.match(human, /verdict: CORRUPT, 0% moved — /);
    assert.match(human, /completion: INCOMPLETE — 0% moved \(0 of 130 page moves\): 1 map error, 130 pages reached though their map failed; the verdict speaks of the pages that moved and of what was read where a map had failed/);
    assert.equal(json('run', '--pages', '64').extra.failedMapPages, 0, 'a complete workload: none');
  });

  // 2.6.37 nouveau maps a tt's pages at populate (nouveau_sgdma_populate); a failed map unmaps them
  // and ttm_tt_populate ignores the -EFAULT, so the tt binds with a backend that holds no page: no
  // GART entry is written, and the GPU reads the dummy page (nv04) or faults (nv50). Those pages did
  // not move. A 2 MiB pool holds three of the stream's four 256-page BOs at once.
  it('a nouveau tt whose populate map failed binds with no page: its GPU pages are reached, not moved (D24), on both engines', () => {
    for (const [device, platform] of [['nv04', 'xen-pv'], ['nv50', 'swiotlb-force']]) {
      for (const engine of ['wasm', 'js']) {
        const r = json('run', '--platform', platform, '--device', device, '--strategy', 'sync', '--workload', 'stream', '--swiotlb', '2M', '--pages', '1024', '--engine', engine);
        assert.ok(r.counters.mappingErrors > 0, `${device} ${engine}`);
        assert.deepEqual([r.extra.failedMapPages, r.completion.pagesMoved, r.completion.pagesRequested], [768, 256, 1024], `${device} ${engine}`);
        assert.equal(r.counters.foreignReads, 768);
      }
    }
  });

  it('a device read of a buffer whose allocation failed was asked for and did not move (D22), on both engines', () => {
    const dir = scratch();
    const path = join(dir, 'failed-coherent.jsonl');
    // a 32-bit device's coherent pages need Xen's memory below 4 GiB: with none left the allocation fails
    writeFileSync(path, '{"op":"alloc_coherent","buf":"c","pages":16}\n{"op":"cpu_write","buf":"c"}\n{"op":"dev_read","buf":"c"}\n{"op":"dev_write","buf":"c","offset":2048,"size":4096}\n');
    for (const engine of ['wasm', 'js']) {
      const r = json('replay', path, '--platform', 'xen-pv', '--device', 'r100', '--xen-low-free', '0', '--engine', engine);
      assert.equal(r.counters.coherentAllocs, 0);
      assert.deepEqual(r.completion, { pagesRequested: 18, pagesMoved: 0 }, engine);
      assert.equal(r.extra.gpuSkippedPages, 18);
    }
    const human = cli('replay', path, '--platform', 'xen-pv', '--device', 'r100', '--xen-low-free', '0');
    assert.match(human.stdout, /verdict: COHERENT, vacuously, 0% moved — no CPU or GPU read happened/);
    assert.match(human.stdout, /completion: INCOMPLETE — 0% moved \(0 of 18 page moves\)/);
  });
});

describe('a result names its machine and its tool', () => {
  it('the human header names the options that change the rules: auto, the iommu mode, a dynamic swiotlb, a min_align_mask', () => {
    const head = (...args: string[]) => cli('run', '--pages', '64', ...args).stdout.split('\n')[0]!;
    assert.match(head('--strategy', 'auto', '--platform', 'coco', '--kernel', 'modern'), /strategy coherent \(auto: the kernel's own choice\)/);
    assert.match(head('--platform', 'iommu', '--kernel', 'modern', '--iommu-mode', 'strict'), /kernel modern, iommu strict, seed 1/);
    assert.match(head('--platform', 'swiotlb-force', '--kernel', 'modern', '--device', 'r600', '--swiotlb-dynamic', '--min-align-mask', '4095'), /kernel modern, swiotlb dynamic, min_align_mask 4095, seed 1/);
    assert.match(head('--platform', 'xen-pv'), /kernel 2010, seed 1, engine wasm$/);
  });

  it('replay --platform all --strategy auto: the header gives each platform its own choice when they differ', () => {
    const file = script(scratch(), 'auto-all.jsonl', [{ op: 'tt_populate', buf: 't', pages: 4, caching: 'cached' }, { op: 'tt_unpopulate', buf: 't' }]);
    const r = cli('replay', file, '--strategy', 'auto', '--kernel', 'modern', '--platform', 'all');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0]!, /strategy auto \(the kernel's own choice: bare-metal legacy, swiotlb-force legacy, xen-pv coherent, iommu legacy, coco coherent\)/);
  });

  it('machine options in force, in bytes; Xen-only ones are null elsewhere', () => {
    const x = json('run', '--platform', 'xen-pv', '--ram', '1G', '--host-ram', '6G', '--xen-low-free', '200M', '--swiotlb', '8M', '--pages', '64');
    assert.deepEqual(x.machine, { ramBytes: 2 ** 30, hostRamBytes: 6 * 2 ** 30, xenLowFreeBytes: 200 * 2 ** 20, swiotlbBytes: 8 * 2 ** 20, costs: 'default' });
    const b = json('run', '--platform', 'bare-metal', '--ram', '1G', '--host-ram', '6G', '--pages', '64');
    assert.equal(b.machine.hostRamBytes, null);
    assert.equal(b.machine.xenLowFreeBytes, null);
  });

  it('a costs file is named with its SHA-256', () => {
    const dir = scratch();
    const path = join(dir, 'costs.json');
    const text = '{"costs": {"hypercall": {"ns": 5000}}}\n';
    writeFileSync(path, text);
    const r = json('run', '--pages', '64', '--costs', path);
    assert.deepEqual(r.machine.costs, { path, sha256: createHash('sha256').update(text).digest('hex') });
  });

  it('the tool: version from package.json, the engine build that ran', () => {
    const w = json('run', '--pages', '64');
    assert.equal(w.tool.version, version);
    const wasm = createHash('sha256').update(readFileSync(join(ROOT, 'build', 'engine.wasm'))).digest('hex');
    assert.equal(w.tool.engineSha256, wasm);
    const j = json('run', '--pages', '64', '--engine', 'js');
    assert.match(j.tool.engineSha256, /^[0-9a-f]{64}$/);
    assert.notEqual(j.tool.engineSha256, wasm);
    assert.deepEqual(j.counters, w.counters);
  });
});
