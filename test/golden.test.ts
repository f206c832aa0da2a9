// The golden comparison: any change to a deterministic figure of the quick sweep is found and
// named (cell, field, old → new); identical figures give no difference.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Golden, diffGolden, goldenText } from '../bench/golden.js';

function golden(): Golden {
  return {
    about: 'test', seed: 1,
    sweep: { pages: 65536, rounds: 1, boPages: 256, ram: 2 ** 30, hostRam: 2 ** 33, xenLowFree: 2 ** 29 },
    cells: {
      'upload r100 xen-pv legacy': {
        verdict: 'corrupt', completion: { pagesRequested: 65536, pagesMoved: 65536 },
        counters: { staleReads: 65536, bounces: 65536, hypercalls: 0 }, extra: { bindFailures: 0 },
        modeled: { totalNs: 1000, nsPerPage: 3, mibPerSec: 1050.8 },
      },
      'upload r100 xen-pv sync': {
        verdict: 'coherent', completion: { pagesRequested: 65536, pagesMoved: 65536 },
        counters: { staleReads: 0, bounces: 65536, hypercalls: 0 }, extra: { bindFailures: 0 },
        modeled: { totalNs: 2000, nsPerPage: null, mibPerSec: null },
      },
    },
  };
}

describe('golden comparison', () => {
  it('identical figures: no difference', () => {
    assert.deepEqual(diffGolden(golden(), golden()), []);
  });

  it('a changed counter is named with its cell, old and new value', () => {
    const now = golden();
    now.cells['upload r100 xen-pv sync']!.counters.hypercalls = 1;
    assert.deepEqual(diffGolden(golden(), now), [{ cell: 'upload r100 xen-pv sync', field: 'counters.hypercalls', old: 0, now: 1 }]);
  });

  const changes: { description: string; change: (g: Golden) => void; field: string }[] = [
    { description: 'verdict', change: (g) => { g.cells['upload r100 xen-pv legacy']!.verdict = 'coherent'; }, field: 'verdict' },
    { description: 'completion', change: (g) => { g.cells['upload r100 xen-pv legacy']!.completion.pagesMoved = 1; }, field: 'completion.pagesMoved' },
    { description: 'an extra counter', change: (g) => { g.cells['upload r100 xen-pv legacy']!.extra.bindFailures = 2; }, field: 'extra.bindFailures' },
    { description: 'a modelled figure, null → number', change: (g) => { g.cells['upload r100 xen-pv sync']!.modeled.mibPerSec = 1; }, field: 'modeled.mibPerSec' },
    { description: 'a new counter', change: (g) => { g.cells['upload r100 xen-pv sync']!.counters.newThing = 0; }, field: 'counters.newThing' },
    { description: 'a missing cell', change: (g) => { delete g.cells['upload r100 xen-pv sync']; }, field: '(cell)' },
    { description: 'the sweep', change: (g) => { g.sweep.pages = 1; }, field: 'pages' },
  ];
  for (const c of changes) {
    it(`a changed ${c.description} is found`, () => {
      const now = golden();
      c.change(now);
      const d = diffGolden(golden(), now);
      assert.equal(d.length, 1, JSON.stringify(d));
      assert.equal(d[0]!.field, c.field);
    });
  }

  it('the file text parses back to the same figures', () => {
    assert.deepEqual(JSON.parse(goldenText(golden())), golden());
  });
});
