// CONFIG_SWIOTLB_DYNAMIC's pools (twin of src/model/dma/swiotlbDyn.ts): Linux 6.12
// kernel/dma/swiotlb.c swiotlb_alloc_pool, swiotlb_alloc_tlb, alloc_dma_pages, swiotlb_dyn_free.
// A dynamic pool is guest memory from the page allocator: its bounce buffer (one block under the
// pool's physical limit) and its io_tlb_slot array (one block, any zone). The search over pools
// and the transient pool's life are dma/swiotlb.ts's.
// Different, and the simulator's own: at most SWIOTLB_DYN_POOLS pools live at once (a descriptor
// short is an allocation failure, as kzalloc's would be), and pool p's slots are numbered from
// dyn_slot_base + p · SWIOTLB_DYN_MAX_SLABS, so the slot bits and records of dma/swiotlb.ts serve
// every pool (layout.ts).

import { SWIOTLB_DYN_POOLS, SWIOTLB_DYN_MAX_SLABS, SWIOTLB_MAX_AREAS, IO_TLB_SEGSIZE, IO_TLB_SHIFT,
  IO_TLB_SLOT_STRUCT_BYTES, PAGE_SHIFT, PAGE_SIZE, C_PAGES_ALLOCATED } from '../abi';
import { dyn_slot_base } from '../layout';
import { count } from '../sim/counters';
import { alloc_block, free_block, get_order } from '../mm/page_alloc';
import { set_memory_decrypted, set_memory_encrypted } from '../mm/set_memory';

@inline export const DYN_FREE: i32 = 0;
@inline export const DYN_POOL: i32 = 1;      // the worker's, on io_tlb_mem's pool list for good
@inline export const DYN_TRANSIENT: i32 = 2; // one request's, on the device's list until its unmap

// Descriptor: kind, start pfn, tlb order, nslabs, nareas, area_nslabs, slot array pfn and order,
// then per area its cursor and used count (two i32 each).
@inline const D_KIND: i32 = 0;
@inline const D_START: i32 = 4;
@inline const D_ORDER: i32 = 8;
@inline const D_NSLABS: i32 = 12;
@inline const D_NAREAS: i32 = 16;
@inline const D_AREA_NSLABS: i32 = 20;
@inline const D_SLOTS_PFN: i32 = 24;
@inline const D_SLOTS_ORDER: i32 = 28;
@inline const D_AREAS: i32 = 32;
@inline const DESC_BYTES: i32 = D_AREAS + SWIOTLB_MAX_AREAS * 8;
const descs: usize = memory.data(SWIOTLB_DYN_POOLS * DESC_BYTES);

@inline export function dyn_desc(p: i32): usize {
  assert(<u32>p < <u32>SWIOTLB_DYN_POOLS, 'dynamic pool out of range');
  return descs + <usize>(p * DESC_BYTES);
}
@inline export function dyn_kind(p: i32): i32 { return load<i32>(dyn_desc(p), D_KIND); }
@inline export function dyn_start_pfn(p: i32): i32 { return load<i32>(dyn_desc(p), D_START); }
@inline export function dyn_nslabs(p: i32): i32 { return load<i32>(dyn_desc(p), D_NSLABS); }
@inline export function dyn_nareas(p: i32): i32 { return load<i32>(dyn_desc(p), D_NAREAS); }
@inline export function dyn_area_nslabs(p: i32): i32 { return load<i32>(dyn_desc(p), D_AREA_NSLABS); }
@inline export function dyn_areas(p: i32): usize { return dyn_desc(p) + <usize>D_AREAS; }
/** The pool's first slot in the simulator's slot numbering. */
@inline export function dyn_base(p: i32): i32 { return dyn_slot_base + p * SWIOTLB_DYN_MAX_SLABS; }

export function dyn_reset(): void { memory.fill(descs, 0, SWIOTLB_DYN_POOLS * DESC_BYTES); }

/** limit_nareas: no more areas than whole segments. */
@inline function limit_nareas(nareas: i32, nslots: i32): i32 {
  return nslots < nareas * IO_TLB_SEGSIZE ? nslots / IO_TLB_SEGSIZE : nareas;
}

/** A block of the page allocator, counted as the guest's allocation; −1 when none. */
function take_block(order: i32, dma32_only: bool): i32 {
  const pfn = alloc_block(order, dma32_only);
  if (pfn >= 0) count(C_PAGES_ALLOCATED, 1 << order);
  return pfn;
}

/**
 * swiotlb_alloc_tlb → alloc_dma_pages (no memory encryption: the buddy path): a limit at or below
 * 4 GiB asks for __GFP_DMA32, a higher one for no zone (Normal, then DMA32). A block that ends
 * above the limit goes back and the next try adds __GFP_DMA32; past that the kernel asks ZONE_DMA,
 * which here is empty (the first 16 MiB are the kernel's), so it fails.
 */
function swiotlb_alloc_tlb(order: i32, bytes: i64, limit: u64): i32 {
  let dma32 = limit <= 0xFFFFFFFF;
  while (true) {
    const pfn = take_block(order, dma32);
    if (pfn < 0) return -1;
    if ((<u64>pfn << PAGE_SHIFT) + <u64>bytes - 1 <= limit) return pfn;
    free_block(pfn, order);
    if (dma32) return -1;
    dma32 = true;
  }
}

/**
 * swiotlb_alloc_pool(minslabs, nslabs, nareas, limit): at most SWIOTLB_DYN_MAX_SLABS slots; the
 * descriptor first (kzalloc), then the bounce buffer, halving (aligned to a segment, areas cut by
 * limit_nareas) until even `minslabs` fails; then the slot array (one block, no zone). A fresh
 * pool's slots are all free (swiotlb_init_io_tlb_pool): its bits and records are zero.
 * Returns the pool, or −1.
 */
export function swiotlb_alloc_pool(kind: i32, minslabs: i32, nslabs: i32, nareas: i32, limit: u64): i32 {
  // the kernel cuts the areas only with the size; default_nslabs is at least 128 per area there
  // (round_up_default_nslabs), which the boot pool here does not model (ENGINE.md §5), so the
  // areas are cut to whole segments from the start
  if (nslabs > SWIOTLB_DYN_MAX_SLABS) nslabs = SWIOTLB_DYN_MAX_SLABS;
  nareas = limit_nareas(nareas, nslabs);
  let p = 0;
  while (p < SWIOTLB_DYN_POOLS && dyn_kind(p) != DYN_FREE) p++;
  if (p == SWIOTLB_DYN_POOLS) return -1;
  let tlb = -1;
  let order = 0;
  while (true) {
    order = get_order(((nslabs << IO_TLB_SHIFT) + PAGE_SIZE - 1) >> PAGE_SHIFT); // alloc_dma_pages: get_order(bytes)
    tlb = swiotlb_alloc_tlb(order, <i64>nslabs << IO_TLB_SHIFT, limit);
    if (tlb >= 0) break;
    if (nslabs <= minslabs) return -1;
    nslabs = ((nslabs >> 1) + IO_TLB_SEGSIZE - 1) & ~(IO_TLB_SEGSIZE - 1);
    nareas = limit_nareas(nareas, nslabs);
  }
  // alloc_dma_pages (GFP_KERNEL, the worker's) decrypts the buffer: set_memory_decrypted over
  // PFN_UP(bytes) pages. A transient pool (GFP_NOWAIT) comes from the atomic pool under
  // force_dma_unencrypted (swiotlb_alloc_tlb → dma_alloc_from_pool), already shared: no call
  // (different: that pool is the page allocator here, so its pages are shared while the pool lives).
  const pages = ((nslabs << IO_TLB_SHIFT) + PAGE_SIZE - 1) >> PAGE_SHIFT;
  const convert = dyn_decrypt && kind == DYN_POOL;
  if (dyn_decrypt) set_memory_decrypted(tlb, pages, convert);
  const slots_order = get_order((nslabs * IO_TLB_SLOT_STRUCT_BYTES + PAGE_SIZE - 1) / PAGE_SIZE);
  const slots_pfn = take_block(slots_order, false);
  if (slots_pfn < 0) {
    // swiotlb_free_tlb: set_memory_encrypted before the free (a transient pool's: back to the atomic pool)
    if (dyn_decrypt) set_memory_encrypted(tlb, pages, convert);
    free_block(tlb, order);
    return -1;
  }
  nareas = max(1, nareas);
  const d = dyn_desc(p);
  memory.fill(d, 0, DESC_BYTES);
  store<i32>(d, kind, D_KIND);
  store<i32>(d, tlb, D_START);
  store<i32>(d, order, D_ORDER);
  store<i32>(d, nslabs, D_NSLABS);
  store<i32>(d, nareas, D_NAREAS);
  store<i32>(d, nslabs / nareas, D_AREA_NSLABS);
  store<i32>(d, slots_pfn, D_SLOTS_PFN);
  store<i32>(d, slots_order, D_SLOTS_ORDER);
  return p;
}

// force_dma_unencrypted (coco): the worker's pools are shared with the host (set at init).
let dyn_decrypt = false;
export function swiotlb_dyn_set_decrypt(on: bool): void { dyn_decrypt = on; }

/** swiotlb_dyn_free: the slot array and the bounce buffer go back to the page allocator (a transient
 * pool's, the only kind freed, to the atomic pool: no conversion; its pages are private again here). */
export function swiotlb_dyn_free(p: i32): void {
  const d = dyn_desc(p);
  if (dyn_decrypt) set_memory_encrypted(load<i32>(d, D_START), ((load<i32>(d, D_NSLABS) << IO_TLB_SHIFT) + PAGE_SIZE - 1) >> PAGE_SHIFT, false);
  free_block(load<i32>(d, D_SLOTS_PFN), load<i32>(d, D_SLOTS_ORDER));
  free_block(load<i32>(d, D_START), load<i32>(d, D_ORDER));
  memory.fill(d, 0, DESC_BYTES);
}

/** The live pool whose bounce buffer holds guest phys `phys`, or −1 (swiotlb_find_pool). */
export function dyn_pool_of(phys: u64): i32 {
  for (let p = 0; p < SWIOTLB_DYN_POOLS; p++) {
    if (dyn_kind(p) == DYN_FREE) continue;
    const start = <u64>dyn_start_pfn(p) << PAGE_SHIFT;
    if (phys >= start && phys < start + (<u64>dyn_nslabs(p) << IO_TLB_SHIFT)) return p;
  }
  return -1;
}
