// What the address a reader used is, hop by hop, for the first violation's explanation: the
// swiotlb slot (is_swiotlb_buffer after bus → machine → pseudo-physical, as xen_bus_to_phys goes),
// the 2010 overflow buffer, an IOVA, a GATT entry, or a plain machine frame and whose it is.
// Different: asked once per run (the first violation only), so it may scan where the hot path may not.

import { PAGE_SHIFT, PLATFORM_IOMMU, IOMMU_BASE, IOMMU_WINDOW_PAGES, IO_TLB_OVERFLOW, DMA_MAPPING_ERROR,
  READER_GPU, VIA_NONE, VIA_DIRECT, VIA_SWIOTLB, VIA_OVERFLOW, VIA_IOMMU, VIA_GATT } from './abi';
import { platform, iommu_ptr } from './layout';
import { bus_to_slot, overflow_bus, slot_in_use, slot_orig } from './swiotlb';
import { pfn_to_mfn, mfn_to_pfn } from './p2m';
import { is_agp, gatt_exists, gatt_entry_addr, gatt_table_mfn } from './agp_gatt';

// Violation words 14..19 (src/engine/abi.ts VIOLATION_FIELDS).
@inline const W_PAGE_MFN: i32 = 14 * 8;
@inline const W_VIA: i32 = 15 * 8;
@inline const W_SLOT: i32 = 16 * 8;
@inline const W_HOP_PFN: i32 = 17 * 8;
@inline const W_GATT_ENTRY_ADDR: i32 = 18 * 8;
@inline const W_GATT_TABLE_MFN: i32 = 19 * 8;

function store_hop(v: usize, via: i32, slot: i64, hop_pfn: i64): void {
  store<i64>(v, via, W_VIA);
  store<i64>(v, slot, W_SLOT);
  store<i64>(v, hop_pfn, W_HOP_PFN);
}

/** Fills the hop words of the violation record at `v` for a read of `pfn` through `dma`. */
export function record_hops(v: usize, reader: i32, pfn: i32, dma: u64, gpu_page: i64): void {
  store<i64>(v, pfn >= 0 ? <i64>pfn_to_mfn(pfn) : -1, W_PAGE_MFN);
  store<i64>(v, -1, W_GATT_ENTRY_ADDR);
  store<i64>(v, -1, W_GATT_TABLE_MFN);
  if (reader == READER_GPU && is_agp()) {
    if (!gatt_exists()) { store_hop(v, VIA_GATT, -1, -1); return; }
    const at = gatt_entry_addr(<i32>gpu_page);
    store<i64>(v, <i64>at, W_GATT_ENTRY_ADDR);
    store<i64>(v, gatt_table_mfn(<i32>gpu_page), W_GATT_TABLE_MFN);
    store_hop(v, VIA_GATT, -1, mfn_to_pfn(<i64>(at >> PAGE_SHIFT)));
    return;
  }
  if (dma == DMA_MAPPING_ERROR) { store_hop(v, VIA_NONE, -1, -1); return; }
  if (platform == PLATFORM_IOMMU) {
    let page: i64 = -1;
    if (dma >= IOMMU_BASE && dma - IOMMU_BASE < (<u64>IOMMU_WINDOW_PAGES << PAGE_SHIFT)) {
      page = <i64>load<u32>(iommu_ptr + (<usize>((dma - IOMMU_BASE) >> PAGE_SHIFT) << 2)) - 1;
    }
    store_hop(v, VIA_IOMMU, -1, page);
    return;
  }
  const slot = bus_to_slot(dma);
  if (slot >= 0) { store_hop(v, VIA_SWIOTLB, slot, slot_in_use(slot) ? <i64>(slot_orig(slot) >> PAGE_SHIFT) : -1); return; }
  const ovf = overflow_bus();
  if (dma >= ovf && dma - ovf < <u64>IO_TLB_OVERFLOW) { store_hop(v, VIA_OVERFLOW, -1, -1); return; }
  store_hop(v, VIA_DIRECT, -1, mfn_to_pfn(<i64>(dma >> PAGE_SHIFT)));
}
