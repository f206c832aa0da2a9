// CI runs `bench --quick`; `npm run bench` (the README's main job) runs the full sizes. Every
// machine and working set those full sections ask for is planned here, without running a page,
// so a size that cannot fit fails a test instead of the newcomer's first `npm run bench` (the
// full eras sweep asked 2^18 pages of a 1 GiB guest, which leaves 241,655 free).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STRATEGIES } from '../src/cli/options.js';
import { eraPlans, eraSweep } from '../bench/eras.js';
import { strategySpecs, sweep } from '../bench/strategies.js';
import { endToEndConfig, uploadArgv } from '../bench/endToEnd.js';
import { costPerPageConfig, modernArgv, sweepArgv } from '../bench/costPerPage.js';
import { scalingCases, scalingConfig } from '../bench/scaling.js';
import { userPlan } from '../bench/userRun.js';

for (const quick of [false, true]) {
  describe(`bench sections plan their ${quick ? '--quick' : 'full'} sizes`, () => {
    it('eras: every kernel × device × platform × strategy cell', () => {
      const plans = eraPlans(eraSweep(quick), 1);
      assert.ok(plans.length > 0);
    });
    it('strategies: every workload × platform × strategy (and gatt) cell', () => {
      assert.ok(strategySpecs(sweep(quick), 1).length > 0);
    });
    it('end to end: every strategy on both engines', () => {
      const c = endToEndConfig(quick, 1);
      for (const s of STRATEGIES) for (const e of ['js', 'wasm']) assert.ok(userPlan(uploadArgv(c, s, e)));
    });
    it('cost per page: every size', () => {
      const c = costPerPageConfig(quick, 1);
      for (const p of c.sizes) assert.ok(userPlan(sweepArgv(c, p)));
      for (const p of c.modern.sizes) assert.ok(userPlan(modernArgv(c, p)));
      assert.ok(c.modern.sizes.includes(c.modern.small) && c.modern.sizes.includes(c.modern.large));
    });
    it('scaling: its run commands', () => {
      for (const k of scalingCases(scalingConfig(quick, 1))) {
        const argv = k.argv(1);
        if (argv[0] === 'run') assert.ok(userPlan(argv));
      }
    });
  });
}
