// From parsed options to plans, and from plans to results: the one path every simulating command
// takes (run, matrix, replay). Options are validated here, before any work.
import type { IommuModeName, KernelName, PlatformName } from '../engine/abi.js';
import type { EngineKind } from '../engine/types.js';
import { UsageError } from '../errors.js';
import { type Costs, loadCosts } from '../report/costs.js';
import { type RunResults, runResults } from '../report/results.js';
import { MIN_ALIGN_MASKS, type MachineSizes, validMinAlignMask } from '../run/machine.js';
import { type Plan, planReplay, planWorkload } from '../run/plan.js';
import { type DeviceName, type GattName, type Scenario, type StrategyName, type WorkloadName, type WorkloadScenario, defaultIommuMode } from '../source/scenario.js';
import type { Io } from './command.js';
import { GATTS, STRATEGY_CHOICES, type Values } from './options.js';
import { progress } from './progress.js';

export function sizesFrom(v: Values): MachineSizes {
  return { ram: v.ram as number, hostRam: v['host-ram'] as number, xenLowFree: v['xen-low-free'] as number, swiotlb: v.swiotlb as number };
}

/** The fields every scenario shares, from the options. */
function common(v: Values): Omit<Scenario, 'strategy' | 'gatt' | 'workload' | 'pages' | 'boPages' | 'rounds' | 'replicas'> {
  return {
    platform: v.platform as PlatformName, device: v.device as DeviceName, seed: v.seed as number,
    kernel: v.kernel as KernelName, iommuMode: iommuModeFrom(v), payloadBytes: v['payload-bytes'] as number, engine: v.engine as EngineKind,
    ...(swiotlbDynamicFrom(v) ? { swiotlbDynamic: true } : {}),
    ...minAlignMaskFrom(v),
  };
}

/**
 * --min-align-mask: the device's min_align_mask, which Linux has since 5.12 (dma_set_min_align_mask),
 * so only with --kernel modern; 0 or 2^k - 1 up to a page less one. Absent from the scenario when
 * 0, so results without it keep their keys.
 */
function minAlignMaskFrom(v: Values): { minAlignMask?: number } {
  const m = (v['min-align-mask'] as number | undefined) ?? 0;
  if (!validMinAlignMask(m)) throw new UsageError(`--min-align-mask: ${m} is not a min_align_mask; valid: ${MIN_ALIGN_MASKS.join(', ')}`);
  if (m !== 0 && v.kernel !== 'modern') throw new UsageError(`--min-align-mask: min_align_mask is Linux 5.12+, only with --kernel modern (not --kernel 2010); valid there: ${MIN_ALIGN_MASKS.join(', ')}`);
  return m !== 0 ? { minAlignMask: m } : {};
}

/**
 * --swiotlb-dynamic: CONFIG_SWIOTLB_DYNAMIC came with Linux 6.6, so not with --kernel 2010. Under
 * xen-pv a 32-bit radeon never gets a mask, so its driver never comes up (run/plan.ts
 * xenDynamicProbeFailure: the result says so); the others run, and nothing changes: 6.12 never
 * lets that pool grow (docs/ENGINE.md §5).
 */
function swiotlbDynamicFrom(v: Values): boolean {
  const on = v['swiotlb-dynamic'] === true;
  if (on && v.kernel !== 'modern') throw new UsageError('--swiotlb-dynamic: CONFIG_SWIOTLB_DYNAMIC is Linux 6.6+, only with --kernel modern (not --kernel 2010)');
  return on;
}

/** --iommu-mode, or the era's default; lazy is 6.12's flush queue, which the 2010 kernel has not. */
function iommuModeFrom(v: Values): IommuModeName {
  const kernel = v.kernel as KernelName;
  const mode = v['iommu-mode'] as IommuModeName | undefined;
  if (mode === 'lazy' && kernel !== 'modern') throw new UsageError('--iommu-mode: lazy is the modern kernel\'s flush queue, not with --kernel 2010 (2010 is strict)');
  return mode ?? defaultIommuMode(kernel);
}

/** A workload's scenario; `given` tells which options the user typed (strategy and gatt exclude each other). */
export function workloadScenarioFrom(v: Values, given: Set<string>): WorkloadScenario {
  const agp = v.device === 'agp';
  if (agp && given.has('strategy')) throw new UsageError(`--strategy: not with --device agp (AGP uses --gatt: ${GATTS.join(', ')})`);
  if (!agp && given.has('gatt')) throw new UsageError(`--gatt: only with --device agp (TTM devices use --strategy: ${STRATEGY_CHOICES.join(', ')})`);
  return {
    ...common(v),
    strategy: agp ? null : (v.strategy as StrategyName), gatt: agp ? (v.gatt as GattName) : null,
    workload: v.workload as WorkloadName, pages: v.pages as number, boPages: v['bo-pages'] as number,
    rounds: v.rounds as number, replicas: v.replicas as number,
  };
}

export function workloadPlanFrom(v: Values, given: Set<string>): Plan {
  return planWorkload(workloadScenarioFrom(v, given), sizesFrom(v));
}

/** A replay's plan; `trace`: the script is kernel trace text, replayed for that recording device
 * (undefined: the first one the stream shows). */
export function replayPlanFrom(v: Values, script: string, given = new Set<string>(), trace?: { device: string | undefined }): Plan {
  const agp = v.device === 'agp';
  if (agp && given.has('strategy')) throw new UsageError(`--strategy: not with --device agp (AGP uses --gatt: ${GATTS.join(', ')})`);
  if (!agp && given.has('gatt')) throw new UsageError(`--gatt: only with --device agp (TTM devices use --strategy: ${STRATEGY_CHOICES.join(', ')})`);
  const scenario: Scenario = {
    ...common(v), strategy: agp ? null : (v.strategy as StrategyName), gatt: agp ? (v.gatt as GattName) : null,
    workload: null, pages: null, boPages: null, rounds: null, replicas: 1, script,
    ...(trace ? { scriptFormat: 'ftrace' as const, ...(trace.device !== undefined ? { traceDevice: trace.device } : {}) } : {}),
  };
  return planReplay(scenario, sizesFrom(v));
}

/** Runs plans (all their replicas, on the workers `v` asks for, capped: run/executor.ts) and
 * returns one result each, in order, and how the run went. */
export async function runPlans(plans: Plan[], costs: Costs, v: Values, io: Io, signal: AbortSignal): Promise<RunResults> {
  const bar = progress(io, plans.reduce((n, p) => n + p.scenario.replicas, 0));
  try {
    return await runResults(plans, costs, { workers: (v.workers as number | undefined) ?? 1, oversubscribe: !!v.oversubscribe, onProgress: bar.update, signal });
  } finally {
    bar.done();
  }
}

export function costsFrom(v: Values): Costs {
  return loadCosts(v.costs as string | undefined);
}
