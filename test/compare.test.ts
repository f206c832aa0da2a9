// bench/compare.ts fails CI only on what cannot happen by chance: an end-to-end ratio whose
// median over at least 5 samples fell below half its baseline. Micro, parallel and scale ratios never fail.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compare, compareOne, render } from '../bench/compare.js';
import type { BenchReport, Ratio } from '../bench/types.js';

const five = (v: number): number[] => [v * 0.9, v, v * 1.1, v * 0.95, v * 1.05];

describe('compare with the baseline', () => {
  const cases: { description: string; ratio: Ratio; base: number | undefined; verdict: string; fails: boolean }[] = [
    { description: 'end-to-end, median below half over 5 samples: fails', ratio: { kind: 'end-to-end', samples: five(2) }, base: 5, verdict: 'regression', fails: true },
    { description: 'end-to-end, median just above half: does not fail', ratio: { kind: 'end-to-end', samples: five(2.6) }, base: 5, verdict: 'worse', fails: false },
    { description: 'end-to-end, one bad sample but a good median: does not fail', ratio: { kind: 'end-to-end', samples: [0.1, 0.2, 5, 5.2, 4.9] }, base: 5, verdict: 'same', fails: false },
    { description: 'end-to-end below half on fewer than 5 samples: not gated', ratio: { kind: 'end-to-end', samples: [1, 1, 1, 1] }, base: 5, verdict: 'too few samples', fails: false },
    { description: 'micro, 8× worse: printed, never fails', ratio: { kind: 'micro', samples: five(1) }, base: 8, verdict: 'worse', fails: false },
    { description: 'parallel speed-up halved (a busy machine): never fails', ratio: { kind: 'parallel', samples: five(0.8) }, base: 1.9, verdict: 'worse', fails: false },
    { description: 'scale (one engine at two sizes) halved: never fails', ratio: { kind: 'scale', samples: five(0.4) }, base: 1, verdict: 'worse', fails: false },
    { description: 'no baseline yet: new, never fails', ratio: { kind: 'end-to-end', samples: five(0.1) }, base: undefined, verdict: 'new', fails: false },
    { description: 'better: never fails', ratio: { kind: 'end-to-end', samples: five(20) }, base: 5, verdict: 'better', fails: false },
  ];
  for (const c of cases) {
    it(c.description, () => {
      const r = compareOne('k', c.ratio, c.base);
      assert.equal(r.verdict, c.verdict);
      assert.equal(r.fails, c.fails);
      assert.equal(r.now.samples, c.ratio.samples.length);
    });
  }

  it('the printed comparison names a failing ratio with its median and half its baseline', () => {
    const report = {
      schema: 'gartbench.bench/1', wallSeconds: 1, costs: [],
      environment: { node: 'v20', cpu: 'x', cores: 2, memoryGiB: 1, platform: 'linux-x64', commit: 'c', seed: 1, quick: true, date: 'd' },
      sections: [{
        id: 's', title: 't', question: 'q', tables: [], charts: [], targets: [], notes: [],
        metrics: [{ name: 'Wasm engine', unit: 'M page-ops/s', value: 30, range: '± 2', extra: 'median of 5 samples; min 28, max 32 M page-ops/s', timed: true }],
        ratios: { e2e: { kind: 'end-to-end', samples: five(2) }, micro: { kind: 'micro', samples: five(0.5) } },
      }],
    } as BenchReport;
    const { text, fails } = render(report, { about: '', environment: report.environment, ratios: { e2e: 5, micro: 8, old: 3 }, timings: { 'Wasm engine': { value: 40, unit: 'M page-ops/s' } } });
    assert.deepEqual(fails.map((f) => f.key), ['e2e']);
    assert.match(text, /FAIL: e2e \(median 2\.00 < 2\.50, half its baseline 5\.00\)/);
    assert.match(text, /\| micro \| micro \| 8\.00 \|.*worse \(never fails\)/);
    assert.match(text, /In the baseline, not measured in this run \(another size, --only, or renamed\): old\./);
    assert.match(text, /\| Wasm engine \| M page-ops\/s \| 40\.0 \| 30\.0 \| ± 2 \| 5 \| -25% \|/);
    assert.equal(compare({ e2e: { kind: 'end-to-end', samples: five(5) } }, { e2e: 5 })[0]!.fails, false);
  });
});
