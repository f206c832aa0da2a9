// GART page tables of 2010 GPUs: drivers/gpu/drm/radeon/r100.c (PCI GART), r600.c (PCIe GART)
// and nouveau_sgdma.c (nv04 and nv50 DMA objects). The GPU never sees the offset inside a page
// and never checks a mask: what the PTE format cannot hold is silently lost (r100 keeps 32 bits).

import { GART_R100, GART_R600, GART_NV04, GART_NV50, GART_AGP, KERNEL_MODERN, C_GART_WRITES, C_TLB_FLUSHES } from '../abi';
import { gart_family, kernel_era, gart_pte_ptr, gart_owner_ptr, gart_pages, GART_OWNER_BYTES, dummy_pfn } from '../layout';
import { count } from '../sim/counters';
import { dma_map_boot_page } from '../dma/mapping';

// r100 PCI GART entry (u32, no flags: every entry is "valid"):
//   31                    12 11          0
//  |   address[31:12]        | address[11:0] (kept, ignored on decode) |
//
// r600 PCIe GART entry (u64):
//   63                  12 11   7  6  5  4 3  2  1  0
//  |   address[63:12]      | 0  | W| R| 0  | S| Y| V|     V valid, Y system, S snooped, R/W access
// 2.6.37's r600_gart_set_page writes 0x67 for every entry. 6.12 builds it from flags
// (rs600_gart_get_page_entry): radeon_ttm_backend_bind asks for the snoop bit only for a cached tt,
// and the dummy entry (RADEON_GART_PAGE_DUMMY, no flags) is the system bit alone, not valid.
@inline const R600_FLAGS: u64 = 0x67;
@inline const R600_SYSTEM: u64 = 0x2;
@inline const R600_SNOOPED: u64 = 0x4;
//
// nv04 DMA object entry (u32):
//   31                    12 11     2  1  0
//  |   address[31:12]        | addr  | 1| V|     (low 32 bits of the address | 3)
@inline const NV04_FLAGS: u64 = 3;
//
// nv50 entry (two u32 words, stored as one u64 = high << 32 | low):
//   high: 31      8 7        0     low: 31               12 11   6 5  4   1 0
//        |   0     | addr[39:32]|        |  address[31:12]   | addr | 1| addr| V|
@inline const NV50_FLAGS: u64 = 0x21;
@inline const LOW32: u64 = 0xFFFF_FFFF;
@inline const PAGE_BITS32: u64 = 0xFFFF_F000;
@inline const PAGE_BITS64: u64 = ~(<u64>0xFFF);

let dummy_bus: u64 = 0;

/** A bound entry for bus address `addr`; `snoop`: the tt is cached (6.12 r600 leaves the snoop bit
 * off otherwise). */
export function gart_pte_encode(addr: u64, snoop: bool = true): u64 {
  switch (gart_family) {
    case GART_R100: return addr & LOW32;
    case GART_R600: return (addr & PAGE_BITS64) | (snoop || kernel_era != KERNEL_MODERN ? R600_FLAGS : R600_FLAGS & ~R600_SNOOPED);
    case GART_NV04: return (addr & LOW32) | NV04_FLAGS;
    case GART_AGP: return (addr & PAGE_BITS32) | 1; // a GATT entry (agp_gatt.ts)
    default: return (((addr >> 32) & 0xFF) << 32) | ((addr & LOW32) | NV50_FLAGS);
  }
}

@inline export function gart_pte_valid(pte: u64): bool {
  return gart_family == GART_R100 || (pte & 1) != 0;
}

/**
 * Does the GPU's access through this entry reach its address? A valid one does; so does an r600
 * entry without the valid bit, which only 6.12's dummy entry is: it holds the dummy page's address,
 * the one r600_pcie_gart_enable also gives VM_CONTEXT0_PROTECTION_FAULT_DEFAULT_ADDR, so whether
 * the access takes the entry's address or faults to the default, it lands on the dummy page.
 */
@inline export function gart_pte_reaches(pte: u64): bool {
  return gart_pte_valid(pte) || gart_family == GART_R600;
}

export function gart_pte_decode(pte: u64): u64 {
  switch (gart_family) {
    case GART_R100: return pte & PAGE_BITS32;
    case GART_R600: return pte & PAGE_BITS64;
    case GART_NV04: return pte & PAGE_BITS32;
    case GART_AGP: return pte & PAGE_BITS32;
    default: return (((pte >> 32) & 0xFF) << 32) | (pte & PAGE_BITS32);
  }
}

// Who each GPU page belongs to (GART_OWNER_BYTES): the slot, the id of the buffer or tt that was
// bound there, and the guest page behind it. The GPU never reads this: the oracle does.
// Different: both tables are stored so that zero is the state gart_init leaves (a PTE as its
// difference from the dummy entry, slot and pfn plus one), so a 4 GiB aperture costs nothing
// until a page is bound.
@inline const O_SLOT: i32 = 0;
@inline const O_ID: i32 = O_SLOT + 4;
@inline const O_PFN: i32 = O_ID + 4;
@inline const O_ERROR: u32 = 0x8000_0000; // in the pfn word: bound from a failed map's address (D24)
@inline const O_NO_ENTRY: u32 = 0x4000_0000; // in the pfn word: the bind wrote no entry, its populate's map failed (D24)

@inline function pte_at(page: i32): usize {
  assert(<u32>page < <u32>gart_pages, 'GPU page out of range');
  return gart_pte_ptr + (<usize>page << 3);
}
@inline export function gart_pte(page: i32): u64 { return load<u64>(pte_at(page)) ^ dummy_pte(); }
@inline function set_pte(page: i32, pte: u64): void { wrote(page); store<u64>(pte_at(page), pte ^ dummy_pte()); }
/** One past the highest GPU page whose entry or owner was ever set: scrub (index.ts) zeroes both
 * tables up to it. Different, for speed only. */
export let gart_high: i32 = 0;
@inline function wrote(page: i32): void { if (page >= gart_high) gart_high = page + 1; }
@inline function owner_at(page: i32): usize {
  assert(<u32>page < <u32>gart_pages, 'GPU page out of range');
  return gart_owner_ptr + <usize>(page * GART_OWNER_BYTES);
}
@inline export function owner_slot(page: i32): i32 { return load<i32>(owner_at(page), O_SLOT) - 1; }
@inline export function owner_id(page: i32): i32 { return load<i32>(owner_at(page), O_ID); }
@inline export function owner_pfn(page: i32): i32 { return <i32>(load<u32>(owner_at(page), O_PFN) & ~(O_ERROR | O_NO_ENTRY)) - 1; }
/** Did the page's bind rest on a failed map (D24): bound from the address it returned, or (2.6.37
 * nouveau) no entry written at all? */
@inline export function owner_error(page: i32): bool { return (load<u32>(owner_at(page), O_PFN) & (O_ERROR | O_NO_ENTRY)) != 0; }
/** The second of those: the entry is what it was before the bind. */
@inline export function owner_no_entry(page: i32): bool { return (load<u32>(owner_at(page), O_PFN) & O_NO_ENTRY) != 0; }

/** Owner slot of a page whose TT_BIND failed: GPU work aimed at it is never submitted. */
@inline export const OWNER_FAILED: i32 = -2;
@inline export function gart_page_failed(page: i32): bool { return owner_slot(page) == OWNER_FAILED; }

/** `error`: bound from a failed map's address; `no_entry`: its populate's map failed, no entry written. */
export function gart_set_owner(page: i32, slot: i32, id: i32, pfn: i32, error: bool = false, no_entry: bool = false): void {
  const o = owner_at(page);
  wrote(page);
  store<i32>(o, slot + 1, O_SLOT); store<i32>(o, id, O_ID); store<u32>(o, <u32>(pfn + 1) | (error ? O_ERROR : 0) | (no_entry ? O_NO_ENTRY : 0), O_PFN);
}

export function gart_clear_owner(page: i32): void { gart_set_owner(page, -1, 0, -1); }

/** A failed bind leaves the entries as they were but the range unusable (ENGINE.md §11). */
export function gart_mark_failed(first: i32, pages: i32): void {
  for (let p = first; p < first + pages; p++) {
    if (<u32>p >= <u32>gart_pages) break;
    gart_set_owner(p, OWNER_FAILED, 0, -1);
  }
}

/** The dummy entry unbound pages point at (nv50 leaves them invalid instead); fixed at gart_init. */
let dummy_entry: u64 = 0;
@inline function dummy_pte(): u64 { return dummy_entry; }

/**
 * radeon_dummy_page_init / nouveau_sgdma_init + gart init: the dummy page is DMA-mapped once and
 * every entry points at it. An AGP bridge has no dummy mapping (its scratch entry is 0). 6.12
 * nouveau has no sgdma dummy page: nv04's VMM starts with zeroed entries and nv04_vmm_pgt_unmap
 * writes 0 (not present), with nothing mapped; nv50's fb maps a sysmem flush page at init
 * (nvkm_fb_ctor: nv50_fb_sysmem_flush_page_init), which this boot mapping stands for, its entries
 * invalid as in 2.6.37.
 */
/** Did device init map a dummy page (every family but AGP and 6.12 nv04)? */
export function gart_has_dummy(): bool {
  return !(gart_family == GART_AGP || (gart_family == GART_NV04 && kernel_era == KERNEL_MODERN));
}

export function gart_init(): void {
  const none = !gart_has_dummy();
  dummy_bus = none ? 0 : dma_map_boot_page(dummy_pfn);
  dummy_entry = gart_family == GART_NV50 || none ? 0
    : gart_family == GART_R600 && kernel_era == KERNEL_MODERN ? (dummy_bus & PAGE_BITS64) | R600_SYSTEM // RADEON_GART_PAGE_DUMMY
    : gart_pte_encode(dummy_bus);
  // Every entry now points at the dummy page and has no owner: zero in both tables (above).
}

export function gart_set(page: i32, addr: u64, slot: i32, id: i32, pfn: i32, error: bool = false, snoop: bool = true): void {
  set_pte(page, gart_pte_encode(addr, snoop));
  gart_set_owner(page, slot, id, pfn, error);
  count(C_GART_WRITES);
}

/** The entries of [first, first + pages) back to the dummy entry, owners cleared; no flush. */
export function gart_unbind_entries(first: i32, pages: i32): void {
  for (let p = first; p < first + pages; p++) {
    store<u64>(pte_at(p), 0); // the dummy entry
    gart_clear_owner(p);
  }
  count(C_GART_WRITES, pages);
}

/**
 * The TLB flushes one GART bind or unbind gives the hardware (ENGINE.md §10), 2.6.37:
 * - r100: radeon_gart_bind/radeon_gart_unbind end with radeon_gart_tlb_flush, which is
 *   r100_pci_gart_tlb_flush, an empty function (a TODO: the PCI GART caches one entry): none;
 * - r600: the same call reaches r600_pcie_gart_tlb_flush (an invalidate request and its poll): one;
 * - nv04: nouveau_sgdma_bind/unbind call only instmem.flush, and nv04_instmem_flush is empty:
 *   the ctxdma has no TLB to flush, so none;
 * - nv50: instmem.flush (a PRAMIN write flush, not a TLB one), then fifo.tlb_flush and
 *   graph.tlb_flush: nv50_vm_flush for engine 5 (PFIFO) and engine 0 (PGRAPH), two.
 * The modern kernel (6.12): r100_pci_gart_tlb_flush is still empty, none; r600 one as in 2.6.37;
 * nv04's VMM (nvkm/subdev/mmu/vmmnv04.c nv04_vmm) has no flush function, so nvkm_vmm_flush does
 * nothing: none; nv50 one (nv50_vmm_flush writes once per engine using the VMM, which is not
 * modelled: one stands for them).
 */
export function gart_tlb_flush(): void {
  if (gart_family == GART_R100) return;
  if (kernel_era == KERNEL_MODERN) { if (gart_family != GART_NV04) count(C_TLB_FLUSHES); return; }
  switch (gart_family) {
    case GART_NV04: break;
    case GART_NV50: count(C_TLB_FLUSHES, 2); break;
    default: count(C_TLB_FLUSHES); break;
  }
}

/** The script op gart_unbind: entries to the dummy page, then the family's TLB flushes. */
export function gart_unbind(first: i32, pages: i32): void {
  gart_unbind_entries(first, pages);
  gart_tlb_flush();
}
