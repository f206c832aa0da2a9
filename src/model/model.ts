// The reference model: builds the machine (ENGINE.md §1) and executes the op stream one op at a
// time, plainly. Each op's semantics live in the file of the mechanism it exercises.
import {
  DMA32_LIMIT_PFN, GartFamily, InitError, IO_TLB_OVERFLOW_PAGES, OP_WORDS, Op, PAGE_SIZE, Platform, XEN_LOW_BASE_MFN,
  type MachineConfig,
} from '../engine/abi.js';
import { bufferAccess } from './access.js';
import { gattCreate, type AgpGatt } from './agpGatt.js';
import type { Buffer } from './buffers.js';
import { allocCoherent, freeCoherent } from './coherent.js';
import { newCounters } from './counters.js';
import { dmaMap, dmaMappingError, dmaSync, dmaUnmap } from './dma.js';
import { DmaDebug } from './dmaDebug.js';
import { Gart } from './gart.js';
import { gartBind, gartUnbind, gpuRead, gpuWrite } from './gpu.js';
import { Iommu } from './iommu.js';
import { Machine, layoutFor, type Layout } from './machine.js';
import { UnitMemory } from './memory.js';
import { hopsOf } from './hops.js';
import { Oracle } from './oracle.js';
import { allocPages, buildZones, exchange, releaseBuffer, type Zones } from './pages.js';
import { SwiotlbPool } from './swiotlb.js';
import { teardown, Tt, ttAccess, ttBind, ttPopulate, ttSync, ttUnbind, ttUnpopulate } from './tt.js';
import { TtmPools } from './ttmPool.js';
import { createContiguousRegion } from './xen.js';

/** The largest host this model accepts (256 GiB of 4 KiB frames). */
const MAX_HOST_PAGES = 2 ** 26;
/** Xen-swiotlb exchanges its pool in pieces of one segment: 128 slots = 64 pages (order 6). */
const XEN_POOL_PIECE_PAGES = 64;

export class Model {
  readonly counters = newCounters();
  readonly oracle = new Oracle(this.counters, (reader, pfn, dmaAddr, gpuPage) => hopsOf(this, reader, pfn, dmaAddr, gpuPage));
  readonly debug = new DmaDebug(this.counters);
  readonly layout: Layout;
  readonly machine: Machine;
  /** Machine RAM contents, by machine address. */
  readonly ram: UnitMemory;
  /** What each logical unit should hold, by guest physical address. */
  readonly expected: UnitMemory;
  readonly zones: Zones;
  readonly swiotlb: SwiotlbPool;
  readonly iommu: Iommu | null;
  readonly gart: Gart;
  /** What each slot holds: a §3 buffer or a TTM tt (§11). */
  readonly slots: (Buffer | Tt | null)[];
  readonly ttmPools = new TtmPools();
  /** The AGP GATT, once GATT_CREATE made one (§12). */
  gatt: AgpGatt | null = null;
  /** The aperture is an AGP GATT: gartFamily 4, or a GATT was created (T16). */
  agp: boolean;
  /** Gpu pages of a failed bind: GPU ops skip them (T15). */
  readonly gpuFailed: Uint8Array;
  /** The last op executed was RELEASE (§13 bit 3). */
  released = false;
  /** Ids of buffers currently held by a slot (the GART may outlive them). */
  readonly liveIds = new Set<number>();
  bufCounter = 0;
  /** Index of the op being executed. */
  op = 0;
  /** The GART dummy page's bus address (D2, D3): what unbound entries point at. */
  dummyBus = 0;

  /** Builds the machine, or returns an InitError code. */
  static create(cfg: MachineConfig): Model | number {
    const layout = layoutFor(cfg);
    const xen = cfg.platform === Platform['xen-pv'];
    const hostPages = xen ? cfg.hostPages : cfg.ramPages;
    if (hostPages > MAX_HOST_PAGES || cfg.ramPages > MAX_HOST_PAGES) return InitError.TOO_LARGE;
    if (cfg.ramPages < layout.firstFreePfn) return InitError.LAYOUT;
    if (xen && hostPages - cfg.ramPages < DMA32_LIMIT_PFN) return InitError.LAYOUT;
    if (xen && XEN_LOW_BASE_MFN + cfg.xenLowPages > hostPages - cfg.ramPages) return InitError.LAYOUT;
    const model = new Model(cfg, layout);
    if (xen && !model.exchangeBootRegions()) return InitError.XEN_LOW;
    model.initDummyPage();
    return model;
  }

  private constructor(readonly cfg: MachineConfig, layout: Layout) {
    this.layout = layout;
    this.machine = new Machine(cfg);
    this.ram = new UnitMemory(this.machine.hostPages, cfg.payloadBytes);
    this.expected = new UnitMemory(cfg.ramPages, cfg.payloadBytes);
    this.zones = buildZones(layout, cfg.ramPages);
    this.swiotlb = new SwiotlbPool(cfg.nslabs);
    this.iommu = cfg.platform === Platform.iommu ? new Iommu() : null;
    this.gart = new Gart(cfg.gartFamily, cfg.gartPages);
    this.slots = new Array<Buffer | Tt | null>(cfg.maxBuffers).fill(null);
    this.agp = cfg.gartFamily === GartFamily.agp;
    this.gpuFailed = new Uint8Array(cfg.gartPages);
  }

  /** xen_swiotlb_fixup: the pool in 64-page pieces, then the overflow buffer and dummy page. */
  private exchangeBootRegions(): boolean {
    const { poolPfn, poolPages, overflowPfn, dummyPfn } = this.layout;
    const regions: [number, number][] = [];
    for (let p = 0; p < poolPages; p += XEN_POOL_PIECE_PAGES) {
      regions.push([poolPfn + p, Math.min(XEN_POOL_PIECE_PAGES, poolPages - p)]);
    }
    regions.push([overflowPfn, IO_TLB_OVERFLOW_PAGES], [dummyPfn, 1]);
    for (const [pfn, pages] of regions) {
      let order = 0;
      while (2 ** order < pages) order++;
      if (!createContiguousRegion(this.machine, pfn, order, 32)) return false;
    }
    return true;
  }

  /**
   * radeon_dummy_page_init: the dummy page is DMA-mapped once (under an IOMMU at the first IOVA
   * entry, not counted) and every GART entry starts out pointing at it (D2, D3).
   */
  private initDummyPage(): void {
    const phys = this.layout.dummyPfn * PAGE_SIZE;
    this.dummyBus = this.machine.physToMachine(phys);
    if (this.iommu) {
      const first = this.iommu.allocate(1);
      this.iommu.fill(first, this.layout.dummyPfn, 1);
      this.dummyBus = this.iommu.busOf(first, 0);
    }
    for (let g = 0; g < this.gart.pages; g++) this.gart.unbind(g, this.dummyBus);
  }

  run(ops: Int32Array, count: number, firstOp: number): void {
    for (let n = 0; n < count; n++) {
      this.op = firstOp + n;
      const w = n * OP_WORDS;
      this.execute(ops[w], ops[w + 1], ops[w + 2], ops[w + 3], ops[w + 4]);
    }
  }

  /** The live (non-failed) §3 buffer in a slot, or null: buffer ops on anything else are no-ops (T1). */
  private usable(slot: number): Buffer | null {
    const held = this.slots[slot];
    return held && held.kind !== 'tt' && !held.failed ? held : null;
  }

  /** The tt in a slot, or null (TT ops on anything else are no-ops, T1). */
  private ttIn(slot: number): Tt | null {
    const held = this.slots[slot];
    return held && held.kind === 'tt' ? held : null;
  }

  private execute(code: number, a: number, b: number, c: number, d: number): void {
    if (code < Op.ALLOC || code > Op.GATT_CREATE) throw new Error(`op ${this.op}: unknown op code ${code}`);
    this.released = false;
    switch (code) {
      case Op.ALLOC:
        return allocPages(this, a, b, c);
      case Op.ALLOC_COHERENT:
        return allocCoherent(this, a, b);
      case Op.FREE: {
        const held = this.slots[a];
        return held && held.kind !== 'tt' ? releaseBuffer(this, a, held) : undefined;
      }
      case Op.FREE_COHERENT: {
        const held = this.slots[a];
        if (!held || held.kind === 'tt') return;
        return held.failed ? releaseBuffer(this, a, held) : freeCoherent(this, a, held);
      }
      case Op.GART_UNBIND:
        return gartUnbind(this, a, b);
      case Op.GPU_WRITE:
        return gpuWrite(this, a, b);
      case Op.GPU_READ:
        return gpuRead(this, a, b);
      case Op.RELEASE:
        this.debug.release(this.op);
        teardown(this);
        this.released = true;
        return;
      case Op.TT_POPULATE:
        return ttPopulate(this, a, b, c, d);
      case Op.GATT_CREATE:
        return gattCreate(this, a, b);
      case Op.TT_UNPOPULATE:
      case Op.TT_BIND:
      case Op.TT_UNBIND:
      case Op.TT_SYNC:
      case Op.CPU_WRITE:
      case Op.CPU_READ: {
        const tt = this.ttIn(a);
        if (tt) return this.executeTt(code, a, tt, b, c, d);
      }
    }
    const buf = this.usable(a);
    if (!buf) return;
    switch (code) {
      case Op.EXCHANGE:
        if (this.machine.isXen) exchange(this, buf, b);
        return;
      case Op.MAP:
        return dmaMap(this, buf, b, c, d);
      case Op.MAPPING_ERROR:
        return dmaMappingError(this, buf);
      case Op.SYNC_FOR_DEVICE:
        return dmaSync(this, buf, b, c, d, false);
      case Op.SYNC_FOR_CPU:
        return dmaSync(this, buf, b, c, d, true);
      case Op.UNMAP:
        return dmaUnmap(this, buf, b, c);
      case Op.CPU_WRITE:
        return bufferAccess(this, buf, b, c, false, true);
      case Op.CPU_READ:
        return bufferAccess(this, buf, b, c, false, false);
      case Op.DEV_WRITE:
        return bufferAccess(this, buf, b, c, true, true);
      case Op.DEV_READ:
        return bufferAccess(this, buf, b, c, true, false);
      case Op.GART_BIND:
        return gartBind(this, buf, b);
    }
  }

  /** Ops on a slot holding a tt (§11, T1): a failed tt only unpopulates. */
  private executeTt(code: number, slot: number, tt: Tt, b: number, c: number, d: number): void {
    if (code === Op.TT_UNPOPULATE) return ttUnpopulate(this, slot, tt);
    if (code === Op.TT_BIND) return ttBind(this, tt, b, c);
    if (tt.failed) return;
    switch (code) {
      case Op.TT_UNBIND:
        return ttUnbind(this, tt);
      case Op.TT_SYNC:
        return ttSync(this, tt, b !== 0);
      case Op.CPU_WRITE:
        return ttAccess(this, tt, b, c, true);
      case Op.CPU_READ:
        return ttAccess(this, tt, b, c, false);
    }
    void d;
  }
}
