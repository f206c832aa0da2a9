// Who touches memory and how: the CPU through the kernel mapping (guest phys → p2m), a device
// through the driver's dma handle (bus → IOMMU), the GPU through decoded GART entries or, on an
// AGP bridge, GATT entries the chipset fetches itself. Models the paths in the RFC: the same page
// reached by different routes sees different frames once a bounce or a p2m sits between them,
// and the oracle is asked after every read.

import { PAGE_SHIFT, PAGE_SIZE, READER_CPU, READER_DEV, READER_GPU, DMA_MAPPING_ERROR,
  C_CPU_READS, C_CPU_WRITES, C_GPU_READS, C_GPU_WRITES, C_GPU_SKIPPED_PAGES, C_FAILED_MAP_PAGES } from '../abi';
import { slot_rec, rec_usable, rec_id } from '../layout';
import { count } from '../sim/counters';
import { next_stamp, write_page, MODE_PHYS, MODE_BUS, MODE_BUS_WRITE, MODE_NONE, MODE_MACH } from '../sim/stamps';
import { check_page, foreign_page } from '../sim/oracle';
import { agp_chipset_entry, agp_entry_valid, agp_entry_addr, is_agp } from '../drm/agp_gatt';
import { gart_pte, gart_pte_reaches, gart_pte_decode, owner_slot, owner_id, owner_pfn, owner_error, gart_page_failed } from '../drm/gart';
import { dma_error_addr } from '../dma/mapping';
import { iommu_iotlb_fill } from '../dma/iommu';
import { buf, b_pfn, dev_page_handle, page_handle_failed, cpu_page_handle } from './buffers';

/** One write op over buffer bytes [offset, offset + size) by the CPU (dev 0) or device (dev 1). */
export function buffer_write(b: usize, offset: i32, size: i32, dev: bool): void {
  const s = next_stamp(rec_id(b), dev ? 1 : 0);
  const end = offset + size;
  const err = dev ? dma_error_addr() : 0;
  for (let i = offset >> PAGE_SHIFT; i * PAGE_SIZE < end; i++) {
    const a = max(offset - i * PAGE_SIZE, 0);
    const e = min(end - i * PAGE_SIZE, PAGE_SIZE);
    const pfn = b_pfn(b) + i;
    if (dev) {
      const h = dev_page_handle(b, i, a);
      if (h != DMA_MAPPING_ERROR) iommu_iotlb_fill(h + <u64>a, e - a);
      if (page_handle_failed(b, i, err, a)) count(C_FAILED_MAP_PAGES); // D24
      write_page(s, pfn, h == DMA_MAPPING_ERROR ? MODE_NONE : MODE_BUS_WRITE, h, a, e);
    } else {
      write_page(s, pfn, MODE_PHYS, <u64>pfn << PAGE_SHIFT, a, e);
    }
  }
}

/** One read op over buffer bytes [offset, offset + size); returns the pages touched. */
function buffer_read(b: usize, offset: i32, size: i32, dev: bool): i32 {
  const end = offset + size;
  const err = dev ? dma_error_addr() : 0;
  let pages = 0;
  for (let i = offset >> PAGE_SHIFT; i * PAGE_SIZE < end; i++) {
    const a = max(offset - i * PAGE_SIZE, 0);
    const e = min(end - i * PAGE_SIZE, PAGE_SIZE);
    const pfn = b_pfn(b) + i;
    if (dev) {
      const h = dev_page_handle(b, i, a);
      if (h != DMA_MAPPING_ERROR) iommu_iotlb_fill(h + <u64>a, e - a);
      if (page_handle_failed(b, i, err, a)) count(C_FAILED_MAP_PAGES); // D24
      // The address the device was given for these bytes: their first byte's.
      check_page(READER_DEV, pfn, rec_id(b), h == DMA_MAPPING_ERROR ? MODE_NONE : MODE_BUS, h, a, e, h == DMA_MAPPING_ERROR ? h : h + <u64>a, -1, 0);
    } else {
      check_page(READER_CPU, pfn, rec_id(b), MODE_PHYS, <u64>pfn << PAGE_SHIFT, a, e, cpu_page_handle(b, i), -1, 0);
    }
    pages++;
  }
  return pages;
}

export function cpu_write(slot: i32, offset: i32, size: i32): void {
  buffer_write(buf(slot), offset, size, false);
  count(C_CPU_WRITES, pages_touched(offset, size));
}

export function cpu_read(slot: i32, offset: i32, size: i32): void {
  count(C_CPU_READS, buffer_read(buf(slot), offset, size, false));
}

// The device is the GPU: its accesses through the dma handle count as GPU pages (D17).
export function dev_write(slot: i32, offset: i32, size: i32): void {
  buffer_write(buf(slot), offset, size, true);
  count(C_GPU_WRITES, pages_touched(offset, size));
}

export function dev_read(slot: i32, offset: i32, size: i32): void {
  count(C_GPU_READS, buffer_read(buf(slot), offset, size, true));
}

/** A device access to a buffer that was never allocated: the pages were asked for, none moved (D22). */
export function dev_skipped(offset: i32, size: i32): void {
  count(C_GPU_SKIPPED_PAGES, pages_touched(offset, size));
}

@inline function pages_touched(offset: i32, size: i32): i32 {
  if (size <= 0) return 0;
  return ((offset + size - 1) >> PAGE_SHIFT) - (offset >> PAGE_SHIFT) + 1;
}

/** Is the GPU page owned by the live buffer or tt that bound it? */
@inline function owned(page: i32): bool {
  const slot = owner_slot(page);
  if (slot < 0) return false;
  const r = slot_rec(slot);
  return rec_usable(r) && rec_id(r) == owner_id(page);
}

// How the GPU reaches GPU page p: a GART PTE decoded into a bus address, or (AGP) the GATT entry
// the chipset fetches from machine memory, which is a machine address past any IOMMU.
@inline function gpu_entry(p: i32): u64 { return is_agp() ? agp_chipset_entry(p) : gart_pte(p); }
@inline function gpu_entry_valid(e: u64): bool { return is_agp() ? agp_entry_valid(e) : gart_pte_reaches(e); }
@inline function gpu_entry_addr(e: u64): u64 { return is_agp() ? agp_entry_addr(e) : gart_pte_decode(e); }
@inline function gpu_mode(e: u64): i32 { return !gpu_entry_valid(e) ? MODE_NONE : is_agp() ? MODE_MACH : MODE_BUS; }
/** A write's route: through an IOMMU it needs the IOVA's write permission. */
@inline function write_mode(mode: i32): i32 { return mode == MODE_BUS ? MODE_BUS_WRITE : mode; }

export function gpu_write(first: i32, pages: i32): void {
  const s0 = next_stamp(0, 1);
  let skipped = 0;
  let errors = 0; // pages bound from a failed map's address: reached, not moved (D24)
  for (let p = first; p < first + pages; p++) {
    if (gart_page_failed(p)) { skipped++; continue; }
    const e = gpu_entry(p);
    const mode = gpu_mode(e);
    if (mode == MODE_BUS) iommu_iotlb_fill(gpu_entry_addr(e), PAGE_SIZE);
    if (owned(p)) {
      if (owner_error(p)) errors++;
      const s = (s0 & 0xFFFF_FFFF) | (<u64>owner_id(p) << 32);
      write_page(s, owner_pfn(p), write_mode(mode), gpu_entry_addr(e), 0, PAGE_SIZE);
    } else {
      write_page(s0, -1, write_mode(mode), gpu_entry_addr(e), 0, PAGE_SIZE);
    }
  }
  count(C_GPU_WRITES, pages - skipped);
  count(C_GPU_SKIPPED_PAGES, skipped);
  count(C_FAILED_MAP_PAGES, errors);
}

export function gpu_read(first: i32, pages: i32): void {
  let skipped = 0;
  let errors = 0; // pages bound from a failed map's address: reached, not moved (D24)
  for (let p = first; p < first + pages; p++) {
    if (gart_page_failed(p)) { skipped++; continue; }
    const e = gpu_entry(p);
    const mode = gpu_mode(e);
    const addr = gpu_entry_addr(e);
    const dma = mode == MODE_NONE ? DMA_MAPPING_ERROR : addr; // −1: an invalid entry names no address (D15)
    if (mode == MODE_BUS) iommu_iotlb_fill(addr, PAGE_SIZE);
    if (owned(p)) {
      if (owner_error(p)) errors++;
      check_page(READER_GPU, owner_pfn(p), owner_id(p), mode, addr, 0, PAGE_SIZE, dma, p, e);
    } else {
      foreign_page(READER_GPU, mode, addr, dma, p, e);
    }
  }
  count(C_GPU_READS, pages - skipped);
  count(C_GPU_SKIPPED_PAGES, skipped);
  count(C_FAILED_MAP_PAGES, errors);
}
