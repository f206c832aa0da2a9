// The benchmark report: the four files exist and parse, the strategy comparison holds every
// platform × strategy (and × gatt) cell and matches the committed golden file exactly, and the
// HTML carries its charts as inline SVG.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, ROOT, scratch } from './helpers.js';
import { type Golden, diffGolden, goldenOf, resultsOf } from '../bench/golden.js';
import { sweep } from '../bench/strategies.js';

describe('gartbench bench --quick --only strategies', () => {
  const dir = scratch();
  const r = cli('bench', '--quick', '--only', 'strategies', '--out', dir);

  it('exits 0 and prints the markdown report', () => {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# gartbench benchmark report/);
    assert.match(r.stdout, /node v\d+.*cores.*commit .*seed 1/);
  });

  it('report.json holds every platform × strategy and platform × gatt cell of every workload', () => {
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(report.schema, 'gartbench.bench/1');
    const cells = report.sections.find((s: { id: string }) => s.id === 'strategies').data as { scenario: Record<string, string> }[];
    for (const workload of ['upload', 'readback', 'stream', 'churn']) {
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
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    const old = JSON.parse(readFileSync(join(ROOT, 'bench', 'golden.json'), 'utf8')) as Golden;
    const diffs = diffGolden(old, goldenOf(resultsOf(report), report.environment.seed, sweep(true)));
    assert.deepEqual(diffs.slice(0, 10), [], `${diffs.length} differences from bench/golden.json`);
  });

  it('benchmark.json is customBiggerIsBetter', () => {
    const metrics = JSON.parse(readFileSync(join(dir, 'benchmark.json'), 'utf8')) as { name: string; unit: string; value: number }[];
    assert.ok(metrics.length > 0);
    for (const m of metrics) {
      assert.equal(typeof m.name, 'string');
      assert.equal(typeof m.unit, 'string');
      assert.ok(Number.isFinite(m.value), m.name);
    }
  });

  it('report.html opens offline and holds its charts', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok((html.match(/<svg/g) ?? []).length >= 2, 'charts drawn as SVG');
    assert.doesNotMatch(html, /<script/, 'no scripts');
    assert.doesNotMatch(html, /src="http/, 'nothing fetched');
  });

  it('a file where the output directory should be is a usage error', () => {
    const bad = cli('bench', '--quick', '--out', join(dir, 'report.md'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--out: .* is a file/);
  });
});
