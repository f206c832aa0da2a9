// drivers/char/agp/generic.c (2005): agp_generic_create_gatt_table, agp_generic_insert_memory
// (-EBUSY over a used entry), agp_generic_alloc_page, with Keir Fraser's proposed fsb hooks
// (alloc_fsb_pages / virt_to_fsb, LKML March 2005). Different: the chipset reads the GATT from
// machine memory itself, through m2p and past any IOMMU, so only a machine address is right.

import { GATT_MODE_DMA_COHERENT, GATT_MODE_FSB_HOOKS, PAGE_SHIFT,
  PAGE_SIZE, AGP_ENTRY_BYTES, AGP_ENTRIES_PER_PAGE, AGP_VALID,
  C_GART_WRITES, C_TLB_FLUSHES, C_CACHING_CHANGE_CALLS, C_CACHING_CHANGE_PAGES } from '../abi';
import { gart_pages, host_pages, bump_alloc, OUT_SCRATCH_PTR } from '../layout';
import { count, machine_work_begin, machine_work_end } from '../sim/counters';
import { pfn_to_mfn, cc_private } from '../sim/translate';
import { free_block, get_order } from '../mm/page_alloc';
import { buddy_alloc, ZONE_DMA32_ID } from '../mm/buddy';
import { xen_pv_domain, mfn_to_pfn } from '../xen/p2m';
import { xen_create_contiguous_region, xen_destroy_contiguous_region } from '../xen/exchange';
import { coherent_alloc_block, coherent_free_block, COH_HANDLE, COH_EXCH } from '../dma/coherent';
import { arch_x86 } from '../dma/mapping';
import { gart_set_owner, gart_clear_owner } from './gart';

//  GATT entry (u32, agp generic mask_memory):
//   31                    12 11          1  0
//  |   machine addr[31:12]   |      0      | V|
@inline const ENTRY_ADDR: u64 = 0xFFFF_F000;

let agp_device = false;     // gartFamily 4, or a GATT_CREATE succeeded (ENGINE.md T16)
let gatt_mode: i32 = 0;
let gatt_pfn: i32 = -1;     // the table's first guest page (CPU view); -1 = no table
let gatt_order: i32 = 0;
let gatt_pages: i32 = 0;    // 2^order table pages
let gatt_entries: i32 = 0;  // entries the aperture uses
let gatt_bus: u64 = 0;      // what the bridge was told: where the chipset looks
let gatt_handle: u64 = 0;   // mode 1: the coherent handle
let gatt_exch: i32 = -1;    // mode 1/2: the order exchanged at create, -1 none

export function agp_init(family_is_agp: bool): void { agp_device = family_is_agp; }
@inline export function is_agp(): bool { return agp_device; }
@inline export function gatt_exists(): bool { return gatt_pfn >= 0; }
@inline export function gatt_entry_count(): i32 { return gatt_entries; }
/** The table came with the fsb hooks (Keir's virt_to_fsb): the driver's entries are machine addresses too. */
@inline export function gatt_fsb(): bool { return gatt_pfn >= 0 && gatt_mode == GATT_MODE_FSB_HOOKS; }
/** The table's pages while it exists (its buddy block; 0 without a table). */
export function gatt_table_pages(): i32 { return gatt_pfn >= 0 ? gatt_pages : 0; }

// The CPU's view of the table: u32 entry j at table page j >> 10, as written through its pfns.
// Bump-allocated once per table (2^order pages of entries), never on the op path.
let view_ptr: usize = 0;
let view_cap: i32 = 0;
@inline function cpu_entry(j: i32): u64 { return <u64>load<u32>(view_ptr + (<usize>j << 2)); }
@inline function set_cpu_entry(j: i32, v: u64): void { store<u32>(view_ptr + (<usize>j << 2), <u32>v); }

/**
 * GATT_CREATE (agp_generic_create_gatt_table): the base the bridge gets depends on the mode. The
 * driver's bring-up: it counts nothing (sim/counters.ts machine_work_begin), though the table holds
 * its frames, exchange and coherent block; a table that could not be made leaves every bind failing.
 */
export function gatt_create(entries: i32, mode: i32): void {
  if (gatt_pfn >= 0) return;
  machine_work_begin();
  make_table(entries, mode);
  machine_work_end();
}

function make_table(entries: i32, mode: i32): void {
  const pages = (entries + AGP_ENTRIES_PER_PAGE - 1) / AGP_ENTRIES_PER_PAGE;
  const order = get_order(pages);
  let pfn = -1;
  let bus: u64 = 0;
  let exch = -1;
  if (mode == GATT_MODE_DMA_COHERENT) {
    pfn = coherent_alloc_block(order, false, (1 << order) * PAGE_SIZE, OUT_SCRATCH_PTR); // the whole table block
    bus = load<u64>(OUT_SCRATCH_PTR, COH_HANDLE);
    exch = load<i32>(OUT_SCRATCH_PTR, COH_EXCH);
  } else {
    pfn = buddy_alloc(ZONE_DMA32_ID, order);
    if (pfn >= 0) {
      bus = <u64>pfn << PAGE_SHIFT; // virt_to_phys
      if (mode == GATT_MODE_FSB_HOOKS) {
        if (xen_pv_domain()) {
          if (xen_create_contiguous_region(pfn, order, 32, true)) {
            exch = order;
          } else {
            free_block(pfn, order);
            pfn = -1;
          }
        }
        if (pfn >= 0) bus = <u64>pfn_to_mfn(pfn) << PAGE_SHIFT; // virt_to_fsb
      }
    }
  }
  if (pfn < 0) return;
  agp_device = true;
  gatt_mode = mode;
  gatt_pfn = pfn;
  gatt_order = order;
  gatt_pages = 1 << order;
  gatt_entries = entries;
  gatt_bus = bus;
  gatt_handle = bus;
  gatt_exch = exch;
  const cap = gatt_pages * AGP_ENTRIES_PER_PAGE;
  if (cap > view_cap) { view_ptr = bump_alloc(cap << 2); view_cap = cap; }
  memory.fill(view_ptr, 0, <usize>cap << 2);
}

/** Device teardown (T20): the table goes back the way it came, uncounted as it was made. The device stays AGP. */
export function gatt_free(): void {
  if (gatt_pfn < 0) return;
  machine_work_begin();
  if (gatt_mode == GATT_MODE_DMA_COHERENT) {
    coherent_free_block(gatt_pfn, gatt_order, gatt_handle, gatt_exch, gatt_pages * PAGE_SIZE, false);
  } else {
    if (gatt_exch >= 0) xen_destroy_contiguous_region(gatt_pfn, gatt_exch);
    free_block(gatt_pfn, gatt_order);
  }
  gatt_pfn = -1;
  gatt_pages = 0;
  gatt_entries = 0;
  machine_work_end();
}

/**
 * The chipset fetches entry j at bridge base + 4j in machine memory: m2p names the guest page
 * that frame holds; unless it is one of the table's pages the chipset reads 0 (invalid).
 */
export function agp_chipset_entry(j: i32): u64 {
  if (gatt_pfn < 0) return 0;
  const addr = gatt_bus + <u64>j * AGP_ENTRY_BYTES;
  const mfn = addr >> PAGE_SHIFT;
  if (mfn >= <u64>host_pages) return 0;
  // A confidential guest's private frame: the chipset gets ciphertext or nothing, never an entry.
  if (cc_private(mfn)) return 0;
  // m2p names the guest page in that frame (T18); it must be one of the table's.
  const p = mfn_to_pfn(<i64>mfn) - gatt_pfn;
  if (p < 0 || p >= gatt_pages) return 0;
  const k = p * AGP_ENTRIES_PER_PAGE + <i32>((addr & <u64>(PAGE_SIZE - 1)) / AGP_ENTRY_BYTES);
  return cpu_entry(k);
}

/** Where the chipset reads entry j: the machine address the bridge base points it at. */
export function gatt_entry_addr(j: i32): u64 { return gatt_bus + <u64>j * AGP_ENTRY_BYTES; }

/** The machine frame of the table page the CPU wrote entry j in (−1 without a table). */
export function gatt_table_mfn(j: i32): i64 {
  if (gatt_pfn < 0) return -1;
  return pfn_to_mfn(gatt_pfn + j / AGP_ENTRIES_PER_PAGE);
}

@inline export function agp_entry_valid(e: u64): bool { return (e & AGP_VALID) != 0; }
@inline export function agp_entry_addr(e: u64): u64 { return e & ENTRY_ADDR; }

/** agp_generic_insert_memory's -EBUSY: any used entry in [first, first + n). */
export function agp_range_busy(first: i32, n: i32): bool {
  for (let j = first; j < first + n; j++) if (cpu_entry(j) != 0) return true;
  return false;
}

/** One entry of agp_generic_insert_memory: mask_memory of the address the mode chose (`error`: a
 * failed map's address, D24). */
export function agp_insert_entry(j: i32, addr: u64, slot: i32, id: i32, pfn: i32, error: bool = false): void {
  set_cpu_entry(j, (addr & ENTRY_ADDR) | AGP_VALID);
  gart_set_owner(j, slot, id, pfn, error);
  count(C_GART_WRITES);
}

/** agp_generic_remove_memory: the entries go back to 0 (the scratch page is not modelled). */
export function agp_remove_memory(first: i32, n: i32): void {
  for (let j = first; j < first + n; j++) {
    if (<u32>j >= <u32>gart_pages) break;
    set_cpu_entry(j, 0);
    gart_clear_owner(j);
  }
  count(C_GART_WRITES, n);
  count(C_TLB_FLUSHES);
}

/** A script's gart_unbind on the AGP device: agp_generic_remove_memory of the range's entries that
 * the table has (none without a table). */
export function agp_gart_unbind(first: i32, pages: i32): void {
  const n = min(pages, gatt_entries - first);
  if (gatt_pfn < 0 || first < 0 || n <= 0) return;
  agp_remove_memory(first, n);
}

/**
 * agp_generic_alloc_pages' set_pages_array_uc and agp_generic_destroy_pages' set_pages_array_wb
 * (2.6.37 generic.c): one call over the whole page array, however long (TTM's pools batch by 512;
 * agpgart does not). The alloc makes it only when every page came (a failure jumps past it, and
 * agp_allocate_memory's agp_free_memory then makes the wb call over the pages it got). Both are
 * CONFIG_X86 only: 2010's iommu platform is ppc64, whose map_page_into_agp (per page, in their
 * place) does nothing, so it counts none; 6.12's iommu is x86's dma-iommu.
 */
export function agp_set_pages_array(pages: i32): void {
  if (pages <= 0 || !arch_x86()) return;
  count(C_CACHING_CHANGE_CALLS);
  count(C_CACHING_CHANGE_PAGES, pages);
}
