// One linear-memory map, computed once at init (WasmBoy style: X = PREV + PREV_SIZE).
// Models no kernel file; it is where every kernel table of the simulated machine lives.
// Different: sizes depend on the machine, so the map is a set of globals grown to fit,
// and the only variable-size region after init is the sparse payload bump area at the end.

import { OP_WORDS, COUNTER_COUNT, VIOLATION_WORDS, DEBUG_WORDS, MAX_DEBUG_RECORDS, MAX_ORDER,
  IOMMU_WINDOW_PAGES, IO_TLB_SEGSIZE, DEBUG_ENTRY_CAPACITY, DEBUG_ENTRY_CAPACITY_MODERN, DEBUG_NARROW_SPAN, DEBUG_WIDE_LEVELS, PLATFORM_XEN_PV, PLATFORM_IOMMU, PLATFORM_COCO, UNIT_SIZE,
  KERNEL_RESERVED_PAGES, IO_TLB_OVERFLOW_PAGES, XEN_LOW_BASE_MFN, DMA32_LIMIT_PFN, XEN_NR_ZONES,
  XEN_HEAP_MAX_ORDER, XEN_MAX_EXCHANGE_ORDER, IOVA_DEFAULT_FQ_SIZE, IOVA_MAG_SIZE, IOVA_RANGE_CACHE_MAX_SIZE, KERNEL_MODERN, SWIOTLB_DYN_POOLS, SWIOTLB_DYN_MAX_SLABS, TTM_NR_PAGE_ORDERS } from './abi';

@inline export const OPS_CAPACITY: i32 = 16384;
@inline export const TLB_SLOT_BYTES: i32 = 16; // per swiotlb slot (dma/swiotlb.ts)
@inline export const DEBUG_ENTRY_BYTES: i32 = 56;
@inline export const DEBUG_CLN_BYTES: i32 = 16; // a tracked cacheline (dma/debug.ts): number u64, overlap i32, next i32
@inline export const DEBUG_HASH_BITS: i32 = 16;            // one bucket per entry
@inline export const DEBUG_HASH_SIZE: i32 = 1 << DEBUG_HASH_BITS;
@inline export const ZONE_DESC_BYTES: i32 = 32 + MAX_ORDER * 4;
@inline export const GART_OWNER_BYTES: i32 = 12; // slot i32, bufId u32, pfn i32
// ttm 4 + xen-aware 4 + ttm dma 3 (+1 spare), and modern's same ids once per ttm_pool order
@inline export const POOL_COUNT: i32 = 12 * TTM_NR_PAGE_ORDERS;
@inline export const OUT_SCRATCH_BYTES: i32 = 16; // an outcome record a caller does not keep (dma/mapping.ts, dma/coherent.ts)
@inline export const POOL_DESC_BYTES: i32 = 16; // head pfn, tail pfn, count, caching
// A guest page's struct page fields, one record per pfn (PAGE_REC_BYTES): the lru links (next,
// prev i32), which thread it through the buddy's free lists while it heads a free block
// (mm/buddy.ts) and through TTM's lists while a tt or pool holds it (drm/ttm_page.ts), as the
// kernel's page->lru does; then TTM's dma and coherent handle words (u32).
@inline export const PAGE_REC_BYTES: usize = 16;
@inline export const TP_NEXT: usize = 0;
@inline export const TP_PREV: usize = TP_NEXT + 4;
@inline export const TP_DMA: usize = TP_PREV + 4;
@inline export const TP_COH: usize = TP_DMA + 4;
// Xen's record of a machine frame (XEN_FRAME_BYTES), kept in frame store order (sim/translate.ts)
// like the stamps, so the frames a run of guest pages gives back sit together: the heap's next
// link (xen/heap.ts) and one word that is the frame's m2p entry (xen/p2m.ts: 0 the boot owner,
// pfn + 1, or XF_M2P_NONE) or, while the frame heads a free block of Xen's heap, the block's prev
// link tagged with XF_LINK_TAG. Different, for memory only: a free frame backs no guest page, so
// the two never meet, and a tagged word reads as "no guest page" (the tag is XF_M2P_NONE's top bit).
@inline export const XEN_FRAME_BYTES: usize = 8;
@inline export const XF_NEXT: usize = 0;
@inline export const XF_M2P: usize = XF_NEXT + 4;
@inline export const XF_M2P_NONE: u32 = 0xFFFF_FFFF;
@inline export const XF_LINK_TAG: u32 = 0x8000_0000;
@inline const WASM_PAGE: u64 = 65536;
@inline const MAX_MEMORY: u64 = 65536 * WASM_PAGE - WASM_PAGE; // stay below 4 GiB

// ---- slots: what the harness names (driver/buffers.ts, drm/ttm_tt.ts) ----
// Every slot record starts with the same header; the body is a buffer's or a tt's own layout.
//   +0 id  +4 kind  +8 failed  +12 body...
@inline export const SLOT_BYTES: i32 = 128;
@inline export const SLOT_ID: i32 = 0;
@inline export const SLOT_KIND: i32 = SLOT_ID + 4;
@inline export const SLOT_FAILED: i32 = SLOT_KIND + 4;
@inline export const SLOT_BODY: i32 = SLOT_FAILED + 4;
@inline export const KIND_NONE: i32 = 0;
@inline export const KIND_PAGE: i32 = 1;     // alloc_pages memory (driver/buffers.ts)
@inline export const KIND_COHERENT: i32 = 2; // dma_alloc_coherent memory (driver/buffers.ts)
@inline export const KIND_TT: i32 = 3;       // a TTM page array (drm/ttm_tt.ts)

// ---- machine configuration ----
export let platform: i32 = 0;
export let has_p2m = false;   // Xen PV: guest frames are not machine frames (sim/translate.ts)
export let has_iommu = false; // bus addresses are IOVAs (sim/translate.ts)
export let cc_guest = false;  // a confidential-computing guest: devices reach shared pages only (mm/set_memory.ts)
export let mask_bits: i32 = 32;
export let dma_mask: u64 = 0;
export let kernel_era: i32 = 0;
export let ram_pages: i32 = 0;
export let host_pages: i32 = 0; // machine frames (all platforms)
export let xen_low_pages: i32 = 0; // free below 4 GiB once booted (the option)
export let xen_low_end: i32 = 0;   // the free low range Xen starts with: [XEN_LOW_BASE_MFN, xen_low_end)
export let nslabs: i32 = 0;
// CONFIG_SWIOTLB_DYNAMIC (dma/swiotlb_dyn.ts): the slot records run on past the boot pool's, one
// stripe of SWIOTLB_DYN_MAX_SLABS per dynamic pool from dyn_slot_base (a segment boundary).
export let swiotlb_dynamic = false;
export let dyn_slot_base: i32 = 0;
export let slot_capacity: i32 = 0; // boot pool slots, plus the stripes when dynamic
export let payload_bytes: i32 = 0;
export let unit_payload: i32 = 0; // bytes stored per machine unit: min(payloadBytes, 2048)
export let max_buffers: i32 = 0;
export let gart_pages: i32 = 0;
export let gart_family: i32 = 0;

// ---- guest layout (pfns) ----
export let io_tlb_start_pfn: i32 = 0;
export let pool_pages: i32 = 0;
export let overflow_pfn: i32 = 0;
export let dummy_pfn: i32 = 0;
export let first_free_pfn: i32 = 0;
export let guest_base: i32 = 0; // xen-pv: the first of the host's frames the guest owns at boot

// ---- regions ----
// Fixed part, usable before init: ops, counters, violation, debug records.
export const OPS_PTR: usize = (__heap_base + 15) & ~(<usize>15);
export const COUNTERS_PTR: usize = OPS_PTR + <usize>(OPS_CAPACITY * OP_WORDS * 4);
export const VIOLATION_PTR: usize = COUNTERS_PTR + <usize>(((COUNTER_COUNT + 3) & ~3) * 8);
export const DEBUG_PTR: usize = VIOLATION_PTR + <usize>(((VIOLATION_WORDS + 1) & ~1) * 8);
export const ZONES_PTR: usize = DEBUG_PTR + <usize>(MAX_DEBUG_RECORDS * DEBUG_WORDS * 8);
export const POOLS_PTR: usize = ZONES_PTR + <usize>(4 * ZONE_DESC_BYTES);
export const OUT_SCRATCH_PTR: usize = POOLS_PTR + <usize>(POOL_COUNT * POOL_DESC_BYTES);
// The lazy IOMMU's flush queue ring (dma/iommu.ts), 32 bytes an entry: first IOVA page, entries cleared, op, IOVA pages.
export const IOMMU_FQ_PTR: usize = OUT_SCRATCH_PTR + <usize>OUT_SCRATCH_BYTES, IOMMU_FQ_ENTRY_SHIFT: i32 = 5;
export const FIXED_END: usize = IOMMU_FQ_PTR + (<usize>IOVA_DEFAULT_FQ_SIZE << IOMMU_FQ_ENTRY_SHIFT);

export let stamps_ptr: usize = 0;     // i64 per machine unit (2 per frame) of store frames [0, direct_frames) (sim/translate.ts)
export let xstamps_ptr: usize = 0;    // xen-pv: u32 per chunk of the store frames above: its stamps' address, 0 = none yet (below)
export let direct_frames: i32 = 0;
export let expected_ptr: usize = 0;   // i64 per guest unit (2 per pfn)
export let stamps_written_ptr: usize = 0;   // 1 bit per STAMP_BLOCK frames of stamps_ptr: has a stamp there been written (sim/stamps.ts)
export let expected_written_ptr: usize = 0; // 1 bit per STAMP_BLOCK pfns of expected_ptr: likewise
export let p2m_ptr: usize = 0;        // u32 per pfn, mfn + 1; 0 = the boot placement (xen-pv only; sim/translate.ts)
export let sfn_ptr: usize = 0;        // u32 per pfn: store frame of its machine frame + 1, 0 = the pfn (xen-pv only)
export let p2m_written_ptr: usize = 0; // 1 bit per P2M_BLOCK_PFNS pfns: has p2m or sfn been written there (sim/translate.ts)
export let page_rec_ptr: usize = 0;   // PAGE_REC_BYTES per pfn (above)
export let buddy_heads_ptr: usize = 0; // per order below the top, 1 bit per block: heads a free block of the guest buddy (mm/buddy.ts)
export let buddy_top_ptr: usize = 0;  // per block of the top order: its free-list links, next i32, prev i32 (mm/buddy.ts)
export let page_rec_written_ptr: usize = 0; // 1 bit per 4 KiB of page_rec: a record there written (mm/buddy.ts; index.ts scrub)
export let xen_frames_ptr: usize = 0; // XEN_FRAME_BYTES per machine frame, in frame store order (above; xen-pv only)
export let heap_heads_ptr: usize = 0; // per order k, 1 bit per 2^k-frame block, u64 words: heads a free block of Xen's heap (xen/heap.ts)
export let heap_lists_ptr: usize = 0; // per zone and order: head i32, tail i32; then avail i32 per zone
export let xen_out_ptr: usize = 0;    // per frame of one exchange's output chunk: its mfn and sfn, i32 each (xen/exchange.ts)
export let xen_frames_written_ptr: usize = 0; // 1 bit per 4 KiB of xen_frames: a record there written (xen/heap.ts; index.ts scrub)
export let slots_used_ptr: usize = 0; // 1 bit per slot, u64 words: taken (dma/swiotlb.ts derives io_tlb_list)
export let slots_rec_ptr: usize = 0;  // SLOT_BYTES per slot
export let iommu_ptr: usize = 0;      // u32 per IOVA page: pfn + 1, 0 = empty
export let iommu_len_ptr: usize = 0;  // u32 per IOVA page: allocation length at its first page
export let iommu_marked_ptr: usize = 0; // u32 per IOVA page: the entries the IOTLB cached since the last flush (dma/iommu.ts)
// 6.12's IOVA allocator (dma/iova.ts; modern iommu only): 1 bit per IOVA page in the tree (u64
// words), the size of the tree run starting at a page (u32), and per size class an rcache record.
export let iova_taken_ptr: usize = 0;
export let iova_size_ptr: usize = 0;
export let iova_rcache_ptr: usize = 0; // IOVA_RCACHE_BYTES per size class (dma/iova.ts)
export let iova_depot_ptr: usize = 0;  // each class's depot room in turn (iova_depot_room u32s)
/** An rcache record: loaded, prev and depot counts, which magazine is loaded, the depot's address
 * (i32 each, padded to 32 bytes), then the two magazines (IOVA_MAG_SIZE u32 each). */
@inline export const IOVA_RCACHE_BYTES: usize = 32 + <usize>(2 * IOVA_MAG_SIZE) * 4;
/** A depot's room: as many full magazines as the class's runs could fill, and one. */
@inline export function iova_depot_room(c: i32): i32 { return ((IOMMU_WINDOW_PAGES >> c) / IOVA_MAG_SIZE + 1) * IOVA_MAG_SIZE; }
export let buffers_ptr: usize = 0;
export let debug_entries_ptr: usize = 0;
export let debug_hash_ptr: usize = 0;  // i32 per bucket: newest entry index + 1, 0 = empty
export let debug_page_ptr: usize = 0;  // the containing lookup's chains (dma/debug_index.ts); one more head: the vast list
export let debug_cln_ptr: usize = 0;   // modern dma-debug's active cachelines, one per live entry at most
export let debug_cln_hash_ptr: usize = 0; // i32 heads of their chains, by cacheline number
export let debug_span_ptr: usize = 0;  // i32 per page span 0..DEBUG_NARROW_SPAN, then per wide level: live entries (dma/debug_index.ts)
export let gart_pte_ptr: usize = 0;   // u64 per GPU page
export let gart_owner_ptr: usize = 0;
export let frame_bits_ptr: usize = 0; // 1 bit per machine frame: scratch for checkInvariants (xen-pv)
export let cc_shared_ptr: usize = 0; // 1 bit per pfn: shared with the host (coco only; mm/set_memory.ts)
export let pay_mach_ptr: usize = 0;   // u32 per store frame (sim/translate.ts): payload slot + 1 (payload only)
export let pay_shadow_ptr: usize = 0; // u32 per pfn: shadow slot + 1
export let bump_ptr: usize = 0;       // next free byte of the payload bump area
export let memory_end: usize = 0;     // bytes this machine has committed (memory_ensure)
/** Live dma-debug entries the machine holds (per era: abi.ts DEBUG_ENTRY_CAPACITY[_MODERN]). */
export let debug_capacity: i32 = 0;

/**
 * The machine's configuration and fixed guest layout (docs/ENGINE.md §1). Returns false when the
 * numbers cannot make a machine; the caller reports INIT_LAYOUT.
 */
export function layout_configure(plat: i32, maskBits: i32, kernel: i32, ramPages: i32, hostPages: i32,
                                 xenLowPages: i32, nslabsIn: i32, payloadBytes: i32, maxBuffers: i32,
                                 gartPages: i32, gartFamily: i32): bool {
  platform = plat;
  has_p2m = plat == PLATFORM_XEN_PV;
  has_iommu = plat == PLATFORM_IOMMU;
  cc_guest = plat == PLATFORM_COCO;
  mask_bits = maskBits;
  dma_mask = maskBits >= 64 ? u64.MAX_VALUE : (<u64>1 << <u64>maskBits) - 1;
  kernel_era = kernel;
  debug_capacity = kernel == KERNEL_MODERN ? DEBUG_ENTRY_CAPACITY_MODERN : DEBUG_ENTRY_CAPACITY;
  ram_pages = ramPages;
  host_pages = has_p2m ? hostPages : ramPages;
  guest_base = host_pages - ramPages;
  xen_low_pages = has_p2m ? xenLowPages : 0;
  nslabs = nslabsIn;
  payload_bytes = payloadBytes;
  unit_payload = min(payloadBytes, UNIT_SIZE);
  max_buffers = maxBuffers;
  gart_pages = gartPages;
  gart_family = gartFamily;
  io_tlb_start_pfn = KERNEL_RESERVED_PAGES;
  pool_pages = (nslabsIn + 1) >> 1;
  overflow_pfn = io_tlb_start_pfn + pool_pages;
  dummy_pfn = overflow_pfn + IO_TLB_OVERFLOW_PAGES;
  first_free_pfn = dummy_pfn + 1;
  if (ramPages <= 0 || nslabsIn <= 0 || maxBuffers < 0 || gartPages < 0 || first_free_pfn > ramPages) return false;
  if (!has_p2m) return true;
  // Xen starts with what the booted guest leaves free below 4 GiB plus what its boot exchanges
  // take (the pool; ENGINE.md §1), all under 4 GiB; the guest's own frames are all above it.
  if (xenLowPages < 0 || hostPages - ramPages < DMA32_LIMIT_PFN) return false;
  xen_low_end = XEN_LOW_BASE_MFN + xenLowPages + pool_pages;
  return xen_low_end <= DMA32_LIMIT_PFN;
}

// ---- slot records ----
@inline export function slot_rec(slot: i32): usize {
  assert(<u32>slot < <u32>max_buffers, 'slot out of range');
  return buffers_ptr + <usize>(slot * SLOT_BYTES);
}
@inline export function valid_slot(slot: i32): bool { return <u32>slot < <u32>max_buffers; }
@inline export function rec_id(r: usize): i32 { return load<i32>(r, SLOT_ID); }
@inline export function rec_kind(r: usize): i32 { return load<i32>(r, SLOT_KIND); }
@inline export function rec_failed(r: usize): bool { return load<i32>(r, SLOT_FAILED) != 0; }
/** A record ops act on: it holds something that was allocated completely. */
@inline export function rec_usable(r: usize): bool { return rec_kind(r) != KIND_NONE && !rec_failed(r); }
/** One past the highest slot ever started: teardown's walk in slot order stops there. Different,
 * for speed only: the slots above it are empty, and reading them would fault in their pages. */
export let slots_high: i32 = 0;
export function rec_start(r: usize, id: i32, kind: i32, failed: bool): void {
  const above = <i32>((r - buffers_ptr) / <usize>SLOT_BYTES) + 1;
  if (above > slots_high) slots_high = above;
  memory.fill(r, 0, SLOT_BYTES);
  store<i32>(r, id, SLOT_ID); store<i32>(r, kind, SLOT_KIND); store<i32>(r, failed ? 1 : 0, SLOT_FAILED);
}
@inline export function rec_clear(r: usize): void { memory.fill(r, 0, SLOT_BYTES); }

// Stamps by store frame (sim/translate.ts): the guest's frames, then (xen-pv) the frames below 4
// GiB up to the end of Xen's low range, where the swiotlb pool and exchanged coherent pages sit,
// in one table (direct_frames); the rest of a large host, Xen's and other domains' frames that
// only an exchange gives the guest, in chunks of 2^XSTAMP_CHUNK_SHIFT frames committed at a chunk's
// first write. A chunk never written reads 0, as fresh memory does. Different, for memory only.
// The fit check counts every chunk (xstamp_reserve), so a run never runs out of them.
@inline export const XSTAMP_CHUNK_SHIFT: i32 = 14;
@inline export const XSTAMP_CHUNK_BYTES: i32 = (1 << XSTAMP_CHUNK_SHIFT) * 16;
@inline function xstamp_chunks(): u64 { return (<u64>(host_pages - direct_frames) + (1 << XSTAMP_CHUNK_SHIFT) - 1) >> XSTAMP_CHUNK_SHIFT; }
/** Bytes the chunks may commit during a run, beyond the tables. */
export function xstamp_reserve(): u64 { return has_p2m ? xstamp_chunks() * <u64>XSTAMP_CHUNK_BYTES : 0; }

function region(at: u64, bytes: u64): u64 {
  return (at + bytes + 15) & ~(<u64>15);
}
/** `at` rounded up to a 4 KiB page (a table whose pages p2m_written tracks one by one). */
@inline function page_aligned(at: u64): u64 { return (at + 4095) & ~(<u64>4095); }

/** --swiotlb-dynamic: room for the dynamic pools' slot records. False if the boot pool is not whole
 * 128-slot segments, which neither era builds (src/model/index.ts says where the kernel aligns it). */
export function layout_swiotlb_dynamic(on: bool): bool {
  swiotlb_dynamic = on;
  dyn_slot_base = nslabs;
  slot_capacity = on ? nslabs + SWIOTLB_DYN_POOLS * SWIOTLB_DYN_MAX_SLABS : nslabs;
  return nslabs % IO_TLB_SEGSIZE == 0;
}

/** Lays out every table; returns false when it cannot fit in 32-bit linear memory. */
export function layout_compute(): bool {
  const at = layout_place();
  if (at + xstamp_reserve() > MAX_MEMORY) return false;
  return memory_ensure(<usize>at);
}

/**
 * Free-head bitmaps of a buddy over `frames` frames, orders 0..top (xen/heap.ts, mm/buddy.ts): a
 * table of their addresses (u32 each), then one bitmap per order, one bit per block of the order.
 */
export function heads_bytes(frames: u64, top: i32): u64 {
  let bytes: u64 = HEADS_TABLE_BYTES;
  for (let k = 0; k <= top; k++) bytes += heads_words(frames, k) << 3;
  return bytes;
}
@inline export function heads_words(frames: u64, order: i32): u64 { return (((frames + (<u64>1 << order) - 1) >> order) + 63) >> 6; }
/** Bytes of the coco shared bitmap: a bit per pfn, in whole u64 words. */
@inline export function cc_shared_bytes(): u64 { return ((<u64>ram_pages + 63) >> 6) << 3; }
/** pfns per bit of p2m_written (one 4 KiB page of the p2m table, and of the sfn table). */
@inline export const P2M_BLOCK_PFNS: i32 = 1024;
/** Bytes of p2m_written: a bit per block of the guest's pfns, rounded up. */
@inline export function p2m_written_bytes(): u64 { return ((<u64>ram_pages / <u64>P2M_BLOCK_PFNS) >> 3) + 8; }
/** Bit b of a written-bit map at `bits` (p2m_written, stamps_written, expected_written). */
@inline export function written_bit(bits: usize, b: i32): bool { return ((<i32>load<u8>(bits + (<usize>b >> 3)) >> (b & 7)) & 1) != 0; }
/** Sets bit b of a written-bit map at `bits`. */
@inline export function set_written_bit(bits: usize, b: i32): void {
  const at = bits + (<usize>b >> 3);
  store<u8>(at, <u8>(<i32>load<u8>(at) | (1 << (b & 7))));
}
@inline export const STAMP_BLOCK_SHIFT: i32 = 8; // frames (pfns) per bit of stamps_written (expected_written, page_rec_written): 4 KiB of either table
@inline export const XEN_FRAME_BLOCK_SHIFT: i32 = 9; // Xen frame records (XEN_FRAME_BYTES each) per bit of xen_frames_written: 4 KiB of them
@inline export function mark_xen_frame(s: i32): void { set_written_bit(xen_frames_written_ptr, s >> XEN_FRAME_BLOCK_SHIFT); } // for scrub
/** Bytes of a written-bit map over n frames or pfns, rounded up. */
@inline export function written_bits_bytes(n: u64): u64 { return ((n >> <u64>STAMP_BLOCK_SHIFT) >> 3) + 8; }
@inline export const HEADS_TABLE_BYTES: u64 = 128; // room for 32 orders
/**
 * Fills the table of a heads region at `at` (no free block anywhere), and writes the bitmaps' zeros.
 * Different, for speed only: a fresh page read before it is written maps the shared zero page,
 * and its first write then takes a second fault and flushes its TLB entry on every CPU the process
 * runs on (do_wp_page: an interrupt to every other worker thread). Buddies read a word before
 * they set a bit in it, all over the bitmaps, so the bitmaps (two bits per frame) are written
 * once here and fault in once each, as written pages.
 */
export function heads_init(at: usize, frames: u64, top: i32): void {
  let b = at + <usize>HEADS_TABLE_BYTES;
  for (let k = 0; k <= top; k++) {
    store<u32>(at + (<usize>k << 2), <u32>b);
    b += <usize>heads_words(frames, k) << 3;
  }
  memory.fill(at + <usize>HEADS_TABLE_BYTES, 0, b - at - <usize>HEADS_TABLE_BYTES);
}

/** Places every table (the pointers below) and returns where the last one ends, committing nothing. */
export function layout_place(): u64 {
  let at: u64 = <u64>FIXED_END;
  const frames = <u64>host_pages;
  const pfns = <u64>ram_pages;
  direct_frames = has_p2m ? ram_pages + xen_low_end : host_pages;
  at = page_aligned(at); stamps_ptr = <usize>at; at = region(at, <u64>direct_frames * 16);
  if (has_p2m) { xstamps_ptr = <usize>at; at = region(at, xstamp_chunks() * 4); }
  at = page_aligned(at); expected_ptr = <usize>at; at = region(at, pfns * 16);
  stamps_written_ptr = <usize>at; at = region(at, written_bits_bytes(<u64>direct_frames));
  expected_written_ptr = <usize>at; at = region(at, written_bits_bytes(pfns));
  if (has_p2m) {
    at = page_aligned(at); p2m_ptr = <usize>at; at = region(at, pfns * 4);
    at = page_aligned(at); sfn_ptr = <usize>at; at = region(at, pfns * 4);
    p2m_written_ptr = <usize>at; at = region(at, p2m_written_bytes());
  }
  page_rec_ptr = <usize>at; at = region(at, pfns * PAGE_REC_BYTES);
  buddy_heads_ptr = <usize>at; at = region(at, heads_bytes(pfns, MAX_ORDER - 2));
  buddy_top_ptr = <usize>at; at = region(at, ((pfns >> <u64>(MAX_ORDER - 1)) + 1) * 8);
  page_rec_written_ptr = <usize>at; at = region(at, written_bits_bytes(pfns)); // a bit per 2^STAMP_BLOCK_SHIFT records
  if (has_p2m) {
    xen_frames_ptr = <usize>at; at = region(at, frames * XEN_FRAME_BYTES);
    heap_heads_ptr = <usize>at; at = region(at, heads_bytes(frames, XEN_HEAP_MAX_ORDER));
    heap_lists_ptr = <usize>at; at = region(at, <u64>XEN_NR_ZONES * <u64>(XEN_HEAP_MAX_ORDER + 1) * 8 + <u64>XEN_NR_ZONES * 4);
    xen_out_ptr = <usize>at; at = region(at, <u64>(1 << XEN_MAX_EXCHANGE_ORDER) * 8);
    xen_frames_written_ptr = <usize>at; at = region(at, written_bits_bytes(frames >> <u64>(XEN_FRAME_BLOCK_SHIFT - STAMP_BLOCK_SHIFT)));
  }
  const slots = <u64>max(slot_capacity, nslabs);
  slots_used_ptr = <usize>at; at = region(at, ((slots + IO_TLB_SEGSIZE - 1) / <u64>IO_TLB_SEGSIZE) * <u64>(IO_TLB_SEGSIZE >> 3));
  slots_rec_ptr = <usize>at; at = region(at, slots * TLB_SLOT_BYTES);
  if (has_iommu) {
    iommu_ptr = <usize>at; at = region(at, <u64>IOMMU_WINDOW_PAGES * 4);
    iommu_len_ptr = <usize>at; at = region(at, <u64>IOMMU_WINDOW_PAGES * 4);
    iommu_marked_ptr = <usize>at; at = region(at, <u64>IOMMU_WINDOW_PAGES * 4);
    if (kernel_era == KERNEL_MODERN) {
      iova_taken_ptr = <usize>at; at = region(at, <u64>IOMMU_WINDOW_PAGES >> 3);
      iova_size_ptr = <usize>at; at = region(at, <u64>IOMMU_WINDOW_PAGES * 4);
      iova_rcache_ptr = <usize>at; at = region(at, <u64>(IOVA_RCACHE_BYTES * IOVA_RANGE_CACHE_MAX_SIZE));
      iova_depot_ptr = <usize>at;
      for (let c = 0; c < IOVA_RANGE_CACHE_MAX_SIZE; c++) at = region(at, <u64>iova_depot_room(c) * 4);
    }
  }
  buffers_ptr = <usize>at; at = region(at, <u64>max_buffers * SLOT_BYTES);
  debug_entries_ptr = <usize>at; at = region(at, <u64>debug_capacity * DEBUG_ENTRY_BYTES);
  debug_hash_ptr = <usize>at; at = region(at, <u64>DEBUG_HASH_SIZE * 4);
  debug_page_ptr = <usize>at; at = region(at, <u64>(DEBUG_HASH_SIZE + 1) * 4);
  debug_span_ptr = <usize>at; at = region(at, <u64>(DEBUG_NARROW_SPAN + DEBUG_WIDE_LEVELS + 2) * 4); // narrow spans, wide levels, the vast list (dma/debug_index.ts)
  debug_cln_ptr = <usize>at; at = region(at, <u64>debug_capacity * DEBUG_CLN_BYTES);
  debug_cln_hash_ptr = <usize>at; at = region(at, <u64>DEBUG_HASH_SIZE * 4);
  gart_pte_ptr = <usize>at; at = region(at, <u64>gart_pages * 8);
  gart_owner_ptr = <usize>at; at = region(at, <u64>gart_pages * GART_OWNER_BYTES);
  if (has_p2m) { frame_bits_ptr = <usize>at; at = region(at, (frames + 7) >> 3); }
  if (cc_guest) { cc_shared_ptr = <usize>at; at = region(at, cc_shared_bytes()); }
  if (payload_bytes > 0) {
    pay_mach_ptr = <usize>at; at = region(at, frames * 4);
    pay_shadow_ptr = <usize>at; at = region(at, pfns * 4);
  }
  bump_ptr = <usize>at;
  return at;
}

/** The most linear memory the engine may use, in bytes. */
export function max_memory_bytes(): u64 { return MAX_MEMORY; }

/**
 * The linear memory this machine has committed, in bytes: what memory.grow reaches on a fresh
 * memory (whole Wasm pages), also when the host hands over a larger one, zeroed
 * (src/engine/wasm.ts reuses a memory across a run's cells).
 */
export function committed_bytes(): u64 { return (<u64>memory_end + WASM_PAGE - 1) / WASM_PAGE * WASM_PAGE; }

/** Commits linear memory up to `end`; fresh pages are zero, which every table relies on. */
export function memory_ensure(end: usize): bool {
  const have = <u64>memory.size() * WASM_PAGE;
  if (<u64>end <= have) { if (end > memory_end) memory_end = end; return true; }
  if (<u64>end > MAX_MEMORY) return false;
  const need = <i32>((<u64>end - have + WASM_PAGE - 1) / WASM_PAGE);
  if (memory.grow(need) < 0) return false;
  memory_end = end;
  return true;
}

// Different, for speed only: a bump allocation past the committed memory commits 16 MiB more at
// once (when there is room), since every memory.grow makes V8 account for, and collect toward,
// the larger memory.
@inline const BUMP_GROW_BYTES: usize = 16 << 20;

/** Sparse storage (payload bytes, stamp chunks): bump-allocates `bytes` zeroed bytes, traps when memory is gone. */
export function bump_alloc(bytes: i32): usize {
  const at = bump_ptr;
  const end = at + <usize>bytes;
  const ahead = <u64>end + <u64>BUMP_GROW_BYTES;
  if (end > memory_end && ahead <= MAX_MEMORY) memory_ensure(<usize>ahead);
  if (end < at || !memory_ensure(end)) {
    abort('engine memory exhausted (payload bytes)', 'assembly/layout.ts', 0, 0);
    unreachable();
  }
  bump_ptr = end;
  return at;
}

// The fixed regions must exist before init: the host may fill ops first.
memory_ensure(FIXED_END);
