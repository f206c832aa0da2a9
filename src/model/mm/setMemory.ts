// A confidential-computing guest's pages, private or shared (twin of assembly/mm/set_memory.ts;
// coco, --kernel modern): set_memory_decrypted / set_memory_encrypted (arch/x86/mm/pat/set_memory.c,
// 6.12, __set_memory_enc_dec). Every page of such a guest is private, encrypted with the guest's
// key (SEV: a device reads ciphertext; SEV-SNP's RMP check or TDX's secure EPT keeps devices out),
// until the guest converts it to shared: the boot swiotlb pool (swiotlb_update_mem_attributes,
// kernel/dma/swiotlb.c), the dynamic swiotlb pools, dma-direct's coherent blocks between
// dma_set_decrypted and dma_set_encrypted (kernel/dma/direct.c). The translation reads the table
// (sim/translate.ts ccPrivate): a device's access to a private frame reaches nothing.
import type { SimState } from '../sim/oracle.js';

/** One set_memory_* call: the pages' state, and (`counted`) one conversion of `pages` pages. */
function convert(s: SimState, pfn: number, pages: number, shared: boolean, counted: boolean): void {
  if (!s.trans.ccShared) return;
  s.trans.ccShared.fill(shared ? 1 : 0, pfn, pfn + pages);
  if (!counted) return;
  s.counters.ccConversions++;
  s.counters.ccConvertedPages += pages;
}

/** set_memory_decrypted over [pfn, pfn + pages): shared with the host. `counted`: ccConversions and
 * ccConvertedPages count it (the boot pool's is not counted). Nothing off coco. */
export function setMemoryDecrypted(s: SimState, pfn: number, pages: number, counted: boolean): void {
  convert(s, pfn, pages, true, counted);
}

/** set_memory_encrypted over [pfn, pfn + pages): private again (counted as above). */
export function setMemoryEncrypted(s: SimState, pfn: number, pages: number, counted: boolean): void {
  convert(s, pfn, pages, false, counted);
}
