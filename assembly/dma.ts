// The DMA API dispatcher (kernel/dma/mapping.c over dma-direct, lib/swiotlb.c, swiotlb-xen and
// an IOMMU): one switch on the platform id, no indirect calls, as dma_map_ops' direct fast path.
// Different per era: 2010 swiotlb returns the overflow buffer when full and does not copy at a
// FROM_DEVICE map; modern returns DMA_MAPPING_ERROR and copies at every map.

import { PLATFORM_BARE_METAL, PLATFORM_SWIOTLB_FORCE, PLATFORM_XEN_PV, PLATFORM_IOMMU,
  KERNEL_MODERN, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL, DMA_MAPPING_ERROR,
  IO_TLB_OVERFLOW, PAGE_SHIFT, PAGE_MASK, PAGE_SIZE, IO_TLB_SHIFT, DEBUG_TYPE_SINGLE,
  C_MAPS, C_UNMAPS, C_MAPPING_ERRORS, C_BOUNCES, C_BOUNCE_BYTES, C_SWIOTLB_FULL,
  C_SWIOTLB_PANICS, C_SYNCS_FOR_CPU, C_SYNCS_FOR_DEVICE } from './abi';
import { platform, kernel_era, dma_mask } from './layout';
import { count } from './counters';
import { buf, b_pfn, set_mapping, kill_mapping, m_has, m_live, m_how, m_first, m_offset,
  m_size, m_dma, byte_handle, unmap_handle, MAP_DIRECT, MAP_BOUNCE, MAP_IOMMU, MAP_FAILED } from './buffers';
import { swiotlb_tbl_map_single, swiotlb_tbl_unmap_single, slot_bus, slot_phys, slot_orig,
  slot_size, overflow_bus, bus_to_slot } from './swiotlb';
import { xen_phys_to_bus, range_straddles_page_boundary } from './xen_swiotlb';
import { iommu_alloc, iommu_free_at, iova_of } from './iommu';
import { copy_phys } from './stamps';
import { debug_add, check_unmap, check_sync, debug_mapping_error } from './dma_debug';

/** dma_capable: the whole range sits under the device mask. */
@inline function dma_capable(addr: u64, size: i32): bool {
  const last = addr + <u64>size - 1;
  return last >= addr && last <= dma_mask;
}

@inline function copies_to_device(dir: i32): bool { return dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL; }
@inline function copies_to_cpu(dir: i32): bool { return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL; }

function bounce_copy(src: u64, dst: u64, n: i32): void {
  copy_phys(src, dst, n);
  count(C_BOUNCE_BYTES, n);
}

// How the last dma_map_phys reached the device: MAP_* plus the swiotlb run or IOVA entries.
let map_how: i32 = MAP_DIRECT;
let map_first: i32 = -1;
let map_count: i32 = 0;

/** swiotlb_map_page's slow path: take slots, copy in, or report the pool full per era. */
function swiotlb_bounce(phys: u64, size: i32, dir: i32): u64 {
  const index = swiotlb_tbl_map_single(phys, size);
  if (index < 0) {
    count(C_SWIOTLB_FULL);
    count(C_MAPPING_ERRORS);
    map_how = MAP_FAILED; map_first = -1; map_count = 0;
    if (kernel_era == KERNEL_MODERN) return DMA_MAPPING_ERROR;
    if (size > IO_TLB_OVERFLOW) count(C_SWIOTLB_PANICS);
    return overflow_bus();
  }
  count(C_BOUNCES);
  if (copies_to_device(dir) || kernel_era == KERNEL_MODERN) bounce_copy(phys, slot_phys(index), size);
  const dma = slot_bus(index);
  map_how = MAP_BOUNCE; map_first = index; map_count = (size + (1 << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT;
  debug_add(dma, size, dir, DEBUG_TYPE_SINGLE, false);
  return dma;
}

/**
 * dma_map_page for guest phys [phys, phys + size): the platform's dma_map_ops, one switch.
 * Returns the dma address (an era's error address when it failed; see map_failed()).
 */
export function dma_map_phys(phys: u64, size: i32, dir: i32): u64 {
  count(C_MAPS);
  let dma: u64 = phys;
  switch (platform) {
    case PLATFORM_BARE_METAL: {
      if (!dma_capable(dma, size)) return swiotlb_bounce(phys, size, dir);
      break;
    }
    case PLATFORM_SWIOTLB_FORCE: return swiotlb_bounce(phys, size, dir);
    case PLATFORM_XEN_PV: {
      dma = xen_phys_to_bus(phys);
      if (!dma_capable(dma, size) || range_straddles_page_boundary(phys, size)) return swiotlb_bounce(phys, size, dir);
      break;
    }
    case PLATFORM_IOMMU: {
      const npages = <i32>(((phys & PAGE_MASK) + <u64>size + PAGE_SIZE - 1) >> PAGE_SHIFT);
      const first = iommu_alloc(<i32>(phys >> PAGE_SHIFT), npages, true);
      if (first < 0) {
        count(C_MAPPING_ERRORS);
        map_how = MAP_FAILED; map_first = -1; map_count = 0;
        return DMA_MAPPING_ERROR;
      }
      dma = iova_of(first) | (phys & PAGE_MASK);
      map_how = MAP_IOMMU; map_first = first; map_count = npages;
      debug_add(dma, size, dir, DEBUG_TYPE_SINGLE, false);
      return dma;
    }
    default: break;
  }
  map_how = MAP_DIRECT; map_first = -1; map_count = 0;
  debug_add(dma, size, dir, DEBUG_TYPE_SINGLE, false);
  return dma;
}

@inline export function count_sync(to_cpu: bool): void { count(to_cpu ? C_SYNCS_FOR_CPU : C_SYNCS_FOR_DEVICE); }

/** Did the last dma_map_phys fail (what dma_mapping_error would say)? */
@inline export function map_failed(): bool { return map_how == MAP_FAILED; }

export function dma_map(slot: i32, dir: i32, offset: i32, size: i32): void {
  const b = buf(slot);
  const dma = dma_map_phys((<u64>b_pfn(b) << PAGE_SHIFT) + <u64>offset, size, dir);
  set_mapping(b, dma, offset, size, dir, map_how, map_first, map_count);
}

/** dma_unmap_page after the debug check: IOVA release, or bounce copy-back and slot release. */
export function dma_unmap_addr(dma: u64, size: i32, dir: i32): void {
  if (platform == PLATFORM_IOMMU) {
    iommu_free_at(dma);
  } else if (dma != DMA_MAPPING_ERROR) {
    const index = bus_to_slot(dma);
    if (index >= 0 && slot_size(index) > 0) {
      if (copies_to_cpu(dir)) bounce_copy(slot_phys(index), slot_orig(index), min(size, slot_size(index)));
      swiotlb_tbl_unmap_single(index);
    }
  }
}

export function dma_unmap(slot: i32, dir: i32, size: i32): void {
  const b = buf(slot);
  count(C_UNMAPS);
  const dma = unmap_handle(b);
  check_unmap(dma, size, dir, DEBUG_TYPE_SINGLE);
  dma_unmap_addr(dma, size, dir);
  kill_mapping(b);
}

/**
 * dma_sync_single_for_{cpu,device} of one whole page whose mapping (if `live`) sits at `dma`:
 * only a live bounce slot is copied; coherent or direct handles cost the call and nothing more.
 */
export function dma_sync_page(dma: u64, dir: i32, to_cpu: bool, live: bool): void {
  count_sync(to_cpu);
  check_sync(dma, PAGE_SIZE, dir, DEBUG_TYPE_SINGLE, to_cpu);
  if (!live || platform == PLATFORM_IOMMU || dma == DMA_MAPPING_ERROR) return;
  const index = bus_to_slot(dma);
  if (index < 0 || slot_size(index) <= 0) return;
  if (to_cpu) {
    if (copies_to_cpu(dir)) bounce_copy(slot_phys(index), slot_orig(index), PAGE_SIZE);
  } else if (copies_to_device(dir)) {
    bounce_copy(slot_orig(index), slot_phys(index), PAGE_SIZE);
  }
}

/** dma_sync_single_for_{cpu,device} on buffer bytes [offset, offset + size). */
export function dma_sync(slot: i32, dir: i32, offset: i32, size: i32, to_cpu: bool): void {
  const b = buf(slot);
  count(to_cpu ? C_SYNCS_FOR_CPU : C_SYNCS_FOR_DEVICE);
  check_sync(byte_handle(b, offset), size, dir, DEBUG_TYPE_SINGLE, to_cpu);
  if (!m_has(b) || !m_live(b) || m_how(b) != MAP_BOUNCE) return;
  const mo = m_offset(b);
  if (offset < mo || offset + size > mo + m_size(b)) return;
  const bounce = slot_phys(m_first(b)) + <u64>(offset - mo);
  const orig = slot_orig(m_first(b)) + <u64>(offset - mo);
  if (to_cpu) {
    if (copies_to_cpu(dir)) bounce_copy(bounce, orig, size);
  } else if (copies_to_device(dir)) {
    bounce_copy(orig, bounce, size);
  }
}

/** dma_mapping_error on the buffer's last mapping address, live or dead (D7). */
export function dma_mapping_error(slot: i32): void {
  const b = buf(slot);
  if (!m_has(b)) return;
  debug_mapping_error(m_dma(b));
}
