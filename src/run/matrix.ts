// The matrix's cells and their one order — every platform × strategy for a TTM device, every
// platform × gatt for agp — which `matrix`, its shards and `merge` all follow. A kernel's matrix
// covers the platforms it has: `coco` only on modern (a 2010 matrix leaves it out; MODEL.md §9).
import { MODERN_ONLY_PLATFORMS, PLATFORMS, type KernelName, type PlatformName } from '../engine/abi.js';
import type { ConcreteStrategyName, DeviceName, GattName, StrategyName } from '../source/scenario.js';

/** The RFC's paths (`auto` is one of them per machine). */
export const STRATEGIES = ['legacy', 'coherent', 'sync', 'xen-aware'] as const satisfies readonly ConcreteStrategyName[];
/** What --strategy accepts and the matrix's columns: the RFC's paths, and `auto` (the kernel's own choice: run/needSwiotlb.ts). */
export const STRATEGY_CHOICES = [...STRATEGIES, 'auto'] as const satisfies readonly StrategyName[];
export const GATTS = ['phys', 'dma-coherent', 'fsb-hooks'] as const satisfies readonly GattName[];

export interface MatrixCell {
  platform: PlatformName;
  strategy: StrategyName | null;
  gatt: GattName | null;
}

/** The platforms a kernel has: every one on modern; 2010 has no confidential-computing guest. */
export function platformsOf(kernel: KernelName): PlatformName[] {
  return kernel === 'modern' ? [...PLATFORMS] : PLATFORMS.filter((p) => !MODERN_ONLY_PLATFORMS.includes(p));
}

/** A TTM device's matrix columns are every --strategy: the RFC's four paths and, beside them, the
 * kernel's own answer (`auto`: `legacy` on 2010, drm_need_swiotlb's choice machine by machine on
 * modern). */
export function matrixOrder(device: DeviceName, kernel: KernelName): MatrixCell[] {
  const agp = device === 'agp';
  return platformsOf(kernel).flatMap((platform): MatrixCell[] => (agp
    ? GATTS.map((gatt) => ({ platform, strategy: null, gatt }))
    : STRATEGY_CHOICES.map((strategy) => ({ platform, strategy, gatt: null }))));
}

/** The column a cell stands in: the strategy asked for (`auto`, not what it resolved to), or the gatt. */
export function columnOf(s: { strategy: StrategyName | null; gatt: GattName | null; strategyAsked?: 'auto' }): string {
  return s.strategyAsked ?? s.strategy ?? s.gatt ?? '';
}
