// The DMA side of the TTM backends of 2.6.37 (twin of assembly/drm/ttm_backend.ts;
// radeon_gart.c, nouveau_sgdma.c): radeon maps each page in radeon_gart_bind and unmaps it in
// radeon_gart_unbind; nouveau maps every page once in nouveau_sgdma_populate and unmaps them in
// nouveau_sgdma_clear (through destroy), so its bind and unbind only write entries. The modern
// (6.12) drivers map nothing themselves: ttmPool.ts maps each block at allocation, unmaps at free.
import { Dir, GartFamily, Kernel, PAGE_SIZE, Pool } from '../../engine/abi.js';
import { dmaMapPhys, dmaUnmapPage } from '../dma/mapping.js';
import type { AgpState } from './agpGatt.js';

/** What the nouveau backend holds for a tt since its populate. */
export const Sgdma = {
  /** Not a nouveau populate: radeon, the modern kernel, coherent-handle pools, an AGP device. */
  none: 0,
  /** nouveau_sgdma_populate mapped every page; the mappings stay live until clear. */
  mapped: 1,
  /** A map failed: clear unmapped the rest and the backend holds no page (its nr_pages is 0). */
  empty: 2,
} as const;

/** The tt as the backend sees it (drm/ttmTt.ts's Tt is one). */
export interface BackendTt {
  readonly pages: number;
  readonly pfn: Int32Array;
  /** Address of each page's last successful map (live or dead), -1 = none (T11). */
  dma: Float64Array | null;
  sgdma: number;
}

/** nouveau (nv04, nv50) in 2.6.37: the sgdma backend, which maps at populate. */
function sgdmaDevice(s: AgpState): boolean {
  return s.cfg.kernel === Kernel['2010'] && (s.gart.family === GartFamily.nv04 || s.gart.family === GartFamily.nv50);
}

/**
 * radeon_gart_bind (2.6.37) maps each page at bind; nouveau_sgdma_bind (2.6.37) writes the
 * populate's addresses and maps nothing. 6.12: neither maps at bind: radeon_ttm_backend_bind
 * hands radeon_gart_bind the tt's dma_address array, which ttm_pool_alloc filled (ttm_pool_map),
 * and nouveau binds from the same array (nouveau_sgdma_bind → nouveau_mem_host).
 */
export function mapsAtBind(s: AgpState): boolean {
  return s.cfg.kernel === Kernel['2010'] && !sgdmaDevice(s);
}

/**
 * Does ttm_tt_populate's be->populate map the pages? nouveau_sgdma_populate on a non-AGP nouveau
 * device (an AGP one has ttm_agp_backend), for pages that come without a coherent handle: the
 * dma pool's and agp-coherent's pages already carry their bus address (3.3 ttm_dma_populate).
 */
export function mapsAtPopulate(s: AgpState, pool: number): boolean {
  return sgdmaDevice(s) && !s.agp && pool !== Pool.ttmDma && pool !== Pool.agpCoherent;
}

/**
 * dma_map_page(page, 0, PAGE_SIZE, BIDIRECTIONAL) + dma_mapping_error per page in order; a page's
 * dma is each successful map's address (T11). Returns the index of the first failed map, or -1.
 */
function mapPages(s: AgpState, tt: BackendTt): number {
  if (!tt.dma) tt.dma = new Float64Array(tt.pages).fill(-1);
  for (let i = 0; i < tt.pages; i++) {
    const rec = dmaMapPhys(s, tt.pfn[i]! * PAGE_SIZE, 0, PAGE_SIZE, Dir.bidirectional);
    if (rec.failed) return i;
    s.debug.mappingError(rec.dmaAddr);
    tt.dma[i] = rec.dmaAddr;
  }
  return -1;
}

/**
 * radeon_gart_bind's maps: every page; at the first failure the pages mapped so far are unmapped
 * again in ascending order (its error path through radeon_gart_unbind). Returns -1 when every
 * page mapped, else how many pages had been mapped (and had their entries written) before the
 * map that failed.
 */
export function radeonMapPages(s: AgpState, tt: BackendTt): number {
  const failed = mapPages(s, tt);
  if (failed < 0) return -1;
  for (let j = 0; j < failed; j++) dmaUnmapPage(s, tt.dma![j]!, PAGE_SIZE, Dir.bidirectional);
  return failed;
}

/**
 * nouveau_sgdma_populate (2.6.37): pci_map_page of every page, in order; at the first failure
 * nouveau_sgdma_clear unmaps the pages mapped so far (in reverse) and populate returns -EFAULT,
 * which ttm_tt_populate ignores: the tt is populated all the same, its backend holds no page.
 */
export function sgdmaPopulate(s: AgpState, tt: BackendTt): void {
  const failed = mapPages(s, tt);
  if (failed < 0) {
    tt.sgdma = Sgdma.mapped;
    return;
  }
  sgdmaClear(s, tt, failed);
  tt.sgdma = Sgdma.empty;
}

/** nouveau_sgdma_clear's unmaps: pages [0, n), last to first, each pci_unmap_page(handle, PAGE_SIZE, BIDIRECTIONAL). */
export function sgdmaClear(s: AgpState, tt: BackendTt, n: number): void {
  for (let i = n - 1; i >= 0; i--) dmaUnmapPage(s, tt.dma![i]!, PAGE_SIZE, Dir.bidirectional);
}
