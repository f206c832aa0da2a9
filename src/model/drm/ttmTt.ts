// TTM translation tables of drivers/gpu/drm/ttm/ttm_tt.c (2010) and the backend binds of
// radeon_ttm.c / radeon_gart.c / nouveau_sgdma.c: a tt is a buffer object's page array, filled
// from one of the pools (ttmPool.ts, ttmDmaPool.ts, agpGatt.ts), bound into the GART (mode 0:
// radeon dma_map_page's each page at bind, nouveau 2.6.37 at populate (ttmBackend.ts); mode 1:
// the pages' coherent handles; mode 2: machine addresses) or the AGP GATT, synced page by page,
// and torn down at the device's release. ENGINE.md §11–13 and §15 T1, T7, T10–T15, T19–T20.
import { BindMode, Caching, DebugType, Dir, Kernel, MAX_TT_PAGES, PAGE_SIZE, Pool, Reader, TtSync, Zone } from '../../engine/abi.js';
import { adopt, vacate, type SlotState } from '../layout.js';
import { readPage } from '../sim/oracle.js';
import { cpuReach, nextBufId, nextStamp, writeRange } from '../sim/stamps.js';
import { countSync, dmaSyncPage, dmaUnmapPage, swiotlbSyncModern, type SgCall } from '../dma/mapping.js';
import { agpSetPagesArray, gattEntry, gattFree, type AgpState } from './agpGatt.js';
import { gartTlbFlush } from './gart.js';
import { Sgdma, mapsAtBind, mapsAtPopulate, radeonMapPages, sgdmaClear, sgdmaPopulate, type BackendTt } from './ttmBackend.js';
import { ttmDmaAllocPage, ttmDmaFreePage, ttmDmaGetPages, ttmDmaPoolDrain, ttmDmaPutPages } from './ttmPageAllocDma.js';
import { freeFromTail, ttAllocPage, ttFreePage, ttmGetPages, ttmPutPages, type PoolState } from './ttmPageAlloc.js';
import type { PageArray } from './ttmPage.js';
import { ttmPoolAlloc, ttmPoolFree, ttmPoolTeardown, type ModernPoolState } from './ttmPool.js';

const NONE = -1;

/** What TTM needs: the pools, the GART or GATT, the slots, and the GPU pages a bind failed on. */
export interface TtState extends AgpState, PoolState, ModernPoolState, SlotState {
  /** Gpu pages of a failed bind: GPU ops skip them (T15). */
  readonly gpuFailed: Uint8Array;
  /** The GART dummy page's bus address (D2, D3): what unbound entries point at. */
  readonly dummyBus: number;
  /** The dma_map_sg call in progress (driver/bufferOps.ts dmaMap). */
  readonly sgCall: SgCall;
}

export class Tt implements PageArray, BackendTt {
  readonly kind = 'tt';
  /** Pages held so far (== pages unless the populate failed). */
  count = 0;
  readonly pfn: Int32Array;
  /** Coherent handle per page (kinds 1 and 4), else null. */
  readonly coh: Float64Array | null;
  /** Exchanged-by-Xen flag per page (kinds that exchange), else null. */
  readonly exch: Uint8Array | null;
  /** Address of each page's last successful mode-0 map (live or dead), -1 = none (T11). */
  dma: Float64Array | null = null;
  failed = false;
  bound = false;
  gpuPage = 0;
  mode = 0;
  /** Bound into the AGP GATT rather than a GART. */
  boundAgp = false;
  /** What the nouveau backend holds since the populate (Sgdma). */
  sgdma: number = Sgdma.none;
  /** 6.12 ttm_pool: the order of the block each page index heads (p->private). */
  blockOrder: Uint8Array | null = null;

  constructor(readonly id: number, readonly pages: number, readonly pool: number, readonly caching: number) {
    this.pfn = new Int32Array(pages);
    const coherent = pool === Pool.ttmDma || pool === Pool.agpCoherent;
    this.coh = coherent ? new Float64Array(pages).fill(NONE) : null;
    this.exch = pool === Pool.ttm || pool === Pool.agp ? null : new Uint8Array(pages);
  }

  addPage(pfn: number, coh: number, exchanged: boolean): void {
    const i = this.count++;
    this.pfn[i] = pfn;
    if (this.coh) this.coh[i] = coh;
    if (this.exch) this.exch[i] = exchanged ? 1 : 0;
  }

  isExchanged(i: number): boolean {
    return this.exch !== null && this.exch[i] === 1;
  }

  cohOf(i: number): number {
    return this.coh ? this.coh[i]! : NONE;
  }

  clear(): void {
    this.count = 0;
  }

  /** The dma address the driver holds for page i (T11): the last map, else the coherent handle, else -1. */
  heldHandle(i: number): number {
    if (this.dma && this.dma[i] !== NONE) return this.dma[i];
    if (this.coh) return this.coh[i];
    return NONE;
  }

  /** Page i's current handle (T11): the held handle, else its phys as a careless driver would. */
  currentHandle(i: number): number {
    const held = this.heldHandle(i);
    return held === NONE ? this.pfn[i]! * PAGE_SIZE : held;
  }
}

// ---- TT_POPULATE / TT_UNPOPULATE ------------------------------------------------------------

export function ttPopulate(s: TtState, slot: number, pages: number, pool: number, caching: number): void {
  if (pages < 1 || pages > MAX_TT_PAGES || pool < Pool.ttm || pool > Pool.agpFsb || caching < Caching.cached || caching > Caching.uc) return;
  const tt = new Tt(nextBufId(s), pages, pool, caching);
  let ok: boolean;
  if (ttmPoolKind(s, pool)) ok = ttmPoolAlloc(s, tt);
  else switch (pool) {
    case Pool.ttm:
    case Pool.xenAware:
      ok = ttmGetPages(s, tt);
      break;
    case Pool.ttmDma:
      ok = ttmDmaGetPages(s, tt);
      break;
    default:
      ok = agpPopulate(s, tt);
  }
  if (!ok) {
    s.counters.allocFailures++;
    tt.failed = true;
  }
  adopt(s, slot, tt);
  if (ok && !ttmPoolKind(s, pool)) zeroFillTt(s, tt); // 6.12's pool zeroed each block before its map (ttmPool.ts)
  if (ok) ttBackendPopulate(s, tt);
}

/** 6.12: a populate of pool kind 0, 1 or 2 is ttm_pool_alloc's (ttmPool.ts). */
const ttmPoolKind = (s: TtState, pool: number) => s.cfg.kernel !== Kernel['2010'] && (pool === Pool.ttm || pool === Pool.xenAware || pool === Pool.ttmDma);
/** 6.12: does ttm_pool_alloc map this tt's blocks (a pool without DMA allocation: ttm_pool_map)? */
const poolMaps = (s: TtState, tt: Tt) => s.cfg.kernel !== Kernel['2010'] && (tt.pool === Pool.ttm || tt.pool === Pool.xenAware);

/**
 * The backend's populate, at the end of ttm_tt_populate (pages got and zeroed): nouveau_sgdma_populate
 * maps every page (ttmBackend.ts); radeon_ttm_backend_populate only records the pages.
 */
function ttBackendPopulate(s: TtState, tt: Tt): void {
  if (mapsAtPopulate(s, tt.pool)) sgdmaPopulate(s, tt);
}

/**
 * The backend's destroy, first in ttm_tt_destroy: radeon_ttm_backend_destroy unbinds if bound;
 * nouveau_sgdma_destroy → nouveau_sgdma_clear unbinds if bound, then unmaps every page in reverse.
 */
function ttBackendDestroy(s: TtState, tt: Tt): void {
  if (tt.bound) ttUnbind(s, tt);
  if (tt.sgdma === Sgdma.mapped) sgdmaClear(s, tt, tt.count);
  tt.sgdma = Sgdma.none;
}

/** The CPU zeroes the new pages: one write operation, not counted in cpuWrites (T10). */
function zeroFillTt(s: TtState, tt: Tt): void {
  const stamp = nextStamp(s, tt.id, false);
  const reach = cpuReach(s);
  for (let i = 0; i < tt.count; i++) {
    const base = tt.pfn[i]! * PAGE_SIZE;
    writeRange(s, stamp, base, base + PAGE_SIZE, reach, true);
  }
}

/**
 * agp_generic_alloc_page for every page (kind 3), with Keir's alloc_fsb_pages exchange below
 * 4 GiB under Xen (kind 5), or dma_alloc_coherent (kind 4). T6.
 */
function agpPopulate(s: TtState, tt: Tt): boolean {
  if (tt.pool === Pool.agpCoherent) {
    // The proposal's dma_alloc_coherent in place of alloc_page; the pages are still made uncached after.
    for (let i = 0; i < tt.pages; i++) {
      const page = ttmDmaAllocPage(s, false);
      if (!page) return false;
      tt.addPage(page.pfn, page.handle, page.exchanged);
    }
    agpSetPagesArray(s, tt.count);
    return true;
  }
  const exchanged = [false];
  let ok = true;
  for (let i = 0; i < tt.pages; i++) {
    const pfn = ttAllocPage(s, Zone.dma32, tt.pool === Pool.agpFsb ? 32 : 0, exchanged);
    if (pfn < 0) { ok = false; break; }
    tt.addPage(pfn, -1, exchanged[0]!);
  }
  if (ok) agpSetPagesArray(s, tt.count); // set_pages_array_uc, when every page came
  return ok;
}

/** agp_generic_destroy_pages (kinds 3, 5: back to wb, then freed) or dma_free_coherent (kind 4). */
function agpUnpopulate(s: TtState, tt: Tt): void {
  agpSetPagesArray(s, tt.count); // set_pages_array_wb
  if (tt.pool === Pool.agpCoherent) {
    for (let i = 0; i < tt.count; i++) ttmDmaFreePage(s, tt.pfn[i]!, tt.coh![i]!, tt.isExchanged(i), false);
    return;
  }
  for (let i = 0; i < tt.count; i++) ttFreePage(s, tt.pfn[i]!, tt.isExchanged(i));
}

/** TT_UNPOPULATE (T7): unbind if bound, pages back to where they came from, the slot empties. */
export function ttUnpopulate(s: TtState, slot: number, tt: Tt): void {
  ttBackendDestroy(s, tt);
  // 6.12 ttm_tt_unpopulate → ttm_pool_free, but not for a tt whose populate failed (never marked
  // populated: ttm_tt_unpopulate returns at once, no shrink; ttm_pool_alloc already gave its blocks back)
  if (ttmPoolKind(s, tt.pool)) { if (!tt.failed) ttmPoolFree(s, tt); }
  else switch (tt.pool) {
    case Pool.ttm:
    case Pool.xenAware:
      ttmPutPages(s, tt);
      break;
    case Pool.ttmDma:
      ttmDmaPutPages(s, tt);
      break;
    default:
      agpUnpopulate(s, tt);
  }
  vacate(s, slot);
}

// ---- TT_BIND / TT_UNBIND --------------------------------------------------------------------

/** Marks the bind's gpu pages failed (T12, T15) and counts the failure. */
function bindFailed(s: TtState, tt: Tt, gpuPage: number): void {
  s.counters.bindFailures++;
  const end = Math.min(gpuPage + tt.pages, s.gpuFailed.length);
  for (let g = Math.max(0, gpuPage); g < end; g++) s.gpuFailed[g] = 1;
}

/**
 * ttm_tt_bind: the backend's bind. radeon_gart_bind maps every page first (mode 0, ttmBackend.ts);
 * nouveau_sgdma_bind (2.6.37) writes the entries of the pages its backend holds (none after a
 * failed populate map, though TTM still takes the range) with the populate's addresses; agp:
 * agp_generic_insert_memory. Then the TLB flushes the hardware gets (gartTlbFlush; agp: one).
 */
export function ttBind(s: TtState, tt: Tt, gpuPage: number, mode: number): void {
  if (tt.bound || mode < BindMode.map || mode > BindMode.fsb) return;
  const agp = s.agp;
  const gatt = s.gatt;
  if (tt.failed || (agp && !gatt)) return bindFailed(s, tt, gpuPage);
  const end = gpuPage + tt.pages;
  if (gpuPage < 0 || end > s.gart.pages || (gatt && end > gatt.entries)) return bindFailed(s, tt, gpuPage);
  if (!agp && mode === BindMode.map && mapsAtBind(s)) {
    const mapped = radeonMapPages(s, tt);
    if (mapped >= 0) {
      // radeon_gart_bind wrote each mapped page's entries before the failing map; its error path,
      // radeon_gart_unbind, points them back at the dummy page and flushes the GART TLB once.
      for (let g = gpuPage; g < gpuPage + mapped; g++) s.gart.unbind(g, s.dummyBus);
      s.counters.gartWrites += 2 * mapped;
      gartTlbFlush(s);
      return bindFailed(s, tt, gpuPage);
    }
  }
  if (gatt?.rangeBusy(gpuPage, tt.pages)) return void s.counters.gattBusy++; // agp_generic_insert_memory's -EBUSY
  const writes = tt.sgdma !== Sgdma.empty;
  for (let i = 0; i < tt.pages; i++) {
    const g = gpuPage + i;
    if (gatt) gatt.table[g] = gattEntry(bindAddress(s, tt, i, mode, agp));
    else if (writes) s.gart.bind(g, bindAddress(s, tt, i, mode, agp), tt.id, tt.pfn[i]!, false, tt.caching === Caching.cached);
    // A nouveau backend whose populate's map failed holds no page: the entries stay as they were,
    // and a GPU access through them reached the page though its map failed (D24).
    s.gart.setOwner(g, tt.id, tt.pfn[i]!, false, !gatt && !writes);
    s.gpuFailed[g] = 0;
  }
  if (writes || gatt) s.counters.gartWrites += tt.pages;
  if (gatt) s.counters.tlbFlushes++; // agp_generic_insert_memory: the bridge's tlb_flush
  else gartTlbFlush(s);
  tt.bound = true;
  tt.gpuPage = gpuPage;
  tt.mode = mode;
  tt.boundAgp = agp;
}

/** What page i's entry points at (T12). */
function bindAddress(s: TtState, tt: Tt, i: number, mode: number, agp: boolean): number {
  const pfn = tt.pfn[i]!;
  switch (mode) {
    case BindMode.map:
      // radeon: the map the bind just made; nouveau (2.6.37): the populate's map, else the coherent handle
      return agp ? pfn * PAGE_SIZE : tt.currentHandle(i);
    case BindMode.coherent:
      return tt.coh ? tt.coh[i]! : pfn * PAGE_SIZE;
    default:
      return s.machine.mfnOf(pfn) * PAGE_SIZE;
  }
}

/** The bind mapped the pages (mode 0 into a GART, radeon): unbind unmaps them. */
function bindMapped(s: TtState, tt: Tt): boolean {
  return !tt.boundAgp && tt.mode === BindMode.map && mapsAtBind(s);
}

/**
 * TT_UNBIND (T13): entries to the dummy page (nv50: 0; AGP: 0; none for a nouveau backend that
 * holds no page), the TLB flushes; then radeon_gart_unbind's unmaps, ascending. nouveau keeps its maps.
 */
export function ttUnbind(s: TtState, tt: Tt): void {
  if (!tt.bound) return;
  const gatt = tt.boundAgp ? s.gatt : null;
  const writes = tt.boundAgp || tt.sgdma !== Sgdma.empty;
  for (let i = 0; i < tt.pages; i++) {
    const g = tt.gpuPage + i;
    if (gatt) gatt.table[g] = 0;
    else if (!tt.boundAgp && writes) s.gart.unbind(g, s.dummyBus);
    s.gart.clearOwner(g);
    s.gpuFailed[g] = 0;
  }
  if (writes) s.counters.gartWrites += tt.pages;
  if (tt.boundAgp) s.counters.tlbFlushes++;
  else gartTlbFlush(s);
  if (bindMapped(s, tt)) for (let i = 0; i < tt.pages; i++) dmaUnmapPage(s, tt.dma![i]!, PAGE_SIZE, Dir.bidirectional);
  tt.bound = false;
}

// ---- TT_SYNC and CPU access -----------------------------------------------------------------

/** TT_SYNC (T14), as assembly/drm/ttm_tt.ts tt_sync says: per page (TtSync.pages) or 6.12 nouveau's runs. */
export function ttSync(s: TtState, tt: Tt, toCpu: boolean, mode: number): void {
  if (mode === TtSync.nouveau) { // 6.12 nouveau_bo_sync_for_device / _for_cpu: none without dma_address
    if (!ttmPoolKind(s, tt.pool)) return;
    const dir = toCpu ? Dir.from_device : Dir.to_device;
    for (let i = 0; i < tt.count;) {
      let n = 1;
      while (i + n < tt.count && tt.pfn[i + n] === tt.pfn[i]! + n) n++;
      const dma = tt.currentHandle(i);
      dmaSyncPage(s, dma, dir, toCpu, n * PAGE_SIZE);
      i += n;
    }
    return;
  }
  if (poolMaps(s, tt)) {
    for (let i = 0; i < tt.count; i++) ttSyncInBlock(s, tt.dma![i]!, toCpu);
    return;
  }
  for (let i = 0; i < tt.count; i++) {
    const mapped = tt.dma !== null && tt.dma[i] !== NONE;
    // A coherent handle: the kernel finds its bidirectional coherent entry, nothing to say or copy.
    if (!mapped && tt.coh) { countSync(s, toCpu); continue; }
    dmaSyncPage(s, mapped ? tt.dma![i]! : tt.pfn[i]! * PAGE_SIZE, Dir.bidirectional, toCpu);
  }
}

/**
 * dma_sync_single_for_{cpu,device}(dma, PAGE_SIZE, BIDIRECTIONAL) of one page inside a 6.12 pool
 * block's mapping: dma-debug finds the block's entry by containment; a bounced block copies by the
 * page's own slot, whoever holds it now (swiotlb_sync_single_for_* → swiotlb_bounce: that slot's
 * orig_addr and alloc_size; dma/mapping.ts swiotlbSyncModern).
 */
function ttSyncInBlock(s: TtState, dma: number, toCpu: boolean): void {
  countSync(s, toCpu);
  s.debug.checkSync(s.op, { dmaAddr: dma, size: PAGE_SIZE, dir: Dir.bidirectional, type: DebugType.single }, toCpu);
  swiotlbSyncModern(s, dma, PAGE_SIZE, Dir.bidirectional, toCpu);
}

/** CPU_WRITE / CPU_READ of tt bytes [offset, offset + size), walking the page list (T11). */
export function ttAccess(s: TtState, tt: Tt, offset: number, size: number, write: boolean): void {
  const c = s.counters;
  const touched = pagesTouched(offset, size);
  if (write) c.cpuWrites += touched;
  else c.cpuReads += touched;
  if (touched === 0) return;
  const reach = cpuReach(s);
  const stamp = write ? nextStamp(s, tt.id, false) : null;
  const first = Math.floor(offset / PAGE_SIZE);
  const last = Math.min(Math.floor((offset + size - 1) / PAGE_SIZE), tt.count - 1);
  for (let p = first; p <= last; p++) {
    const base = tt.pfn[p]! * PAGE_SIZE;
    const start = base + Math.max(offset - p * PAGE_SIZE, 0);
    const end = base + Math.min(offset + size - p * PAGE_SIZE, PAGE_SIZE);
    if (stamp) { writeRange(s, stamp, start, end, reach, true); continue; }
    readPage(s, start, end, reach, {
      reader: Reader.cpu, pfn: tt.pfn[p]!, dmaAddr: BigInt(tt.heldHandle(p)), gpuPage: -1, pte: 0n, bufId: tt.id,
    });
  }
}

/** Pages of a buffer that [offset, offset + size) touches. */
export function pagesTouched(offset: number, size: number): number {
  if (size <= 0) return 0;
  return Math.floor((offset + size - 1) / PAGE_SIZE) - Math.floor(offset / PAGE_SIZE) + 1;
}

// ---- RELEASE --------------------------------------------------------------------------------

/**
 * The device goes away (T20): every tt unbound and unpopulated in slot order, every pool
 * drained, the GATT freed. Counted like the ops; dma-debug reports nothing.
 */
export function ttmTeardown(s: TtState): void {
  s.debug.quiet = true;
  s.slots.forEach((held, slot) => {
    if (held instanceof Tt) ttUnpopulate(s, slot, held);
  });
  if (s.cfg.kernel !== Kernel['2010']) ttmPoolTeardown(s);
  else for (const { pool, kind, caching } of s.ttmPools.all()) {
    // ttm_page_alloc_fini and ttm_dma_page_alloc_fini: every page, from the tail
    if (kind === Pool.ttmDma) ttmDmaPoolDrain(s, pool, caching);
    else freeFromTail(s, pool, pool.size, true, (pfn, _h, exchanged) => ttFreePage(s, pfn, exchanged));
  }
  gattFree(s);
  s.debug.quiet = false;
}
