// The benchmark report: the four files exist and parse, the strategy comparison holds every
// platform × strategy (and × gatt) cell and matches the committed golden file exactly,
// benchmark.json never ranks a corrupt or incomplete run and every timed figure carries its
// range, and the HTML draws a cost-versus-correctness chart per workload and device family.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT, scratch } from './helpers.js';
import { type Golden, diffGolden, goldenOf, resultsOf } from '../bench/golden.js';
import { rankable, sweep } from '../bench/strategies.js';
import type { Result } from '../src/report/result.js';
import type { BenchReport } from '../bench/types.js';

const WORKLOADS = ['upload', 'readback', 'stream', 'churn'];

describe('gartbench bench --quick --only strategies,copy-bandwidth', () => {
  const dir = scratch();
  const r = cli('bench', '--quick', '--only', 'strategies,copy-bandwidth', '--out', dir);
  const report = (): BenchReport => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));

  it('exits 0 and prints the markdown report', () => {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# gartbench benchmark report/);
    assert.match(r.stdout, /node v\d+.*cores.*commit .*seed 1/);
  });

  it('report.json holds every platform × strategy and platform × gatt cell of every workload', () => {
    const rep = report();
    assert.equal(rep.schema, 'gartbench.bench/1');
    const cells = resultsOf(rep);
    for (const workload of WORKLOADS) {
      for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']) {
        for (const strategy of ['legacy', 'coherent', 'sync', 'xen-aware']) {
          assert.ok(cells.some((c) => c.scenario.workload === workload && c.scenario.platform === platform && c.scenario.strategy === strategy), `${workload} ${platform} ${strategy}`);
        }
        for (const gatt of ['phys', 'dma-coherent', 'fsb-hooks']) {
          assert.ok(cells.some((c) => c.scenario.workload === workload && c.scenario.platform === platform && c.scenario.gatt === gatt), `${workload} ${platform} ${gatt}`);
        }
      }
    }
  });

  it('the quick sweep matches bench/golden.json exactly (else: npm run golden, if the change is intended)', () => {
    const rep = report();
    const old = JSON.parse(readFileSync(join(ROOT, 'bench', 'golden.json'), 'utf8')) as Golden;
    const diffs = diffGolden(old, goldenOf(resultsOf(rep), rep.environment.seed, sweep(true)));
    assert.deepEqual(diffs.slice(0, 10), [], `${diffs.length} differences from bench/golden.json`);
  });

  it('benchmark.json: bigger-is-better entries; no corrupt or incomplete run ranked; every timed entry has range', () => {
    const written = JSON.parse(readFileSync(join(dir, 'benchmark.json'), 'utf8')) as { name: string; unit: string; value: number; range?: string; extra?: string }[];
    // A --quick figure says so in its name, and every entry names what made it.
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    for (const m of written) {
      assert.ok(m.name.endsWith(' [--quick]'), m.name);
      assert.match(m.extra ?? '', new RegExp(`made by gartbench ${version.replace(/\./g, '\\.')} \\(engine [0-9a-f]{12}\\), node v\\d.*, seed 1, --quick, `), m.name);
    }
    const metrics = written.map((m) => ({ ...m, name: m.name.slice(0, -' [--quick]'.length) }));
    const cells = resultsOf(report());
    const modelled = metrics.filter((m) => m.name.startsWith('modelled '));
    assert.ok(modelled.length > 0, 'strategies are ranked');
    for (const m of metrics) {
      assert.deepEqual(Object.keys(m).filter((k) => !['name', 'unit', 'value', 'range', 'extra'].includes(k)), [], m.name);
      assert.equal(typeof m.unit, 'string');
      assert.ok(Number.isFinite(m.value), m.name);
      assert.doesNotMatch(m.name, /C ÷ Wasm|÷ Wasm/, 'ratios are named bigger-is-better');
    }
    for (const m of modelled) {
      const [, platform, device, fix] = /^modelled upload MiB\/s, (\S+) (\S+) (\S+)$/.exec(m.name) ?? [];
      const cell = cells.find((c: Result) => c.scenario.workload === 'upload' && c.scenario.platform === platform && c.scenario.device === device && (c.scenario.strategy ?? c.scenario.gatt) === fix);
      assert.ok(cell, m.name);
      assert.ok(rankable(cell), `${m.name} is ranked but was ${cell.verdict}, ${cell.completion.pagesMoved} of ${cell.completion.pagesRequested} moved`);
    }
    const unranked = cells.filter((c) => c.scenario.workload === 'upload' && !rankable(c));
    assert.ok(unranked.length > 0, 'the sweep has corrupt upload runs');
    for (const c of unranked) assert.ok(!modelled.some((m) => m.name.endsWith(`${c.scenario.platform} ${c.scenario.device} ${c.scenario.strategy ?? c.scenario.gatt}`)), 'never ranked');
    const timed = metrics.filter((m) => !m.name.startsWith('modelled '));
    assert.ok(timed.some((m) => /copy bandwidth/.test(m.name)), 'the copy bandwidth is a timed entry');
    for (const m of timed) {
      assert.match(m.range ?? '', /^± \d/, `${m.name} carries a range`);
      assert.match(m.extra ?? '', /median of \d+ samples; min .*, max /, m.name);
      assert.ok(Number(/median of (\d+)/.exec(m.extra!)![1]) >= 5, `${m.name}: at least 5 samples`);
    }
  });

  it('report.html opens offline and draws cost versus correctness for every workload and device family, labels whole', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script/, 'no scripts');
    assert.doesNotMatch(html, /src="http/, 'nothing fetched');
    for (const w of WORKLOADS) {
      for (const d of ['r100', 'AGP']) assert.match(html, new RegExp(`${w} on ${d}`), `${w} on ${d}`);
    }
    assert.ok((html.match(/<svg/g) ?? []).length >= 8, 'charts drawn as SVG');
    const svgText = (html.match(/<svg[\s\S]*?<\/svg>/g) ?? []).join('');
    assert.doesNotMatch(svgText, /…/, 'no label cut short');
    assert.match(svgText, /coherent, \d+% moved/, 'completion is in the legend');
  });

  it('the report shows the copy bandwidth beside the default and prints the cost table with sources', () => {
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(md, /\| assumed \(costs\/default\.json\) \| 10\.0 \| 0\.1000 \|.*\| baseline \|/);
    assert.match(md, /\| measured on this machine \| [\d.]+ \([\d.]+–[\d.]+\) \|/);
    assert.match(md, /modelled MiB\/s, measured [\d.]+ ns\/B/);
    assert.match(md, /## Cost table[\s\S]*\| key \| ns \| per \| source \|[\s\S]*\| bounceCopyByte \| 0\.1 \|/);
    for (const k of ['iommuMapPage', 'hypercall', 'gpuPage']) assert.match(md, new RegExp(`\\| ${k} \\| [\\d.]+ \\| [^|]+ \\| [^|]+ \\|`));
  });

  it('a file where the output directory should be is a usage error', () => {
    const bad = cli('bench', '--quick', '--out', join(dir, 'report.md'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--out: .* is a file/);
  });
});

describe('gartbench bench: what it names and where it writes', () => {
  it('--out DIR holding a link where a report file goes: exit 2 before any section runs, nothing written', () => {
    const dir = scratch();
    const target = join(scratch(), 'elsewhere.md');
    writeFileSync(target, 'kept\n');
    symlinkSync(target, join(dir, 'report.md'));
    const r = cli('bench', '--quick', '--only', 'copy-bandwidth', '--out', dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^gartbench: --out: '.*report\.md' is a symbolic link .*; the report's report\.md goes there: move it away or give another --out DIR$/m);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line: no section ran');
    assert.equal(readFileSync(target, 'utf8'), 'kept\n');
    assert.deepEqual(readdirSync(dir), ['report.md']);
  });

  it('--out DIR holding a directory named report.json: the advice is about DIR, not a file name', () => {
    const dir = scratch();
    mkdirSync(join(dir, 'report.json'));
    const r = cli('bench', '--quick', '--only', 'copy-bandwidth', '--out', dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `gartbench: --out: '${join(dir, 'report.json')}' is a directory; the report's report.json goes there: move it away or give another --out DIR\n`);
    assert.deepEqual(readdirSync(join(dir, 'report.json')), []);
  });

  it('the commit is gartbench\'s own, whatever the directory it runs from', () => {
    const url = new URL('../bench/environment.js', import.meta.url).href;
    const commitFrom = (cwd: string) => execFileSync(process.execPath, ['--input-type=module', '-e',
      `const m = await import(${JSON.stringify(url)}); process.stdout.write(m.environment(1, true).commit);`], { cwd, encoding: 'utf8' });
    const own = commitFrom(ROOT);
    const other = scratch();
    execFileSync('git', ['init', '-q', other]);
    assert.equal(commitFrom('/'), own);
    assert.equal(commitFrom(other), own);
  });
});
