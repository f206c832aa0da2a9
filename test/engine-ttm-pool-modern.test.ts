// The modern (Linux 6.12) TTM path: `--strategy auto`, which is drm_need_swiotlb's answer
// (drivers/gpu/drm/drm_cache.c, 6.12) as radeon_device_init and nouveau_ttm_init pass it to
// ttm_device_init as use_dma_alloc. Each expectation is derived by hand from the rule in the
// comment beside it; the runs go through both engines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCell } from '../src/run/cell.js';
import { autoStrategy, drmNeedSwiotlb } from '../src/run/needSwiotlb.js';
import { cellsOf, planWorkload } from '../src/run/plan.js';
import type { DeviceName, StrategyName, WorkloadScenario } from '../src/source/scenario.js';
import { ENGINES } from './engineHarness.js';

const GiB = 2 ** 30;

describe('drm_need_swiotlb(dma_bits) (drm_cache.c, 6.12)', () => {
  it('is true in a Xen PV domain whatever the mask and RAM (xen_pv_domain())', () => {
    assert.equal(drmNeedSwiotlb('xen-pv', 40, GiB), true);
    assert.equal(drmNeedSwiotlb('xen-pv', 32, GiB), true);
  });
  it('is true when memory encryption is active (cc_platform_has(CC_ATTR_MEM_ENCRYPT): the coco guest)', () => {
    assert.equal(drmNeedSwiotlb('coco', 40, GiB), true);
  });
  it('otherwise compares the highest iomem end (inclusive) with 1 << dma_bits, strictly', () => {
    // 4 GiB of RAM ends at 0xFFFF_FFFF, which is not above 1 << 32: false for a 32-bit mask.
    assert.equal(drmNeedSwiotlb('bare-metal', 32, 4 * GiB), false);
    // 4 GiB + 2 MiB ends at 0x1_001F_FFFF > 0x1_0000_0000: true.
    assert.equal(drmNeedSwiotlb('bare-metal', 32, 4 * GiB + 2 ** 21), true);
    // The same RAM is far below 1 << 40: false for a 40-bit mask.
    assert.equal(drmNeedSwiotlb('bare-metal', 40, 4 * GiB + 2 ** 21), false);
    // Neither a forced swiotlb nor an IOMMU enters the test: only the RAM's reach.
    assert.equal(drmNeedSwiotlb('swiotlb-force', 32, 2 * GiB), false);
    assert.equal(drmNeedSwiotlb('iommu', 32, 8 * GiB), true);
  });
});

describe('--strategy auto picks what the kernel\'s own driver does', () => {
  it('2010: always legacy (2.6.37 radeon and nouveau know only ttm_page_alloc + map)', () => {
    for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']) {
      assert.equal(autoStrategy('2010', platform, 32, 8 * GiB), 'legacy');
    }
  });
  it('modern: coherent exactly where drm_need_swiotlb is true, legacy elsewhere, per platform and device', () => {
    // r100/nv04 have a 32-bit mask, r600/nv50 a 40-bit one (run/machine.ts DEVICE_INFO).
    const want: Record<string, Record<string, [string, string]>> = {
      // [2 GiB of RAM, 6 GiB of RAM]
      'bare-metal': { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
      'swiotlb-force': { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
      'xen-pv': { 32: ['coherent', 'coherent'], 40: ['coherent', 'coherent'] },
      iommu: { 32: ['legacy', 'coherent'], 40: ['legacy', 'legacy'] },
    };
    for (const [platform, byBits] of Object.entries(want)) {
      for (const [bits, [at2, at6]] of Object.entries(byBits)) {
        assert.equal(autoStrategy('modern', platform, Number(bits), 2 * GiB), at2, `${platform} ${bits}-bit 2G`);
        assert.equal(autoStrategy('modern', platform, Number(bits), 6 * GiB), at6, `${platform} ${bits}-bit 6G`);
      }
    }
  });
});

const SIZES = { ram: 6 * GiB, hostRam: 16 * GiB, xenLowFree: 256 * 2 ** 20, swiotlb: 8 * 2 ** 20 };

function scenario(strategy: StrategyName, device: DeviceName, platform: 'bare-metal' | 'xen-pv', engine: 'wasm' | 'js'): WorkloadScenario {
  return {
    platform, device, strategy, gatt: null, workload: 'upload', pages: 128, boPages: 32, rounds: 1, seed: 3,
    kernel: 'modern', replicas: 1, payloadBytes: 0, engine,
  };
}

for (const engine of ENGINES) {
  describe(`auto runs as the strategy it resolves to (engine ${engine})`, () => {
    const cases: [DeviceName, 'bare-metal' | 'xen-pv', StrategyName][] = [
      ['r100', 'bare-metal', 'coherent'], // 6 GiB of RAM past a 32-bit mask
      ['r600', 'bare-metal', 'legacy'], // 6 GiB well inside 40 bits
      ['nv50', 'xen-pv', 'coherent'], // Xen PV: always
    ];
    for (const [device, platform, chosen] of cases) {
      it(`${device} on ${platform} with 6 GiB: auto is ${chosen}, counter for counter`, async () => {
        const auto = planWorkload(scenario('auto', device, platform, engine), SIZES);
        assert.equal(auto.scenario.strategy, chosen, 'the plan records the strategy auto chose');
        const same = planWorkload(scenario(chosen, device, platform, engine), SIZES);
        const a = await runCell(cellsOf(auto)[0]!);
        const b = await runCell(cellsOf(same)[0]!);
        assert.deepEqual(a.raw.counters, b.raw.counters);
      });
    }
  });
}
