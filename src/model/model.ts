// The reference model: builds the machine (ENGINE.md §1) and executes the op stream one op at a
// time, plainly. Each op's semantics live in the file of the mechanism it exercises.
import {
  DMA32_LIMIT_PFN, InitError, IO_TLB_OVERFLOW_PAGES, OP_WORDS, Op, PAGE_SIZE, Platform, XEN_LOW_BASE_MFN,
  type MachineConfig,
} from '../engine/abi.js';
import { bufferAccess } from './access.js';
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
import { Oracle } from './oracle.js';
import { allocPages, buildZones, exchange, releaseBuffer, type Zones } from './pages.js';
import { SwiotlbPool } from './swiotlb.js';
import { createContiguousRegion } from './xen.js';

/** The largest host this model accepts (256 GiB of 4 KiB frames). */
const MAX_HOST_PAGES = 2 ** 26;
/** Xen-swiotlb exchanges its pool in pieces of one segment: 128 slots = 64 pages (order 6). */
const XEN_POOL_PIECE_PAGES = 64;

export class Model {
  readonly counters = newCounters();
  readonly oracle = new Oracle(this.counters);
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
  readonly slots: (Buffer | null)[];
  /** Ids of buffers currently held by a slot (the GART may outlive them). */
  readonly liveIds = new Set<number>();
  version = 0;
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
    this.slots = new Array<Buffer | null>(cfg.maxBuffers).fill(null);
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

  /** The live (non-failed) buffer in a slot, or null: ops on anything else are no-ops. */
  private usable(slot: number): Buffer | null {
    const buf = this.slots[slot];
    return buf && !buf.failed ? buf : null;
  }

  private execute(code: number, a: number, b: number, c: number, d: number): void {
    switch (code) {
      case Op.ALLOC:
        return allocPages(this, a, b, c);
      case Op.FREE: {
        const buf = this.slots[a];
        return buf ? releaseBuffer(this, a, buf) : undefined;
      }
      case Op.ALLOC_COHERENT:
        return allocCoherent(this, a, b);
      case Op.FREE_COHERENT: {
        const buf = this.slots[a];
        if (!buf) return;
        return buf.failed ? releaseBuffer(this, a, buf) : freeCoherent(this, a, buf);
      }
      case Op.GART_UNBIND:
        return gartUnbind(this, a, b);
      case Op.GPU_WRITE:
        return gpuWrite(this, a, b);
      case Op.GPU_READ:
        return gpuRead(this, a, b);
      case Op.RELEASE:
        return this.debug.release(this.op);
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
      default:
        throw new Error(`op ${this.op}: unknown op code ${code}`);
    }
  }
}
