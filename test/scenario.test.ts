// The seeds' verdicts at full mechanism depth (TTM pools, GART, AGP GATT), MODEL.md §5, for a
// 32-bit device on upload — and the costs behind them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers.js';

const MACHINE = ['--ram', '1G', '--host-ram', '6G', '--xen-low-free', '256M', '--swiotlb', '8M'];

function run(args: string[]) {
  const r = cli('run', '--json', '--pages', '512', '--bo-pages', '64', ...MACHINE, ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const TTM: Record<string, Record<string, string>> = {
  'bare-metal': { legacy: 'coherent', coherent: 'coherent', sync: 'coherent', 'xen-aware': 'coherent' },
  'swiotlb-force': { legacy: 'corrupt', coherent: 'coherent', sync: 'coherent', 'xen-aware': 'corrupt' },
  'xen-pv': { legacy: 'corrupt', coherent: 'coherent', sync: 'coherent', 'xen-aware': 'coherent' },
  iommu: { legacy: 'coherent', coherent: 'coherent', sync: 'coherent', 'xen-aware': 'coherent' },
};

const AGP: Record<string, Record<string, string>> = {
  'bare-metal': { phys: 'coherent', 'dma-coherent': 'coherent', 'fsb-hooks': 'coherent' },
  'xen-pv': { phys: 'corrupt', 'dma-coherent': 'coherent', 'fsb-hooks': 'coherent' },
  iommu: { phys: 'coherent', 'dma-coherent': 'corrupt', 'fsb-hooks': 'coherent' },
};

describe('TTM strategies, r100 upload (seed 000)', () => {
  for (const [platform, row] of Object.entries(TTM)) {
    for (const [strategy, verdict] of Object.entries(row)) {
      it(`${platform} ${strategy} is ${verdict}`, () => {
        const up = run(['--platform', platform, '--device', 'r100', '--strategy', strategy, '--workload', 'upload']);
        assert.equal(up.verdict, verdict);
        if (verdict === 'corrupt') assert.ok(up.counters.staleReads > 0, 'upload shows stale reads');
        const rb = run(['--platform', platform, '--device', 'r100', '--strategy', strategy, '--workload', 'readback']);
        assert.equal(rb.verdict, verdict, 'readback mirrors upload');
        if (verdict === 'corrupt') assert.ok(rb.counters.lostWrites > 0, 'readback shows lost writes');
      });
    }
  }
});

describe('AGP GATT strategies (seed 004)', () => {
  for (const [platform, row] of Object.entries(AGP)) {
    for (const [gatt, verdict] of Object.entries(row)) {
      it(`${platform} ${gatt} is ${verdict}`, () => {
        const r = run(['--platform', platform, '--device', 'agp', '--gatt', gatt, '--workload', 'upload']);
        assert.equal(r.verdict, verdict);
      });
    }
  }
});

describe('the costs behind the verdicts', () => {
  it('sync pays bounce copies on every hand-over', () => {
    const legacy = run(['--platform', 'xen-pv', '--strategy', 'legacy']);
    const sync = run(['--platform', 'xen-pv', '--strategy', 'sync']);
    assert.ok(sync.counters.syncsForDevice >= 512, 'a sync per page');
    assert.ok(sync.counters.bounceBytes > legacy.counters.bounceBytes, 'the syncs copy');
    assert.ok(sync.modeled.totalNs > legacy.modeled.totalNs);
  });

  it('coherent and xen-aware never touch swiotlb under Xen but pay exchanges', () => {
    for (const strategy of ['coherent', 'xen-aware']) {
      const r = run(['--platform', 'xen-pv', '--strategy', strategy]);
      assert.equal(r.counters.bounces, 0, strategy);
      assert.equal(r.counters.swiotlbPeakSlots, 2, `${strategy}: only the GART dummy page's two slots, held since init`);
      assert.ok(r.counters.hypercalls > 0 && r.counters.exchangedFrames > 0, `${strategy} exchanges`);
    }
  });

  it("a bound working set larger than the pool runs swiotlb out (2010 Xen: the 0 handle, bind fails)", () => {
    // 8M pool = 4096 slots = 2048 bounced pages; stream binds 4096 pages at once.
    const r = run(['--platform', 'xen-pv', '--strategy', 'legacy', '--workload', 'stream', '--pages', '4096', '--bo-pages', '256']);
    assert.ok(r.counters.swiotlbFull > 0);
    assert.ok(r.counters.mappingErrors > 0);
    assert.equal(r.counters.swiotlbPeakSlots, 4096);
  });

  it("coherent fails cleanly when Xen's low memory runs out, losing no frame", () => {
    const r = cli('run', '--json', '--platform', 'xen-pv', '--strategy', 'coherent', '--pages', '8192', '--bo-pages', '256',
      '--ram', '1G', '--host-ram', '6G', '--xen-low-free', '12M', '--swiotlb', '8M');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.ok(res.counters.allocFailures > 0, 'exchanges fail');
    assert.equal(res.counters.pagesAllocated, res.counters.pagesFreed, 'every page given back');
  });

  it('churn over a million pages completes on the Wasm engine', () => {
    const r = cli('run', '--json', '--workload', 'churn', '--pages', '1048576', '--bo-pages', '256', '--platform', 'xen-pv', '--strategy', 'coherent',
      '--ram', '2G', '--host-ram', '8G', '--xen-low-free', '1536M');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.ok(res.counters.cpuWrites >= 1 << 20, `pages written: ${res.counters.cpuWrites}`);
  });
});
