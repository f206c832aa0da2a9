// The swiotlb slot allocator, per era (twin of src/model/dma/swiotlb.ts).
// 2010: lib/swiotlb.c (2.6.37): the io_tlb_list "free slots left in this segment" counters,
// next-fit from io_tlb_index with a page stride for multi-page maps, and the 32 KiB overflow
// buffer handed back when the pool is full (dma/mapping.ts). Modern: kernel/dma/swiotlb.c (6.12):
// the same counters (io_tlb_slot.list), searched per CPU area (swiotlb_find_slots →
// swiotlb_search_pool_area), each area with its own cursor and used count; a request of a page
// or more is page-aligned unless the device has a min_align_mask, whose bits below a slot the
// bounce address keeps; a full pool is DMA_MAPPING_ERROR (dma/mapping.ts).
// Different, and the simulator's own: io_tlb_list is not stored but derived. Every value the
// kernel's walks write is the distance from a free slot to the next used slot of its 128-slot
// segment, or to the segment's end, so one bit per slot (used or not) gives any value with one
// count of trailing zeros, and a map or unmap costs its own slots, not the walk back over the
// free slots before it. The one history the bits cannot tell: in a last segment cut short by
// nslabs, the free tail counts to the segment's end until a run ending at nslabs is released
// (its count then starts at 0, so the tail counts to nslabs); a flag keeps that.

import { IO_TLB_SEGSIZE, IO_TLB_SHIFT, UNIT_SIZE, UNIT_MASK, PAGE_SIZE, PAGE_SHIFT, PAGE_MASK,
  C_SWIOTLB_SLOTS_IN_USE, KERNEL_MODERN, SWIOTLB_MAX_AREAS, SWIOTLB_MAP_CPU, SWIOTLB_DYN_POOLS,
  SWIOTLB_DYN_MAX_SLABS, IO_TLB_MIN_SLABS, C_SWIOTLB_POOLS_ADDED, C_SWIOTLB_TRANSIENT_POOLS } from '../abi';
import { nslabs, slots_used_ptr, slots_rec_ptr, TLB_SLOT_BYTES, io_tlb_start_pfn, overflow_pfn,
  kernel_era, slot_capacity, swiotlb_dynamic, dyn_slot_base, dma_mask } from '../layout';
import { DYN_FREE, DYN_POOL, DYN_TRANSIENT, dyn_reset, dyn_kind, dyn_start_pfn, dyn_nslabs, dyn_nareas,
  dyn_area_nslabs, dyn_areas, dyn_base, dyn_pool_of, swiotlb_alloc_pool, swiotlb_dyn_free } from './swiotlb_dyn';
import { count, slots_in_use_add } from '../sim/counters';
import { pfn_to_mfn } from '../sim/translate';
import { xen_pv_domain, mfn_to_pfn } from '../xen/p2m';

// Slot record (TLB_SLOT_BYTES), as the kernel's io_tlb_slot: io_tlb_orig_addr and (6.12) the
// slot's alloc_size, the mapping's size less the slots before it (0 or below in a last slot the
// align offset fills); at a run's first slot also the run's slot count (0 = no run starts here).
@inline const S_ORIG: i32 = 0; @inline const S_SIZE: i32 = S_ORIG + 8; @inline const S_NSLOTS: i32 = S_SIZE + 4;

let io_tlb_index: i32 = 0;
// 6.12 areas (swiotlb_init_io_tlb_pool): how many, slots each, and per area its cursor (index)
// and used slots, two i32 words each.
let nareas: i32 = 1; let area_nslabs: i32 = 0;
const areas_ptr: usize = memory.data(SWIOTLB_MAX_AREAS * 8);
@inline function area_at(a: i32): usize {
  assert(<u32>a < <u32>nareas, 'swiotlb area out of range');
  return areas_ptr + (<usize>a << 3);
}
let held_index: i32 = -1; // the run the GART dummy page holds for the device's life (dma/mapping.ts), or −1

// Used bits: two u64 words per segment, bit i & 63 of word i >> 6 set while slot i is taken.
@inline function word_at(i: i32): usize {
  assert(<u32>i < <u32>slot_capacity, 'swiotlb slot out of range');
  return slots_used_ptr + (<usize>(i >> 6) << 3);
}
@inline function set_used(first: i32, n: i32, used: bool): void {
  for (let i = first; i < first + n; i++) {
    const w = word_at(i);
    const bit = <u64>1 << <u64>(i & 63);
    store<u64>(w, used ? load<u64>(w) | bit : load<u64>(w) & ~bit);
  }
}
// The last segment's free tail counts to nslabs, not to the segment's end (above).
let tail_clipped = false;

/** io_tlb_list[i]: 0 for a used slot, else the free slots from i to the next used one or the segment's end. */
function list_value(i: i32): i32 {
  const seg = i & ~(IO_TLB_SEGSIZE - 1); // IO_TLB_SEGSIZE is 128: two words
  const lo = load<u64>(word_at(seg));
  const hi = load<u64>(word_at(seg), 8);
  const off = i - seg;
  // the first used slot at or after i in the segment, as an offset in it (128: none)
  const next = off < 64
    ? ((lo >> <u64>off) != 0 ? <i32>ctz(lo >> <u64>off) + off : (hi != 0 ? 64 + <i32>ctz(hi) : IO_TLB_SEGSIZE))
    : ((hi >> <u64>(off - 64)) != 0 ? <i32>ctz(hi >> <u64>(off - 64)) + off : IO_TLB_SEGSIZE);
  if (next < IO_TLB_SEGSIZE) return next - off;
  const end = seg + IO_TLB_SEGSIZE;
  return (seg < nslabs && end > nslabs && tail_clipped ? nslabs : end) - i;
}

@inline function rec_at(i: i32): usize {
  assert(<u32>i < <u32>slot_capacity, 'swiotlb slot out of range');
  return slots_rec_ptr + <usize>(i * TLB_SLOT_BYTES);
}

/** The areas a pool of `n` slots has on 6.12: swiotlb_adjust_nareas(num_possible_cpus()) rounded up to a power of
 * two (SWIOTLB_MAX_AREAS), then limit_nareas: at most one per IO_TLB_SEGSIZE slots (need not be a power of two). */
export function swiotlb_areas(n: i32): i32 {
  return n < SWIOTLB_MAX_AREAS * IO_TLB_SEGSIZE ? n / IO_TLB_SEGSIZE : SWIOTLB_MAX_AREAS;
}

// CONFIG_SWIOTLB_DYNAMIC: may the pool list grow (io_tlb_mem.can_grow), and the worker's pools,
// newest first (add_mem_pool puts a pool at the list's head; the boot pool stays last).
let can_grow = false;
let pools_count: i32 = 0;
const pools_ptr: usize = memory.data(SWIOTLB_DYN_POOLS * 4);
@inline function pool_at(k: i32): i32 { return load<i32>(pools_ptr + (<usize>k << 2)); }

// The device's dma_get_min_align_mask (--min-align-mask; modern only, 0 or 2^k - 1 up to 4095):
// 0 for every modelled GPU, NVMe's 4095 when replaying another device's trace.
let min_align_mask: i32 = 0;
export function swiotlb_set_min_align_mask(m: i32): void { min_align_mask = m; }

/** --swiotlb-dynamic. 6.12 swiotlb_init_remap sets can_grow only when given no remap function; Xen PV boots the pool
 * through swiotlb_init_remap(.., xen_swiotlb_fixup) (arch/x86/kernel/pci-dma.c pci_xen_swiotlb_init): it never grows. */
export function swiotlb_set_dynamic(grow: bool): void { can_grow = grow; }

export function swiotlb_init(): void {
  assert(IO_TLB_SEGSIZE == 128, 'list_value reads a segment as two u64 words');
  // every slot free (the used bits are fresh memory): io_tlb_list[i] = IO_TLB_SEGSIZE - i % IO_TLB_SEGSIZE
  io_tlb_index = 0;
  held_index = -1;
  tail_clipped = false;
  nareas = max(1, swiotlb_areas(nslabs));
  area_nslabs = nslabs / nareas;
  for (let a = 0; a < nareas; a++) { store<i32>(area_at(a), 0); store<i32>(area_at(a), 0, 4); }
  pools_count = 0;
  dyn_reset();
}

/** The dynamic pool slot i lies in, or −1 for the boot pool. */
@inline function pool_of_slot(i: i32): i32 {
  return i < dyn_slot_base ? -1 : (i - dyn_slot_base) / SWIOTLB_DYN_MAX_SLABS;
}

/** The dummy page's bounce run: held until the device goes away, which no op does. */
export function swiotlb_hold(index: i32): void { held_index = index; }

/** Guest phys of slot i: the pool is plain guest memory to the CPU that copies through it. */
@inline export function slot_phys(i: i32): u64 {
  const p = pool_of_slot(i);
  if (p < 0) return (<u64>io_tlb_start_pfn << PAGE_SHIFT) + (<u64>i << IO_TLB_SHIFT);
  return (<u64>dyn_start_pfn(p) << PAGE_SHIFT) + (<u64>(i - dyn_base(p)) << IO_TLB_SHIFT);
}

/**
 * 6.12 swiotlb_align_offset(dev, 0, addr): the bits of `addr` under the device's min_align_mask
 * below a slot, the bounce address's offset into its first slot (0 on 2010: no mask before 5.12).
 */
@inline export function swiotlb_align_offset(addr: u64): i32 {
  return <i32>(addr & <u64>(min_align_mask & UNIT_MASK));
}

/**
 * Where the live run through slot i holds its bytes: the slot plus the align offset of the
 * original that slot bounces (the same for every slot of a run: 6.12 swiotlb_bounce).
 */
export function bounce_phys(i: i32): u64 {
  return slot_phys(i) + <u64>swiotlb_align_offset(load<u64>(rec_at(i), S_ORIG));
}

/** Bus address of the live run through slot i: under Xen each 256 KiB piece sits wherever the boot exchange put it. */
export function bounce_bus(i: i32): u64 {
  const phys = bounce_phys(i);
  return (<u64>pfn_to_mfn(<i32>(phys >> PAGE_SHIFT)) << PAGE_SHIFT) | (phys & PAGE_MASK);
}

export function overflow_bus(): u64 {
  return <u64>pfn_to_mfn(overflow_pfn) << PAGE_SHIFT;
}

/**
 * Slot whose bus address is `bus`, or −1: is_swiotlb_buffer after the bus address is turned back
 * into a guest one (xen_bus_to_phys under Xen: bus → machine frame → m2p → pseudo-physical), so
 * one lookup whatever the size of the pool or the machine.
 */
export function bus_to_slot(bus: u64): i32 {
  let phys = bus;
  if (xen_pv_domain()) {
    const pfn = mfn_to_pfn(<i64>(bus >> PAGE_SHIFT));
    if (pfn < 0) return -1;
    phys = (<u64>pfn << PAGE_SHIFT) | (bus & PAGE_MASK);
  }
  const start = slot_phys(0);
  if (phys >= start && (phys - start) >> IO_TLB_SHIFT < <u64>nslabs) return <i32>((phys - start) >> IO_TLB_SHIFT);
  if (!swiotlb_dynamic) return -1;
  // swiotlb_find_pool: the io_tlb_mem's pools, then the device's transient ones
  const p = dyn_pool_of(phys);
  if (p < 0) return -1;
  return dyn_base(p) + <i32>((phys - (<u64>dyn_start_pfn(p) << PAGE_SHIFT)) >> IO_TLB_SHIFT);
}

/**
 * swiotlb_tbl_map_single's slot search for `size` bytes from guest phys `orig`: the first slot, or
 * −1 (full, or more than a segment). 6.12 searches for size plus the align offset (pad_slots, its
 * slots, is 0 here); each slot's orig_addr is the original plus i slots; the size kept is the map's.
 */
export function swiotlb_tbl_map_single(orig: u64, size: i32): i32 {
  const alloc_size = size + swiotlb_align_offset(orig);
  const nslots = (alloc_size + UNIT_SIZE - 1) >> IO_TLB_SHIFT;
  if (nslots > IO_TLB_SEGSIZE || nslots > nslabs || nslots <= 0) return -1;
  const index = kernel_era != KERNEL_MODERN ? find_slots_2010(size, nslots)
    : swiotlb_dynamic ? swiotlb_find_slots_dyn(orig, alloc_size, nslots) : swiotlb_find_slots(orig, alloc_size, nslots);
  if (index < 0) return -1;
  for (let i = 0; i < nslots; i++) {
    store<u64>(rec_at(index + i), orig + (<u64>i << IO_TLB_SHIFT), S_ORIG);
    store<u64>(rec_at(index + i), <u64><u32>(size - (i << IO_TLB_SHIFT)), S_SIZE); // alloc_size; no slot count
  }
  store<i32>(rec_at(index), nslots, S_NSLOTS);
  slots_in_use_add(nslots);
  return index;
}

/** The 2.6.37 search (swiotlb_tbl_map_single, lib/swiotlb.c): next-fit from io_tlb_index. */
function find_slots_2010(size: i32, nslots: i32): i32 {
  const stride = size > PAGE_SIZE ? 2 : 1;
  let index = (io_tlb_index + stride - 1) & ~(stride - 1);
  if (index >= nslabs) index = 0;
  const wrap = index;
  while (true) {
    if (index + nslots <= nslabs && list_value(index) >= nslots) break;
    index += stride;
    if (index >= nslabs) index = 0;
    if (index == wrap) return -1;
  }
  // The run's counters become 0 and the free slots before it in the segment count up to it.
  set_used(index, nslots, true);
  io_tlb_index = index + nslots;
  if (io_tlb_index >= nslabs) io_tlb_index = 0;
  return index;
}

/**
 * 6.12 swiotlb_find_slots (!CONFIG_SWIOTLB_DYNAMIC): try the mapping CPU's area, then the next
 * ones round the pool's areas, until one finds a run.
 */
function swiotlb_find_slots(orig: u64, size: i32, nslots: i32): i32 {
  const start = SWIOTLB_MAP_CPU & (nareas - 1);
  let a = start;
  do {
    const index = swiotlb_search_pool_area(0, area_nslabs, areas_ptr, a, orig, size, nslots);
    if (index >= 0) return index;
    if (++a >= nareas) a = 0;
  } while (a != start);
  return -1;
}

/**
 * 6.12 swiotlb_find_slots with CONFIG_SWIOTLB_DYNAMIC: for each CPU offset i below default_nareas,
 * swiotlb_search_area tries area (cpu + i) of every pool on the list, newest first, skipping a
 * pool with no area i. When none has room and the pool may grow: a transient pool of the request's
 * own slots, one area, under the device's DMA mask (swiotlb_alloc_pool(dev, n, n, 1, mask,
 * GFP_NOWAIT)), searched in area 0 and kept on the device's list; and the schedule_work'ed
 * background worker, swiotlb_dyn_alloc, which here runs as soon as this map is done: a pool of
 * default_nslabs (the boot pool's; at most SWIOTLB_DYN_MAX_SLABS, halving down to IO_TLB_MIN_SLABS)
 * with default_nareas areas under the default limit, 4 GiB on x86 (ARCH_LOW_ADDRESS_LIMIT),
 * added at the list's head (add_mem_pool). The transient pool comes first: the worker runs later.
 */
function swiotlb_find_slots_dyn(orig: u64, size: i32, nslots: i32): i32 {
  for (let i = 0; i < SWIOTLB_MAX_AREAS; i++) {
    for (let k = pools_count - 1; k >= 0; k--) {
      const p = pool_at(k);
      if (i >= dyn_nareas(p)) continue;
      const a = (SWIOTLB_MAP_CPU + i) & (dyn_nareas(p) - 1);
      const index = swiotlb_search_pool_area(dyn_base(p), dyn_area_nslabs(p), dyn_areas(p), a, orig, size, nslots);
      if (index >= 0) return index;
    }
    if (i >= nareas) continue;
    const index = swiotlb_search_pool_area(0, area_nslabs, areas_ptr, (SWIOTLB_MAP_CPU + i) & (nareas - 1), orig, size, nslots);
    if (index >= 0) return index;
  }
  if (!can_grow) return -1;
  let index = -1;
  const t = swiotlb_alloc_pool(DYN_TRANSIENT, nslots, nslots, 1, dma_mask);
  if (t >= 0) {
    transient_fence(t, true);
    index = swiotlb_search_pool_area(dyn_base(t), dyn_area_nslabs(t), dyn_areas(t), 0, orig, size, nslots);
    if (index < 0) { transient_fence(t, false); swiotlb_dyn_free(t); }
    else count(C_SWIOTLB_TRANSIENT_POOLS);
  }
  const p = swiotlb_alloc_pool(DYN_POOL, IO_TLB_MIN_SLABS, nslabs, SWIOTLB_MAX_AREAS, 0xFFFFFFFF);
  if (p >= 0) {
    store<i32>(pools_ptr + (<usize>pools_count << 2), p);
    pools_count++;
    count(C_SWIOTLB_POOLS_ADDED);
  }
  return index;
}

/**
 * 6.12 swiotlb_init_io_tlb_pool caps a fresh slot's counter at the pool's end (nslabs - i): the
 * rest of a transient pool's segment counts as used while it lives, so a search from past its
 * first slot (a min_align_mask's odd slot) cannot run off it.
 */
function transient_fence(t: i32, on: bool): void {
  const n = dyn_nslabs(t);
  const rest = ((n + IO_TLB_SEGSIZE - 1) & ~(IO_TLB_SEGSIZE - 1)) - n;
  if (rest > 0) set_used(dyn_base(t) + n, rest, on);
}

/** wrap_area_index: a cursor past the area's end starts again at its first slot. */
@inline function wrap_area_index(i: i32, area_nslabs: i32): i32 { return i >= area_nslabs ? 0 : i; }

/**
 * 6.12 swiotlb_search_pool_area for a streaming map (alloc_align_mask 0) of `size` bytes (with the
 * align offset) from `orig`; the device's min_align_mask is iotlb_align_mask (docs/ENGINE.md §5).
 * Page alignment for a page or more only without a mask; at least a slot; iotlb_align_mask less
 * the alignment's bits (at most bit 11), which the slot must share with the original; stride
 * get_max_slots of the larger mask. An area without `nslots` unused slots is skipped. From the
 * cursor, a misaligned or unmatched slot moves on by one, a fitting one whose counter is too small
 * by the stride; the cursor wraps (wrap_area_index) and the walk ends after the area's slot count.
 * The 4 GiB segment boundary (iommu_is_span_boundary) never cuts a pool below 4 GiB.
 */
function swiotlb_search_pool_area(base: i32, area_nslabs: i32, areas: usize, a: i32, orig: u64, size: i32, nslots: i32): i32 {
  const align_mask = (min_align_mask == 0 && size >= PAGE_SIZE ? <i32>PAGE_MASK : 0) | UNIT_MASK;
  const iotlb_mask = min_align_mask & ~align_mask;
  const orig_bits = <i32>(orig & <u64>iotlb_mask);
  const stride = (max(align_mask, iotlb_mask) + UNIT_SIZE) >> IO_TLB_SHIFT; // get_max_slots: nr_slots(mask + 1)
  const area = areas + (<usize>a << 3);
  if (nslots > area_nslabs - load<i32>(area, 4)) return -1;
  const slot_base = base + a * area_nslabs;
  let index = load<i32>(area);
  for (let checked = 0; checked < area_nslabs;) {
    const slot = slot_base + index;
    // every pool starts on a page (layout.ts, a page block), and both masks lie within a page, so
    // a slot's alignment is its index's
    const addr = (slot - base) << IO_TLB_SHIFT;
    if ((addr & align_mask) != 0 || (orig != 0 && (addr & iotlb_mask) != orig_bits)) {
      index = wrap_area_index(index + 1, area_nslabs);
      checked++;
      continue;
    }
    if (list_value(slot) >= nslots) {
      set_used(slot, nslots, true);
      store<i32>(area, wrap_area_index(index + nslots, area_nslabs));
      store<i32>(area, load<i32>(area, 4) + nslots, 4);
      return slot;
    }
    index = wrap_area_index(index + stride, area_nslabs);
    checked += stride;
  }
  return -1;
}

/** Slot i's alloc_size (6.12 io_tlb_slot.alloc_size; 0 once released). */
@inline export function slot_alloc_size(i: i32): i32 { return load<i32>(rec_at(i), S_SIZE); }
@inline export function slot_orig(i: i32): u64 { return load<u64>(rec_at(i), S_ORIG); }
/** Is slot i part of a live run (io_tlb_list 0)? */
@inline export function slot_in_use(i: i32): bool { return (load<u64>(word_at(i)) >> <u64>(i & 63) & 1) != 0; }

/**
 * swiotlb_tbl_unmap_single's release of `given` slots from `index`, whoever holds them (each
 * released slot's record cleared: 6.12's orig_addr INVALID_PHYS_ADDR and alloc_size 0), counting
 * only taken slots as freed. 2.6.37's do_unmap_single frees the caller's size; 6.12
 * swiotlb_release_slots frees nr_slots(alloc_size + offset) by the slot's own alloc_size
 * (dma/mapping.ts) and gives them back to the area `index` lies in, and a transient pool goes whole
 * first (swiotlb_del_transient, whichever slot is named). The list repair counts on from the
 * counter after the slots only inside their segment (6.12: pools are whole segments, so as
 * 2.6.37's; different: a release across a segment counts per segment).
 */
export function swiotlb_tbl_unmap_single(index: i32, given: i32): void {
  const p = pool_of_slot(index);
  if (p >= 0 && dyn_kind(p) == DYN_TRANSIENT) {
    // swiotlb_del_pool → swiotlb_dyn_free; the RCU grace period before the free is not modelled
    const base = dyn_base(p);
    let taken = 0;
    for (let i = base; i < base + dyn_nslabs(p); i++) { if (slot_in_use(i)) taken++; store<u64>(rec_at(i), 0, S_SIZE); }
    set_used(base, dyn_nslabs(p), false);
    count(C_SWIOTLB_SLOTS_IN_USE, -taken);
    transient_fence(p, false);
    swiotlb_dyn_free(p);
    return;
  }
  const nslots = min(given, (p < 0 ? nslabs : dyn_base(p) + dyn_nslabs(p)) - index);
  if (nslots <= 0) return;
  const end = index + nslots;
  let freed = 0;
  for (let i = index; i < end; i++) { if (slot_in_use(i)) freed++; store<u64>(rec_at(i), 0, S_SIZE); }
  if (kernel_era == KERNEL_MODERN) {
    const an = p < 0 ? area_nslabs : dyn_area_nslabs(p);
    const area = p < 0 ? area_at(index / an) : dyn_areas(p) + (<usize>((index - dyn_base(p)) / an) << 3);
    store<i32>(area, load<i32>(area, 4) - nslots, 4);
  }
  // The kernel counts on from io_tlb_list[end] (0 at a segment's end or at nslabs) through the
  // run and the free slots before it: the distances the bits give.
  set_used(index, nslots, false);
  if (end == nslabs && (end % IO_TLB_SEGSIZE) != 0) tail_clipped = true;
  count(C_SWIOTLB_SLOTS_IN_USE, -freed);
}

/** checkInvariants bit 2, asked when no streaming mapping is live: only the dummy page's run is in use, and every
 * list counter is what a fresh pool with just that run taken holds. */
export function swiotlb_idle_pristine(in_use: i64): bool {
  const held = held_index >= 0 ? load<i32>(rec_at(held_index), S_NSLOTS) : 0;
  if (in_use != <i64>held) return false;
  for (let i = 0; i < nslabs; i++) {
    let want = IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE);
    if (held > 0 && i >= held_index && i < held_index + held) want = 0;
    else if (held > 0 && i < held_index && i / IO_TLB_SEGSIZE == held_index / IO_TLB_SEGSIZE) want = held_index - i;
    if (list_value(i) != want) return false;
  }
  // the worker's pools are back to fresh (none holds a run; transient pools are gone with theirs)
  for (let p = 0; p < SWIOTLB_DYN_POOLS; p++) {
    if (dyn_kind(p) == DYN_FREE) continue;
    if (dyn_kind(p) == DYN_TRANSIENT) return false;
    const base = dyn_base(p);
    for (let i = 0; i < dyn_nslabs(p); i++) if (list_value(base + i) != IO_TLB_SEGSIZE - (i % IO_TLB_SEGSIZE)) return false;
  }
  return true;
}
