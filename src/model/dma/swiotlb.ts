// The swiotlb slot allocator (twin of assembly/dma/swiotlb.ts). Both eras keep per-slot "free
// slots left in this 128-slot segment" counters and merge a freed run with its free neighbours.
// 2010 (lib/swiotlb.c, 2.6.37): next-fit from one rotating cursor over the whole pool, stride 2
// for runs above a page. Modern (kernel/dma/swiotlb.c, 6.12): per-CPU areas, each with its own
// cursor and used count, searched from the mapping CPU's area; runs of a page or more page-aligned
// unless the device has a min_align_mask, whose bits below a slot the bounce address keeps.
// Slots live in guest memory right after the kernel (layout.ts), which starts on a page.
import { IO_TLB_MIN_SLABS, IO_TLB_OVERFLOW_PAGES, IO_TLB_SEGSIZE, IO_TLB_SHIFT, Kernel, PAGE_MASK, PAGE_SIZE,
  SWIOTLB_MAP_CPU, SWIOTLB_MAX_AREAS, UNIT_MASK, UNIT_SIZE } from '../../engine/abi.js';
import type { Counters } from '../sim/counters.js';
import type { Layout } from '../layout.js';
import type { P2m } from '../xen/p2m.js';
import { DynKind, type SwiotlbDyn } from './swiotlbDyn.js';

/** One pool's areas as a search sees them: its first slot, area size, cursors and used counts. */
interface AreaView {
  readonly base: number;
  readonly areaNslabs: number;
  readonly areaIndex: Int32Array;
  readonly areaUsed: Int32Array;
}

/**
 * The areas a pool of `nslabs` slots has on 6.12: swiotlb_adjust_nareas(num_possible_cpus())
 * rounded up to a power of two (SWIOTLB_MAX_AREAS), then limit_nareas: no more than one per
 * IO_TLB_SEGSIZE slots (nslabs / IO_TLB_SEGSIZE, which need not be a power of two).
 */
export function swiotlbAreas(nslabs: number): number {
  return nslabs < SWIOTLB_MAX_AREAS * IO_TLB_SEGSIZE ? Math.floor(nslabs / IO_TLB_SEGSIZE) : SWIOTLB_MAX_AREAS;
}

export class SwiotlbPool {
  /** Free slots from here to the next used slot or segment end (0 = in use). */
  readonly list: Int32Array;
  /** Guest physical address each slot bounces for. */
  readonly orig: Float64Array;
  /** At a run's first slot: its slot count (0 elsewhere). */
  readonly runSlots: Int32Array;
  /** 6.12 io_tlb_slot.alloc_size of each slot: the mapping's size less the slots before it (0 once released). */
  readonly allocSize: Float64Array;
  /** The boot pool's slots are the first (dynamic pools follow: swiotlbDyn.ts). */
  readonly base = 0;
  cursor = 0;
  slotsInUse = 0;
  /** The run the GART dummy page holds for the device's life (dma/mapping.ts), -1 when none. */
  heldIndex = -1;
  /**
   * The device's dma_get_min_align_mask (--min-align-mask; modern only, 0 or 2^k - 1 up to 4095):
   * 0 for every modelled GPU, NVMe's 4095 when replaying another device's trace.
   */
  minAlignMask = 0;

  /** 6.12 areas (swiotlb_init_io_tlb_pool): their count, slots each, cursor and used slots. */
  readonly nareas: number;
  readonly areaNslabs: number;
  readonly areaIndex: Int32Array;
  readonly areaUsed: Int32Array;

  /** CONFIG_SWIOTLB_DYNAMIC's pools (--swiotlb-dynamic), null when off. */
  readonly dyn: SwiotlbDyn | null;
  /** The device's DMA mask: a transient pool's limit. */
  private readonly dmaMask: number;
  private readonly counters: Counters | null;

  /** `dyn`: the dynamic pools, whose slots follow the boot pool's in these arrays (swiotlbDyn.ts). */
  constructor(readonly nslabs: number, dyn: { pools: SwiotlbDyn; capacity: number; dmaMask: number; counters: Counters } | null = null) {
    this.nareas = Math.max(1, swiotlbAreas(nslabs));
    this.areaNslabs = Math.floor(nslabs / this.nareas);
    this.areaIndex = new Int32Array(this.nareas);
    this.areaUsed = new Int32Array(this.nareas);
    const capacity = dyn ? dyn.capacity : nslabs;
    this.list = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.list[i] = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    this.orig = new Float64Array(capacity);
    this.runSlots = new Int32Array(capacity);
    this.allocSize = new Float64Array(capacity);
    this.dyn = dyn ? dyn.pools : null;
    this.dmaMask = dyn ? dyn.dmaMask : 0;
    this.counters = dyn ? dyn.counters : null;
  }

  /** Guest phys of slot `index`: the boot pool right after the kernel (layout.ts), or a dynamic pool's block. */
  slotPhys(layout: Layout, index: number): number {
    const p = this.dyn ? this.dyn.poolOfSlot(index) : -1;
    return p < 0 ? slotPhys(layout, index) : this.dyn!.slotPhys(p, index);
  }

  /**
   * 6.12 swiotlb_align_offset(dev, 0, addr) (a streaming map's alloc_align_mask is 0): the bits of
   * `addr` under the device's min_align_mask that lie below a slot, kept as the bounce address's
   * offset into its first slot. 0 on 2010 (no min_align_mask before Linux 5.12).
   */
  alignOffset(addr: number): number {
    return addr & this.minAlignMask & UNIT_MASK;
  }

  /**
   * Where the live run through slot `index` holds its bytes: the slot plus the align offset of
   * the original address that slot bounces (each slot's orig_addr keeps the original's low bits,
   * so every slot of a run gives the run's offset: 6.12 swiotlb_bounce's tlb_offset is then 0).
   */
  bouncePhys(layout: Layout, index: number): number {
    return this.slotPhys(layout, index) + this.alignOffset(this.orig[index]!);
  }

  /**
   * swiotlb_tbl_map_single's search: the first slot of a run for `size` bytes from `origPhys`, or -1
   * (full). 6.12 (swiotlb_tbl_map_single, alloc_align_mask 0): the search is for size plus the align
   * offset (pad_slots is offset >> IO_TLB_SHIFT, always 0 here), each slot's orig_addr is the
   * original plus i slots, and each slot's alloc_size the mapping's size less the slots before it.
   */
  swiotlbTblMapSingle(origPhys: number, size: number, kernel: number = Kernel['2010']): number {
    const allocSize = size + this.alignOffset(origPhys);
    const nslots = Math.ceil(allocSize / UNIT_SIZE);
    if (nslots > IO_TLB_SEGSIZE || nslots === 0) return -1;
    const index = kernel !== Kernel.modern ? this.findSlots2010(size, nslots)
      : this.dyn ? this.swiotlbFindSlotsDyn(origPhys, allocSize, nslots) : this.swiotlbFindSlots(origPhys, allocSize, nslots);
    if (index < 0) return -1;
    for (let i = 0; i < nslots; i++) [this.orig[index + i], this.allocSize[index + i]] = [origPhys + i * UNIT_SIZE, size - i * UNIT_SIZE];
    this.runSlots[index] = nslots;
    this.slotsInUse += nslots;
    return index;
  }

  /** The 2.6.37 search (swiotlb_tbl_map_single, lib/swiotlb.c): next-fit from io_tlb_index. */
  private findSlots2010(size: number, nslots: number): number {
    const stride = size > 2 * UNIT_SIZE ? 2 : 1;
    let index = Math.ceil(this.cursor / stride) * stride;
    if (index >= this.nslabs) index = 0;
    const wrap = index;
    for (;;) {
      if (this.list[index] >= nslots && index + nslots <= this.nslabs) break;
      index += stride;
      if (index >= this.nslabs) index = 0;
      if (index === wrap) return -1;
    }
    this.takeRun(index, nslots);
    this.cursor = index + nslots >= this.nslabs ? 0 : index + nslots;
    return index;
  }

  /** Both eras: the run's counters become 0, the free slots before it in its segment count up to it. */
  private takeRun(index: number, nslots: number): void {
    for (let i = index; i < index + nslots; i++) this.list[i] = 0;
    let count = 0;
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
  }

  /**
   * 6.12 swiotlb_find_slots (!CONFIG_SWIOTLB_DYNAMIC): try the mapping CPU's area, then the next
   * ones round the pool's areas, until one finds a run.
   */
  private swiotlbFindSlots(origPhys: number, size: number, nslots: number): number {
    const start = SWIOTLB_MAP_CPU & (this.nareas - 1);
    let area = start;
    do {
      const index = this.swiotlbSearchPoolArea(this, area, origPhys, size, nslots);
      if (index >= 0) return index;
      if (++area >= this.nareas) area = 0;
    } while (area !== start);
    return -1;
  }

  /**
   * 6.12 swiotlb_find_slots with CONFIG_SWIOTLB_DYNAMIC: for each CPU offset i below
   * default_nareas, swiotlb_search_area tries area (cpu + i) of every pool on the list, newest
   * first, skipping a pool with no area i. When none has room and the pool may grow: a transient
   * pool of the request's own slots, one area, under the device's DMA mask (swiotlb_alloc_pool(dev,
   * n, n, 1, mask, GFP_NOWAIT)), searched in area 0 and kept on the device's list; and the
   * schedule_work'ed background worker, swiotlb_dyn_alloc, which here runs as soon as this map is
   * done: a pool of default_nslabs (the boot pool's; at most SWIOTLB_DYN_MAX_SLABS, halving down to
   * IO_TLB_MIN_SLABS) with default_nareas areas under the default limit, 4 GiB on x86
   * (ARCH_LOW_ADDRESS_LIMIT), added at the list's head (add_mem_pool). The transient pool comes
   * first: the worker runs later.
   */
  private swiotlbFindSlotsDyn(origPhys: number, size: number, nslots: number): number {
    const dyn = this.dyn!;
    const newestFirst: AreaView[] = [...dyn.added].reverse().map((p) => dyn.pools[p]!);
    newestFirst.push({ base: 0, areaNslabs: this.areaNslabs, areaIndex: this.areaIndex, areaUsed: this.areaUsed });
    for (let i = 0; i < SWIOTLB_MAX_AREAS; i++) {
      for (const pool of newestFirst) {
        const nareas = pool.areaIndex.length;
        if (i >= nareas) continue;
        const index = this.swiotlbSearchPoolArea(pool, (SWIOTLB_MAP_CPU + i) & (nareas - 1), origPhys, size, nslots);
        if (index >= 0) return index;
      }
    }
    if (!dyn.canGrow) return -1;
    let index = -1;
    const t = dyn.allocPool(DynKind.transient, nslots, nslots, 1, this.dmaMask);
    if (t >= 0) {
      this.freshSlots(dyn.pools[t]!);
      index = this.swiotlbSearchPoolArea(dyn.pools[t]!, 0, origPhys, size, nslots);
      if (index < 0) dyn.free(t);
      else this.counters!.swiotlbTransientPools++;
    }
    const p = dyn.allocPool(DynKind.pool, IO_TLB_MIN_SLABS, this.nslabs, SWIOTLB_MAX_AREAS, 0xffffffff);
    if (p >= 0) {
      this.freshSlots(dyn.pools[p]!);
      dyn.added.push(p);
      this.counters!.swiotlbPoolsAdded++;
    }
    return index;
  }

  /**
   * swiotlb_init_io_tlb_pool (6.12): every slot of a new pool free, its counter capped at the pool's
   * end (the smaller of the distance to the segment's end and nslabs - i): a transient pool has
   * only the request's slots, so a search from a slot past its first (a min_align_mask's odd slot)
   * cannot run off it.
   */
  private freshSlots(pool: { base: number; nslabs: number }): void {
    for (let i = 0; i < pool.nslabs; i++) this.list[pool.base + i] = Math.min(IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE), pool.nslabs - i);
  }

  /**
   * 6.12 swiotlb_search_pool_area for a streaming map (alloc_align_mask 0) of `size` bytes (the
   * mapping plus its align offset) from `origPhys`. The device's min_align_mask is the
   * iotlb_align_mask. Without one, a request of PAGE_SIZE or more gets the page as its alignment
   * (the "historically page-aligned" rule, which a device with a min_align_mask does not get);
   * every request is at least slot-aligned, and the iotlb_align_mask loses the bits that
   * alignment (or the align offset, below a slot) already keeps: with masks up to 4095 at most
   * bit 11, which the slot must then share with the original address. The stride is
   * get_max_slots of the larger mask (6.12 has no separate page stride). An area without `nslots`
   * unused slots is skipped outright. From the area's cursor, a slot that is misaligned or does
   * not match the original (when orig_addr is not 0) moves on by one, a fitting one whose counter
   * is too small by the stride; the cursor wraps to the area's start, and the walk gives up after
   * the area's slot count. The default 4 GiB segment boundary (iommu_is_span_boundary) never cuts a
   * pool that sits below 4 GiB.
   */
  private swiotlbSearchPoolArea(pool: AreaView, area: number, origPhys: number, size: number, nslots: number): number {
    const alignMask = (this.minAlignMask === 0 && size >= PAGE_SIZE ? PAGE_MASK : 0) | UNIT_MASK;
    const iotlbMask = this.minAlignMask & ~alignMask;
    const origBits = origPhys & iotlbMask;
    const stride = Math.ceil((Math.max(alignMask, iotlbMask) + 1) / UNIT_SIZE); // get_max_slots
    const areaNslabs = pool.areaNslabs;
    if (nslots > areaNslabs - pool.areaUsed[area]!) return -1;
    const slotBase = pool.base + area * areaNslabs;
    const wrap = (i: number) => (i >= areaNslabs ? 0 : i); // wrap_area_index
    let index = pool.areaIndex[area]!;
    for (let checked = 0; checked < areaNslabs;) {
      const slot = slotBase + index;
      // every pool starts on a page (a page block), and both masks lie within a page, so a slot's
      // alignment is its index's
      const addr = (slot - pool.base) * UNIT_SIZE;
      if ((addr & alignMask) !== 0 || (origPhys !== 0 && (addr & iotlbMask) !== origBits)) {
        index = wrap(index + 1);
        checked++;
        continue;
      }
      if (this.list[slot]! >= nslots) {
        this.takeRun(slot, nslots);
        pool.areaIndex[area] = wrap(index + nslots);
        pool.areaUsed[area]! += nslots;
        return slot;
      }
      index = wrap(index + stride);
      checked += stride;
    }
    return -1;
  }

  /**
   * swiotlb_tbl_unmap_single's release of `given` slots from `index`, whoever holds them (assembly/dma/swiotlb.ts): each
   * released slot's record cleared (6.12: orig_addr INVALID_PHYS_ADDR, alloc_size 0), only taken slots counted as freed.
   * 2.6.37's do_unmap_single frees the caller's size; 6.12 swiotlb_release_slots frees nr_slots(alloc_size + offset) by
   * the slot's own alloc_size (dma/mapping.ts) and gives them back to the area `index` lies in, and a transient pool goes
   * whole first (swiotlb_del_transient, whichever slot is named). The count starts from the counter after them if that
   * slot is in their segment (pools are whole segments, so as 2.6.37's; different: a release across a segment counts
   * per segment, as the engine's bits do).
   */
  swiotlbTblUnmapSingle(index: number, kernel: number, given: number): void {
    const p = this.dyn ? this.dyn.poolOfSlot(index) : -1;
    const pool = p >= 0 ? this.dyn!.pools[p]! : null;
    if (pool && pool.kind === DynKind.transient) {
      // swiotlb_del_pool → swiotlb_dyn_free; the RCU grace period before the free is not modelled
      let taken = 0;
      for (let i = pool.base; i < pool.base + pool.nslabs; i++) {
        if (this.list[i] === 0) taken++;
        [this.runSlots[i], this.allocSize[i]] = [0, 0];
      }
      this.freshSlots(pool);
      this.slotsInUse -= taken;
      this.dyn!.free(p);
      return;
    }
    const nslots = Math.min(given, (pool ? pool.base + pool.nslabs : this.nslabs) - index);
    if (nslots <= 0) return;
    const end = index + nslots;
    let freed = 0;
    for (let i = index; i < end; i++) {
      if (this.list[i] === 0) freed++;
      [this.runSlots[i], this.allocSize[i]] = [0, 0];
    }
    if (kernel === Kernel.modern) {
      if (pool) pool.areaUsed[Math.floor((index - pool.base) / pool.areaNslabs)]! -= nslots;
      else this.areaUsed[Math.floor(index / this.areaNslabs)]! -= nslots;
    }
    const poolEnd = pool ? pool.base + pool.nslabs : this.nslabs;
    let count = end % IO_TLB_SEGSIZE !== 0 && end < poolEnd ? this.list[end]! : 0;
    for (let i = end - 1; i >= index; i--) {
      if (i < end - 1 && i % IO_TLB_SEGSIZE === IO_TLB_SEGSIZE - 1) count = 0; // a segment's end
      this.list[i] = ++count;
    }
    for (let i = index - 1; i >= 0 && i % IO_TLB_SEGSIZE !== IO_TLB_SEGSIZE - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
    this.slotsInUse -= freed;
  }
}

/** Guest phys of slot i: the pool is plain guest memory to the CPU that copies through it. */
export function slotPhys(layout: Layout, index: number): number {
  return layout.poolPfn * PAGE_SIZE + index * UNIT_SIZE;
}

/** The slot bus address `bus` falls in, or -1 (is_swiotlb_buffer after bus → machine → phys). */
export function busToSlot(layout: Layout, machine: P2m, pool: SwiotlbPool, bus: number): number {
  const phys = machine.machineToPhys(bus);
  if (phys < 0) return -1;
  const offset = phys - slotPhys(layout, 0);
  const index = Math.floor(offset / UNIT_SIZE);
  if (offset >= 0 && index < pool.nslabs) return index;
  // swiotlb_find_pool: the io_tlb_mem's pools, then the device's transient ones
  const p = pool.dyn ? pool.dyn.poolOf(phys) : -1;
  if (p < 0) return -1;
  return pool.dyn!.baseOf(p) + Math.floor((phys - pool.dyn!.pools[p]!.startPfn * PAGE_SIZE) / UNIT_SIZE);
}

/** Does bus address `bus` fall in the 2010 overflow buffer? */
export function inOverflow(layout: Layout, machine: P2m, bus: number): boolean {
  const phys = machine.machineToPhys(bus);
  return phys >= layout.overflowPfn * PAGE_SIZE && phys < (layout.overflowPfn + IO_TLB_OVERFLOW_PAGES) * PAGE_SIZE;
}
