// How an address reaches machine memory: the CPU's guest-physical address through the p2m table
// (Xen PV; arch/x86/xen/mmu.c's pfn_to_mfn), a device's bus address through the IOMMU's table
// (an IOVA; arch/powerpc/kernel/iommu.c style), or as itself. Different: it reads the tables the
// layout made; who changes them (xen/p2m.ts, dma/iommu.ts) is above, and a machine without the
// table is the identity. Different, for speed only: a pfn whose p2m and sfn entries were never
// written (p2m_written: one bit per page of each table) is answered without reading them, from the
// boot placement, so pages of those tables are only ever written first (a fresh page read first
// maps the shared zero page, and its first write then flushes its TLB entry on every CPU the
// process runs on); and the boot placement is computed each time, not stored.
//
// Different, and the simulator's own: machine memory's contents (sim/stamps.ts) are kept in
// *frame store order*, not machine order. Under Xen the guest's frames are a permuted set of the
// host's highest ones, so in machine order every page the CPU touches would land somewhere random
// in a table of the whole host. The store puts the frame pfn p owned at boot at store frame number
// (sfn) p, and every other frame (Xen's, other domains') after the guest's, in machine order: a
// fixed permutation, chosen once at boot, that changes nothing anyone can observe. A pfn's sfn is
// a load from a table that stays the identity until the pfn is exchanged; a machine frame's sfn is
// its boot owner, the boot placement's inverse (sim/rand.ts perm_inverse), computed. Elsewhere the
// store is machine order.

import { PAGE_SHIFT, PAGE_MASK, IOMMU_BASE, IOMMU_WINDOW_PAGES, IOMMU_PFN_MASK, IOMMU_READ_ONLY } from '../abi';
import { has_p2m, has_iommu, p2m_ptr, sfn_ptr, p2m_written_ptr, P2M_BLOCK_PFNS, guest_base, iommu_ptr, ram_pages,
  host_pages, cc_guest, cc_shared_ptr, written_bit, set_written_bit } from '../layout';
import { perm_of, perm_inverse } from './rand';

@inline const WINDOW_BYTES: u64 = <u64>IOMMU_WINDOW_PAGES << PAGE_SHIFT;

/** The machine frame behind a guest page (identity without a p2m). */
@inline export function pfn_to_mfn(pfn: i32): i32 {
  if (!has_p2m) return pfn;
  assert(<u32>pfn < <u32>ram_pages, 'pfn out of range');
  // p2m entries hold mfn + 1; 0 = the boot placement (fresh memory)
  if (!p2m_written(pfn)) return boot_mfn(pfn);
  const v = load<i32>(p2m_ptr + (<usize>pfn << 2));
  return v != 0 ? v - 1 : boot_mfn(pfn);
}

/** The frame pfn got at boot. */
@inline function boot_mfn(pfn: i32): i32 { return guest_base + <i32>perm_of(<u32>pfn); }

/** The block of pfns one p2m_written bit covers. */
@inline function p2m_block(pfn: i32): i32 { return <i32>(<u32>pfn / <u32>P2M_BLOCK_PFNS); }

/** Were pfn's p2m or sfn entries, or a neighbour's on their table pages, ever written? */
@inline function p2m_written(pfn: i32): bool {
  return written_bit(p2m_written_ptr, p2m_block(pfn));
}

/** Says pfn's p2m and sfn entries are about to be written (xen/p2m.ts set_p2m, the one writer). */
export function mark_p2m_written(pfn: i32): void {
  assert(<u32>pfn < <u32>ram_pages, 'pfn out of range');
  set_written_bit(p2m_written_ptr, p2m_block(pfn));
}

/** The sfn of the machine frame behind a guest page (the table holds sfn + 1, 0 = the pfn itself). */
@inline export function pfn_to_sfn(pfn: i32): i32 {
  if (!has_p2m) return pfn;
  assert(<u32>pfn < <u32>ram_pages, 'pfn out of range');
  if (!p2m_written(pfn)) return pfn;
  const v = load<i32>(sfn_ptr + (<usize>pfn << 2));
  return v == 0 ? pfn : v - 1;
}

/** The sfn of machine frame `mfn` (< host_pages): its boot owner's pfn, or after the guest's. */
@inline export function mfn_to_sfn(mfn: i32): i32 {
  if (!has_p2m) return mfn;
  assert(<u32>mfn < <u32>host_pages, 'mfn out of range');
  if (mfn >= guest_base) return <i32>perm_inverse(<u32>(mfn - guest_base));
  return ram_pages + mfn;
}

/** The machine frame at store frame `sfn`: the frame its boot owner got, or after the guest's. */
export function sfn_to_mfn(sfn: i32): i32 {
  if (!has_p2m) return sfn;
  assert(<u32>sfn < <u32>host_pages, 'store frame out of range');
  if (sfn >= ram_pages) return sfn - ram_pages;
  return guest_base + <i32>perm_of(<u32>sfn);
}

/** Guest phys → store address (sfn << PAGE_SHIFT | offset), −1 outside RAM. */
@inline export function phys_to_store(phys: u64): i64 {
  const pfn = phys >> PAGE_SHIFT;
  if (pfn >= <u64>ram_pages) return -1;
  return <i64>((<u64>pfn_to_sfn(<i32>pfn) << PAGE_SHIFT) | (phys & PAGE_MASK));
}

/** Machine address → store address, −1 beyond the last frame. */
@inline export function machine_to_store(m: u64): i64 {
  if ((m >> PAGE_SHIFT) >= <u64>host_pages) return -1;
  return <i64>((<u64>mfn_to_sfn(<i32>(m >> PAGE_SHIFT)) << PAGE_SHIFT) | (m & PAGE_MASK));
}

/**
 * Is machine frame `mfn` private to a confidential guest (coco), out of every device's reach? The
 * guest's frames are its pfns there; mm/set_memory.ts keeps the bitmap of the shared ones.
 */
@inline export function cc_private(mfn: u64): bool {
  if (!cc_guest || mfn >= <u64>ram_pages) return false;
  return ((<i32>load<u8>(cc_shared_ptr + <usize>(mfn >> 3)) >> <i32>(mfn & 7)) & 1) == 0;
}

/** A device's machine address → store address: −1 beyond the last frame or at a private frame. */
@inline export function device_machine_to_store(m: u64): i64 {
  return cc_private(m >> PAGE_SHIFT) ? -1 : machine_to_store(m);
}

/** The IOVA entry a bus address falls in, or −1 outside the window. */
@inline export function iova_entry_of(bus: u64): i32 {
  if (bus < IOMMU_BASE || bus - IOMMU_BASE >= WINDOW_BYTES) return -1;
  return <i32>((bus - IOMMU_BASE) >> PAGE_SHIFT);
}

/** The page an IOVA entry maps, or −1 when it is empty or held by the flush queue without a translation. */
@inline export function iova_entry_pfn(entry: i32): i32 {
  // entries hold pfn + 1 under IOMMU_PFN_MASK (0 = no translation), the read-only bit and the IOTLB/held flag above it
  return <i32>(load<u32>(iommu_ptr + (<usize>entry << 2)) & IOMMU_PFN_MASK) - 1;
}

/** Bus address → store address, −1 when nothing answers (an IOMMU fault, beyond the last frame, a
 * confidential guest's private frame). */
export function bus_to_store(bus: u64): i64 {
  let m = bus;
  if (has_iommu) {
    const e = iova_entry_of(bus);
    if (e < 0) return -1;
    const pfn = iova_entry_pfn(e);
    if (pfn < 0) return -1;
    m = (<u64>pfn << PAGE_SHIFT) | (bus & PAGE_MASK);
  }
  return device_machine_to_store(m);
}

/** Is IOVA entry `e` read-only (a to_device map: IOMMU_READ_ONLY)? */
@inline export function iova_read_only(e: i32): bool { return (load<u32>(iommu_ptr + (<usize>e << 2)) & IOMMU_READ_ONLY) != 0; }

/** bus_to_store for a device write: a read-only IOVA (a to_device map) faults. Kept apart so
 * that the read path stays as it was. */
export function bus_to_store_write(bus: u64): i64 {
  if (has_iommu) {
    const e = iova_entry_of(bus);
    if (e >= 0 && iova_read_only(e)) return -1;
  }
  return bus_to_store(bus);
}
