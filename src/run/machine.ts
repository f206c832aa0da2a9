// From user options to the engine's MachineConfig, with every rule that makes a machine
// impossible checked here, so the engines never see one.
import {
  IommuMode, DMA32_LIMIT_PFN, GartFamily, IO_TLB_OVERFLOW_PAGES, IO_TLB_SEGSIZE, KERNEL_RESERVED_PAGES, Kernel,
  type KernelName, type MachineConfig, PAGE_SIZE, Platform, type PlatformName, UNIT_SIZE, XEN_LOW_BASE_MFN,
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
export type MachineOptions = Pick<Scenario, 'platform' | 'device' | 'kernel' | 'iommuMode' | 'swiotlbDynamic' | 'payloadBytes' | 'seed'> & MachineSizes;

function checkSize(opt: string, bytes: number, min: number, max: number, align: number, alignName: string): void {
  if (bytes < min || bytes > max) throw new UsageError(msg.sizeRange(opt, formatSize(bytes), formatSize(min), formatSize(max)));
  if (bytes % align !== 0) throw new UsageError(msg.sizeAlign(opt, formatSize(bytes), alignName));
}

/** Pages the fixed layout takes before the page allocator gets any (docs/ENGINE.md §1). */
export function reservedPages(swiotlbBytes: number): number {
  return KERNEL_RESERVED_PAGES + swiotlbBytes / PAGE_SIZE + IO_TLB_OVERFLOW_PAGES + 1;
}

export function machineConfig(o: MachineOptions): MachineConfig {
  checkSize('ram', o.ram, MIN_RAM, MAX_RAM, 2 ** 21, '2M');
  checkSize('swiotlb', o.swiotlb, SEGMENT_BYTES, 1 << 30, SEGMENT_BYTES, '256K (one 128-slot segment)');
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
  };
}
