// The boundary between the harness and both engines: op codes, enums, counter order and record
// layouts. `assembly/abi.ts` mirrors these numbers; test/abi.test.ts keeps the two equal.
// Semantics: docs/ENGINE.md.

/** Every op is OP_WORDS consecutive i32 words: [code, a, b, c, d, e, 0, 0]. */
export const OP_WORDS = 8;

export const Op = {
  ALLOC: 1, // slot, pages, zone
  FREE: 2, // slot
  ALLOC_COHERENT: 3, // slot, pages
  FREE_COHERENT: 4, // slot
  EXCHANGE: 5, // slot, addressBits
  MAP: 6, // slot, dir, offset, size
  MAPPING_ERROR: 7, // slot
  SYNC_FOR_DEVICE: 8, // slot, dir, offset, size
  SYNC_FOR_CPU: 9, // slot, dir, offset, size
  UNMAP: 10, // slot, dir, size
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
  TT_SYNC: 24, // slot, toCpu
  GATT_CREATE: 25, // entries, mode
} as const;

/** TT_POPULATE pool kinds. */
export const Pool = { ttm: 0, ttmDma: 1, xenAware: 2, agp: 3, agpCoherent: 4, agpFsb: 5 } as const;
/** TTM caching states. */
export const Caching = { cached: 0, wc: 1, uc: 2 } as const;
/** TT_BIND address modes: map each page / use the coherent handles / (agp) machine addresses. */
export const BindMode = { map: 0, coherent: 1, fsb: 2 } as const;
/** GATT_CREATE table modes. */
export const GattMode = { phys: 0, dmaCoherent: 1, fsbHooks: 2 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const Platform = { 'bare-metal': 0, 'swiotlb-force': 1, 'xen-pv': 2, iommu: 3 } as const;
export type PlatformName = keyof typeof Platform;
export const PLATFORMS = Object.keys(Platform) as PlatformName[];

export const Kernel = { '2010': 0, modern: 1 } as const;
export type KernelName = keyof typeof Kernel;
export const KERNELS = Object.keys(Kernel) as KernelName[];

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
export const DebugType = { single: 0, coherent: 1 } as const;

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
] as const;
export type CounterName = (typeof COUNTERS)[number];
export const COUNTER_INDEX = Object.fromEntries(COUNTERS.map((n, i) => [n, i])) as Record<CounterName, number>;
/** The counters gartbench.result/1 lists, in its order. */
export const RESULT_COUNTERS = COUNTERS.slice(0, COUNTERS.indexOf('dmaDebugErrors') + 1) as CounterName[];

/** DMA-API debug classes, in INTERFACE.md's order; the index is the class id. */
export const DEBUG_CLASSES = [
  'unmap-unknown', 'unmap-size', 'unmap-direction', 'unmap-wrong-function', 'map-error-unchecked',
  'sync-unknown', 'sync-outside', 'sync-direction', 'sync-cpu-readonly', 'sync-device-writeonly',
  'leak',
] as const;
export type DebugClass = (typeof DEBUG_CLASSES)[number];
export const MAX_DEBUG_RECORDS = 100;

/**
 * A debug record is DEBUG_WORDS i64 words:
 * [class, op, dmaAddr, size, entryDir, refDir, entryType, refType, count, entrySize]
 * Missing values are -1.
 */
export const DEBUG_WORDS = 10;

/**
 * The first violation is VIOLATION_WORDS i64 words:
 * [kind, op, reader, pfn, mfn, dmaAddr, gpuPage, pte, unit, seenHi, seenLo, expHi, expLo, bufId]
 * dmaAddr and pte are u64 bit patterns (DMA_MAPPING_ERROR is -1 as i64). Missing values are -1.
 */
export const VIOLATION_WORDS = 14;

/** Engine init failures (return codes of init). */
export const InitError = {
  OK: 0,
  TOO_LARGE: 1, // memory needed exceeds the engine's limit
  XEN_LOW: 2, // Xen's low reserve cannot hold the xen-swiotlb pool
  LAYOUT: 3, // RAM too small for the fixed layout (kernel, pool, overflow, dummy)
} as const;

// Shared constants (kernel values).
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const IO_TLB_SHIFT = 11;
export const UNIT_SIZE = 1 << IO_TLB_SHIFT;
export const UNITS_PER_PAGE = PAGE_SIZE / UNIT_SIZE;
export const IO_TLB_SEGSIZE = 128;
export const IO_TLB_OVERFLOW_PAGES = 8; // 32 KiB
export const MAX_ORDER = 11; // orders 0..MAX_ORDER-1
export const MAX_ALLOC_PAGES = 1 << (MAX_ORDER - 1);
export const MAX_BO_PAGES = 1 << 18; // a BO's byte size must fit the op stream's i32 fields
export const XEN_MAX_EXCHANGE_ORDER = 9;
export const KERNEL_RESERVED_PAGES = 4096; // 16 MiB
export const XEN_LOW_BASE_MFN = 65536; // 256 MiB
export const DMA32_LIMIT_PFN = 1 << 20; // 4 GiB
export const IOMMU_BASE = 0x8000_0000;
export const IOMMU_WINDOW_PAGES = 1 << 19; // 2 GiB

/** Machine configuration, in the order init() takes its arguments. */
export interface MachineConfig {
  platform: number;
  maskBits: number;
  kernel: number;
  ramPages: number;
  hostPages: number;
  xenLowPages: number;
  nslabs: number;
  payloadBytes: number;
  seed: number;
  maxBuffers: number;
  gartPages: number;
  /** GART PTE family: 0 r100, 1 r600, 2 nv04, 3 nv50, 4 agp GATT (docs/ENGINE.md §12). */
  gartFamily: number;
}

export const GartFamily = { r100: 0, r600: 1, nv04: 2, nv50: 3, agp: 4 } as const;
