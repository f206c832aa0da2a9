// The four workloads of INTERFACE.md as op streams. Pure and seeded: the same scenario and seed
// give the same ops, whichever engine runs them. The fixing strategies of MODEL.md §5 are
// data (a driver profile), not branches scattered through the workloads.
import { performance } from 'node:perf_hooks';
import { BindMode, Caching, GattMode, Op, PAGE_SIZE, Pool, TtSync, type KernelName } from '../engine/abi.js';
import { XorShift32 } from '../rand.js';
import type { ConcreteStrategyName, DeviceName, GattName, WorkloadName, WorkloadScenario } from './scenario.js';
import { type OpSink, keepLast } from './sink.js';

/** How a driver gets, binds and hands over pages under one strategy. */
export interface DriverProfile {
  pool: number;
  caching: number;
  bindMode: number;
  /** dma_sync_* around every hand-over (fix 2). */
  sync: boolean;
  /** The driver syncs its own streaming pages: 6.12 nouveau (nouveau_bo_sync_for_device at each
   * validate, nouveau_bo_sync_for_cpu at cpu_prep), whatever the strategy; radeon never does. */
  driverSyncs?: boolean;
  /** AGP: the GATT table's allocation mode; null for TTM devices. */
  gattMode: number | null;
}

/** The strategies' profiles as `modern` runs them; 2010 takes each device's caching (TT_CACHING). */
export const STRATEGY_PROFILES: Record<ConcreteStrategyName, DriverProfile> = {
  legacy: { pool: Pool.ttm, caching: Caching.wc, bindMode: BindMode.map, sync: false, gattMode: null },
  coherent: { pool: Pool.ttmDma, caching: Caching.wc, bindMode: BindMode.coherent, sync: false, gattMode: null },
  sync: { pool: Pool.ttm, caching: Caching.wc, bindMode: BindMode.map, sync: true, gattMode: null },
  'xen-aware': { pool: Pool.xenAware, caching: Caching.wc, bindMode: BindMode.map, sync: false, gattMode: null },
};

export type TtmDeviceName = Exclude<DeviceName, 'agp'>;

/**
 * The caching of a fresh GTT buffer object's tt, per kernel and TTM device (docs/ENGINE.md T2).
 * 2010: radeon_init_mem_type (r100 PCI GART, r600 PCIe; 2.6.37 and 3.3) and nouveau's
 * init_mem_type for SGDMA (nv04 and nv50 both in 2.6.37) give TT every caching with cached the
 * default; a new BO starts SYSTEM|CACHED (ttm_bo_init) and ttm_bo_select_caching keeps the
 * current caching when the placement allows it, so the tt is cached: ttm_get_pool has no pool for
 * it (each page one alloc_page, no caching change) and 3.3's ttm_dma_populate takes its cached
 * pool. (AGP would be WC on radeon, UC on nouveau: the agp device takes the GATT path instead.)
 * modern (6.12): cached too. radeon_ttm_tt_create picks uc or wc only for a BO created with
 * RADEON_GEM_GTT_UC/WC, which radeon_bo_create strips on a non-PCIe device ("PCI GART is always
 * snooped"); a BO created without them (the kernel's own, radeon_test_moves; userspace may ask WC
 * on PCIe) is ttm_cached. nouveau_sgdma_create_ttm: cached unless force_coherent or AGP (wc).
 * So the 6.12 pool pools none of these pages without DMA allocation (ttm_pool_select_type) and
 * keeps them in its cached types with it.
 */
export const TT_CACHING: Record<KernelName, Record<TtmDeviceName, number>> = {
  '2010': { r100: Caching.cached, r600: Caching.cached, nv04: Caching.cached, nv50: Caching.cached },
  modern: { r100: Caching.cached, r600: Caching.cached, nv04: Caching.cached, nv50: Caching.cached },
};

export const GATT_PROFILES: Record<GattName, DriverProfile> = {
  phys: { pool: Pool.agp, caching: Caching.uc, bindMode: BindMode.map, sync: false, gattMode: GattMode.phys },
  'dma-coherent': { pool: Pool.agpCoherent, caching: Caching.uc, bindMode: BindMode.coherent, sync: false, gattMode: GattMode.dmaCoherent },
  'fsb-hooks': { pool: Pool.agpFsb, caching: Caching.uc, bindMode: BindMode.fsb, sync: false, gattMode: GattMode.fsbHooks },
};

/** What a workload generates from: the scenario's workload fields, machine and strategy (or gatt). */
export type WorkloadSpec = Pick<WorkloadScenario, 'workload' | 'pages' | 'boPages' | 'rounds' | 'strategy' | 'gatt' | 'device' | 'kernel'>;

type ProfileSpec = Pick<WorkloadSpec, 'strategy' | 'gatt' | 'device' | 'kernel'>;

/** The TTM path a replay's tt_* ops take: the strategy's profile on a TTM device, none on agp. */
export function ttProfileOf(s: ProfileSpec): DriverProfile | null {
  if (!s.strategy || s.device === 'agp') return null;
  if (s.strategy === 'auto') throw new Error('strategy auto is resolved when the plan is made (run/needSwiotlb.ts)');
  const nouveau = s.device === 'nv04' || s.device === 'nv50';
  return profileCopy(STRATEGY_PROFILES[s.strategy], TT_CACHING[s.kernel][s.device], s.kernel === 'modern' && nouveau);
}

/** The driver profile of a scenario's strategy (TTM devices) or gatt (agp). */
export function profileOf(w: ProfileSpec): DriverProfile {
  return w.gatt ? profileCopy(GATT_PROFILES[w.gatt], GATT_PROFILES[w.gatt].caching, false) : ttProfileOf(w)!;
}

/** A profile with every field, made at this one place: one shape for all of them (Driver says why). */
function profileCopy(p: DriverProfile, caching: number, driverSyncs: boolean): DriverProfile {
  return { pool: p.pool, caching, bindMode: p.bindMode, sync: p.sync, driverSyncs, gattMode: p.gattMode };
}

/** BO sizes that split `pages` into objects of at most `boPages`. */
export function boSizes(pages: number, boPages: number): number[] {
  const n = Math.ceil(pages / boPages);
  return Array.from({ length: n }, (_, i) => Math.min(boPages, pages - i * boPages));
}

/** Churn keeps at most a quarter of its pages live: a desktop session recycles its buffers. */
export function churnLivePages(pages: number): number {
  return Math.max(1, Math.ceil(pages / 4));
}

/** Pages the workload holds allocated at once (what must fit in RAM). */
export function residentPages(w: Pick<WorkloadSpec, 'workload' | 'pages'>): number {
  return w.workload === 'churn' ? churnLivePages(w.pages) : w.pages;
}

/** GPU aperture pages the workload needs at once. */
export function aperturePages(w: Pick<WorkloadSpec, 'workload' | 'pages' | 'boPages'>): number {
  switch (w.workload) {
    case 'upload':
    case 'readback':
      return Math.min(w.boPages, w.pages);
    case 'stream':
      return w.pages;
    case 'churn':
      return churnLivePages(w.pages);
  }
}

/** Buffer slots the workload uses at most. */
export function slotsNeeded(w: Pick<WorkloadSpec, 'workload' | 'pages' | 'boPages'>): number {
  return w.workload === 'churn' ? churnLivePages(w.pages) + 1 : boSizes(w.pages, w.boPages).length + 1;
}

/**
 * Different, for speed only: every profile is made by profileCopy and the steps read the
 * workload's fields from one fixed shape (Steps), so that the code V8 optimises for one cell's
 * objects fits every other cell's. Scenario and profile objects reached here with different shapes
 * (a matrix's platforms and strategies), and each new one threw the optimised steps away
 * ("wrong map" deopts: 30 in a 20-cell matrix, 331 ms of background compiling, now 65 ms;
 * README, Workers; test/workloadShapes.test.ts).
 */
class Driver {
  constructor(private readonly sink: OpSink, private readonly p: DriverProfile) {}

  populate(slot: number, pages: number) { this.sink.push(Op.TT_POPULATE, slot, pages, this.p.pool, this.p.caching); }
  bind(slot: number, gpuPage: number) { this.sink.push(Op.TT_BIND, slot, gpuPage, this.p.bindMode); }
  unbind(slot: number) { this.sink.push(Op.TT_UNBIND, slot); }
  destroy(slot: number) { this.sink.push(Op.TT_UNPOPULATE, slot); }

  /** 6.12 nouveau_bo_validate → nouveau_bo_sync_for_device, before each GPU use of the BO. */
  private validate(slot: number) { if (this.p.driverSyncs) this.sink.push(Op.TT_SYNC, slot, 0, TtSync.nouveau); }
  /** 6.12 nouveau's cpu_prep → nouveau_bo_sync_for_cpu, before the CPU touches the BO. */
  private cpuPrep(slot: number) { if (this.p.driverSyncs) this.sink.push(Op.TT_SYNC, slot, 1, TtSync.nouveau); }

  /** CPU fills the BO, then the GPU reads it (radeon's GTT→VRAM move test). A 6.12 nouveau BO of its
   * own is mapped for writing with nouveau_bo_map(NOUVEAU_BO_WR) → cpu_prep → nouveau_bo_sync_for_cpu first. */
  upload(slot: number, gpuPage: number, pages: number) {
    this.cpuPrep(slot);
    this.sink.push(Op.CPU_WRITE, slot, 0, pages * PAGE_SIZE);
    if (this.p.sync) this.sink.push(Op.TT_SYNC, slot, 0, TtSync.pages);
    this.validate(slot);
    this.sink.push(Op.GPU_READ, gpuPage, pages);
  }

  /** The GPU fills the BO, then the CPU reads it (VRAM→GTT); 6.12 nouveau's cpu_prep syncs for the CPU. */
  readback(slot: number, gpuPage: number, pages: number) {
    this.validate(slot);
    this.sink.push(Op.GPU_WRITE, gpuPage, pages);
    if (this.p.sync) this.sink.push(Op.TT_SYNC, slot, 1, TtSync.pages);
    this.cpuPrep(slot);
    this.sink.push(Op.CPU_READ, slot, 0, pages * PAGE_SIZE);
  }
}

/** The workload's ops for one replica (`seed`), pushed into `sink`. */
export function generateWorkload(w: WorkloadSpec, seed: number, sink: OpSink): void {
  for (const _ of workloadSteps(w, seed, sink));
}

/** How often a workload run with a signal lets the event loop in (Ctrl-C is heard there). */
const PAUSE_EVERY_MS = 20;

/** The workload, pausing now and then so that `signal` can stop it between two buffer objects. */
export async function runWorkload(w: WorkloadSpec, seed: number, sink: OpSink, signal: AbortSignal): Promise<void> {
  let last = performance.now();
  let steps = 0;
  for (const _ of workloadSteps(w, seed, sink)) {
    if ((++steps & 255) !== 0 || performance.now() - last < PAUSE_EVERY_MS) continue;
    await new Promise((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
    last = performance.now();
  }
}

/** The workload fields the steps read, in one shape whatever object the spec came in (Driver says why). */
class Steps {
  readonly workload: WorkloadName;
  readonly pages: number;
  readonly boPages: number;
  readonly rounds: number;
  constructor(w: WorkloadSpec) {
    this.workload = w.workload;
    this.pages = w.pages;
    this.boPages = w.boPages;
    this.rounds = w.rounds;
  }
}

/** The workload's ops, one buffer object per step. */
function* workloadSteps(spec: WorkloadSpec, seed: number, sink: OpSink): Generator<void, void, undefined> {
  const profile = profileOf(spec);
  const d = keepLast(new Driver(sink, profile));
  if (profile.gattMode !== null) sink.push(Op.GATT_CREATE, aperturePages(spec), profile.gattMode);
  const w = new Steps(spec);
  // Different, for speed only: one small generator per workload, with index loops. One generator
  // holding every workload, iterating with entries(), took TurboFan 30–50 ms to optimise on a
  // background thread, again in every worker thread of every run (README, Workers).
  switch (w.workload) {
    case 'upload':
    case 'readback':
      yield* boUseSteps(w, d);
      break;
    case 'stream':
      yield* streamSteps(w, d);
      break;
    case 'churn':
      yield* churn(w, seed, d);
      break;
  }
  sink.finish();
}

/** upload and readback: the whole working set exists at once; each BO is bound, used and unbound in turn. */
function* boUseSteps(w: Steps, d: Driver): Generator<void, void, undefined> {
  const sizes = boSizes(w.pages, w.boPages);
  const upload = w.workload === 'upload';
  for (let slot = 0; slot < sizes.length; slot++) {
    d.populate(slot, sizes[slot]!);
    yield;
  }
  for (let r = 0; r < w.rounds; r++) {
    for (let slot = 0; slot < sizes.length; slot++) {
      const n = sizes[slot]!;
      d.bind(slot, 0);
      if (upload) d.upload(slot, 0, n);
      else d.readback(slot, 0, n);
      d.unbind(slot);
      yield;
    }
  }
  for (let slot = 0; slot < sizes.length; slot++) d.destroy(slot);
}

/** stream: one persistent bound working set, rewritten by the CPU and read by the GPU each round. */
function* streamSteps(w: Steps, d: Driver): Generator<void, void, undefined> {
  const sizes = boSizes(w.pages, w.boPages);
  const base: number[] = [];
  let gpu = 0;
  for (let slot = 0; slot < sizes.length; slot++) {
    const n = sizes[slot]!;
    d.populate(slot, n); d.bind(slot, gpu); base.push(gpu); gpu += n;
    yield;
  }
  for (let r = 0; r < w.rounds; r++) {
    for (let slot = 0; slot < sizes.length; slot++) {
      d.upload(slot, base[slot]!, sizes[slot]!);
      yield;
    }
  }
  for (let slot = 0; slot < sizes.length; slot++) { d.unbind(slot); d.destroy(slot); }
}

/**
 * A desktop session: small and large BOs created, bound, written, read and destroyed in a seeded
 * order, `pages` pages created per round, at most a quarter of them live at once.
 */
function* churn(w: Steps, seed: number, d: Driver): Generator<void, void, undefined> {
  const rng = keepLast(new XorShift32(seed));
  const cap = churnLivePages(w.pages);
  const aperture = keepLast(new Aperture(cap));
  const live: { slot: number; pages: number; gpu: number }[] = [];
  const freeSlots: number[] = [];
  let nextSlot = 0;
  let livePages = 0;
  const drop = (i: number) => {
    const bo = live[i]!;
    live[i] = live[live.length - 1]!;
    live.pop();
    d.unbind(bo.slot);
    d.destroy(bo.slot);
    aperture.free(bo.gpu, bo.pages);
    freeSlots.push(bo.slot);
    livePages -= bo.pages;
  };
  for (let r = 0; r < w.rounds; r++) {
    let created = 0;
    while (created < w.pages) {
      const small = rng.chance(0.75);
      const maxLarge = Math.max(17, Math.min(w.boPages, cap));
      const n = Math.min(cap, small ? rng.int(1, 16) : rng.int(17, maxLarge));
      let gpu = livePages + n <= cap ? aperture.alloc(n) : -1;
      while (gpu < 0) {
        drop(rng.int(0, live.length - 1));
        gpu = livePages + n <= cap ? aperture.alloc(n) : -1;
      }
      const slot = freeSlots.pop() ?? nextSlot++;
      d.populate(slot, n);
      d.bind(slot, gpu);
      d.upload(slot, gpu, n);
      if (rng.chance(0.25)) d.readback(slot, gpu, n);
      live.push({ slot, pages: n, gpu });
      livePages += n;
      created += n;
      if (rng.chance(0.4) && live.length > 0) drop(rng.int(0, live.length - 1));
      yield;
    }
    while (live.length) drop(live.length - 1);
  }
}

/** First-fit GPU aperture allocator over a free-range list (the driver's drm_mm, simplified). */
class Aperture {
  private ranges: [number, number][];
  constructor(size: number) {
    this.ranges = [[0, size]];
  }
  alloc(n: number): number {
    for (let i = 0; i < this.ranges.length; i++) {
      const [start, len] = this.ranges[i]!;
      if (len >= n) {
        if (len === n) this.ranges.splice(i, 1);
        else this.ranges[i] = [start + n, len - n];
        return start;
      }
    }
    return -1;
  }
  /** The range goes back in start order and merges with the neighbours it touches (the list was
   * merged before, so only they can). Found by bisection: a merge of the whole list each time made
   * a 2^19-page churn's generator quadratic. */
  free(start: number, n: number): void {
    const r = this.ranges;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]![0] < start) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo > 0 ? r[lo - 1]! : undefined;
    const next = lo < r.length ? r[lo]! : undefined;
    const joinPrev = prev !== undefined && prev[0] + prev[1] === start;
    const joinNext = next !== undefined && start + n === next[0];
    if (joinPrev && joinNext) {
      prev[1] += n + next[1];
      r.splice(lo, 1);
    } else if (joinPrev) prev[1] += n;
    else if (joinNext) r[lo] = [start, n + next[1]];
    else r.splice(lo, 0, [start, n]);
  }
}
