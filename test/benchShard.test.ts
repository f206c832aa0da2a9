// The bench spread over machines (INTERFACE `--shard K/N` for bench, and `merge`): each part runs a
// round-robin slice of the sections; merged, the sections come back in report order, each naming
// the machine that made it; bad parts are one line, exit 2, and nothing is written.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, expectUsage, scratch } from './helpers.js';
import { BENCHMARKS, selectedBenchmarks } from '../bench/index.js';
import { mergeBenchParts } from '../bench/merge.js';
import { madeBy, metText } from '../bench/reportText.js';
import type { BenchReport, Section } from '../bench/types.js';
import type { Environment } from '../bench/environment.js';

const dir = scratch();

const env = (cpu: string): Environment => ({ node: 'v20', cpu, cores: 2, memoryGiB: 24, platform: 'linux-x64', commit: 'abc', seed: 1, quick: true, date: '2026-01-01T00:00:00Z' });
const section = (id: string, e: Environment): Section => ({ id, title: id, question: '?', tables: [], metrics: [], charts: [], targets: [], notes: [], ratios: {}, environment: e });

/** A part as `bench --shard K/N --only IDS` writes it, on a machine named `cpu`. */
function part(all: string[], index: number, count: number, cpu: string, of = { quick: true, seed: 1, version: '0.1.0' }): BenchReport {
  const ids = all.filter((_, i) => i % count === index - 1);
  const e = env(cpu);
  return { schema: 'gartbench.bench/1', environment: e, wallSeconds: index, sections: ids.map((id) => section(id, e)), costs: [], shard: { index, count, sections: ids, all, of } };
}

function write(name: string, doc: unknown): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const f = join(d, 'report.json');
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

describe('bench shards', () => {
  it('the shards hold every section once, round robin in report order, after --only', () => {
    const ids = BENCHMARKS.map((b) => b.id);
    for (let n = 1; n <= ids.length; n++) {
      const got = Array.from({ length: n }, (_, k) => selectedBenchmarks(undefined, { index: k + 1, count: n }).run.map((b) => b.id));
      assert.deepEqual(got.flat().sort(), [...ids].sort(), `N=${n}`);
      assert.deepEqual(got[0]![0], ids[0]);
      if (n > 1) assert.deepEqual(got[1]![0], ids[1]);
    }
    const only = ['micro', 'startup', 'end-to-end'];
    assert.deepEqual(selectedBenchmarks(only, { index: 2, count: 2 }).run.map((b) => b.id), ['startup']);
    assert.deepEqual(selectedBenchmarks(only).all.map((b) => b.id), ['end-to-end', 'startup', 'micro']);
  });

  it('merged, the sections come back in report order, each naming its own machine', () => {
    const all = ['end-to-end', 'startup', 'micro'];
    const merged = mergeBenchParts([{ name: 'b', doc: part(all, 2, 2, 'CPU-B') }, { name: 'a', doc: part(all, 1, 2, 'CPU-A') }]);
    assert.deepEqual(merged.sections.map((s) => s.id), all);
    assert.deepEqual(merged.sections.map((s) => s.environment?.cpu), ['CPU-A', 'CPU-B', 'CPU-A']);
    assert.equal(merged.shards, 2);
    assert.equal(merged.environment.cpu, 'CPU-A');
    assert.equal(merged.wallSeconds, 2);
    assert.equal(merged.shard, undefined);
    assert.match(madeBy(merged.sections[1]!), /on CPU-B, 2 cores/);
  });

  it('a section names the tool and engine that made it; a target not measured is not judged, not "not met"', () => {
    const e = { ...env('CPU-A'), version: '0.1.0', engineSha256: 'c'.repeat(64) };
    assert.match(madeBy(section('startup', e)), / by gartbench 0\.1\.0 \(engine cccccccccccc\), on CPU-A, 2 cores/);
    assert.equal(metText({ met: null, notJudged: 'C not available' }), 'not judged: C not available');
    assert.equal(metText({ met: null }), 'not judged: another size');
    assert.equal(metText({ met: false }), 'not met');
  });

  it('refuses overlapping, missing, foreign and edited parts (one line, exit 2, nothing written)', () => {
    const all = ['end-to-end', 'startup', 'micro'];
    let a = write('a', part(all, 1, 2, 'A'));
    const b = write('b', part(all, 2, 2, 'B'));
    const other = write('c', part(all, 2, 2, 'B', { quick: false, seed: 1, version: '0.1.0' }));
    const edited = write('d', { ...part(all, 2, 2, 'B'), sections: [] });
    const whole = write('e', { ...part(all, 1, 1, 'A'), shard: undefined });
    const withBuild = (d: BenchReport, sha: string): BenchReport => ({ ...d, environment: { ...d.environment, engineSha256: sha } });
    a = write('a', withBuild(part(all, 1, 2, 'A'), 'a'.repeat(64)));
    const otherBuild = write('b2', withBuild(part(all, 2, 2, 'B'), 'b'.repeat(64)));
    const cut = withBuild(part(all, 2, 2, 'B'), 'a'.repeat(64));
    delete (cut.sections[0] as Partial<Section>).metrics;
    const noMetrics = write('d2', cut);
    const matrix = join(dir, 'm.json');
    writeFileSync(matrix, JSON.stringify({ schema: 'gartbench.matrix/1', cells: [] }));
    const out = join(dir, 'merged');
    const cases: [string[], RegExp][] = [
      [[a, a], /both shard 1\/2: the parts overlap/],
      [[a], /missing shard 2\/2 of the 3-section bench/],
      [[a, other], /another run .*--quick false, not true/],
      [[a, edited], /not shard 2\/2's \(was the file edited\?\)/],
      [[whole], /a whole bench report, not a shard's part/],
      [[a, matrix], /is not a bench report, but .* is: merge bench parts or matrix parts, not both/],
      [[a, otherBuild], /another run .*another engine build \(engine bbbbbbbbbbbb, not aaaaaaaaaaaa\)/],
      [[a, noMetrics], /d2.*: a section is malformed \(startup lacks one of tables, metrics, charts, targets, notes; was the file edited\?\)/],
    ];
    for (const [files, pattern] of cases) {
      const r = cli('merge', ...files, '--out', out);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(existsSync(out), false, 'nothing written');
    }
    const noOut = cli('merge', a, b);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /give --out DIR/);
    const into = cli('merge', a, b, '--out', join(dir, 'a'));
    assert.equal(into.code, 2);
    assert.match(into.stderr, /holds the part .* which the merged report.json would replace/);
    assert.equal(JSON.parse(readFileSync(a, 'utf8')).shard.index, 1, 'the part is untouched');
  });

  it('an --out DIR where one report file cannot go: exit 2 before anything is written, and the user\'s files stay as they were', () => {
    const all = ['end-to-end', 'startup', 'micro'];
    const out = join(dir, 'occupied');
    mkdirSync(join(out, 'benchmark.json'), { recursive: true });
    writeFileSync(join(out, 'report.md'), 'my notes\n');
    const r = cli('merge', write('o1', part(all, 1, 2, 'A')), write('o2', part(all, 2, 2, 'B')), '--out', out);
    expectUsage(r, /^gartbench: --out: '.*occupied\/benchmark\.json' is a directory; the report's benchmark\.json goes there: move it away or give another --out DIR\n$/);
    assert.equal(readFileSync(join(out, 'report.md'), 'utf8'), 'my notes\n');
    for (const f of ['report.html', 'report.json']) assert.equal(existsSync(join(out, f)), false, f);
    assert.deepEqual(readdirSync(out).sort(), ['benchmark.json', 'report.md'], 'no temporary file left either');
  });

  it('a good merge writes the four report files and prints the report', () => {
    const all = ['end-to-end', 'startup', 'micro'];
    const out = join(dir, 'good');
    const r = cli('merge', write('g1', part(all, 1, 2, 'A')), write('g2', part(all, 2, 2, 'B')), '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /merged from 2 shards/);
    for (const f of ['report.md', 'report.html', 'report.json', 'benchmark.json']) assert.ok(existsSync(join(out, f)), f);
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as BenchReport).sections.map((s) => s.id), all);
  });

  it('bench --only with no id, or an unknown one, lists the valid ids (exit 2, nothing written)', () => {
    for (const v of ['', 'startup,', 'bogus']) {
      const r = cli('bench', '--only', v, '--out', join(dir, 'never'));
      expectUsage(r, /^gartbench: --only: '[a-z]*' is not valid \(valid: end-to-end, cost-per-page, .*micro\)\n$/, v);
      assert.equal(existsSync(join(dir, 'never')), false);
    }
  });

  it('bench --shard names a bad value and an empty shard', () => {
    for (const [v, pattern] of [['0/2', /K outside 1\.\.2/], ['3', /is not K\/N/], ['3/3', /3\/3 holds no section: there are only 2/]] as const) {
      const r = cli('bench', '--only', 'startup,micro', '--shard', v, '--out', join(dir, 'never'));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(existsSync(join(dir, 'never')), false);
    }
  });
});
