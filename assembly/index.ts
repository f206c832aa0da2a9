// gartbench's Wasm engine: the one export file. The host calls init(), fills the ops buffer,
// calls run(), and reads counters, the first violation and dma-debug records straight from
// linear memory.
// Semantics: docs/ENGINE.md; the map of the house: docs/ARCHITECTURE.md. Integers only cross
// the boundary; u64 values live in memory.

import { XEN_LOW_BASE_MFN, DMA32_LIMIT_PFN, INIT_OK, INIT_TOO_LARGE, INIT_XEN_LOW, INIT_LAYOUT,
  COUNTER_COUNT, C_DMA_DEBUG_ERRORS, GART_AGP, POOL_ID_END, IOMMU_MODE_STRICT, IOMMU_MODE_LAZY, KERNEL_MODERN,
  MIN_ALIGN_MASK_MAX_BITS, TTM_NR_PAGE_ORDERS } from './abi';
import * as L from './layout';
import { counter } from './sim/counters';
import { rand_seed } from './sim/rand';
import { stamps_reset } from './sim/stamps';
import { buddy_init, zone_init, zone_free_range, ZONE_DMA32_ID, ZONE_NORMAL_ID } from './mm/buddy';
import { p2m_boot, xen_pv_domain } from './xen/p2m';
import { xen_heap_reset, xen_heap_add_range } from './xen/heap';
import { xen_swiotlb_boot } from './xen/swiotlb_xen';
import { swiotlb_init, swiotlb_set_dynamic, swiotlb_set_min_align_mask } from './dma/swiotlb';
import { debug_reset, debug_set_error_addr, debug_high } from './dma/debug';
import { dma_error_addr, force_dma_unencrypted } from './dma/mapping';
import { cc_shared_reset, set_memory_decrypted } from './mm/set_memory';
import { swiotlb_dyn_set_decrypt } from './dma/swiotlb_dyn';
import { iommu_set_lazy } from './dma/iommu';
import { gart_init, gart_high } from './drm/gart';
import { agp_init } from './drm/agp_gatt';
import { ttm_pools_init } from './drm/ttm_page_alloc';
import { ttm_pool_init, ttm_pool_pages_at } from './drm/ttm_pool';
import { run_ops } from './ops';
import { check_invariants } from './invariants';

let configured = false;           // init was called: one machine per instance
let boot_code: i32 = INIT_LAYOUT; // what boot ended with (no machine yet); ops run only after INIT_OK

/**
 * Lays the machine out and boots it: INIT_OK, or why not. Boot fills little that grows with RAM
 * (the p2m is computed, not filled: xen/p2m.ts; the buddies' bitmaps, two bits a frame, are
 * written: layout.ts heads_init), so one call does it all.
 */
export function init(platform: i32, maskBits: i32, kernel: i32, ramPages: i32, hostPages: i32,
                     xenLowPages: i32, nslabs: i32, payloadBytes: i32, seed: i32, maxBuffers: i32,
                     gartPages: i32, gartFamily: i32, iommuMode: i32, swiotlbDynamic: i32, minAlignMask: i32): i32 {
  if (configured) return INIT_LAYOUT; // one machine per instance
  // The flush queue is the modern kernel's (dma-iommu.c); 2010 is strict (docs/ENGINE.md §8).
  if (iommuMode != IOMMU_MODE_STRICT && (iommuMode != IOMMU_MODE_LAZY || kernel != KERNEL_MODERN)) return INIT_LAYOUT;
  if (!L.layout_configure(platform, maskBits, kernel, ramPages, hostPages, xenLowPages, nslabs, payloadBytes,
    maxBuffers, gartPages, gartFamily)) return INIT_LAYOUT;
  // CONFIG_SWIOTLB_DYNAMIC is 6.6+ (kernel/dma/swiotlb.c): modern only. Every pool is whole segments.
  if (swiotlbDynamic != 0 && (swiotlbDynamic != 1 || kernel != KERNEL_MODERN)) return INIT_LAYOUT;
  if (!L.layout_swiotlb_dynamic(swiotlbDynamic == 1)) return INIT_LAYOUT;
  // min_align_mask came with Linux 5.12 (dma_set_min_align_mask): modern only, 0 or 2^k - 1 within a page.
  if (minAlignMask < 0 || minAlignMask >= (1 << MIN_ALIGN_MASK_MAX_BITS) || (minAlignMask & (minAlignMask + 1)) != 0
    || (minAlignMask != 0 && kernel != KERNEL_MODERN)) return INIT_LAYOUT;
  if (!L.layout_compute()) return INIT_TOO_LARGE;
  configured = true;

  stamps_reset();
  const dma32_end = min(ramPages, DMA32_LIMIT_PFN);
  buddy_init();
  zone_init(ZONE_DMA32_ID, L.first_free_pfn, dma32_end);
  zone_free_range(ZONE_DMA32_ID, L.first_free_pfn, dma32_end);
  zone_init(ZONE_NORMAL_ID, DMA32_LIMIT_PFN, max(ramPages, DMA32_LIMIT_PFN));
  if (ramPages > DMA32_LIMIT_PFN) zone_free_range(ZONE_NORMAL_ID, DMA32_LIMIT_PFN, ramPages);

  rand_seed(<u32>seed);
  iommu_set_lazy(iommuMode == IOMMU_MODE_LAZY);
  swiotlb_init();
  // Xen PV boots its pool through a remap function (xen_swiotlb_fixup), so it never grows; a 32-bit
  // device never gets that far there (its dma_set_mask fails, and the cell starts with DEVICE_DOWN: src/run/plan.ts).
  swiotlb_set_dynamic(swiotlbDynamic == 1 && !xen_pv_domain());
  swiotlb_dyn_set_decrypt(force_dma_unencrypted());
  // A confidential guest's pages start private; swiotlb_update_mem_attributes (kernel/dma/swiotlb.c,
  // from mem_encrypt_init) shares the boot pool (mm/set_memory.ts; nothing off coco).
  cc_shared_reset();
  set_memory_decrypted(L.io_tlb_start_pfn, L.pool_pages, false);
  swiotlb_set_min_align_mask(minAlignMask);
  debug_reset();
  boot_code = boot(ramPages);
  return boot_code;
}

function boot(ramPages: i32): i32 {
  if (xen_pv_domain()) {
    p2m_boot();
    // Xen's free heap when the guest boots: the low range below 4 GiB, and every frame from 4 GiB
    // up to the guest's (which are the host's highest); the rest belongs to other domains.
    xen_heap_reset();
    xen_heap_add_range(XEN_LOW_BASE_MFN, L.xen_low_end);
    xen_heap_add_range(DMA32_LIMIT_PFN, L.host_pages - ramPages);
    if (!xen_swiotlb_boot()) return INIT_XEN_LOW;
  }
  agp_init(L.gart_family == GART_AGP);
  gart_init();
  ttm_pools_init();
  ttm_pool_init();
  debug_set_error_addr(dma_error_addr());
  return INIT_OK;
}

/**
 * The bytes of linear memory a machine's tables need (init's layout), and the most the engine may
 * use: the host checks a machine fits before it runs one (src/engine/wasm.ts). On an instance of
 * its own: it lays the machine out, and the instance holds no machine after it.
 */
export function tablesBytes(platform: i32, maskBits: i32, kernel: i32, ramPages: i32, hostPages: i32,
                            xenLowPages: i32, nslabs: i32, payloadBytes: i32, maxBuffers: i32,
                            gartPages: i32, gartFamily: i32, swiotlbDynamic: i32): f64 {
  if (configured) return -1;
  if (!L.layout_configure(platform, maskBits, kernel, ramPages, hostPages, xenLowPages, nslabs, payloadBytes,
    maxBuffers, gartPages, gartFamily)) return -1;
  if (!L.layout_swiotlb_dynamic(swiotlbDynamic == 1)) return -1;
  configured = true; // this instance never boots a machine
  const end = L.layout_place();
  return <f64>(end + L.xstamp_reserve());
}
export function maxMemoryBytes(): f64 { return <f64>L.max_memory_bytes(); }
export function opsPtr(): usize { return L.OPS_PTR; }
export function opsCapacity(): i32 { return L.OPS_CAPACITY; }
export function run(count: i32, firstOp: i32): void {
  if (boot_code != INIT_OK) return;
  run_ops(min(count, L.OPS_CAPACITY), firstOp);
}
export function countersPtr(): usize { return L.COUNTERS_PTR; }
export function countersCount(): i32 { return COUNTER_COUNT; }
export function violationPtr(): usize { return L.VIOLATION_PTR; }
export function debugPtr(): usize { return L.DEBUG_PTR; }
export function debugTotal(): i32 { return <i32>counter(C_DMA_DEBUG_ERRORS); }
/** Bytes of linear memory the machine uses (tables plus payload storage so far). */
export function memoryBytes(): f64 { return <f64>L.bump_ptr; }
/** Linear memory committed for this machine (what a fresh memory would have grown to), bytes. */
export function committedBytes(): f64 { return <f64>L.committed_bytes(); }
/** Free pages in TTM pool `p` (src/engine/abi.ts TTM_POOLS) held in blocks of `order`, for a replay's `pools`. */
export function poolPages(p: i32, order: i32): i32 {
  return boot_code == INIT_OK && p >= 0 && p < POOL_ID_END && order >= 0 && order < TTM_NR_PAGE_ORDERS ? ttm_pool_pages_at(p, order) : 0;
}
/** ENGINE.md §13: a bitmask of violated invariants, 0 when all hold. */
export function checkInvariants(): i32 { return boot_code == INIT_OK ? check_invariants() : 0; }

// ---- scrub: the memory handed to the thread's next machine (src/engine/wasm.ts) ----
// Different, for speed only. The memory read zero when init began (fresh, or scrubbed by the
// machine before it), and a machine writes nothing past its own end (memory_end), so zeroing what
// it may have written makes it read as fresh again. Tables with a written-bit map per 4 KiB page
// (stamps, expected, p2m, sfn, the page and Xen frame records: layout.ts) are zeroed where written, the slot records up to
// slots_high, dma-debug's entries up to the most ever live, the GART up to the highest page set,
// the payload area up to its bump; the rest whole. A page zeroed that the machine never touched
// faults in; one it touched costs only the write.
let scrub_write = false;
let scrub_sum: f64 = 0;
function zero(at: usize, end: usize): void {
  if (end <= at) return;
  scrub_sum += <f64>(end - at);
  if (scrub_write) memory.fill(at, 0, end - at);
}
/** The blocks (2^shift bytes) of `bytes` at `table` whose bit in the written-bit map at `bits` is set. */
function zero_written(table: usize, bytes: usize, bits: usize, shift: i32): void {
  const end = table + bytes;
  const blocks = <i32>((bytes + (<usize>1 << shift) - 1) >> shift);
  let b = 0;
  while (b < blocks) {
    if (!L.written_bit(bits, b)) { b++; continue; }
    const first = b;
    while (b < blocks && L.written_bit(bits, b)) b++;
    zero(table + (<usize>first << shift), min(end, table + (<usize>b << shift)));
  }
}
function scrub_walk(write: bool): f64 {
  scrub_write = write;
  scrub_sum = 0;
  if (boot_code != INIT_OK) { zero(0, L.memory_end); return scrub_sum; }
  const pfns = <usize>L.ram_pages;
  const stamp_block = L.STAMP_BLOCK_SHIFT + 4; // 16 bytes a frame (or pfn) in stamps and expected
  const p2m_block = 31 - clz<i32>(L.P2M_BLOCK_PFNS) + 2; // 4 bytes a pfn in p2m and sfn
  zero(0, L.stamps_ptr); // the fixed regions and this instance's static data (the next writes its own)
  zero_written(L.stamps_ptr, <usize>L.direct_frames << 4, L.stamps_written_ptr, stamp_block);
  zero(L.stamps_ptr + (<usize>L.direct_frames << 4), L.expected_ptr);
  zero_written(L.expected_ptr, pfns << 4, L.expected_written_ptr, stamp_block);
  let at = L.expected_ptr + (pfns << 4);
  if (L.has_p2m) {
    zero(at, L.p2m_ptr);
    zero_written(L.p2m_ptr, pfns << 2, L.p2m_written_ptr, p2m_block);
    zero(L.p2m_ptr + (pfns << 2), L.sfn_ptr);
    zero_written(L.sfn_ptr, pfns << 2, L.p2m_written_ptr, p2m_block);
    at = L.sfn_ptr + (pfns << 2);
  }
  zero(at, L.page_rec_ptr); // the written-bit maps, once read
  zero_written(L.page_rec_ptr, pfns * L.PAGE_REC_BYTES, L.page_rec_written_ptr, L.STAMP_BLOCK_SHIFT + ctz<i32>(<i32>L.PAGE_REC_BYTES));
  at = L.page_rec_ptr + pfns * L.PAGE_REC_BYTES;
  if (L.has_p2m) {
    zero(at, L.xen_frames_ptr);
    zero_written(L.xen_frames_ptr, <usize>L.host_pages * L.XEN_FRAME_BYTES, L.xen_frames_written_ptr, L.XEN_FRAME_BLOCK_SHIFT + ctz<i32>(<i32>L.XEN_FRAME_BYTES));
    at = L.xen_frames_ptr + <usize>L.host_pages * L.XEN_FRAME_BYTES;
  }
  zero(at, L.buffers_ptr); // the records' written-bit maps among them, once read
  zero(L.buffers_ptr, L.buffers_ptr + <usize>L.slots_high * L.SLOT_BYTES);
  zero(L.debug_entries_ptr, L.debug_entries_ptr + <usize>debug_high * L.DEBUG_ENTRY_BYTES);
  zero(L.debug_hash_ptr, L.gart_pte_ptr);
  zero(L.gart_pte_ptr, L.gart_pte_ptr + (<usize>gart_high << 3));
  zero(L.gart_owner_ptr, L.gart_owner_ptr + <usize>gart_high * L.GART_OWNER_BYTES);
  zero(L.gart_owner_ptr + <usize>L.gart_pages * L.GART_OWNER_BYTES, L.bump_ptr);
  return scrub_sum;
}
/** Bytes scrub() would write (the host weighs a hand-over with it: src/run/reuse.ts). */
export function scrubBytes(): f64 { return scrub_walk(false); }
/** Zeroes what this machine may have written; the instance is done with after it. */
export function scrub(): void { scrub_walk(true); }
