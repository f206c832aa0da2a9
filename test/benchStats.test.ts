// Every timed figure carries median, min, max and its sample count; benchmark.json entries are
// made so that a timed one always has its range. No timing is asserted: only shapes and counts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MIN_SAMPLES, countText, median, pairedRatios, rangeText, readable, scaled, statCell, summarize, summarizeAs } from '../bench/stats.js';
import { benchmarkJson, exactMetric, timedMetric } from '../bench/metrics.js';
import { timeTasks } from '../bench/tiny.js';
import { timeRounds } from '../bench/rounds.js';
import { measureCopyBandwidth, modeledWithCopyCost } from '../bench/copyBandwidth.js';
import { workloadPlanFrom } from '../src/cli/plans.js';
import { defaultCosts, loadCosts } from '../src/report/costs.js';
import { resultsOf } from '../src/report/results.js';

describe('bench statistics', () => {
  const cases = [
    { description: 'odd count: the middle sample', values: [5, 1, 3], median: 3, min: 1, max: 5 },
    { description: 'even count: the mean of the two middle samples', values: [4, 1, 3, 2], median: 2.5, min: 1, max: 4 },
    { description: 'one sample', values: [7], median: 7, min: 7, max: 7 },
  ];
  for (const c of cases) {
    it(`summarize: ${c.description}`, () => {
      assert.deepEqual(summarize(c.values), { median: c.median, min: c.min, max: c.max, samples: c.values.length });
    });
  }

  it('summarize refuses no samples and non-finite samples', () => {
    assert.throws(() => summarize([]));
    assert.throws(() => summarize([1, Number.NaN]));
    assert.throws(() => median([]));
  });

  it('rates are summarised sample by sample: the fastest time is the highest rate', () => {
    const s = summarizeAs([10, 20, 40], (ms) => 1000 / ms);
    assert.deepEqual(s, { median: 50, min: 25, max: 100, samples: 3 });
  });

  it('the range covers every sample around the median', () => {
    assert.equal(rangeText({ median: 10, min: 9, max: 14, samples: 5 }), '± 4.00');
    assert.equal(rangeText({ median: 10, min: 2, max: 11, samples: 5 }), '± 8.00');
    assert.equal(statCell({ median: 37.93, min: 35.1, max: 40.2, samples: 5 }), '37.9 (35.1–40.2)');
  });

  it('paired ratios are taken round by round and need the same count', () => {
    assert.deepEqual(pairedRatios([10, 20], [5, 4]), [2, 5]);
    assert.throws(() => pairedRatios([1, 2], [1]));
    assert.deepEqual(scaled({ median: 2, min: 1, max: 3, samples: 5 }, 10), { median: 20, min: 10, max: 30, samples: 5 });
  });
});

describe('benchmark.json entries', () => {
  it('a timed figure carries range and says its sample count', () => {
    const m = timedMetric('Wasm engine', 'M page-ops/s', { median: 37.9, min: 35, max: 40, samples: 5 });
    assert.equal(m.value, 37.9);
    assert.match(m.range!, /^± \d/);
    assert.match(m.extra!, /median of 5 samples; min 35.0, max 40.0/);
  });

  it('written entries hold exactly name, unit, value, range and extra', () => {
    const out = benchmarkJson([
      timedMetric('t', 'x', { median: 2, min: 1, max: 3, samples: 5 }),
      exactMetric('modelled', 'MiB/s', 90.3, 'modelled'),
    ]);
    assert.deepEqual(out.map((o) => Object.keys(o)), [['name', 'unit', 'value', 'range', 'extra'], ['name', 'unit', 'value', 'extra']]);
    const env = { node: 'v20.20.2', cpu: 'AMD EPYC', cores: 2, memoryGiB: 24, platform: 'linux-x64', commit: 'abc1234', seed: 7, quick: true, date: 'D', version: '0.1.0', engineSha256: 'e'.repeat(64) };
    const [made] = benchmarkJson([exactMetric('modelled', 'MiB/s', 90.3, 'modelled')], env) as { name: string; extra: string }[];
    assert.equal(made!.name, 'modelled [--quick]');
    assert.equal(made!.extra, 'modelled; made by gartbench 0.1.0 (engine eeeeeeeeeeee), node v20.20.2, AMD EPYC, 2 cores, commit abc1234, seed 7, --quick, D');
    const [full] = benchmarkJson([exactMetric('modelled', 'MiB/s', 90.3, 'modelled')], { ...env, quick: false }) as { name: string }[];
    assert.equal(full!.name, 'modelled');
  });

  it('figures for a person: three significant digits, whole with separators from 1,000; counts always whole', () => {
    assert.deepEqual([readable(35.04), readable(0.12345), readable(999.6), readable(1234.5), readable(111494)], ['35.0', '0.123', '1,000', '1,235', '111,494']);
    assert.deepEqual([countText(7), countText(32547)], ['7', '32,547']);
  });

  it('a timed figure without range, or without a finite value, is refused', () => {
    assert.throws(() => benchmarkJson([{ name: 't', unit: 'x', value: 1, timed: true }]), /carries no range/);
    assert.throws(() => benchmarkJson([{ name: 't', unit: 'x', value: Number.NaN, timed: false }]), /no finite value/);
  });
});

describe('timing helpers return samples, not just a mean', () => {
  it('timeTasks (tinybench): median, min, max and at least the asked-for samples', async () => {
    const [t] = await timeTasks([{ name: 'sum', fn: () => { let s = 0; for (let i = 0; i < 1000; i++) s += i; return s; } }], { iterations: MIN_SAMPLES, timeMs: 0 });
    assert.ok(t!.ms.samples >= MIN_SAMPLES, `${t!.ms.samples} samples`);
    assert.ok(t!.ms.min <= t!.ms.median && t!.ms.median <= t!.ms.max);
  });

  it('timeRounds: one sample per round per variant, the untimed hook before each call', async () => {
    const calls: string[] = [];
    const t = await timeRounds([
      { name: 'a', before: () => { calls.push('before a'); }, fn: () => { calls.push('a'); } },
      { name: 'b', fn: async () => { calls.push('b'); } },
    ], 5, 1);
    assert.equal(t.a!.length, 5);
    assert.equal(t.b!.length, 5);
    assert.deepEqual(calls.slice(0, 6), ['before a', 'a', 'b', 'before a', 'a', 'b'], 'variants take turns, round by round');
    assert.equal(calls.filter((c) => c === 'a').length, 6, 'one warm-up round and five timed');
  });

  it('the 4 KiB copy-bandwidth measurement returns at least 5 samples with median, min and max', async () => {
    const m = await measureCopyBandwidth({ workingSetBytes: 1 << 20, samples: MIN_SAMPLES });
    assert.ok(m.gbPerSec.samples >= MIN_SAMPLES, `${m.gbPerSec.samples} samples`);
    assert.equal(m.nsPerByte.samples, m.gbPerSec.samples);
    assert.equal(m.workingSetBytes, 1 << 20);
    for (const s of [m.gbPerSec, m.nsPerByte]) assert.ok(s.min > 0 && s.min <= s.median && s.median <= s.max);
  });

  it('a bouncing result recomputed at the cost table\'s copy cost gives its own modelled figure, and a dearer copy a lower one', async () => {
    // A result leaves out the counters that cannot occur on its platform: they count 0 here.
    const sizes = { ram: 2 ** 30, 'host-ram': 6 * 2 ** 30, 'xen-low-free': 2 ** 28, swiotlb: 2 ** 23, 'payload-bytes': 0, seed: 1 };
    for (const platform of ['swiotlb-force', 'xen-pv', 'iommu']) {
      const v = { ...sizes, platform, device: 'r100', kernel: '2010', strategy: 'sync', workload: 'upload', pages: 256, 'bo-pages': 64, rounds: 1, replicas: 1, engine: 'wasm', 'iommu-mode': 'strict' };
      const [r] = await resultsOf([workloadPlanFrom(v, new Set())], loadCosts(undefined), { workers: 1 });
      assert.ok(r!.modeled.mibPerSec! > 0);
      assert.equal(modeledWithCopyCost(r!, defaultCosts().bounceCopyByte), r!.modeled.mibPerSec, platform);
      if (r!.counters.bounceBytes! > 0) assert.ok(modeledWithCopyCost(r!, 1)! < r!.modeled.mibPerSec!, platform);
    }
  });
});
