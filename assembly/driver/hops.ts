// The first violation's hops, filled in right after the op that found it: the page's own machine
// frame, then what the address the reader used is (dma/mapping.ts dma_describe), or for a GPU on
// an AGP bridge, where the chipset read the GATT entry and where the CPU wrote the table. A CPU
// read of a page the GATT maps gets the GPU's route to it: on AGP that route, not a dma handle,
// is where the GPU's writes went. Different: asked once per run, after the op that found it.

import { PAGE_SHIFT, READER_GPU, READER_CPU, VIA_GATT, DMA_MAPPING_ERROR, CC_PRIVATE_TARGET, CC_PRIVATE_GATT } from '../abi';
import { VIOLATION_PTR, gart_pages, dummy_pfn } from '../layout';
import { pfn_to_mfn, cc_private } from '../sim/translate';
import { violation_fresh, violation_explained, V_READER, V_PFN, V_DMA, V_GPU_PAGE, V_PAGE_MFN, V_VIA,
  V_SLOT, V_HOP_PFN, V_GATT_ENTRY_ADDR, V_GATT_TABLE_MFN, V_IOVA_UNMAP_OP, V_CC_PRIVATE, V_IOVA_READ_ONLY, V_PTE,
  V_BUF_ID, V_FAILED_MAP, V_HOP_DUMMY } from '../sim/oracle';
import { mfn_to_pfn } from '../xen/p2m';
import { dma_describe } from '../dma/mapping';
import { is_agp, gatt_exists, gatt_entry_addr, gatt_table_mfn, agp_chipset_entry, agp_entry_valid,
  agp_entry_addr } from '../drm/agp_gatt';
import { owner_id, owner_pfn, owner_error, owner_no_entry, gart_has_dummy } from '../drm/gart';

/** The GPU page the GATT maps buffer `id`'s page `pfn` at (its first), or −1. */
function gatt_page_of(id: i32, pfn: i32): i32 {
  for (let j = 0; j < gart_pages; j++) if (owner_id(j) == id && owner_pfn(j) == pfn) return j;
  return -1;
}

/** After an op: if it recorded the first violation, fill in its hops. */
export function explain_violation(): void {
  if (!violation_fresh()) return;
  violation_explained();
  const v = VIOLATION_PTR;
  const pfn = <i32>load<i64>(v, V_PFN);
  store<i64>(v, pfn >= 0 ? <i64>pfn_to_mfn(pfn) : -1, V_PAGE_MFN);
  store<i64>(v, -1, V_GATT_ENTRY_ADDR);
  store<i64>(v, -1, V_GATT_TABLE_MFN);
  store<i64>(v, -1, V_IOVA_UNMAP_OP);
  store<i64>(v, 0, V_IOVA_READ_ONLY);
  const reader = <i32>load<i64>(v, V_READER);
  // A GPU read whose GART or GATT entry rests on a failed map (D24), as the owner knows: 1 the entry
  // holds the error value the map returned (on AGP, a replay's gart_bind put it there), 2 the bind
  // wrote no entry (a 2.6.37 nouveau populate's map failed).
  const gpu_page = <i32>load<i64>(v, V_GPU_PAGE);
  const failed = reader == READER_GPU && gpu_page >= 0 && gpu_page < gart_pages && owner_error(gpu_page);
  store<i64>(v, !failed ? 0 : owner_no_entry(gpu_page) ? 2 : 1, V_FAILED_MAP);
  // The CPU read a page the GATT maps: what a GPU access to it finds now (the entry, its address).
  const cpu_page = reader == READER_CPU && is_agp() && gatt_exists() && pfn >= 0
    ? gatt_page_of(<i32>load<i64>(v, V_BUF_ID), pfn) : -1;
  if (cpu_page >= 0) {
    const e = agp_chipset_entry(cpu_page);
    store<i64>(v, cpu_page, V_GPU_PAGE);
    store<u64>(v, e, V_PTE);
    store<u64>(v, agp_entry_valid(e) ? agp_entry_addr(e) : DMA_MAPPING_ERROR, V_DMA);
  }
  // A confidential guest: is the frame the address leads to private (a bus address is the machine
  // address there, no IOMMU)?
  const dma = load<u64>(v, V_DMA);
  let priv: i64 = dma != DMA_MAPPING_ERROR && cc_private(dma >> PAGE_SHIFT) ? CC_PRIVATE_TARGET : 0;
  if ((reader == READER_GPU || cpu_page >= 0) && is_agp()) {
    store<i64>(v, VIA_GATT, V_VIA);
    store<i64>(v, -1, V_SLOT);
    store<i64>(v, -1, V_HOP_PFN);
    if (gatt_exists()) {
      const j = <i32>load<i64>(v, V_GPU_PAGE);
      const at = gatt_entry_addr(j);
      store<i64>(v, <i64>at, V_GATT_ENTRY_ADDR);
      store<i64>(v, gatt_table_mfn(j), V_GATT_TABLE_MFN);
      store<i64>(v, mfn_to_pfn(<i64>(at >> PAGE_SHIFT)), V_HOP_PFN);
      if (cc_private(at >> PAGE_SHIFT)) priv |= CC_PRIVATE_GATT;
    }
  } else {
    dma_describe(dma, v);
  }
  store<i64>(v, priv, V_CC_PRIVATE);
  // The page behind the address is the one the driver mapped at device init for the GART.
  store<i64>(v, gart_has_dummy() && load<i64>(v, V_VIA) != VIA_GATT && load<i64>(v, V_HOP_PFN) == <i64>dummy_pfn ? 1 : 0, V_HOP_DUMMY);
}
