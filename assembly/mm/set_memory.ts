// A confidential-computing guest's pages, private or shared (coco, --kernel modern):
// set_memory_decrypted / set_memory_encrypted (arch/x86/mm/pat/set_memory.c, 6.12,
// __set_memory_enc_dec). Every page of such a guest is private, encrypted with the guest's key:
// under SEV a device reads ciphertext, and SEV-SNP's RMP check or TDX's secure EPT keeps the host
// and its devices out altogether, until the guest converts the page to shared. Shared here: the
// boot swiotlb pool (swiotlb_update_mem_attributes, kernel/dma/swiotlb.c, from mem_encrypt_init),
// the dynamic swiotlb pools (swiotlb_alloc_tlb), and dma-direct's coherent blocks between
// dma_set_decrypted and dma_set_encrypted (kernel/dma/direct.c). Different: one bit per pfn, read
// by sim/translate.ts, where a device's access to a private frame reaches nothing — its reads see
// no data and its writes are dropped, as at an IOMMU fault; the conversion's page-state change and
// TLB flush are counted by the callers' counters (ccConversions, ccConvertedPages).

import { C_CC_CONVERSIONS, C_CC_CONVERTED_PAGES } from '../abi';
import { cc_guest, cc_shared_ptr, cc_shared_bytes } from '../layout';
import { count } from '../sim/counters';

/** Boot: every page private (the bitmap is written here, so it is never read before it is written). */
export function cc_shared_reset(): void {
  if (cc_guest) memory.fill(cc_shared_ptr, 0, <usize>cc_shared_bytes());
}

/** One set_memory_* call: the pages' state, and (`counted`) one conversion of `pages` pages. */
function convert(pfn: i32, pages: i32, shared: bool, counted: bool): void {
  if (!cc_guest) return;
  for (let p = pfn; p < pfn + pages; p++) {
    const at = cc_shared_ptr + (<usize>(p >> 3));
    const bit = 1 << (p & 7);
    const v = <i32>load<u8>(at);
    store<u8>(at, <u8>(shared ? v | bit : v & ~bit));
  }
  if (!counted) return;
  count(C_CC_CONVERSIONS);
  count(C_CC_CONVERTED_PAGES, pages);
}

/** set_memory_decrypted over [pfn, pfn + pages): shared with the host. `counted`: ccConversions and
 * ccConvertedPages count it (the boot pool's is not counted). Nothing off coco. */
export function set_memory_decrypted(pfn: i32, pages: i32, counted: bool): void {
  convert(pfn, pages, true, counted);
}

/** set_memory_encrypted over [pfn, pfn + pages): private again (counted as above). */
export function set_memory_encrypted(pfn: i32, pages: i32, counted: bool): void {
  convert(pfn, pages, false, counted);
}
