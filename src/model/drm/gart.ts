// GART page tables of 2010 GPUs (twin of assembly/drm/gart.ts): radeon r100.c (PCI GART), r600.c,
// nouveau_sgdma.c (nv04, nv50). Each PTE is a u64 kept as two u32 words so that the bit math stays
// exact in JS. The GPU adds nothing for the offset inside a page: every decode masks the low 12
// bits away. The owner of each GPU page (which buffer or tt bound it) is the oracle's, not the GPU's.
import { GartFamily, Kernel, PAGE_MASK, type MachineConfig } from '../../engine/abi.js';
import { DMA_ERROR } from '../dma/mapping.js';

const TWO32 = 2 ** 32;
const PAGE_MASK_LO = (~PAGE_MASK) >>> 0; // low word with the page offset cleared

/** A PTE as two u32 words. */
export interface Pte {
  hi: number;
  lo: number;
}

function split(addr: number): Pte {
  if (addr === DMA_ERROR) return { hi: 0xffffffff, lo: 0xffffffff };
  return { hi: Math.floor(addr / TWO32) >>> 0, lo: addr % TWO32 };
}

/*
 * r100:  [31:12 page | 11:0 low bits of addr]        no flags, every entry valid, 32 bits
 * r600:  [63:12 page | 6 W | 5 R | 2 SNOOP | 1 SYS | 0 VALID] = addr & ~0xFFF | 0x67 (6.12,
 *        rs600_gart_get_page_entry: 0x63 for a tt not cached; the dummy entry 0x2, not valid)
 * nv04:  [31:12 page | 11:0 addr low bits | 1:0 = 3]  lower_32_bits(addr) | 3
 * nv50:  hi word [7:0 = addr bits 39:32], lo word [31:0 = lower_32_bits(addr) | 0x21]
 * `r600Flags`: the r600 entry's flag bits.
 */
export function encodePte(family: number, addr: number, r600Flags = 0x67): Pte {
  const a = split(addr);
  switch (family) {
    case GartFamily.r100:
      return { hi: 0, lo: a.lo };
    case GartFamily.r600:
      return { hi: a.hi, lo: ((a.lo & PAGE_MASK_LO) | r600Flags) >>> 0 };
    case GartFamily.nv04:
      return { hi: 0, lo: (a.lo | 3) >>> 0 };
    default:
      return { hi: a.hi & 0xff, lo: (a.lo | 0x21) >>> 0 };
  }
}

export function pteValid(family: number, pte: Pte): boolean {
  return family === GartFamily.r100 || (pte.lo & 1) === 1;
}

/** Does the GPU's access reach the entry's address? A valid entry's does, and an r600 entry's
 * without the valid bit (only 6.12's dummy entry), which lands on the dummy page either way: the
 * address it holds is VM_CONTEXT0_PROTECTION_FAULT_DEFAULT_ADDR's (r600_pcie_gart_enable). */
export function pteReaches(family: number, pte: Pte): boolean {
  return pteValid(family, pte) || family === GartFamily.r600;
}

/** The bus address a valid PTE points at, as a bigint (exact over all 64 bits). */
export function decodePteBig(family: number, pte: Pte): bigint {
  const lo = BigInt((pte.lo & PAGE_MASK_LO) >>> 0);
  switch (family) {
    case GartFamily.r600:
      return (BigInt(pte.hi) << 32n) | lo;
    case GartFamily.nv50:
      return (BigInt(pte.hi & 0xff) << 32n) | lo;
    default:
      return lo;
  }
}

/** The bus address as a number, or -1 when it is beyond 2^53 (no RAM is there). */
export function decodePte(family: number, pte: Pte): number {
  const lo = (pte.lo & PAGE_MASK_LO) >>> 0;
  const hi = family === GartFamily.r600 ? pte.hi : family === GartFamily.nv50 ? pte.hi & 0xff : 0;
  return hi >= 2 ** 21 ? -1 : hi * TWO32 + lo;
}

export function pteBig(pte: Pte): bigint {
  return (BigInt(pte.hi) << 32n) | BigInt(pte.lo);
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
export function gartTlbFlush(s: { readonly cfg: MachineConfig; readonly gart: Gart; readonly counters: { tlbFlushes: number } }): void {
  if (s.gart.family === GartFamily.r100) return;
  if (s.cfg.kernel === Kernel.modern) {
    if (s.gart.family !== GartFamily.nv04) s.counters.tlbFlushes++;
    return;
  }
  switch (s.gart.family) {
    case GartFamily.nv04:
      break;
    case GartFamily.nv50:
      s.counters.tlbFlushes += 2;
      break;
    default:
      s.counters.tlbFlushes++;
  }
}

/** Did device init map a dummy page (twin of gart_has_dummy)? Every family but AGP and 6.12
 * nv04, which has no sgdma dummy page: nothing mapped at boot, unbound entries 0. */
export function hasGartDummy(cfg: MachineConfig): boolean {
  return cfg.gartFamily !== GartFamily.agp && !(cfg.gartFamily === GartFamily.nv04 && cfg.kernel === Kernel.modern);
}

/** The aperture: one PTE per GPU page plus the logical owner the bind wrote it for. */
export class Gart {
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  /** Buffer id the entry was bound for (0 = none) and that buffer's pfn for this page. */
  readonly ownerId: Float64Array;
  readonly ownerPfn: Int32Array;
  /** The bind rested on a failed map (D24): 1 the entry was bound from the address it returned,
   * 2 no entry was written (a 2.6.37 nouveau populate's map failed). */
  readonly ownerError: Uint8Array;

  /** `noDummy`: an unbound entry is invalid (0) rather than the dummy page's (nv50; 6.12 nv04). */
  /** `modern`: 6.12's r600 entries (rs600_gart_get_page_entry): snoop only for cached tts, the
   * dummy entry not valid (RADEON_GART_PAGE_DUMMY). */
  constructor(readonly family: number, readonly pages: number, private readonly noDummy: boolean, private readonly modern = false) {
    this.hi = new Uint32Array(pages);
    this.lo = new Uint32Array(pages);
    this.ownerId = new Float64Array(pages);
    this.ownerPfn = new Int32Array(pages).fill(-1);
    this.ownerError = new Uint8Array(pages);
  }

  pte(gpuPage: number): Pte {
    return { hi: this.hi[gpuPage]!, lo: this.lo[gpuPage]! };
  }

  /** `snoop`: the tt is cached (6.12 r600 sets the snoop bit only then). */
  bind(gpuPage: number, addr: number, ownerId: number, ownerPfn: number, error = false, snoop = true): void {
    this.setPte(gpuPage, encodePte(this.family, addr, snoop || !this.modern ? 0x67 : 0x63));
    this.setOwner(gpuPage, ownerId, ownerPfn, error);
  }

  /** Points the entry at the dummy page (nv50, 6.12 nv04: an invalid zero entry). */
  unbind(gpuPage: number, dummyAddr: number): void {
    this.setPte(gpuPage, this.noDummy ? { hi: 0, lo: 0 } : encodePte(this.family, dummyAddr, this.modern ? 0x2 : 0x67));
    this.clearOwner(gpuPage);
  }

  /** `error`: bound from a failed map's address; `noEntry`: its populate's map failed, no entry written. */
  setOwner(gpuPage: number, id: number, pfn: number, error = false, noEntry = false): void {
    this.ownerId[gpuPage] = id;
    this.ownerPfn[gpuPage] = pfn;
    this.ownerError[gpuPage] = noEntry ? 2 : error ? 1 : 0;
  }

  clearOwner(gpuPage: number): void {
    this.setOwner(gpuPage, 0, -1);
  }

  private setPte(gpuPage: number, pte: Pte): void {
    this.hi[gpuPage] = pte.hi;
    this.lo[gpuPage] = pte.lo;
  }
}
