// The reference model (twin of assembly/index.ts): builds the machine (docs/ENGINE.md §1) and
// holds its state, one plain object every layer reads through the part of it that layer knows
// (sim/ SimState … drm/ TtState). ops.ts executes the op stream on it, one op at a time, plainly.
import { GartFamily, InitError, IommuMode, Kernel, Platform, DMA32_LIMIT_PFN, POOL_ID_DMA, POOL_ID_TTM, POOL_ID_XEN_AWARE, POOL_ID_END, TTM_NR_PAGE_ORDERS, XEN_LOW_BASE_MFN, IO_TLB_SEGSIZE, SWIOTLB_DYN_POOLS, SWIOTLB_DYN_MAX_SLABS, MIN_ALIGN_MASK_MAX_BITS, type MachineConfig } from '../engine/abi.js';
import { layoutFor, type Layout, type Slotted } from './layout.js';
import { newCounters } from './sim/counters.js';
import { Oracle } from './sim/oracle.js';
import { UnitMemory } from './sim/stamps.js';
import type { Translation } from './sim/translate.js';
import { buildZones, type Zones } from './mm/pageAlloc.js';
import { setMemoryDecrypted } from './mm/setMemory.js';
import { P2m } from './xen/p2m.js';
import { XenFrames } from './xen/exchange.js';
import { xenSwiotlbBoot } from './xen/swiotlbXen.js';
import { DmaDebug } from './dma/debug.js';
import { Iommu } from './dma/iommu.js';
import { dmaErrorAddr, dmaMapBootPage } from './dma/mapping.js';
import { SwiotlbPool } from './dma/swiotlb.js';
import { SwiotlbDyn } from './dma/swiotlbDyn.js';
import type { AgpGatt } from './drm/agpGatt.js';
import { Gart, hasGartDummy } from './drm/gart.js';
import { TtmPools } from './drm/ttmPageAlloc.js';
import { ModernPools } from './drm/ttmPool.js';
import type { TtState } from './drm/ttmTt.js';
import type { SgCall } from './dma/mapping.js';
import { runOps } from './ops.js';

/** The largest host this model accepts (256 GiB of 4 KiB frames). */
const MAX_HOST_PAGES = 2 ** 26;


export class Model implements TtState {
  readonly counters = newCounters();
  readonly oracle = new Oracle(this.counters);
  readonly debug: DmaDebug;
  readonly machine: P2m;
  readonly xen: XenFrames | null;
  readonly trans: Translation;
  /** Machine RAM contents, by machine address. */
  readonly ram: UnitMemory;
  /** What each logical unit should hold, by guest physical address. */
  readonly expected: UnitMemory;
  readonly zones: Zones;
  readonly swiotlb: SwiotlbPool;
  readonly iommu: Iommu | null;
  readonly gart: Gart;
  readonly slots: (Slotted | null)[];
  readonly liveIds = new Set<number>();
  readonly freedHandles = new Map<number, number>();
  readonly ttmPools = new TtmPools();
  readonly modernPools = new ModernPools();
  readonly gpuFailed: Uint8Array;
  readonly sgCall: SgCall = { call: 0, mapped: [], failed: false };
  gatt: AgpGatt | null = null;
  agp: boolean;
  /** The last op executed was RELEASE (§13 bit 3). */
  released = false;
  /** DEVICE_DOWN came: the driver never came up (ops.ts). */
  deviceDown = false;
  bufCounter = 0;
  op = 0;
  dummyBus = 0;

  /** Builds the machine, or returns an InitError code. */
  static create(cfg: MachineConfig): Model | number {
    const layout = layoutFor(cfg);
    const xen = cfg.platform === Platform['xen-pv'];
    const hostPages = xen ? cfg.hostPages : cfg.ramPages;
    if (hostPages > MAX_HOST_PAGES || cfg.ramPages > MAX_HOST_PAGES) return InitError.TOO_LARGE;
    if (cfg.ramPages < layout.firstFreePfn) return InitError.LAYOUT;
    // The flush queue is the modern kernel's (dma-iommu.c); 2010 is strict (docs/ENGINE.md §8).
    if (cfg.iommuMode !== IommuMode.strict && (cfg.iommuMode !== IommuMode.lazy || cfg.kernel !== Kernel.modern)) return InitError.LAYOUT;
    // A swiotlb pool is whole 128-slot segments in both eras: 2.6.37 setup_io_tlb_npages and
    // swiotlb_init_with_default_size, 6.12 setup_io_tlb_npages and swiotlb_adjust_size align the slot
    // count to IO_TLB_SEGSIZE. So a segment's free count never runs past the pool's end (6.12's
    // swiotlb_init_io_tlb_pool caps it there, a cap that then never bites).
    if (cfg.nslabs % IO_TLB_SEGSIZE !== 0) return InitError.LAYOUT;
    // CONFIG_SWIOTLB_DYNAMIC is 6.6+ (kernel/dma/swiotlb.c): modern only.
    const dyn = cfg.swiotlbDynamic ?? 0;
    if (dyn !== 0 && (dyn !== 1 || cfg.kernel !== Kernel.modern)) return InitError.LAYOUT;
    // min_align_mask came with Linux 5.12 (dma_set_min_align_mask): modern only, 0 or 2^k - 1 within a page.
    const minAlign = cfg.minAlignMask ?? 0;
    const maskOk = Number.isInteger(minAlign) && minAlign >= 0 && minAlign < 2 ** MIN_ALIGN_MASK_MAX_BITS && (minAlign & (minAlign + 1)) === 0;
    if (!maskOk || (minAlign !== 0 && cfg.kernel !== Kernel.modern)) return InitError.LAYOUT;
    if (xen && hostPages - cfg.ramPages < DMA32_LIMIT_PFN) return InitError.LAYOUT;
    // Xen's low range: what the booted guest leaves free plus the pool its boot exchanges take (§1).
    if (xen && (cfg.xenLowPages < 0 || XEN_LOW_BASE_MFN + cfg.xenLowPages + layout.poolPages > DMA32_LIMIT_PFN)) return InitError.LAYOUT;
    const model = new Model(cfg, layout);
    if (xen && !xenSwiotlbBoot(model)) return InitError.XEN_LOW;
    // radeon_dummy_page_init / nouveau_sgdma_init: the dummy page is DMA-mapped once and every GART
    // entry starts out pointing at it (D2, D3); an AGP bridge maps none (its scratch entry is 0), nor
    // does 6.12 nv04 (assembly/drm/gart.ts gart_init says why).
    if (hasGartDummy(cfg)) model.dummyBus = dmaMapBootPage(model, layout.dummyPfn);
    model.debug.errorAddr = dmaErrorAddr(model);
    for (let g = 0; g < model.gart.pages; g++) model.gart.unbind(g, model.dummyBus);
    return model;
  }

  private constructor(readonly cfg: MachineConfig, readonly layout: Layout) {
    this.debug = new DmaDebug(this.counters, cfg.kernel);
    this.machine = new P2m(cfg);
    this.xen = this.machine.isXen ? new XenFrames(cfg, this.machine, layout.poolPages) : null;
    this.iommu = cfg.platform === Platform.iommu ? new Iommu(this.counters, cfg.iommuMode === IommuMode.lazy, cfg.kernel === Kernel.modern) : null;
    this.trans = {
      ramPages: cfg.ramPages, hostPages: this.machine.hostPages, p2m: this.machine.p2m, iova: this.iommu?.entries ?? null,
      ccShared: cfg.platform === Platform.coco ? new Uint8Array(cfg.ramPages) : null,
    };
    this.ram = new UnitMemory(this.machine.hostPages, cfg.payloadBytes);
    this.expected = new UnitMemory(cfg.ramPages, cfg.payloadBytes);
    this.zones = buildZones(layout, cfg.ramPages);
    // --swiotlb-dynamic: 6.12 swiotlb_init_remap lets the pool grow only without a remap function;
    // Xen PV passes xen_swiotlb_fixup (pci_xen_swiotlb_init), so there it never grows. (A 32-bit
    // device never gets that far under Xen PV: its dma_set_mask fails, and the cell starts with DEVICE_DOWN: run/plan.ts.)
    this.swiotlb = cfg.swiotlbDynamic === 1
      ? new SwiotlbPool(cfg.nslabs, {
        pools: new SwiotlbDyn(this, cfg.nslabs, cfg.platform !== Platform['xen-pv'], cfg.platform === Platform.coco),
        capacity: cfg.nslabs + SWIOTLB_DYN_POOLS * SWIOTLB_DYN_MAX_SLABS,
        dmaMask: 2 ** cfg.maskBits - 1, counters: this.counters,
      })
      : new SwiotlbPool(cfg.nslabs);
    this.swiotlb.minAlignMask = cfg.minAlignMask ?? 0;
    // A confidential guest's pages start private; swiotlb_update_mem_attributes (kernel/dma/swiotlb.c,
    // from mem_encrypt_init) shares the boot pool (mm/setMemory.ts; nothing off coco).
    setMemoryDecrypted(this, layout.poolPfn, layout.poolPages, false);
    // nv50's unbound entries are invalid; 6.12 nv04 maps no dummy page at all.
    this.gart = new Gart(cfg.gartFamily, cfg.gartPages, cfg.gartFamily === GartFamily.nv50 || (cfg.gartFamily !== GartFamily.agp && !hasGartDummy(cfg)), cfg.kernel === Kernel.modern);
    this.slots = new Array<Slotted | null>(cfg.maxBuffers).fill(null);
    this.agp = cfg.gartFamily === GartFamily.agp;
    this.gpuFailed = new Uint8Array(cfg.gartPages);
  }

  run(ops: Int32Array, count: number, firstOp: number): void {
    runOps(this, ops, count, firstOp);
  }

  /** Free pages per TTM pool id (TTM_POOLS) and order, index id + POOL_ID_END × order: 2010's pools
   * (single pages, order 0; a kind's pools exist for the device's zone only), then 6.12's pool
   * types (ttmPool.ts; empty on 2010). */
  poolPages(): number[] {
    const out: number[] = new Array<number>(POOL_ID_END * TTM_NR_PAGE_ORDERS).fill(0);
    const dma32 = this.cfg.maskBits === 32 ? 1 : 0;
    this.ttmPools.ttm.forEach((p, c) => { out[POOL_ID_TTM + c * 2 + dma32] = p.size; });
    this.ttmPools.xenAware.forEach((p, c) => { out[POOL_ID_XEN_AWARE + c * 2 + dma32] = p.size; });
    this.ttmPools.dma.forEach((p, c) => { out[POOL_ID_DMA + c] = p.size; });
    return out.map((n, i) => n + this.modernPools.pagesAt(i % POOL_ID_END, Math.floor(i / POOL_ID_END)));
  }
}
