// From user options to the engine's MachineConfig, with every rule that makes a machine
// impossible checked here, so the engines never see one.
import {
  CC_SWIOTLB_MAX, CC_SWIOTLB_PERCENT, IO_TLB_DEFAULT_SIZE, MODERN_ONLY_PLATFORMS,
  IommuMode, DMA32_LIMIT_PFN, GartFamily, IO_TLB_OVERFLOW_PAGES, IO_TLB_SEGSIZE, KERNEL_RESERVED_PAGES, Kernel,
  type KernelName, type MachineConfig, MIN_ALIGN_MASK_MAX_BITS, PAGE_SIZE, Platform, type PlatformName, SWIOTLB_MAX_AREAS, UNIT_SIZE, XEN_LOW_BASE_MFN,
} from '../engine/abi.js';
import { UsageError, msg } from '../errors.js';
import { formatSize } from '../units.js';
import { type DeviceName, type Scenario, defaultIommuMode } from '../source/scenario.js';

export interface DeviceInfo {
  maskBits: number;
  gartFamily: number;
  what: string;
}

/** Radeon PCI/AGP and pre-NV50 nouveau are 32-bit; radeon PCIe and NV50 are 40-bit (docs/ENGINE.md §1). */
export const DEVICE_INFO: Record<DeviceName, DeviceInfo> = {
  r100: { maskBits: 32, gartFamily: GartFamily.r100, what: 'radeon r100 PCI GART, 32-bit DMA mask' },
  r600: { maskBits: 40, gartFamily: GartFamily.r600, what: 'radeon r600 PCIe GART, 40-bit DMA mask' },
  nv04: { maskBits: 32, gartFamily: GartFamily.nv04, what: 'nouveau nv04 ctxdma, 32-bit DMA mask' },
  nv50: { maskBits: 40, gartFamily: GartFamily.nv50, what: 'nouveau nv50 GART, 40-bit DMA mask' },
  agp: { maskBits: 32, gartFamily: GartFamily.agp, what: 'AGP chipset GATT, 32-bit' },
};

export const GART_PAGES = 1 << 20; // 4 GiB aperture
export const MAX_BUFFERS = 1 << 16;
const SEGMENT_BYTES = IO_TLB_SEGSIZE * UNIT_SIZE; // 256 KiB
const MIN_RAM = 256 * 2 ** 20;
const MAX_RAM = 256 * 2 ** 30; // pfns must fit in i32 with room
const MAX_HOST = 256 * 2 ** 30;

/** The sizes of the simulated machine, in bytes (`--ram`, `--host-ram`, `--xen-low-free`, `--swiotlb`). */
export interface MachineSizes {
  ram: number;
  hostRam: number;
  xenLowFree: number;
  swiotlb: number;
}

/** Everything a machine is built from: the scenario's platform, device, era, payload and seed, and the sizes. */
export type MachineOptions = Pick<Scenario, 'platform' | 'device' | 'kernel' | 'iommuMode' | 'swiotlbDynamic' | 'minAlignMask' | 'payloadBytes' | 'seed'> & MachineSizes;

/** The min_align_masks a machine takes: 0, and 2^k - 1 for k in 1..MIN_ALIGN_MASK_MAX_BITS (1 … 4095). */
export const MIN_ALIGN_MASKS: readonly number[] = [0, ...Array.from({ length: MIN_ALIGN_MASK_MAX_BITS }, (_, k) => 2 ** (k + 1) - 1)];
export const validMinAlignMask = (m: number): boolean => MIN_ALIGN_MASKS.includes(m);

function checkSize(opt: string, bytes: number, min: number, max: number, align: number, alignName: string): void {
  if (bytes < min || bytes > max) throw new UsageError(msg.sizeRange(opt, formatSize(bytes), formatSize(min), formatSize(max)));
  if (bytes % align !== 0) throw new UsageError(msg.sizeAlign(opt, formatSize(bytes), alignName));
}

/**
 * The swiotlb pool a kernel boots with for `--swiotlb BYTES`. 2010 (2.6.37 swiotlb_init_with_default_size):
 * as given. modern (6.12 swiotlb_init_remap → swiotlb_adjust_nareas → round_up_default_nslabs): at
 * least IO_TLB_SEGSIZE slots per area (SWIOTLB_MAX_AREAS areas), and a size that is not a power of
 * two rounded up to one — "SWIOTLB bounce buffer size roundup to …MB". The same path serves Xen
 * PV (its pool is remapped by xen_swiotlb_fixup inside swiotlb_init_remap).
 */
export function swiotlbPoolBytes(kernel: KernelName, bytes: number): number {
  if (kernel !== 'modern') return bytes;
  let nslabs = bytes / UNIT_SIZE;
  if (nslabs < IO_TLB_SEGSIZE * SWIOTLB_MAX_AREAS) nslabs = IO_TLB_SEGSIZE * SWIOTLB_MAX_AREAS;
  nslabs = 2 ** Math.ceil(Math.log2(nslabs));
  return nslabs * UNIT_SIZE;
}

/** Pages the fixed layout takes before the page allocator gets any (docs/ENGINE.md §1). */
export function reservedPages(swiotlbBytes: number): number {
  return KERNEL_RESERVED_PAGES + swiotlbBytes / PAGE_SIZE + IO_TLB_OVERFLOW_PAGES + 1;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * The swiotlb pool a confidential-computing guest boots with, in bytes (docs/ENGINE.md §16), Linux
 * 6.12: mem_encrypt_setup_arch (arch/x86/mm/mem_encrypt.c; SEV and TDX alike, both are
 * CC_ATTR_GUEST_MEM_ENCRYPT) takes 6 % of memblock_phys_mem_size() (RAM; integer division),
 * clamped to [IO_TLB_DEFAULT_SIZE, SZ_1G], and swiotlb_adjust_size (kernel/dma/swiotlb.c) applies
 * it only while default_nslabs is still the default: a swiotlb= of any other size wins, and one of
 * exactly 64 MiB cannot be told from the default, so it is adjusted too. swiotlb_adjust_size
 * aligns the size to IO_TLB_SIZE and the slot count to IO_TLB_SEGSIZE; swiotlb_init_remap then
 * calls swiotlb_adjust_nareas(num_possible_cpus()), whose round_up_default_nslabs makes the slot
 * count a power of two (at least IO_TLB_SEGSIZE per area). The pool is memblock_alloc_low memory,
 * below 4 GiB (x86 passes no SWIOTLB_ANY for SEV/TDX). Other platforms: `swiotlb`, rounded the
 * same way on modern (swiotlbPoolBytes), as given on 2010.
 */
export function bootSwiotlbBytes(platform: PlatformName, ram: number, swiotlb: number, kernel: KernelName = 'modern'): number {
  if (platform !== 'coco' || swiotlb !== IO_TLB_DEFAULT_SIZE) return swiotlbPoolBytes(kernel, swiotlb);
  const size = Math.min(Math.max(Math.floor((ram * CC_SWIOTLB_PERCENT) / 100), IO_TLB_DEFAULT_SIZE), CC_SWIOTLB_MAX);
  return swiotlbPoolBytes(kernel, alignUp(alignUp(size, UNIT_SIZE) / UNIT_SIZE, IO_TLB_SEGSIZE) * UNIT_SIZE);
}

/** The machine sizes a scenario boots with: its kernel's swiotlb pool (coco's adjustment, 6.12's rounding). */
export function bootSizes(platform: PlatformName, kernel: KernelName, sizes: MachineSizes): MachineSizes {
  return { ...sizes, swiotlb: bootSwiotlbBytes(platform, sizes.ram, sizes.swiotlb, kernel) };
}

export function machineConfig(o: MachineOptions): MachineConfig {
  const minAlign = o.minAlignMask ?? 0;
  if (!validMinAlignMask(minAlign)) throw new UsageError(`--min-align-mask: ${minAlign} is not a min_align_mask; valid: ${MIN_ALIGN_MASKS.join(', ')}`);
  if (minAlign !== 0 && o.kernel !== 'modern') throw new UsageError(`--min-align-mask: min_align_mask is Linux 5.12+, only with --kernel modern (not --kernel ${o.kernel})`);
  if (MODERN_ONLY_PLATFORMS.includes(o.platform) && o.kernel !== 'modern') {
    throw new UsageError(`--platform: ${o.platform} (a confidential-computing guest, Linux 6.12) needs --kernel modern; --kernel ${o.kernel} has no ${o.platform}`);
  }
  checkSize('ram', o.ram, MIN_RAM, MAX_RAM, 2 ** 21, '2M');
  checkSize('swiotlb', o.swiotlb, SEGMENT_BYTES, 1 << 30, SEGMENT_BYTES, '256K (one 128-slot segment)');
  o = { ...o, swiotlb: bootSwiotlbBytes(o.platform, o.ram, o.swiotlb, o.kernel) };
  const ramPages = o.ram / PAGE_SIZE;
  if (reservedPages(o.swiotlb) * 2 > Math.min(ramPages, DMA32_LIMIT_PFN)) {
    throw new UsageError(`--swiotlb: ${formatSize(o.swiotlb)} does not fit in half of the low memory of --ram ${formatSize(o.ram)}`);
  }
  let hostPages = ramPages;
  let xenLowPages = 0;
  if (o.platform === 'xen-pv') {
    checkSize('host-ram', o.hostRam, 4 * 2 ** 30 + MIN_RAM, MAX_HOST, 2 ** 21, '2M');
    hostPages = o.hostRam / PAGE_SIZE;
    if (hostPages - ramPages < DMA32_LIMIT_PFN) {
      throw new UsageError(`--host-ram: ${formatSize(o.hostRam)} must exceed --ram ${formatSize(o.ram)} by at least 4G (the guest's frames come from above 4 GiB)`);
    }
    // What the booted guest leaves Xen below 4 GiB (INTERFACE: the xen-swiotlb pool is already
    // carved out; the overflow buffer and dummy page are never exchanged). Xen's low range must
    // hold it and the pool, between 256 MiB and 4 GiB (docs/ENGINE.md §1).
    const lowMax = (DMA32_LIMIT_PFN - XEN_LOW_BASE_MFN) * PAGE_SIZE - o.swiotlb;
    if (o.xenLowFree < 0 || o.xenLowFree > lowMax) {
      throw new UsageError(`--xen-low-free: ${formatSize(o.xenLowFree)} is outside 0..${formatSize(lowMax)} (Xen's free memory below 4 GiB beside the ${formatSize(o.swiotlb)} xen-swiotlb pool)`);
    }
    checkSize('xen-low-free', o.xenLowFree, 0, lowMax, PAGE_SIZE, '4K');
    xenLowPages = o.xenLowFree / PAGE_SIZE;
  }
  if (o.payloadBytes > 0 && hostPages * 8 > 2 ** 31) {
    throw new UsageError('--payload-bytes: payload tracking is limited to machines of at most 1T');
  }
  const dev = DEVICE_INFO[o.device];
  return {
    platform: Platform[o.platform],
    maskBits: dev.maskBits,
    kernel: Kernel[o.kernel],
    ramPages,
    hostPages,
    xenLowPages,
    nslabs: o.swiotlb / UNIT_SIZE,
    payloadBytes: o.payloadBytes,
    seed: o.seed >>> 0,
    maxBuffers: MAX_BUFFERS,
    gartPages: GART_PAGES,
    gartFamily: dev.gartFamily,
    iommuMode: IommuMode[o.iommuMode ?? defaultIommuMode(o.kernel)],
    ...(o.swiotlbDynamic ? { swiotlbDynamic: 1 } : {}),
    ...(o.minAlignMask ? { minAlignMask: o.minAlignMask } : {}),
  };
}
