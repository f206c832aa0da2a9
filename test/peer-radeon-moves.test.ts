// Peer test: radeon_test_moves (drivers/gpu/drm/radeon/radeon_test.c, run at load with
// radeon.test=1), re-expressed as a replay script. The kernel's test fills the GTT aperture with
// pinned 1 MiB GTT buffer objects and, for each one in turn: the CPU writes a pattern through a
// kernel mapping, the GPU copies GTT→VRAM (it reads the BO through the GART) and VRAM→GTT (it
// writes the BO), and the CPU reads the BO back and compares. Here the same script runs on every
// platform × strategy for radeon r100 (32-bit PCI GART) and r600 (40-bit PCIe), on both engines,
// and must be broken exactly where the RFC seed (/work/shared/seeds/000_*.txt) says the GART ends
// up holding a bounce buffer's address with nobody syncing, and clean after each of its fixes.
// The script goes through the project's own replay translator with the strategy's TTM profile
// (the `tt_*` ops of INTERFACE.md), so it is what `gartbench replay --strategy S` would run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, InitError, Platform, ViolationKind, type PlatformName } from '../src/engine/abi.js';
import { platformsOf } from '../src/run/matrix.js';
import { ReplayTranslator } from '../src/source/replay.js';
import type { ConcreteStrategyName as StrategyName } from '../src/source/scenario.js';
import { OpSink } from '../src/source/sink.js';
import { STRATEGY_PROFILES } from '../src/source/workloads.js';
import { ENGINES, createEngine, machineConfig, outcomeOf, type EngineName, type Outcome } from './engineHarness.js';

const MIB = 2 ** 20;
const KIB = 1024;
/** The test BO size: radeon_test_moves' `size`, 1 MiB = 256 pages of 4 KiB. */
const BO_PAGES = 256;
/** A small GTT aperture (8 MiB) keeps the test fast; the kernel's is 512 MiB by default. */
const GTT_PAGES = 2048;

/**
 * radeon_test_moves' n: (GTT size − IB pool − CP ring − writeback page − IH ring) / 1 MiB, with the
 * 2.6.37 sizes: RADEON_IB_POOL_SIZE (16) × 64 KiB, a 1 MiB CP ring (r100_cp_init / r600 ring init),
 * one 4 KiB writeback page (RADEON_GPU_PAGE_SIZE), a 64 KiB IH ring on r600 (r600_ih_ring_init;
 * r100 has none). Those objects are pinned first and take the start of the aperture.
 */
function reservedBytes(family: number): number {
  return 16 * 64 * KIB + MIB + 4 * KIB + (family === GartFamily.r600 ? 64 * KIB : 0);
}
const testCount = (family: number) => Math.floor((GTT_PAGES * 4 * KIB - reservedBytes(family)) / MIB);
const firstTestPage = (family: number) => Math.ceil(reservedBytes(family) / (4 * KIB));

/**
 * The script. Each GTT BO: radeon_bo_create + radeon_bo_pin in the GTT domain, which validates
 * a fresh BO into TT (ttm_tt_populate: a fresh GTT BO is cached, ttm.md §3; then ttm_tt_bind →
 * radeon_gart_bind); radeon_bo_kmap and the CPU's pattern; radeon_copy GTT→VRAM (a GPU read of
 * the BO) and VRAM→GTT (a GPU write of it); radeon_bo_kmap and the CPU's compare. The BOs stay
 * pinned until the end, so together they fill the aperture; then unpin and unref. The `sync`
 * strategy is the seed's fix 2: pci_dma_sync_* at each hand-over (tt_sync), which the kernel's
 * test never calls.
 */
function script(family: number, strategy: StrategyName): object[] {
  const n = testCount(family);
  const base = firstTestPage(family);
  const sync = strategy === 'sync';
  const lines: object[] = [];
  for (let i = 0; i < n; i++) {
    const buf = `gtt${i}`;
    const gpuPage = base + i * BO_PAGES;
    lines.push({ op: 'tt_populate', buf, pages: BO_PAGES, caching: 'cached' }, { op: 'tt_bind', buf, gpuPage }, { op: 'cpu_write', buf });
    if (sync) lines.push({ op: 'tt_sync', buf, for: 'device' });
    lines.push({ op: 'gpu_read', gpuPage, pages: BO_PAGES }, { op: 'gpu_write', gpuPage, pages: BO_PAGES });
    if (sync) lines.push({ op: 'tt_sync', buf, for: 'cpu' });
    lines.push({ op: 'cpu_read', buf });
  }
  for (let i = 0; i < n; i++) lines.push({ op: 'tt_unbind', buf: `gtt${i}` }, { op: 'tt_unpopulate', buf: `gtt${i}` });
  return lines;
}

const MACHINE = { gartPages: GTT_PAGES, maxBuffers: 16 };

/** Translates the script as `replay --strategy` does and runs it, then the device's release. */
async function runMoves(engine: EngineName, platform: PlatformName, family: number, strategy: StrategyName): Promise<Outcome> {
  const e = await createEngine(engine);
  const maskBits = family === GartFamily.r600 ? 40 : 32;
  assert.equal(e.init(machineConfig({ ...MACHINE, platform: Platform[platform], gartFamily: family, maskBits })), InitError.OK);
  const sink = new OpSink(e);
  const t = new ReplayTranslator('radeon_test_moves.jsonl', {
    maxBuffers: MACHINE.maxBuffers, gartPages: GTT_PAGES, payloadBytes: 0, tt: STRATEGY_PROFILES[strategy],
  }, sink);
  script(family, strategy).forEach((line, i) => t.line(JSON.stringify(line), i + 1));
  sink.finish();
  return outcomeOf(e);
}

/**
 * Where the seed puts a bounce buffer's address in the GART, derived from the seed, not from the
 * engine. A streaming map bounces under swiotlb=force (bare metal, every map: "easily reproduced
 * on bare-metal with swiotlb=force iommu=soft"), and under Xen when the page's machine frame is
 * above the device's mask ("alloc_page with GFP_DMA32 does not allocate real MFNs under 4GB": a
 * 32-bit device bounces; a 40-bit one reaches the guest's frames, which lie below 2^40). Bare metal
 * hands a 32-bit device GFP_DMA32 pages below 4 GiB, and an IOMMU maps any frame: no bounce.
 * Fix 1 (`coherent`, dma_alloc_coherent) takes pages within the mask and puts their coherent
 * handle in the GART: no streaming map at all. Fix 3 (`xen-aware`) trades pages below the mask
 * under Xen only, so swiotlb=force still bounces them.
 */
function bounces(platform: PlatformName, strategy: StrategyName, maskBits: number): boolean {
  if (strategy === 'coherent') return false;
  if (platform === 'swiotlb-force') return true;
  if (platform === 'xen-pv') return maskBits === 32 && strategy !== 'xen-aware';
  return false;
}
/** Fix 2 (`sync`) bounces like legacy but copies at every hand-over: broken only without it. */
const broken = (platform: PlatformName, strategy: StrategyName, maskBits: number) =>
  bounces(platform, strategy, maskBits) && strategy !== 'sync';

const STRATEGIES = Object.keys(STRATEGY_PROFILES) as StrategyName[];
const DEVICES = [['r100', GartFamily.r100, 32], ['r600', GartFamily.r600, 40]] as const;

for (const engine of ENGINES) {
  describe(`radeon_test_moves: GTT→VRAM and VRAM→GTT over a full GTT, every platform × strategy (engine ${engine})`, () => {
    it('the aperture holds 5 test BOs on both devices (8 MiB GTT less the IB pool, CP ring, writeback page, IH ring)', () => {
      assert.equal(testCount(GartFamily.r100), 5);
      assert.equal(testCount(GartFamily.r600), 5);
      assert.ok(firstTestPage(GartFamily.r600) + 5 * BO_PAGES <= GTT_PAGES);
    });
    for (const [device, family, maskBits] of DEVICES) {
      const pages = testCount(family) * BO_PAGES;
      for (const platform of platformsOf('2010')) { // the 2010 kernel's platforms (coco is modern only)
        for (const strategy of STRATEGIES) {
          const bad = broken(platform, strategy, maskBits);
          it(`${device} ${platform} ${strategy}: ${bad ? 'broken: every GTT→VRAM read stale, every read-back lost' : 'clean'}`, async () => {
            const o = await runMoves(engine, platform, family, strategy);
            const c = o.c;
            // Every BO was created, pinned, bound and moved both ways: the whole aperture worked.
            assert.deepEqual([c.allocFailures, c.bindFailures, c.mappingErrors, c.gpuSkippedPages], [0, 0, 0, 0]);
            assert.deepEqual([c.gpuReads, c.gpuWrites, c.cpuReads, c.cpuWrites], [pages, pages, pages, pages]);
            // Broken: the GPU copies from the bounce (the zeroed page as it was at the bind), and
            // writes into it, which nobody copies back before the CPU reads: each page once each.
            assert.deepEqual({ stale: c.staleReads, lost: c.lostWrites, foreign: c.foreignReads },
              bad ? { stale: pages, lost: pages, foreign: 0 } : { stale: 0, lost: 0, foreign: 0 });
            // radeon_test_moves stops at its first "Incorrect GTT->VRAM copy": the first violation.
            assert.equal(o.kind, bad ? ViolationKind.stale : ViolationKind.none);
            if (strategy === 'sync') assert.deepEqual([c.syncsForDevice, c.syncsForCpu], [pages, pages]);
            assert.equal(c.dmaDebugErrors, 0, 'radeon_test_moves misuses no DMA API call');
            assert.equal(o.invariants, 0, 'invariants');
          });
        }
      }
    }
  });
}
