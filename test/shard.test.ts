// Sharding (INTERFACE `--shard K/N`, `merge`): the shards of a matrix, merged, equal the unsharded
// run cell for cell and counter for counter, in any order of the parts; parts that overlap, are
// missing or come from another run are refused with one line and exit 2, and nothing is written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, scratch } from './helpers.js';
import { MAX_SHARDS, parseShard, shardIndices, shardOfCell, shardSlice } from '../src/run/shard.js';
import { matrixOrder } from '../src/run/matrix.js';
import { type MatrixDoc, type Part, mergeParts } from '../src/report/shard.js';

const SMALL = ['--pages', '256', '--bo-pages', '64', '--ram', '1G', '--host-ram', '6G', '--swiotlb', '8M', '--workload', 'churn'];
const dir = scratch();

function matrix(name: string, ...args: string[]): MatrixDoc {
  const out = join(dir, name);
  const r = cli('matrix', ...SMALL, ...args, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as MatrixDoc;
}

/** Everything in a cell that does not vary from run to run (timings, host and memory do). */
function fixed(doc: MatrixDoc) {
  return doc.cells.map((c) => ({ ...c, engine: undefined, host: undefined }));
}

function refused(args: string[], pattern: RegExp): void {
  const out = join(dir, `refused-${Math.random().toString(36).slice(2)}.json`);
  const r = cli(...args, '--out', out);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(existsSync(out), false, 'no output file');
}

describe('shard slices', () => {
  it('every cell is in exactly one shard, the slices differ by one cell at most, in order', () => {
    for (let total = 0; total <= 30; total++) {
      for (let n = 1; n <= 7; n++) {
        const seen: number[] = [];
        const sizes: number[] = [];
        for (let k = 1; k <= n; k++) {
          const ix = shardIndices(total, { index: k, count: n });
          assert.deepEqual(ix, [...ix].sort((a, b) => a - b));
          for (const i of ix) assert.equal(shardOfCell(i, n), k);
          seen.push(...ix);
          sizes.push(ix.length);
        }
        assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i), `${total} cells, ${n} shards`);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      }
    }
    // Shard 2 of 3 of ten items: indices 1, 4, 7 (by hand: i mod 3 = 1).
    assert.deepEqual(shardSlice(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], { index: 2, count: 3 }), { items: ['b', 'e', 'h'], indices: [1, 4, 7] });
  });

  it('--shard reads K/N and refuses anything else', () => {
    assert.deepEqual(parseShard('3/4'), { index: 3, count: 4 });
    assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
    for (const bad of ['0/2', '3/2', '1/0', 'x', '1', '1/2/3', '-1/2', '1.5/2', `1/${MAX_SHARDS + 1}`, '']) {
      assert.throws(() => parseShard(bad), (e: Error) => e.name === 'UsageError' && /^--shard: /.test(e.message), bad);
    }
  });

  it('the matrix order: every platform × strategy, or × gatt for agp', () => {
    // 2010: 4 platforms (no coco); modern: 5 (coco last).
    assert.equal(matrixOrder('r100', '2010').length, 20);
    assert.equal(matrixOrder('agp', '2010').length, 12);
    assert.deepEqual(matrixOrder('r100', '2010')[1], { platform: 'bare-metal', strategy: 'coherent', gatt: null });
    // modern: 5 platforms × the four paths and the kernel's own answer (auto) = 25; agp 5 × 3.
    assert.equal(matrixOrder('r100', 'modern').length, 25);
    assert.equal(matrixOrder('agp', 'modern').length, 15);
    assert.deepEqual(matrixOrder('r100', 'modern')[4], { platform: 'bare-metal', strategy: 'auto', gatt: null });
    assert.deepEqual(matrixOrder('r100', 'modern')[20], { platform: 'coco', strategy: 'legacy', gatt: null });
  });
});

describe('matrix --shard and merge', () => {
  const whole = matrix('whole.json');
  const halves = [matrix('half1.json', '--shard', '1/2'), matrix('half2.json', '--shard', '2/2', '--workers', '2')];
  const parts = (names: string[]) => names.map((n) => join(dir, n));

  it('two shards merged equal the unsharded run, counter for counter', () => {
    assert.equal(whole.cells.length, 20);
    assert.equal(whole.shard, undefined);
    assert.deepEqual(halves.map((h) => h.cells.length), [10, 10]);
    assert.deepEqual(halves[0]!.shard!.cells, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    // A part holds its own cells, as the unsharded run computed them.
    assert.deepEqual(fixed(halves[1]!), fixed(whole).filter((_, i) => i % 2 === 1));
    const out = join(dir, 'merged2.json');
    const r = cli('merge', ...parts(['half2.json', 'half1.json']), '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as MatrixDoc;
    assert.deepEqual(JSON.parse(r.stdout), merged);
    assert.deepEqual(Object.keys(merged), Object.keys(whole));
    assert.deepEqual(fixed(merged), fixed(whole));
    for (const [i, c] of merged.cells.entries()) assert.deepEqual(c.counters, whole.cells[i]!.counters, `cell ${i}`);
    assert.ok(whole.cells.some((c) => c.counters.bounces! > 0) && whole.cells.some((c) => c.verdict === 'corrupt'), 'the cells differ from each other');
    assert.equal((merged.engine as { shards?: number }).shards, 2);
    assert.equal(merged.engine.reusedMemories, halves[0]!.engine.reusedMemories! + halves[1]!.engine.reusedMemories!);
    assert.equal(merged.engine.workersRan, halves[0]!.engine.workersRan! + halves[1]!.engine.workersRan!);
    assert.ok(halves[1]!.engine.workersRan! >= 1 && halves[1]!.engine.workersRan! <= halves[1]!.engine.workers);
  });

  it('a part from before results counted reused memories and the threads that ran cells merges to unknown counts (null), not 0', () => {
    const old = JSON.parse(readFileSync(join(dir, 'half2.json'), 'utf8')) as MatrixDoc;
    delete (old.engine as { reusedMemories?: unknown }).reusedMemories;
    delete (old.engine as { workersRan?: unknown }).workersRan;
    writeFileSync(join(dir, 'old2.json'), JSON.stringify(old));
    const out = join(dir, 'merged-old.json');
    const r = cli('merge', ...parts(['half1.json', 'old2.json']), '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as MatrixDoc;
    assert.equal(merged.engine.reusedMemories, null);
    assert.equal(merged.engine.workersRan, null);
    assert.deepEqual(fixed(merged), fixed(whole));
  });

  it('a modern matrix (with its auto column) in three shards merges to the unsharded run', () => {
    const m = (name: string, ...a: string[]) => matrix(name, '--kernel', 'modern', '--bo-pages', '32', ...a);
    const all = m('modern-whole.json');
    assert.equal(all.cells.length, 25);
    // auto: drm_need_swiotlb — the coherent pool on xen-pv and coco, legacy elsewhere (1 GiB RAM, 32-bit r100).
    const auto = all.cells.filter((c) => c.scenario.strategyAsked === 'auto');
    assert.deepEqual(auto.map((c) => [c.scenario.platform, c.scenario.strategy]),
      [['bare-metal', 'legacy'], ['swiotlb-force', 'legacy'], ['xen-pv', 'coherent'], ['iommu', 'legacy'], ['coco', 'coherent']]);
    for (const k of [1, 2, 3]) m(`modern-${k}.json`, '--shard', `${k}/3`);
    const out = join(dir, 'modern-merged.json');
    const r = cli('merge', ...parts(['modern-3.json', 'modern-1.json', 'modern-2.json']), '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /legacy +coherent +sync +xen-aware +auto/);
    // The parts ran apart: the simulator line says their wall is the slowest's, not a shared one.
    assert.match(r.stdout, /^simulator: 3 shards, merged: the slowest took [\d.]+ ms of engine wall, all together [\d.]+ ms of engine time on 3 workers/m);
    assert.deepEqual(fixed(JSON.parse(readFileSync(out, 'utf8')) as MatrixDoc), fixed(all));
  });

  it('three shards of an agp matrix, given in any order, merged equal the unsharded run', () => {
    const agp = matrix('agp.json', '--device', 'agp');
    for (const k of [1, 2, 3]) matrix(`agp${k}.json`, '--device', 'agp', '--shard', `${k}/3`);
    const r = cli('merge', ...parts(['agp3.json', 'agp1.json', 'agp2.json']), '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fixed(JSON.parse(r.stdout)), fixed(agp));
    // The human form is the unsharded matrix's table.
    const human = cli('merge', ...parts(['agp1.json', 'agp2.json', 'agp3.json']));
    assert.equal(human.code, 0, human.stderr);
    const table = (s: string) => s.split('\n').filter((l) => /^(bare-metal|swiotlb-force|xen-pv|iommu) /.test(l)).join('\n');
    const plain = cli('matrix', ...SMALL, '--device', 'agp');
    assert.equal(table(human.stdout), table(plain.stdout));
    assert.ok(table(plain.stdout).length > 0);
  });

  it('a part prints its own cells and says which shard it is', () => {
    const r = cli('matrix', ...SMALL, '--shard', '2/2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^shard 2\/2: 10 of the matrix's 20 cells/);
    assert.match(r.stdout, /bare-metal +· +\S+/);
  });

  it('refuses a missing shard, overlapping parts and parts of another run (exit 2, one line, nothing written)', () => {
    refused(['merge', ...parts(['half1.json'])], /missing shard 2\/2 of the 20-cell matrix/);
    refused(['merge', ...parts(['half1.json', 'half1.json', 'half2.json'])], /'.*half1\.json' and '.*half1\.json' are both shard 1\/2: the parts overlap/);
    matrix('other-pages.json', '--shard', '2/2', '--pages', '512');
    refused(['merge', ...parts(['half1.json', 'other-pages.json'])], /other-pages\.json' is from another run than '.*half1\.json': --pages 512, not 256/);
    matrix('other-seed.json', '--shard', '2/2', '--seed', '9');
    refused(['merge', ...parts(['half1.json', 'other-seed.json'])], /another run .*: --seed 9, not 1/);
    refused(['merge', ...parts(['half1.json', 'agp2.json'])], /is shard 2\/3, but .* is shard 1\/2: every part must come from the same --shard N/);
    refused(['merge', ...parts(['whole.json'])], /whole\.json': a whole matrix, not a shard's part/);
    writeFileSync(join(dir, 'junk.json'), '{"schema": "gartbench.result/1"}');
    refused(['merge', ...parts(['half1.json', 'junk.json'])], /junk\.json': not a gartbench\.matrix\/1 document \(its schema is gartbench\.result\/1\)/);
    writeFileSync(join(dir, 'broken.json'), '{"schema": ');
    refused(['merge', ...parts(['broken.json'])], /broken\.json': not JSON \(it ends before the JSON does\)/);
    writeFileSync(join(dir, 'secret.json'), 'root:x:0:0:hunter2\n');
    refused(['merge', ...parts(['secret.json'])], /secret\.json': not JSON \(a character JSON does not allow\)\n$/); // never the file's text
    refused(['merge', join(dir, 'absent.json')], /absent\.json': cannot read \(no such file\)/);
    refused(['merge'], /missing PART\.json/);
  });

  it('refuses a part whose cells were edited', () => {
    const doc = JSON.parse(readFileSync(join(dir, 'half2.json'), 'utf8')) as MatrixDoc;
    doc.cells[0]!.scenario.rounds = 7;
    writeFileSync(join(dir, 'edited.json'), JSON.stringify(doc));
    refused(['merge', ...parts(['half1.json', 'edited.json'])], /edited\.json': cell 2 is not the matrix's bare-metal coherent of this run/);
  });

  it('--out may not be one of the parts', () => {
    const r = cli('merge', ...parts(['half1.json', 'half2.json']), '--out', join(dir, 'half1.json'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out: .* is one of the parts being merged/);
  });

  it('bad --shard values are refused before any work', () => {
    for (const bad of ['0/2', '3/2', 'half', '']) refused(['matrix', ...SMALL, '--shard', bad], /^gartbench: --shard: /);
  });

  it('shards beyond the cells are empty parts, and merge does not need them', () => {
    const parts: Part[] = [];
    for (let k = 1; k <= 22; k++) {
      const cells = shardIndices(20, { index: k, count: 22 });
      const shard = { index: k, count: 22, cells, total: 20, of: halves[0]!.shard!.of };
      if (k !== 21) parts.push({ name: `p${k}`, doc: { ...whole, shard, cells: cells.map((i) => whole.cells[i]) } });
    }
    assert.deepEqual(mergeParts(parts).cells, whole.cells);
    assert.throws(() => mergeParts(parts.slice(1)), /missing shard 1\/22/);
    const r = cli('matrix', ...SMALL, '--shard', '21/22', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).cells, []);
  });

  it('merge --help lists its options', () => {
    const r = cli('merge', '--help');
    assert.equal(r.code, 0);
    for (const o of ['--json', '--out', '-h, --help']) assert.ok(r.stdout.includes(o), o);
    const m = cli('matrix', '--help');
    for (const o of ['--shard K/N', '--workers', '--oversubscribe']) assert.ok(m.stdout.includes(o), o);
  });
});
