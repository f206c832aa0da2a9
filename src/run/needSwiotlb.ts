// `--strategy auto`: what the chosen kernel's own driver does (INTERFACE.md). The 2010 drivers
// (radeon and nouveau in 2.6.37) always take ttm_page_alloc's pages and map them: `legacy`. Linux
// 6.12's radeon (radeon_device_init: rdev->need_swiotlb = drm_need_swiotlb(dma_bits)) and nouveau
// (nouveau_ttm_init: drm_need_swiotlb(drm->client.mmu.dmabits)) pass drm_need_swiotlb's answer to
// ttm_device_init as use_dma_alloc, so the TTM pool takes its pages from dma_alloc_attrs
// (`coherent`) exactly when it is true, and maps alloc_pages' pages otherwise (`legacy`).
// Resolved once, when the plan is made: the scenario a result records names the strategy chosen.
import type { KernelName, PlatformName } from '../engine/abi.js';
import type { ConcreteStrategyName, Scenario } from '../source/scenario.js';
import { DEVICE_INFO, type MachineSizes } from './machine.js';

/**
 * Platforms whose guest has memory encryption active, cc_platform_has(CC_ATTR_MEM_ENCRYPT): the
 * confidential-computing guest (`coco`, MODEL.md §9) once the platform exists; none before.
 */
const MEM_ENCRYPT_PLATFORMS: readonly string[] = ['coco'];

/**
 * drm_need_swiotlb(dma_bits) (drivers/gpu/drm/drm_cache.c, 6.12): true in a Xen PV domain
 * (xen_pv_domain()), true when memory encryption is active, else whether the largest end address
 * of the top-level iomem resources is above 1 << dma_bits. Resource ends are inclusive and the
 * comparison is strict, so RAM ending exactly at 4 GiB (end 0xFFFF_FFFF) does not need it with a
 * 32-bit mask. The simulated machine's only iomem resource is its RAM, one range from 0 to
 * `ramBytes` (no PCI hole, no 64-bit BARs above RAM: a real x86 box with 4 GiB usually has RAM
 * remapped above 4 GiB and answers true).
 */
export function drmNeedSwiotlb(platform: PlatformName | string, dmaBits: number, ramBytes: number): boolean {
  if (platform === 'xen-pv') return true;
  if (MEM_ENCRYPT_PLATFORMS.includes(platform)) return true;
  const maxIomem = ramBytes - 1;
  return maxIomem > 2 ** dmaBits;
}

/** The strategy `auto` stands for on this kernel, platform, device and RAM. */
export function autoStrategy(kernel: KernelName, platform: PlatformName | string, dmaBits: number, ramBytes: number): ConcreteStrategyName {
  if (kernel === '2010') return 'legacy';
  return drmNeedSwiotlb(platform, dmaBits, ramBytes) ? 'coherent' : 'legacy';
}

/** The scenario with `auto` replaced by what it resolves to (any other scenario unchanged). */
export function resolveAuto<S extends Scenario>(scenario: S, sizes: MachineSizes): S {
  if (scenario.strategy !== 'auto' || scenario.device === 'agp') return scenario;
  const strategy = autoStrategy(scenario.kernel, scenario.platform, DEVICE_INFO[scenario.device].maskBits, sizes.ram);
  return { ...scenario, strategy, strategyAsked: 'auto' };
}
