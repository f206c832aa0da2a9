// Mirror of src/engine/abi.ts (the harness boundary) plus the kernel constants both engines use.
// Numbers only: the TypeScript side owns the names; test/abi.test.ts keeps the two equal.
// Everything derived is derived here, once, so no literal repeats elsewhere in assembly/.

// ---- op stream -------------------------------------------------------------------------------
@inline export const OP_WORDS: i32 = 8;
@inline export const OP_ALLOC: i32 = 1;
@inline export const OP_FREE: i32 = 2;
@inline export const OP_ALLOC_COHERENT: i32 = 3;
@inline export const OP_FREE_COHERENT: i32 = 4;
@inline export const OP_EXCHANGE: i32 = 5;
@inline export const OP_MAP: i32 = 6;
@inline export const OP_MAPPING_ERROR: i32 = 7;
@inline export const OP_SYNC_FOR_DEVICE: i32 = 8;
@inline export const OP_SYNC_FOR_CPU: i32 = 9;
@inline export const OP_UNMAP: i32 = 10;
@inline export const OP_CPU_WRITE: i32 = 11;
@inline export const OP_CPU_READ: i32 = 12;
@inline export const OP_DEV_WRITE: i32 = 13;
@inline export const OP_DEV_READ: i32 = 14;
@inline export const OP_GART_BIND: i32 = 15;
@inline export const OP_GART_UNBIND: i32 = 16;
@inline export const OP_GPU_WRITE: i32 = 17;
@inline export const OP_GPU_READ: i32 = 18;
@inline export const OP_RELEASE: i32 = 19;
@inline export const OP_TT_POPULATE: i32 = 20;
@inline export const OP_TT_UNPOPULATE: i32 = 21;
@inline export const OP_TT_BIND: i32 = 22;
@inline export const OP_TT_UNBIND: i32 = 23;
@inline export const OP_TT_SYNC: i32 = 24;
@inline export const OP_GATT_CREATE: i32 = 25;

// ---- enums -----------------------------------------------------------------------------------
@inline export const PLATFORM_BARE_METAL: i32 = 0;
@inline export const PLATFORM_SWIOTLB_FORCE: i32 = 1;
@inline export const PLATFORM_XEN_PV: i32 = 2;
@inline export const PLATFORM_IOMMU: i32 = 3;

@inline export const KERNEL_2010: i32 = 0;
@inline export const KERNEL_MODERN: i32 = 1;

@inline export const DMA_BIDIRECTIONAL: i32 = 0;
@inline export const DMA_TO_DEVICE: i32 = 1;
@inline export const DMA_FROM_DEVICE: i32 = 2;

@inline export const ZONE_DMA32: i32 = 0;
@inline export const ZONE_NORMAL: i32 = 1;

@inline export const READER_CPU: i32 = 0;
@inline export const READER_DEV: i32 = 1;
@inline export const READER_GPU: i32 = 2;

@inline export const VIOLATION_NONE: i32 = 0;
@inline export const VIOLATION_STALE: i32 = 1;
@inline export const VIOLATION_LOST: i32 = 2;
@inline export const VIOLATION_FOREIGN: i32 = 3;

@inline export const DEBUG_TYPE_SINGLE: i32 = 0;
@inline export const DEBUG_TYPE_COHERENT: i32 = 1;

@inline export const GART_R100: i32 = 0;
@inline export const GART_R600: i32 = 1;
@inline export const GART_NV04: i32 = 2;
@inline export const GART_NV50: i32 = 3;
@inline export const GART_AGP: i32 = 4;

// TT_POPULATE pool kinds, TTM caching states, TT_BIND address modes, GATT_CREATE table modes.
@inline export const POOL_TTM: i32 = 0;
@inline export const POOL_TTM_DMA: i32 = 1;
@inline export const POOL_XEN_AWARE: i32 = 2;
@inline export const POOL_AGP: i32 = 3;
@inline export const POOL_AGP_COHERENT: i32 = 4;
@inline export const POOL_AGP_FSB: i32 = 5;

@inline export const CACHING_CACHED: i32 = 0;
@inline export const CACHING_WC: i32 = 1;
@inline export const CACHING_UC: i32 = 2;

@inline export const BIND_MODE_MAP: i32 = 0;
@inline export const BIND_MODE_COHERENT: i32 = 1;
@inline export const BIND_MODE_FSB: i32 = 2;

@inline export const GATT_MODE_PHYS: i32 = 0;
@inline export const GATT_MODE_DMA_COHERENT: i32 = 1;
@inline export const GATT_MODE_FSB_HOOKS: i32 = 2;

@inline export const INIT_OK: i32 = 0;
@inline export const INIT_TOO_LARGE: i32 = 1;
@inline export const INIT_XEN_LOW: i32 = 2;
@inline export const INIT_LAYOUT: i32 = 3;

// ---- counters (COUNTERS order, one i64 each) -------------------------------------------------
@inline export const C_PAGES_ALLOCATED: i32 = 0;
@inline export const C_PAGES_FREED: i32 = 1;
@inline export const C_MAPS: i32 = 2;
@inline export const C_UNMAPS: i32 = 3;
@inline export const C_MAPPING_ERRORS: i32 = 4;
@inline export const C_BOUNCES: i32 = 5;
@inline export const C_BOUNCE_BYTES: i32 = 6;
@inline export const C_SYNCS_FOR_DEVICE: i32 = 7;
@inline export const C_SYNCS_FOR_CPU: i32 = 8;
@inline export const C_SWIOTLB_FULL: i32 = 9;
@inline export const C_SWIOTLB_PEAK_SLOTS: i32 = 10;
@inline export const C_COHERENT_ALLOCS: i32 = 11;
@inline export const C_ALLOC_FAILURES: i32 = 12;
@inline export const C_HYPERCALLS: i32 = 13;
@inline export const C_EXCHANGED_FRAMES: i32 = 14;
@inline export const C_GART_WRITES: i32 = 15;
@inline export const C_TLB_FLUSHES: i32 = 16;
@inline export const C_GPU_READS: i32 = 17;
@inline export const C_GPU_WRITES: i32 = 18;
@inline export const C_CPU_READS: i32 = 19;
@inline export const C_CPU_WRITES: i32 = 20;
@inline export const C_STALE_READS: i32 = 21;
@inline export const C_FOREIGN_READS: i32 = 22;
@inline export const C_LOST_WRITES: i32 = 23;
@inline export const C_DMA_DEBUG_ERRORS: i32 = 24;
@inline export const C_SWIOTLB_PANICS: i32 = 25;
@inline export const C_SWIOTLB_SLOTS_IN_USE: i32 = 26;
@inline export const C_IOMMU_PAGES_MAPPED: i32 = 27;
@inline export const C_IOMMU_PAGES_UNMAPPED: i32 = 28;
@inline export const C_CACHING_CHANGE_CALLS: i32 = 29;
@inline export const C_CACHING_CHANGE_PAGES: i32 = 30;
@inline export const C_POOL_REFILLS: i32 = 31;
@inline export const C_BIND_FAILURES: i32 = 32;
@inline export const C_GPU_SKIPPED_PAGES: i32 = 33;
@inline export const C_GATT_BUSY: i32 = 34;
@inline export const C_TTM_DMA_PEAK_IN_USE: i32 = 35;
@inline export const COUNTER_COUNT: i32 = 36;

// ---- dma-debug classes (DEBUG_CLASSES index) -------------------------------------------------
@inline export const DBG_UNMAP_UNKNOWN: i32 = 0;
@inline export const DBG_UNMAP_SIZE: i32 = 1;
@inline export const DBG_UNMAP_DIRECTION: i32 = 2;
@inline export const DBG_UNMAP_WRONG_FUNCTION: i32 = 3;
@inline export const DBG_MAP_ERROR_UNCHECKED: i32 = 4;
@inline export const DBG_SYNC_UNKNOWN: i32 = 5;
@inline export const DBG_SYNC_OUTSIDE: i32 = 6;
@inline export const DBG_SYNC_DIRECTION: i32 = 7;
@inline export const DBG_SYNC_CPU_READONLY: i32 = 8;
@inline export const DBG_SYNC_DEVICE_WRITEONLY: i32 = 9;
@inline export const DBG_LEAK: i32 = 10;
@inline export const MAX_DEBUG_RECORDS: i32 = 100;
@inline export const DEBUG_WORDS: i32 = 10;
@inline export const VIOLATION_WORDS: i32 = 20;
// What the address a reader used is (violation word 15, gartbench.result/1 `via`).
@inline export const VIA_NONE: i32 = 0;     // no address: the driver holds none, the PTE is invalid, the map failed
@inline export const VIA_DIRECT: i32 = 1;   // a machine address outside swiotlb: the page itself or another frame
@inline export const VIA_SWIOTLB: i32 = 2;  // a bounce slot
@inline export const VIA_OVERFLOW: i32 = 3; // the 2010 swiotlb overflow buffer
@inline export const VIA_IOMMU: i32 = 4;    // an IOVA
@inline export const VIA_GATT: i32 = 5;     // an AGP GATT entry, read by the chipset

// ---- kernel constants ------------------------------------------------------------------------
@inline export const PAGE_SHIFT: i32 = 12;
@inline export const PAGE_SIZE: i32 = 1 << PAGE_SHIFT;
@inline export const PAGE_MASK: i32 = PAGE_SIZE - 1;
@inline export const IO_TLB_SHIFT: i32 = 11;
@inline export const UNIT_SIZE: i32 = 1 << IO_TLB_SHIFT;
@inline export const UNIT_MASK: i32 = UNIT_SIZE - 1;
@inline export const UNITS_PER_PAGE: i32 = PAGE_SIZE / UNIT_SIZE;
@inline export const IO_TLB_SEGSIZE: i32 = 128;
@inline export const IO_TLB_OVERFLOW_PAGES: i32 = 8;
@inline export const IO_TLB_OVERFLOW: i32 = IO_TLB_OVERFLOW_PAGES * PAGE_SIZE;
@inline export const MAX_ORDER: i32 = 11;
@inline export const MAX_ALLOC_PAGES: i32 = 1 << (MAX_ORDER - 1);
@inline export const XEN_MAX_EXCHANGE_ORDER: i32 = 9;
@inline export const XEN_POOL_PIECE_ORDER: i32 = 6; // 256 KiB pieces of the xen-swiotlb pool
@inline export const KERNEL_RESERVED_PAGES: i32 = 4096;
@inline export const XEN_LOW_BASE_MFN: i32 = 65536;
@inline export const DMA32_LIMIT_PFN: i32 = 1 << 20;
@inline export const IOMMU_BASE: u64 = 0x8000_0000;
@inline export const IOMMU_WINDOW_PAGES: i32 = 1 << 19;
@inline export const DMA_MAPPING_ERROR: u64 = 0xFFFF_FFFF_FFFF_FFFF;
@inline export const VERSION_MASK: u32 = 0x7FFF_FFFF;
@inline export const DEV_BIT: u32 = 0x8000_0000;
@inline export const PRNG_GOLDEN: u32 = 0x9E37_79B9;
// TTM (drivers/gpu/drm/ttm/ttm_page_alloc.c, ttm_page_alloc_dma.c) and AGP (drivers/char/agp).
@inline export const NUM_PAGES_TO_ALLOC: i32 = 512; // refill batch, shrink minimum, caching-change batch
@inline export const TTM_POOL_SMALL: i32 = 16;      // ttm_page_alloc: below this a request refills
@inline export const TTM_DMA_POOL_SMALL: i32 = 4;   // ttm_page_alloc_dma: refill size
@inline export const AGP_ENTRY_BYTES: i32 = 4;      // one u32 GATT entry
@inline export const AGP_ENTRIES_PER_PAGE: i32 = PAGE_SIZE / AGP_ENTRY_BYTES;
@inline export const AGP_VALID: u32 = 1;
