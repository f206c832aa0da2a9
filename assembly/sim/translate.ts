// How an address reaches machine memory: the CPU's guest-physical address through the p2m table
// (Xen PV; arch/x86/xen/mmu.c's pfn_to_mfn), a device's bus address through the IOMMU's table
// (an IOVA; arch/powerpc/kernel/iommu.c style), or as itself. Different: it only reads the tables
// the layout made; who fills them (xen/p2m.ts, dma/iommu.ts) is above, and a machine without
// the table is the identity.

import { PAGE_SHIFT, PAGE_MASK, IOMMU_BASE, IOMMU_WINDOW_PAGES } from '../abi';
import { has_p2m, has_iommu, p2m_ptr, iommu_ptr, ram_pages, host_pages } from '../layout';

@inline const WINDOW_BYTES: u64 = <u64>IOMMU_WINDOW_PAGES << PAGE_SHIFT;

/** The machine frame behind a guest page (identity without a p2m). */
@inline export function pfn_to_mfn(pfn: i32): i32 {
  if (!has_p2m) return pfn;
  assert(<u32>pfn < <u32>ram_pages, 'pfn out of range');
  return load<i32>(p2m_ptr + (<usize>pfn << 2));
}

/** Guest phys → machine address, −1 outside RAM. */
@inline export function phys_to_machine(phys: u64): i64 {
  const pfn = phys >> PAGE_SHIFT;
  if (pfn >= <u64>ram_pages) return -1;
  return <i64>((<u64>pfn_to_mfn(<i32>pfn) << PAGE_SHIFT) | (phys & PAGE_MASK));
}

/** The IOVA entry a bus address falls in, or −1 outside the window. */
@inline export function iova_entry_of(bus: u64): i32 {
  if (bus < IOMMU_BASE || bus - IOMMU_BASE >= WINDOW_BYTES) return -1;
  return <i32>((bus - IOMMU_BASE) >> PAGE_SHIFT);
}

/** The page an IOVA entry maps, or −1 when it is empty. */
@inline export function iova_entry_pfn(entry: i32): i32 {
  return <i32>load<u32>(iommu_ptr + (<usize>entry << 2)) - 1; // entries hold pfn + 1, IOMMU_NONE = empty
}

/** Bus address → machine address, −1 when nothing answers (an IOMMU fault, beyond the last frame). */
export function bus_to_machine(bus: u64): i64 {
  let m: i64 = <i64>bus;
  if (has_iommu) {
    const e = iova_entry_of(bus);
    if (e < 0) return -1;
    const pfn = iova_entry_pfn(e);
    if (pfn < 0) return -1;
    m = <i64>((<u64>pfn << PAGE_SHIFT) | (bus & PAGE_MASK));
  }
  if ((<u64>m >> PAGE_SHIFT) >= <u64>host_pages) return -1;
  return m;
}
