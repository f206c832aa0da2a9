// What the user asked for, in one shape: the scenario a result records (gartbench.result/1
// `scenario`), the plan runs and the workloads generate ops from. A replay is a scenario too:
// a script instead of a workload.
import type { EngineKind } from '../engine/types.js';
import type { IommuModeName, KernelName, PlatformName } from '../engine/abi.js';

export type DeviceName = 'r100' | 'r600' | 'nv04' | 'nv50' | 'agp';
export type StrategyName = 'legacy' | 'coherent' | 'sync' | 'xen-aware' | 'auto';
/** A strategy the driver profiles know: `auto` is resolved into one when the plan is made (run/needSwiotlb.ts). */
export type ConcreteStrategyName = Exclude<StrategyName, 'auto'>;
export type GattName = 'phys' | 'dma-coherent' | 'fsb-hooks';
export type WorkloadName = 'upload' | 'readback' | 'stream' | 'churn';

export interface Scenario {
  platform: PlatformName;
  device: DeviceName;
  /** The TTM path (TTM devices), or the AGP GATT path (agp); the other is null. */
  strategy: StrategyName | null;
  gatt: GattName | null;
  /** A generated workload, or null for a replayed script. */
  workload: WorkloadName | null;
  pages: number | null;
  boPages: number | null;
  rounds: number | null;
  seed: number;
  kernel: KernelName;
  /**
   * IOTLB invalidation on the iommu platform: strict, or lazy through the flush queue (modern
   * only). Absent: the era's default (defaultIommuMode below); the CLI always sets it.
   */
  iommuMode?: IommuModeName;
  /**
   * CONFIG_SWIOTLB_DYNAMIC (modern only; docs/ENGINE.md §5): true when on; absent when off, 6.12's
   * default, so results without it keep their keys.
   */
  swiotlbDynamic?: boolean;
  /**
   * The device's DMA min_align_mask (modern only; docs/ENGINE.md §5): 2^k - 1 up to 4095 when set;
   * absent when 0, as for every modelled GPU, so results without it keep their keys.
   */
  minAlignMask?: number;
  /**
   * `auto` when the user (or the modern matrix's auto column) asked for `--strategy auto`:
   * `strategy` then names what it resolved to (run/needSwiotlb.ts); absent otherwise.
   */
  strategyAsked?: 'auto';
  replicas: number;
  payloadBytes: number;
  engine: EngineKind;
  /** The replayed script's path (`-`: standard input). */
  script?: string;
  /** `ftrace`: the script is kernel trace text (source/trace.ts); absent: JSON Lines. */
  scriptFormat?: 'ftrace';
  /** The recording device whose trace events are replayed (--trace-device, or the busiest). */
  traceDevice?: string;
}

/** A scenario that generates a workload. */
export type WorkloadScenario = Scenario & { workload: WorkloadName; pages: number; boPages: number; rounds: number };

/**
 * The IOTLB invalidation mode the iommu platform boots with: 2010 is strict (the 2010 platform is
 * ppc64-style, whose iommu_free clears the entries at every unmap; docs/ENGINE.md §8); 6.12 is
 * lazy, x86's default (drivers/iommu/Kconfig: IOMMU_DEFAULT_DMA_LAZY is the default choice on X86;
 * iommu.strict=1 overrides it).
 */
export function defaultIommuMode(kernel: KernelName): IommuModeName {
  return kernel === 'modern' ? 'lazy' : 'strict';
}

export function isWorkload(s: Scenario): s is WorkloadScenario {
  return s.workload !== null;
}
