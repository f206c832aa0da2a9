// One validated plan from options to result: the scenario (what the user asked for, in the one
// shape a result records), the machine's sizes, and the MachineConfig built and checked once; and
// the cells it runs as, one per replica, each an independent machine with its own seed. Plans and
// cells are plain data, so they can be sent to worker threads. A replay is a plan too.
import { AGP_ENTRIES_PER_PAGE, MAX_BO_PAGES, type MachineConfig, PAGE_SIZE, XEN_MAX_EXCHANGE_ORDER } from '../engine/abi.js';
import { UsageError, msg } from '../errors.js';
import { replicaSeed } from '../rand.js';
import type { Scenario, WorkloadScenario } from '../source/scenario.js';
import { aperturePages, residentPages, slotsNeeded } from '../source/workloads.js';
import { formatSize, roughSize } from '../units.js';
import { DEVICE_INFO, GART_PAGES, MAX_BUFFERS, type MachineSizes, bootSizes, machineConfig, reservedPages } from './machine.js';
import { resolveAuto } from './needSwiotlb.js';

export interface Plan {
  scenario: Scenario;
  sizes: MachineSizes;
  /** The engine's configuration; each cell replaces only the seed. */
  cfg: MachineConfig;
  /** Why the driver's probe fails on this machine, so nothing it would do happens (the cell's
   * first op is DEVICE_DOWN; the result says why); absent when the device comes up. */
  deviceDown?: string;
}

/** Test-only fault injection (GARTBENCH_FAULT=KIND:REPLICA), so the failure paths can be exercised. */
export type Fault = 'throw' | 'trap' | 'oom';
export const FAULTS: Fault[] = ['throw', 'trap', 'oom'];

export interface Cell {
  plan: Plan;
  replica: number;
  seed: number;
  fault?: Fault;
}

/**
 * Why a 32-bit radeon device does not come up under xen-pv with CONFIG_SWIOTLB_DYNAMIC (6.12.0): pci_xen_swiotlb_init
 * (arch/x86/kernel/pci-dma.c) boots the pool with SWIOTLB_ANY, so swiotlb_init_remap sets its
 * phys_limit to the guest's highest low-memory address, which default_swiotlb_limit returns under
 * CONFIG_SWIOTLB_DYNAMIC (else the boot pool's end, exchanged below 4 GiB). xen_swiotlb_dma_supported
 * compares xen_phys_to_dma of it — the guest's last page, whose machine frame is above 4 GiB here —
 * with the mask, so the driver's dma_set_mask of 32 bits fails (-EIO), and radeon_device_init gives
 * up ("No suitable DMA available"), an AGP card's too. nouveau ignores the failure for a 32-bit mask
 * (nvkm_device_pci_new returns 0) and runs on the default 32-bit mask, as it would without the
 * option: nv04 runs. A 40-bit device passes here:
 * every guest page has a frame and the host ends below 2^38. (The xen-devel report against 6.12.19,
 * May 2025, was a dom0 whose limit page had none, INVALID_P2M_ENTRY, so even a 40-bit radeon
 * failed.) Undefined when the device comes up.
 */
export function xenDynamicProbeFailure(s: Pick<Scenario, 'platform' | 'kernel' | 'device' | 'swiotlbDynamic'>): string | undefined {
  if (s.platform !== 'xen-pv' || s.kernel !== 'modern' || s.swiotlbDynamic !== true) return undefined;
  if (DEVICE_INFO[s.device].maskBits > 32 || s.device === 'nv04') return undefined;
  return `the driver did not come up: radeon_device_init's dma_set_mask(DMA_BIT_MASK(32)) failed (-EIO), since with CONFIG_SWIOTLB_DYNAMIC 6.12.0's xen_swiotlb_dma_supported checks default_swiotlb_limit() (the guest's last page, machine frame above 4 GiB) against the mask (nouveau ignores the failure: nv04 runs)`;
}

/** The largest AGP GATT: the table fsb-hooks can make machine-contiguous with one exchange (order 9,
 * 2 MiB, 2^19 entries: a 2 GiB aperture). A replay's table on the agp device has this many entries. */
export const GATT_MAX_ENTRIES = (1 << XEN_MAX_EXCHANGE_ORDER) * AGP_ENTRIES_PER_PAGE;

/** A workload's plan (`auto` resolved: run/needSwiotlb.ts): the machine must hold its working set and the aperture its bound pages. */
export function planWorkload(asked: WorkloadScenario, sizes: MachineSizes): Plan {
  const scenario = resolveAuto(asked, sizes);
  if (scenario.boPages > MAX_BO_PAGES) throw new UsageError(msg.badInt('bo-pages', String(scenario.boPages), 1, MAX_BO_PAGES));
  const cfg = machineConfig({ ...scenario, ...sizes });
  sizes = bootSizes(scenario.platform, scenario.kernel, sizes); // what the result records: the pool the guest booted with
  cfg.maxBuffers = Math.max(MAX_BUFFERS, slotsNeeded(scenario));
  const usable = cfg.ramPages - reservedPages(sizes.swiotlb);
  const resident = residentPages(scenario);
  if (resident > usable) {
    throw new UsageError(`--pages: a working set of ${resident} pages (${roughSize(resident * PAGE_SIZE)}) is larger than the ${usable} pages --ram ${formatSize(sizes.ram)} leaves free; raise --ram or lower --pages`);
  }
  const ap = aperturePages(scenario);
  if (ap > GART_PAGES) throw new UsageError(`--pages: ${scenario.workload} keeps ${ap} pages bound, more than the ${GART_PAGES}-page (4 GiB) GART aperture`);
  if (scenario.gatt && ap > GATT_MAX_ENTRIES) throw new UsageError(`--pages: the AGP GATT holds at most ${GATT_MAX_ENTRIES} entries here (a 2 MiB table); ${scenario.workload} needs ${ap}`);
  return withProbe({ scenario, sizes, cfg });
}

function withProbe(plan: Plan): Plan {
  const down = xenDynamicProbeFailure(plan.scenario);
  return down ? { ...plan, deviceDown: down } : plan;
}

/** A replay's plan: one machine, one script. */
export function planReplay(asked: Scenario, sizes: MachineSizes): Plan {
  const scenario = resolveAuto(asked, sizes);
  const cfg = machineConfig({ ...scenario, ...sizes });
  return withProbe({ scenario, sizes: bootSizes(scenario.platform, scenario.kernel, sizes), cfg });
}

export function cellsOf(plan: Plan): Cell[] {
  const fault = injectedFault();
  return Array.from({ length: plan.scenario.replicas }, (_, i) => ({
    plan, replica: i, seed: replicaSeed(plan.scenario.seed, i), ...(fault && fault.replica === i ? { fault: fault.kind } : {}),
  }));
}

function injectedFault(): { kind: Fault; replica: number } | undefined {
  const v = process.env.GARTBENCH_FAULT;
  if (!v) return undefined;
  const [kind, replica] = v.split(':');
  if (!FAULTS.includes(kind as Fault)) return undefined;
  return { kind: kind as Fault, replica: Number(replica ?? 0) };
}

export function describeCell(c: Cell): string {
  const s = c.plan.scenario;
  const what = s.script !== undefined ? `replay of ${s.script}` : `${s.strategy ?? s.gatt}/${s.workload}`;
  return `${s.platform}/${s.device}/${what} replica ${c.replica} (seed ${c.seed})`;
}
