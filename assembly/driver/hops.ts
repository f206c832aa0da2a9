// The first violation's hops, filled in right after the op that found it: the page's own machine
// frame, then what the address the reader used is (dma/mapping.ts dma_describe), or for a GPU on
// an AGP bridge, where the chipset read the GATT entry and where the CPU wrote the table.
// Different: asked once per run, after the op that found it.

import { PAGE_SHIFT, READER_GPU, VIA_GATT, DMA_MAPPING_ERROR, CC_PRIVATE_TARGET, CC_PRIVATE_GATT } from '../abi';
import { VIOLATION_PTR } from '../layout';
import { pfn_to_mfn, cc_private } from '../sim/translate';
import { violation_fresh, violation_explained, V_READER, V_PFN, V_DMA, V_GPU_PAGE, V_PAGE_MFN, V_VIA,
  V_SLOT, V_HOP_PFN, V_GATT_ENTRY_ADDR, V_GATT_TABLE_MFN, V_IOVA_UNMAP_OP, V_CC_PRIVATE, V_IOVA_READ_ONLY } from '../sim/oracle';
import { mfn_to_pfn } from '../xen/p2m';
import { dma_describe } from '../dma/mapping';
import { is_agp, gatt_exists, gatt_entry_addr, gatt_table_mfn } from '../drm/agp_gatt';

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
  // A confidential guest: is the frame the address leads to private (a bus address is the machine
  // address there, no IOMMU)?
  const dma = load<u64>(v, V_DMA);
  let priv: i64 = dma != DMA_MAPPING_ERROR && cc_private(dma >> PAGE_SHIFT) ? CC_PRIVATE_TARGET : 0;
  if (<i32>load<i64>(v, V_READER) == READER_GPU && is_agp()) {
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
}
