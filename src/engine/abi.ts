// Every number both engines share, once: op codes, enums, counter order, record sizes and the
// kernel constants. The reference model imports it; the build turns it into assembly/abi.ts
// (src/engine/abigen.ts), so the Wasm engine reads the same numbers. Semantics: docs/ENGINE.md.

/** Every op is OP_WORDS consecutive i32 words: [code, a, b, c, d, e, f, 0]. */
export const OP_WORDS = 8;

export const Op = {
  ALLOC: 1, // slot, pages, zone; a trace's pages: their recorded first page's low 32 bits, its high bits + 1 (0: none)
  FREE: 2, // slot
  ALLOC_COHERENT: 3, // slot, pages, bytes asked (0: pages × 4096; a trace's dma_alloc size), a trace's AllocForm, its dir
  FREE_COHERENT: 4, // slot, bytes given (0: the allocation's; a trace's dma_free size), the free call's AllocForm, its dir
  EXCHANGE: 5, // slot, addressBits
  MAP: 6, // slot, dir | sgEnts << OP_DIR_BITS, offset, size, an sg entry's call number (from 1; its call's entries share it), attrs
  MAPPING_ERROR: 7, // slot
  SYNC_FOR_DEVICE: 8, // slot, dir | sgEnts << OP_DIR_BITS, offset, size, the entry's index in an sg call, 1: a trace's sync inside a mapping (2.6.37: the range form) | OP_ATTR_AFTER_UNMAP
  SYNC_FOR_CPU: 9, // slot, dir | sgEnts << OP_DIR_BITS, offset, size, the entry's index in an sg call, 1: a trace's sync inside a mapping (2.6.37: the range form) | OP_ATTR_AFTER_UNMAP
  UNMAP: 10, // slot, dir | sgEnts << OP_DIR_BITS, size, attrs (OP_ATTR_SKIP_CPU_SYNC, OP_ATTR_AFTER_UNMAP)
  CPU_WRITE: 11, // slot, offset, size
  CPU_READ: 12, // slot, offset, size
  DEV_WRITE: 13, // slot, offset, size
  DEV_READ: 14, // slot, offset, size
  GART_BIND: 15, // slot, gpuPage
  GART_UNBIND: 16, // gpuPage, pages
  GPU_WRITE: 17, // gpuPage, pages
  GPU_READ: 18, // gpuPage, pages
  RELEASE: 19, // end of stream: dma-debug leak check
  // TTM and AGP layer (docs/ENGINE.md §11-12)
  TT_POPULATE: 20, // slot, pages, pool, caching
  TT_UNPOPULATE: 21, // slot
  TT_BIND: 22, // slot, gpuPage, mode
  TT_UNBIND: 23, // slot
  TT_SYNC: 24, // slot, toCpu, mode (TtSync)
  GATT_CREATE: 25, // entries, mode
  ALLOC_PAGES: 26, // 6.12 dma_common_alloc_pages (a kernel trace's dma_alloc_pages/_sgt on xen-pv: normal pages, mapped): slot, pages, dir | sgEnts << OP_DIR_BITS, bytes mapped, an sg call's number
  // A kernel trace's call on DMA_MAPPING_ERROR, a failed map's handle (the map not replayed): at the handle a failed map gives here
  UNMAP_ERROR: 27, // size, dir, attrs (OP_ATTR_SKIP_CPU_SYNC)
  SYNC_ERROR: 28, // size, dir, toCpu
  FREE_AT: 29, // a kernel trace's dma_free where no live allocation is: slot, bytes given, 1: the handle the slot's last free freed (0: its live mapping's), form, dir, bytes past that handle
  UNMAP_AT: 30, // a kernel trace's unmap or free where nothing starts, inside slot's mapping or allocation (or at its dead mapping's start, a free, or inside it, an unmap): slot, bytes given, byte offset in the buffer, the free's AllocForm + 1 (0: dma_unmap_page), dir, an unmap's attrs (OP_ATTR_SKIP_CPU_SYNC)
  DEVICE_DOWN: 31, // the driver's probe failed (a 6.12 radeon's dma_set_mask under xen-pv with CONFIG_SWIOTLB_DYNAMIC): every later op but RELEASE does nothing; a GPU or device access counts its pages skipped
} as const;

/** TT_POPULATE pool kinds. */
export const Pool = { ttm: 0, ttmDma: 1, xenAware: 2, agp: 3, agpCoherent: 4, agpFsb: 5 } as const;
/** TTM caching states. */
export const Caching = { cached: 0, wc: 1, uc: 2 } as const;
export const CACHINGS = Object.keys(Caching) as (keyof typeof Caching)[];
/**
 * The TTM pools both engines keep, by id (a replay result's `pools`): the 2010 global pools
 * {wc, uc} × {normal, dma32} at POOL_ID_TTM + (caching − 1)·2 + dma32, the xen-aware ones the same
 * from POOL_ID_XEN_AWARE, and the 2011 per-device dma pools at POOL_ID_DMA + caching.
 */
export const TTM_POOLS = [
  'wc normal', 'wc dma32', 'uc normal', 'uc dma32',
  'xen-aware wc normal', 'xen-aware wc dma32', 'xen-aware uc normal', 'xen-aware uc dma32',
  'dma cached', 'dma wc', 'dma uc',
] as const;
export const POOL_ID_TTM = 0;
export const POOL_ID_XEN_AWARE = TTM_POOLS.indexOf('xen-aware wc normal');
export const POOL_ID_DMA = TTM_POOLS.indexOf('dma cached');
export const POOL_ID_END = TTM_POOLS.length;
/** TT_BIND address modes: map each page / use the coherent handles / (agp) machine addresses. */
export const BindMode = { map: 0, coherent: 1, fsb: 2 } as const;
/** TT_SYNC modes: every page BIDIRECTIONAL (a fix-2 driver, a replay's tt_sync), or 6.12 nouveau's
 * own nouveau_bo_sync_for_device / _for_cpu (physically consecutive runs, TO_/FROM_DEVICE). */
export const TtSync = { pages: 0, nouveau: 1 } as const;
/** GATT_CREATE table modes. */
export const GattMode = { phys: 0, dmaCoherent: 1, fsbHooks: 2 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const Platform = { 'bare-metal': 0, 'swiotlb-force': 1, 'xen-pv': 2, iommu: 3, coco: 4 } as const;
export type PlatformName = keyof typeof Platform;
export const PLATFORMS = Object.keys(Platform) as PlatformName[];
/** Platforms a kernel era has: `coco` (an SEV-SNP/TDX guest, MODEL.md §9) is the modern kernel's only. */
export const MODERN_ONLY_PLATFORMS: readonly PlatformName[] = ['coco'];

export const Kernel = { '2010': 0, modern: 1 } as const;
export type KernelName = keyof typeof Kernel;
export const KERNELS = Object.keys(Kernel) as KernelName[];

/**
 * IOTLB invalidation on the iommu platform (docs/ENGINE.md §8): strict invalidates at every unmap;
 * lazy (modern only) batches unmaps through dma-iommu's flush queue (drivers/iommu/dma-iommu.c,
 * 6.12 queue_iova).
 */
export const IommuMode = { strict: 0, lazy: 1 } as const;
export type IommuModeName = keyof typeof IommuMode;
export const IOMMU_MODES = Object.keys(IommuMode) as IommuModeName[];

/** enum dma_data_direction values, as the kernel numbers them. */
export const Dir = { bidirectional: 0, to_device: 1, from_device: 2 } as const;
export type DirName = keyof typeof Dir;
export const DIRS = Object.keys(Dir) as DirName[];

export const Zone = { dma32: 0, normal: 1 } as const;
export type ZoneName = keyof typeof Zone;
export const ZONES = Object.keys(Zone) as ZoneName[];
/** Reader of a violation. */
export const Reader = { cpu: 0, dev: 1, gpu: 2 } as const;
export const ViolationKind = { none: 0, stale: 1, lost: 2, foreign: 3 } as const;

/** dma-debug entry types (kernel/dma/debug.c type2name). */
export const DebugType = { single: 0, coherent: 1, sg: 2, noncoherent: 3 } as const;
/** ALLOC_COHERENT's and FREE_COHERENT's form: a trace's dma_alloc/dma_free, _pages, _sgt (6.12 dma-debug: coherent, noncoherent, an sg table's one entry). */
export const AllocForm = { coherent: 0, pages: 1, sgt: 2 } as const;
/** MAP, SYNC_FOR_* and UNMAP carry the direction in their second word's low OP_DIR_BITS bits and, above them, the sg call's
 * entry count (nents; dma-debug's sg_call_ents): 0 a single-page call, more an entry of a kernel trace's sg list. */
export const OP_DIR_BITS = 2;
/** MAP's and UNMAP's attrs word (a kernel trace's attrs=, dma_common_free_pages): DMA_ATTR_SKIP_CPU_SYNC: no copy back from a bounce slot at an unmap (6.12
 * __swiotlb_tbl_unmap_single), no cacheline EEXIST report at a map (6.12 add_dma_entry); 2.6.37 had no such attribute. AFTER_UNMAP (UNMAP's attrs, a sync's word f): a kernel
 * trace's call on a mapping it had unmapped. SG_NONE, SG_ALL (an sg sync's word f): the call's first entry was not replayed; its mapped_ents lookup found nothing, or its list. */
export const OP_ATTR_SKIP_CPU_SYNC = 1, OP_ATTR_AFTER_UNMAP = 2, OP_SYNC_SG_NONE = 4, OP_SYNC_SG_ALL = 8;
/** dma-debug's cacheline numbers of a trace's recorded memory carry this bit: never a simulated page's. */
export const RECORDED_CLN_BIT = 47;
/** The largest size a sync checks (an i32): a 2.6.37 range sync's offset + size saturates there. */
export const SYNC_CHECK_MAX = 2 ** 31 - 1;

/** Counter order in the engine's counter region (each an i64). */
export const COUNTERS = [
  'pagesAllocated', 'pagesFreed', 'maps', 'unmaps', 'mappingErrors', 'bounces', 'bounceBytes',
  'syncsForDevice', 'syncsForCpu', 'swiotlbFull', 'swiotlbPeakSlots', 'coherentAllocs',
  'allocFailures', 'hypercalls', 'exchangedFrames', 'gartWrites', 'tlbFlushes', 'gpuReads',
  'gpuWrites', 'cpuReads', 'cpuWrites', 'staleReads', 'foreignReads', 'lostWrites',
  'dmaDebugErrors',
  // extras (not in gartbench.result/1's required set; reported under "extra")
  'swiotlbPanics', 'swiotlbSlotsInUse', 'iommuPagesMapped', 'iommuPagesUnmapped',
  // TTM and AGP layer (docs/ENGINE.md §11-13)
  'cachingChangeCalls', 'cachingChangePages', 'poolRefills', 'bindFailures', 'gpuSkippedPages', 'gattBusy',
  'ttmDmaPeakInUse',
  // pages a device or the GPU reached though a map on their way had failed (D24)
  'failedMapPages',
  // the lazy IOMMU's flush queue (docs/ENGINE.md §8; reported only for a lazy iommu)
  'iommuPagesQueued', 'iommuFlushes',
  // a confidential-computing guest's private <-> shared conversions (docs/ENGINE.md §16; coco only)
  'ccConversions', 'ccConvertedPages',
  // CONFIG_SWIOTLB_DYNAMIC (docs/ENGINE.md §5; reported only with --swiotlb-dynamic)
  'swiotlbPoolsAdded', 'swiotlbTransientPools',
] as const;
/** Extras a result lists only when the machine has a flush queue (iommu, --iommu-mode lazy). */
export const FLUSH_QUEUE_COUNTERS: readonly CounterName[] = ['iommuPagesQueued', 'iommuFlushes'];
/** Extras a result lists only on the coco platform. */
export const COCO_COUNTERS: readonly CounterName[] = ['ccConversions', 'ccConvertedPages'];
/** Extras a result lists only when the machine runs with --swiotlb-dynamic. */
export const SWIOTLB_DYNAMIC_COUNTERS: readonly CounterName[] = ['swiotlbPoolsAdded', 'swiotlbTransientPools'];
export type CounterName = (typeof COUNTERS)[number];
export const COUNTER_INDEX = Object.fromEntries(COUNTERS.map((n, i) => [n, i])) as Record<CounterName, number>;
/** The counters gartbench.result/1 lists, in its order. */
export const RESULT_COUNTERS = COUNTERS.slice(0, COUNTERS.indexOf('dmaDebugErrors') + 1) as CounterName[];

/** DMA-API debug classes, in INTERFACE.md's order; the index is the class id. */
export const DEBUG_CLASSES = [
  'unmap-unknown', 'unmap-size', 'unmap-direction', 'unmap-wrong-function', 'map-error-unchecked',
  'sync-unknown', 'sync-outside', 'sync-direction', 'sync-cpu-readonly', 'sync-device-writeonly',
  'leak', 'overlap',
] as const;
export type DebugClass = (typeof DEBUG_CLASSES)[number];
export const MAX_DEBUG_RECORDS = 100;

/**
 * A debug record is DEBUG_WORDS i64 words: [class, op, dmaAddr, size, entryDir, refDir, entryType,
 * refType, count, entrySize, entryOp]. Missing values are -1. entryOp (word DEBUG_ENTRY_OP_WORD):
 * the op that made the entry the record names (its map or allocation; an `overlap`'s new one), −1
 * with none or past DEBUG_ENTRY_OP_MAX (the Wasm engine's entry keeps it in 32 bits).
 */
export const DEBUG_WORDS = 11, DEBUG_ENTRY_OP_WORD = 10, DEBUG_ENTRY_OP_MAX = 0xffff_fffe;

/**
 * The first violation is VIOLATION_WORDS i64 words, named in order by VIOLATION_FIELDS. dmaAddr
 * and pte are u64 bit patterns (DMA_MAPPING_ERROR is -1 as i64). Missing values are -1.
 * Stamps: hi = buffer id, lo = dev << 31 | version, and a version is the index + 1 of the op
 * that wrote it, so the words name the writes seen and expected (docs/ENGINE.md §2).
 */
export const VIOLATION_FIELDS = [
  'kind', 'op', 'reader', 'pfn', 'mfn', 'dmaAddr', 'gpuPage', 'pte', 'unit', 'seenHi', 'seenLo', 'expHi', 'expLo', 'bufId',
  // the hops (docs/ENGINE.md §2, "first violation"):
  'pageMfn', // the machine frame of the page the reader should have seen
  'via', // what dmaAddr is (Via)
  'slot', // the swiotlb slot dmaAddr falls in
  'hopPfn', // the guest page behind dmaAddr: the slot's original, the IOVA's page, the frame's owner
  'gattEntryAddr', // AGP: the machine address where the chipset read the entry
  'gattTableMfn', // AGP: the machine frame of the table page the CPU wrote the entry in
  'iovaUnmapOp', // iommu, lazy: the op that unmapped the IOVA while it still waits in the flush queue, else -1
  'ccPrivate', // coco: CC_PRIVATE_TARGET | CC_PRIVATE_GATT, the frames a device found private (0 elsewhere)
  'byte', // payload: the first logical byte of the page that differs when the unit's stamp matched, else -1
  'iovaReadOnly', // iommu: 1 when the IOVA at dmaAddr is read-only (a to_device mapping: IOMMU_READ_ONLY), else 0
  'failedMap', // 1 when a GPU read's GART entry was bound from the error value a failed map returned, else 0
  'hopDummy', // 1 when hopPfn is the page the driver mapped at device init as the GART's dummy page (radeon, 2.6.37 nouveau; nv50's boot mapping), else 0
] as const;
export const VIOLATION_WORDS = VIOLATION_FIELDS.length;
/** ccPrivate bits: the frame dmaAddr leads to is private to a confidential guest (no device reaches
 * it); AGP: so is the frame the chipset read the GATT entry from (mm/set_memory.ts). */
export const CC_PRIVATE_TARGET = 1;
export const CC_PRIVATE_GATT = 2;

/** What the address a reader used is (gartbench.result/1 `via`; 0 = no address). */
export const Via = { none: 0, direct: 1, swiotlb: 2, overflow: 3, iommu: 4, gatt: 5 } as const;
export const VIA_NAMES = ['direct', 'swiotlb', 'overflow', 'iommu', 'gatt'] as const;

/** Engine init failures (return codes of init). */
export const InitError = {
  OK: 0,
  TOO_LARGE: 1, // memory needed exceeds the engine's limit
  XEN_LOW: 2, // xen_swiotlb_fixup found no frames below 4 GiB for a pool piece (the kernel panics)
  LAYOUT: 3, // RAM too small for the fixed layout (kernel, pool, overflow, dummy)
} as const;

// Shared constants (kernel values), each derived from the one before it where it can be.
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
export const IO_TLB_SHIFT = 11; // swiotlb slot: 2 KiB, the oracle's unit
export const UNIT_SIZE = 1 << IO_TLB_SHIFT;
export const UNIT_MASK = UNIT_SIZE - 1;
export const UNITS_PER_PAGE = PAGE_SIZE / UNIT_SIZE;
export const IO_TLB_SEGSIZE = 128;
export const IO_TLB_OVERFLOW_PAGES = 8; // 32 KiB
// Linux 6.12 swiotlb areas (kernel/dma/swiotlb.c): swiotlb_init_remap asks swiotlb_adjust_nareas
// for num_possible_cpus() areas, rounded up to a power of two, and limit_nareas keeps each area at
// least IO_TLB_SEGSIZE slots. The kernel takes the count from the CPUs, so it is a machine
// constant here: the modelled machine has 8 possible CPUs (assumed; no option sets it). Every op
// runs on one CPU, CPU 0, so raw_smp_processor_id() of every map is SWIOTLB_MAP_CPU.
export const SWIOTLB_POSSIBLE_CPUS = 8;
export const SWIOTLB_MAX_AREAS = 2 ** Math.ceil(Math.log2(SWIOTLB_POSSIBLE_CPUS)); // roundup_pow_of_two
export const SWIOTLB_MAP_CPU = 0;
// The default swiotlb pool (include/linux/swiotlb.h IO_TLB_DEFAULT_SIZE, 64 MiB) and what a
// memory-encrypted guest makes of it (arch/x86/mm/mem_encrypt.c mem_encrypt_setup_arch, SEV and
// TDX alike, 6.12): 6 % of RAM, clamped to [IO_TLB_DEFAULT_SIZE, SZ_1G] (src/run/machine.ts).
export const IO_TLB_DEFAULT_SIZE = 64 * 2 ** 20;
export const CC_SWIOTLB_PERCENT = 6;
export const CC_SWIOTLB_MAX = 2 ** 30;
// CONFIG_SWIOTLB_DYNAMIC (6.12 kernel/dma/swiotlb.c; docs/ENGINE.md §5): the smallest pool the
// background worker accepts (IO_TLB_MIN_SLABS, 1 MiB), the largest pool swiotlb_alloc_pool makes
// (SLABS_PER_PAGE << MAX_PAGE_ORDER: one order-10 block, 4 MiB), sizeof(struct io_tlb_slot) on a
// 64-bit kernel (orig_addr 8, alloc_size 8, list 2, pad_slots 2, padded to 24: the slot array a
// pool takes from the page allocator), and the simulator's own cap on live dynamic pools.
export const IO_TLB_MIN_SLABS = 512;
export const SWIOTLB_DYN_MAX_SLABS = 2048;
export const IO_TLB_SLOT_STRUCT_BYTES = 24;
export const SWIOTLB_DYN_POOLS = 64;
export const IO_TLB_OVERFLOW = IO_TLB_OVERFLOW_PAGES * PAGE_SIZE;
export const MAX_ORDER = 11; // orders 0..MAX_ORDER-1
export const MAX_ALLOC_PAGES = 1 << (MAX_ORDER - 1);
export const MAX_BO_PAGES = 1 << 18; // a BO's byte size must fit the op stream's i32 fields
export const XEN_MAX_EXCHANGE_ORDER = 9;
export const XEN_POOL_PIECE_ORDER = 6; // the xen-swiotlb pool is exchanged in 256 KiB pieces
// xen_swiotlb_fixup (drivers/xen/swiotlb-xen.c, 2.6.37): the address-bits cursor starts at
// get_order(one 128-slot segment) + PAGE_SHIFT and widens by one per failed try up to max_dma_bits.
export const XEN_POOL_FIRST_BITS = XEN_POOL_PIECE_ORDER + PAGE_SHIFT;
export const XEN_POOL_MAX_BITS = 32;
// Xen's domain heap (xen/common/page_alloc.c, Xen 4.0/4.1): MAX_ORDER (orders 0..20), NR_ZONES =
// PADDR_BITS (44) - PAGE_SHIFT, and the address bits that mean "no limit" (BITS_PER_LONG + PAGE_SHIFT).
export const XEN_HEAP_MAX_ORDER = 20;
export const XEN_NR_ZONES = 32;
export const XEN_NO_LIMIT_BITS = 76;
export const KERNEL_RESERVED_PAGES = 4096; // 16 MiB
export const XEN_LOW_BASE_MFN = 65536; // 256 MiB
export const DMA32_LIMIT_PFN = 1 << 20; // 4 GiB
export const IOMMU_BASE = 0x8000_0000;
export const IOMMU_WINDOW_PAGES = 1 << 19; // 2 GiB
export const DMA_MAPPING_ERROR = 0xffff_ffff_ffff_ffffn; // all ones, u64
// What a failed 2010 xen_swiotlb_map_page returns: DMA_ERROR_CODE, 0 on x86 (swiotlb-xen.c, 2.6.37).
export const XEN_DMA_ERROR_CODE = 0;
// Stamps (docs/ENGINE.md §2): hi = buffer id, lo = dev << 31 | version.
export const DEV_BIT = 0x8000_0000;
export const VERSION_MASK = DEV_BIT - 1;
export const PRNG_GOLDEN = 0x9e37_79b9;
// The seeded permutation that places the guest's frames (sim/rand.ts): three rounds of add a key,
// multiply by an odd constant, xor-shift right, over the smallest power of two that holds the
// guest's pages (cycle walking keeps the result inside). Odd multipliers: the finalizer of
// MurmurHash3 and the golden ratio, each invertible modulo 2^32.
export const PERM_MUL_0 = 0x85eb_ca6b;
export const PERM_MUL_1 = 0xc2b2_ae35;
export const PERM_MUL_2 = 0x9e37_79b1;
// TTM (drivers/gpu/drm/ttm/ttm_page_alloc.c, ttm_page_alloc_dma.c) and AGP (drivers/char/agp).
export const NUM_PAGES_TO_ALLOC = 512; // refill batch, shrink minimum, caching-change batch
export const TTM_DMA_POOL_SMALL = 4; // ttm_page_alloc_dma: refill size
export const MAX_TT_PAGES = 1 << 24; // TT_POPULATE's page count bound
// Linux 6.12 ttm_pool.c: a pool type per caching x order for orders 0..MAX_PAGE_ORDER (10), i.e.
// NR_PAGE_ORDERS of them, the buddy allocator's own orders (MAX_ORDER above counts them the same).
export const TTM_NR_PAGE_ORDERS = MAX_ORDER;
export const TTM_MAX_PAGE_ORDER = TTM_NR_PAGE_ORDERS - 1;
// The shrinker list's pool types: per order the global wc, uc, dma32 wc, dma32 uc (twice: the
// xen-aware globals too), then a DMA-allocating device's cached, wc and uc per order.
export const TTM_GLOBAL_POOL_TYPES = 4 * TTM_NR_PAGE_ORDERS;
export const TTM_SHRINK_TYPES = 2 * TTM_GLOBAL_POOL_TYPES + 3 * TTM_NR_PAGE_ORDERS;
export const AGP_ENTRY_BYTES = 4; // one u32 GATT entry
export const AGP_ENTRIES_PER_PAGE = PAGE_SIZE / AGP_ENTRY_BYTES;
export const AGP_VALID = 1;
export const MAX_GATT_ENTRIES = 1 << 20; // GATT_CREATE's entry count bound
export const DEBUG_ENTRY_CAPACITY = 1 << 16; // dma-debug (lib/dma-debug.c PREALLOC_DMA_DEBUG_ENTRIES): beyond these live entries it disables itself
/**
 * Live dma-debug entries on `modern`. 6.12's dma_entry_alloc does not stop at its preallocation:
 * an empty free list grows by DMA_DEBUG_DYNAMIC_ENTRIES (dma_debug_create_entries, GFP_ATOMIC,
 * "dma_debug_entry pool grown to …") and disables only when that allocation fails. The simulation
 * holds at most this many (2^21: 8 GiB of pages mapped at once), then disables as T22 says.
 */
export const DEBUG_ENTRY_CAPACITY_MODERN = 1 << 21;
/** Both engines index live dma-debug entries reaching at most this many pages past their first by page,
 * and wider ones by level 1..DEBUG_WIDE_LEVELS (at most DEBUG_NARROW_SPAN << k pages; dma/debug_index.ts). */
export const DEBUG_NARROW_SPAN = 16;
export const DEBUG_WIDE_LEVELS = 16;
export const IOMMU_NONE = 0; // an empty IOVA entry
// An IOVA entry holds pfn + 1 in its low 30 bits (IOMMU_PFN_MASK). IOMMU_READ_ONLY (bit 30): the
// mapping gave the device no write permission (a DMA_TO_DEVICE map: 6.12 dma_info_to_prot gives
// IOMMU_READ alone, 2.6.37 ppc64 tce_build sets TCE_PCI_WRITE only for other directions), so a
// device write through it faults. IOMMU_IOTLB (bit 31) says the device's IOTLB has cached the
// translation (it accessed the page while mapped); on a lazy unmap such an entry keeps its page
// until the flush, and any other becomes IOMMU_HELD (bit 31 alone): no translation
// (iommu_unmap_fast cleared the page table) but the IOVA is still taken (queued; 2.6.37's next fit
// reads it so; 6.12's allocator keeps its own record of taken IOVAs, dma/iova.ts).
export const IOMMU_PFN_MASK = 0x3fff_ffff;
export const IOMMU_READ_ONLY = 0x4000_0000;
export const IOMMU_IOTLB = 0x8000_0000;
export const IOMMU_HELD = 0x8000_0000;
// dma-iommu's per-CPU flush queue (drivers/iommu/dma-iommu.c, 6.12 iommu_dma_init_options): a ring
// of IOVA_DEFAULT_FQ_SIZE entries, x86's queue (the single 32768-entry queue is for IOMMUs that
// shadow_on_flush, i.e. virtualised ones); fq_full keeps one entry empty, so it holds 255 unmaps.
export const IOVA_DEFAULT_FQ_SIZE = 256;
// 6.12's IOVA rcaches (drivers/iommu/iova.c): size classes 2^0..2^5 pages (a size under 32 pages
// is rounded up to a power of two), magazines of IOVA_MAG_SIZE IOVAs.
export const IOVA_RANGE_CACHE_MAX_SIZE = 6;
export const IOVA_MAG_SIZE = 127;
// Modern dma-debug (kernel/dma/debug.c, 6.12): hash buckets of 2^13 bytes of dma address
// (HASH_FN_SHIFT), HASH_SIZE of them; cachelines of 2^6 bytes (x86 L1_CACHE_SHIFT); an active
// cacheline's overlap counter is RADIX_TREE_MAX_TAGS (3) tag bits, so it stops at 7.
export const DMA_DEBUG_HASH_FN_SHIFT = 13;
export const DMA_DEBUG_HASH_SIZE = 16384;
export const L1_CACHE_SHIFT = 6;
export const ACTIVE_CACHELINE_MAX_OVERLAP = 7;

/** Machine configuration, in the order init() takes its arguments. */
export interface MachineConfig {
  platform: number;
  maskBits: number;
  kernel: number;
  ramPages: number;
  hostPages: number;
  /** Free machine frames below 4 GiB Xen still has once the guest booted (xen-pv; ENGINE.md §1). */
  xenLowPages: number;
  nslabs: number;
  payloadBytes: number;
  seed: number;
  maxBuffers: number;
  gartPages: number;
  /** GART PTE family: 0 r100, 1 r600, 2 nv04, 3 nv50, 4 agp GATT (docs/ENGINE.md §12). */
  gartFamily: number;
  /** IommuMode: 0 strict, 1 lazy (modern iommu only; docs/ENGINE.md §8). */
  iommuMode: number;
  /**
   * CONFIG_SWIOTLB_DYNAMIC: 1 = on (modern only; docs/ENGINE.md §5). Absent = 0, the 6.12 default
   * (kernel/dma/Kconfig: SWIOTLB_DYNAMIC is not selected by default).
   */
  swiotlbDynamic?: number;
  /**
   * The device's DMA min_align_mask (dma_get_min_align_mask; modern only, docs/ENGINE.md §5): 0 or
   * 2^k - 1 for k in 1..MIN_ALIGN_MASK_MAX_BITS. Absent = 0: no modelled GPU driver sets one.
   */
  minAlignMask?: number;
}

/**
 * --min-align-mask: at most a page less one (4095, NVMe's NVME_CTRL_PAGE_SIZE - 1), as every
 * dma_set_min_align_mask caller passes; masks within a page are what a page-aligned pool can honour
 * by slot choice alone (docs/ENGINE.md §5).
 */
export const MIN_ALIGN_MASK_MAX_BITS = PAGE_SHIFT;
export const GartFamily = { r100: 0, r600: 1, nv04: 2, nv50: 3, agp: 4 } as const;

/**
 * What the build writes into assembly/abi.ts (src/engine/abigen.ts): enums as PREFIX_NAME, the
 * constants under their own names. A constant is i32 unless named here.
 */
export const ENGINE_ENUMS = {
  OP: Op, POOL: Pool, CACHING: Caching, BIND_MODE: BindMode, TT_SYNC: TtSync, GATT_MODE: GattMode, PLATFORM: Platform,
  KERNEL: Kernel, DMA: Dir, ZONE: Zone, READER: Reader, VIOLATION: ViolationKind, DEBUG_TYPE: DebugType,
  GART: GartFamily, INIT: InitError, VIA: Via, IOMMU_MODE: IommuMode, ALLOC_FORM: AllocForm,
} as const;
export const ENGINE_LISTS = { C: COUNTERS, DBG: DEBUG_CLASSES } as const;
export const ENGINE_CONSTANTS = {
  OP_WORDS, MAX_DEBUG_RECORDS, DEBUG_WORDS, DEBUG_ENTRY_OP_MAX, VIOLATION_WORDS,
  PAGE_SHIFT, PAGE_SIZE, PAGE_MASK, IO_TLB_SHIFT, UNIT_SIZE, UNIT_MASK, UNITS_PER_PAGE, IO_TLB_SEGSIZE,
  IO_TLB_OVERFLOW_PAGES, IO_TLB_OVERFLOW, MAX_ORDER, MAX_ALLOC_PAGES, XEN_MAX_EXCHANGE_ORDER, XEN_POOL_PIECE_ORDER,
  XEN_POOL_FIRST_BITS, XEN_POOL_MAX_BITS, XEN_HEAP_MAX_ORDER, XEN_NR_ZONES, XEN_NO_LIMIT_BITS,
  KERNEL_RESERVED_PAGES, XEN_LOW_BASE_MFN, DMA32_LIMIT_PFN, IOMMU_BASE, IOMMU_WINDOW_PAGES, DMA_MAPPING_ERROR,
  XEN_DMA_ERROR_CODE,
  DEV_BIT, VERSION_MASK, PRNG_GOLDEN, PERM_MUL_0, PERM_MUL_1, PERM_MUL_2, NUM_PAGES_TO_ALLOC, TTM_DMA_POOL_SMALL, MAX_TT_PAGES, TTM_NR_PAGE_ORDERS, TTM_MAX_PAGE_ORDER, TTM_GLOBAL_POOL_TYPES, TTM_SHRINK_TYPES,
  AGP_ENTRY_BYTES, AGP_ENTRIES_PER_PAGE, AGP_VALID, MAX_GATT_ENTRIES, DEBUG_ENTRY_CAPACITY, DEBUG_ENTRY_CAPACITY_MODERN, DEBUG_NARROW_SPAN, DEBUG_WIDE_LEVELS, IOMMU_NONE,
  IOMMU_PFN_MASK, IOMMU_READ_ONLY, IOMMU_IOTLB, IOMMU_HELD, IOVA_DEFAULT_FQ_SIZE, IOVA_RANGE_CACHE_MAX_SIZE, IOVA_MAG_SIZE,
  DMA_DEBUG_HASH_FN_SHIFT, DMA_DEBUG_HASH_SIZE, L1_CACHE_SHIFT, ACTIVE_CACHELINE_MAX_OVERLAP,
  POOL_ID_TTM, POOL_ID_XEN_AWARE, POOL_ID_DMA, POOL_ID_END,
  SWIOTLB_POSSIBLE_CPUS, SWIOTLB_MAX_AREAS, SWIOTLB_MAP_CPU,
  IO_TLB_MIN_SLABS, SWIOTLB_DYN_MAX_SLABS, IO_TLB_SLOT_STRUCT_BYTES, SWIOTLB_DYN_POOLS, MIN_ALIGN_MASK_MAX_BITS,
  CC_PRIVATE_TARGET, CC_PRIVATE_GATT, OP_DIR_BITS, OP_ATTR_SKIP_CPU_SYNC, OP_ATTR_AFTER_UNMAP, OP_SYNC_SG_NONE, OP_SYNC_SG_ALL, RECORDED_CLN_BIT, SYNC_CHECK_MAX,
} as const;
export const ENGINE_TYPES: Partial<Record<keyof typeof ENGINE_CONSTANTS, 'u32' | 'u64'>> = {
  IOMMU_BASE: 'u64', DMA_MAPPING_ERROR: 'u64', XEN_DMA_ERROR_CODE: 'u64', DEV_BIT: 'u32', VERSION_MASK: 'u32', PRNG_GOLDEN: 'u32', PERM_MUL_0: 'u32', PERM_MUL_1: 'u32', PERM_MUL_2: 'u32', AGP_VALID: 'u32',
  IOMMU_PFN_MASK: 'u32', IOMMU_READ_ONLY: 'u32', IOMMU_IOTLB: 'u32', IOMMU_HELD: 'u32', DEBUG_ENTRY_OP_MAX: 'u32',
};
