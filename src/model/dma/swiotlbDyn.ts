// CONFIG_SWIOTLB_DYNAMIC's pools (twin of assembly/dma/swiotlb_dyn.ts): Linux 6.12
// kernel/dma/swiotlb.c swiotlb_alloc_pool, swiotlb_alloc_tlb, alloc_dma_pages, swiotlb_dyn_free.
// A dynamic pool is guest memory from the page allocator: its bounce buffer (one block under the
// pool's physical limit) and its io_tlb_slot array (one block, any zone). The search over pools
// and the transient pool's life are dma/swiotlb.ts's.
// Different, and the simulator's own: at most SWIOTLB_DYN_POOLS pools live at once (a descriptor
// short is an allocation failure, as kzalloc's would be), and pool p's slots are numbered from
// dynBase + p · SWIOTLB_DYN_MAX_SLABS, so one set of slot arrays serves every pool.
import { IO_TLB_SEGSIZE, IO_TLB_SHIFT, IO_TLB_SLOT_STRUCT_BYTES, PAGE_SHIFT, PAGE_SIZE, SWIOTLB_DYN_MAX_SLABS,
  SWIOTLB_DYN_POOLS, UNIT_SIZE, Zone } from '../../engine/abi.js';
import { allocBlock, freeBlock, getOrder, type MmState } from '../mm/pageAlloc.js';
import { setMemoryDecrypted, setMemoryEncrypted } from '../mm/setMemory.js';

export const DynKind = { pool: 1, transient: 2 } as const;

export interface DynPool {
  readonly kind: number;
  readonly startPfn: number;
  readonly order: number;
  readonly nslabs: number;
  readonly nareas: number;
  readonly areaNslabs: number;
  readonly slotsPfn: number;
  readonly slotsOrder: number;
  /** First slot in the simulator's numbering. */
  readonly base: number;
  readonly areaIndex: Int32Array;
  readonly areaUsed: Int32Array;
}

/** limit_nareas: no more areas than whole segments. */
const limitNareas = (nareas: number, nslots: number) => (nslots < nareas * IO_TLB_SEGSIZE ? Math.floor(nslots / IO_TLB_SEGSIZE) : nareas);

export class SwiotlbDyn {
  readonly pools: (DynPool | null)[] = new Array<DynPool | null>(SWIOTLB_DYN_POOLS).fill(null);
  /** The worker's pools in the order add_mem_pool added them (the list's head is the last). */
  readonly added: number[] = [];

  /**
   * `canGrow`: io_tlb_mem.can_grow (false under Xen PV: swiotlb_init_remap got a remap function).
   * `decrypt`: force_dma_unencrypted (coco): the worker's pools are shared with the host.
   */
  constructor(private readonly m: MmState, readonly dynBase: number, readonly canGrow: boolean, readonly decrypt = false) {}

  baseOf(p: number): number { return this.dynBase + p * SWIOTLB_DYN_MAX_SLABS; }

  /** The dynamic pool slot `index` is in, or -1 (the boot pool). */
  poolOfSlot(index: number): number {
    return index < this.dynBase ? -1 : Math.floor((index - this.dynBase) / SWIOTLB_DYN_MAX_SLABS);
  }

  /** A block of the page allocator, counted as the guest's allocation; -1 when none. */
  private takeBlock(order: number, zone: number): number {
    const pfn = allocBlock(this.m, order, zone);
    if (pfn >= 0) this.m.counters.pagesAllocated += 2 ** order;
    return pfn;
  }

  /**
   * swiotlb_alloc_tlb → alloc_dma_pages (no memory encryption: the buddy path): a limit at or
   * below 4 GiB asks for __GFP_DMA32, a higher one for no zone (Normal, then DMA32). A block that
   * ends above the limit goes back and the next try adds __GFP_DMA32; past that the kernel asks
   * ZONE_DMA, which here is empty (the first 16 MiB are the kernel's), so it fails.
   */
  private allocTlb(order: number, bytes: number, limit: number): number {
    let dma32 = limit <= 0xffffffff;
    for (;;) {
      const pfn = this.takeBlock(order, dma32 ? Zone.dma32 : Zone.normal);
      if (pfn < 0) return -1;
      if (pfn * PAGE_SIZE + bytes - 1 <= limit) return pfn;
      freeBlock(this.m, pfn, order);
      if (dma32) return -1;
      dma32 = true;
    }
  }

  /**
   * swiotlb_alloc_pool(minslabs, nslabs, nareas, limit): at most SWIOTLB_DYN_MAX_SLABS slots; the
   * descriptor first (kzalloc), then the bounce buffer, halving (aligned to a segment, areas cut by
   * limit_nareas) until even `minslabs` fails; then the slot array (one block, no zone).
   * Returns the pool, or -1.
   */
  allocPool(kind: number, minslabs: number, nslabs: number, nareas: number, limit: number): number {
    // the kernel cuts the areas only with the size; default_nslabs is at least 128 per area there
    // (round_up_default_nslabs), which the boot pool here does not model (ENGINE.md §5), so the
    // areas are cut to whole segments from the start
    nslabs = Math.min(nslabs, SWIOTLB_DYN_MAX_SLABS);
    nareas = limitNareas(nareas, nslabs);
    const p = this.pools.indexOf(null);
    if (p < 0) return -1;
    let tlb: number;
    let order: number;
    for (;;) {
      order = getOrder((nslabs * UNIT_SIZE) / PAGE_SIZE);
      tlb = this.allocTlb(order, nslabs * UNIT_SIZE, limit);
      if (tlb >= 0) break;
      if (nslabs <= minslabs) return -1;
      nslabs = Math.ceil((nslabs >> 1) / IO_TLB_SEGSIZE) * IO_TLB_SEGSIZE;
      nareas = limitNareas(nareas, nslabs);
    }
    // alloc_dma_pages (GFP_KERNEL, the worker's) decrypts the buffer: set_memory_decrypted over
    // PFN_UP(bytes) pages. A transient pool (GFP_NOWAIT) comes from the atomic pool under
    // force_dma_unencrypted (swiotlb_alloc_tlb → dma_alloc_from_pool), already shared: no call
    // (different: that pool is the page allocator here, so its pages are shared while the pool lives).
    const pages = Math.ceil((nslabs * UNIT_SIZE) / PAGE_SIZE);
    const convert = this.decrypt && kind === DynKind.pool;
    if (this.decrypt) setMemoryDecrypted(this.m, tlb, pages, convert);
    const slotsOrder = getOrder(Math.ceil((nslabs * IO_TLB_SLOT_STRUCT_BYTES) / PAGE_SIZE));
    const slotsPfn = this.takeBlock(slotsOrder, Zone.normal);
    if (slotsPfn < 0) {
      // swiotlb_free_tlb: set_memory_encrypted before the free (a transient pool's: back to the atomic pool)
      if (this.decrypt) setMemoryEncrypted(this.m, tlb, pages, convert);
      freeBlock(this.m, tlb, order);
      return -1;
    }
    nareas = Math.max(1, nareas);
    this.pools[p] = {
      kind, startPfn: tlb, order, nslabs, nareas, areaNslabs: Math.floor(nslabs / nareas), slotsPfn, slotsOrder,
      base: this.baseOf(p), areaIndex: new Int32Array(nareas), areaUsed: new Int32Array(nareas),
    };
    return p;
  }

  /** swiotlb_dyn_free: the slot array and the bounce buffer go back to the page allocator (a transient
   * pool's, the only kind freed, to the atomic pool: no conversion; its pages are private again here). */
  free(p: number): void {
    const pool = this.pools[p]!;
    if (this.decrypt) setMemoryEncrypted(this.m, pool.startPfn, Math.ceil((pool.nslabs * UNIT_SIZE) / PAGE_SIZE), false);
    freeBlock(this.m, pool.slotsPfn, pool.slotsOrder);
    freeBlock(this.m, pool.startPfn, pool.order);
    this.pools[p] = null;
  }

  /** The live pool whose bounce buffer holds guest phys `phys`, or -1 (swiotlb_find_pool). */
  poolOf(phys: number): number {
    return this.pools.findIndex((pool) => pool !== null && phys >= pool.startPfn * PAGE_SIZE
      && phys < pool.startPfn * PAGE_SIZE + pool.nslabs * UNIT_SIZE);
  }

  /** Guest phys of slot `index` of dynamic pool p. */
  slotPhys(p: number, index: number): number {
    return this.pools[p]!.startPfn * 2 ** PAGE_SHIFT + (index - this.baseOf(p)) * 2 ** IO_TLB_SHIFT;
  }
}
