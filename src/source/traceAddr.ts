// Addresses in kernel trace text (source/traceEvents.ts): %llx (or 0x-prefixed) numbers, read as
// JavaScript numbers. DMA addresses may use all 64 bits (powernv's 64-bit bypass window starts at
// bit 59: pci-ioda.c sets tce_bypass_base to 1 << 59, so every bypass mapping is phys + 2^59), past
// the 2^53 a number holds exactly. Those fold, per trace, into [2^52, 2^53): the high bits (above
// bit 44) of each distinct 16 TiB region get a small index, the low 44 bits stay, so equal addresses
// stay equal and offsets inside a region stay offsets; reports print them unfolded. Regions lie
// 32 TiB apart there, so a mapping running past its region's end runs into a gap, never into the
// region folded next (whose syncs would find it).
import { hex } from '../units.js';

/** A DMA or physical address as read (a folded one for those at or above 2^52). */
export type Addr = number;
/** The marker an all-ones address (DMA_MAPPING_ERROR) parses to. */
export const ADDR_ERROR = -1;
/** DMA_MAPPING_ERROR of a 32-bit dma_addr_t (arm without LPAE, x86-32 without PAE), as read. */
export const ADDR_ERROR_32 = 0xffff_ffff;
/** DMA_MAPPING_ERROR as a 64-bit hex string (~(dma_addr_t)0). */
const MAPPING_ERROR_HEX = 'ffffffffffffffff';
const HEX = /^(?:0x)?([0-9a-fA-F]{1,16})$/;
/** At most 13 hex digits, no prefix: below 2^52, read as it is (the common case, for speed). */
const SHORT_HEX = /^[0-9a-fA-F]{1,13}$/;

/** Where folded addresses start; every real physical address lies below (x86-64: 52 bits at most). */
export const FOLD_BASE = 2 ** 52;
const REGION_BITS = 44n, REGION = 2 ** 44, STRIDE = 2 * REGION;
/** How many 16 TiB regions at or above 2^52 one trace may use. */
export const MAX_REGIONS = FOLD_BASE / STRIDE;

/** One trace's folding of addresses at or above 2^52 (see the file's header). */
export class AddrFolder {
  private readonly index = new Map<bigint, number>();
  private readonly highs: bigint[] = [];

  /** The number standing for address `v` ≥ 2^52; null past MAX_REGIONS regions. */
  fold(v: bigint): Addr | null {
    const high = v >> REGION_BITS;
    let i = this.index.get(high);
    if (i === undefined) {
      if (this.highs.length >= MAX_REGIONS) return null;
      this.index.set(high, (i = this.highs.length));
      this.highs.push(high);
    }
    return FOLD_BASE + i * STRIDE + Number(v & BigInt(REGION - 1));
  }

  /** An address as the trace printed it, 0x-prefixed (a folded one unfolded). */
  hex(a: Addr): string {
    if (a < FOLD_BASE) return hex(a);
    const k = a - FOLD_BASE, i = Math.floor(k / STRIDE);
    const high = this.highs[i];
    if (high === undefined) return hex(a);
    return `0x${((high << REGION_BITS) + BigInt(k - i * STRIDE)).toString(16)}`;
  }
}

/** Parses a %llx (or 0x-prefixed) address: all ones is ADDR_ERROR; one at or above 2^52 folds
 * through `folder` (none: it does not read, as past MAX_REGIONS regions); null when it does not read. */
export function parseAddr(text: string, folder?: AddrFolder): Addr | null {
  if (SHORT_HEX.test(text)) return parseInt(text, 16);
  const m = HEX.exec(text);
  if (!m) return null;
  const digits = m[1]!.toLowerCase().replace(/^0+(?=.)/, '');
  if (digits.length === 16 && digits === MAPPING_ERROR_HEX) return ADDR_ERROR;
  if (digits.length <= 13) return parseInt(digits, 16);
  return folder ? folder.fold(BigInt(`0x${digits}`)) : null;
}

/** The width in bits of a DMA mask as swiotlb_bounced prints it (%llx, e.g. ffffffff: 32), or
 * undefined when the text is not one (a mask's bits below its highest are not checked). */
export function maskBits(text: string): number | undefined {
  const m = HEX.exec(text);
  return m ? BigInt(`0x${m[1]}`).toString(2).replace(/^0$/, '').length : undefined;
}
