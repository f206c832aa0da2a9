// TTM translation tables of drivers/gpu/drm/ttm/ttm_tt.c (2010) and the backend binds of
// radeon_ttm.c / radeon_gart.c / nouveau_sgdma.c: a tt is a buffer object's page array, filled
// from one of the pools (ttmPool.ts, ttmDmaPool.ts, agpGatt.ts), bound into the GART (mode 0:
// dma_map_page per page, each checked with dma_mapping_error; mode 1: the pages' coherent
// handles; mode 2: machine addresses) or the AGP GATT, synced page by page, and torn down at the
// device's release. ENGINE.md §11–13 and §15 T1, T7, T10–T15, T19–T20.
import { BindMode, Caching, DebugType, Dir, PAGE_SIZE, Pool, Reader } from '../engine/abi.js';
import { cpuTranslate, nextStamp, pagesTouched, readPage, writeRange } from './access.js';
import { agpPopulate, agpUnpopulate, gattEntry, gattFree } from './agpGatt.js';
import { mapPhys, syncCopy, unmapAt } from './dma.js';
import type { Model } from './model.js';
import { adopt } from './pages.js';
import { freeDmaPage, ttmDmaPopulate, ttmDmaUnpopulate } from './ttmDmaPool.js';
import { freeFromTail, releasePage, ttmPopulate, ttmUnpopulate } from './ttmPool.js';

/** The most pages one TT_POPULATE may ask for. */
export const MAX_TT_PAGES = 1 << 24;
const NONE = -1;

export class Tt {
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
  /** Its bounce slot while the map is live, -1 = not bounced. */
  bounce: Int32Array | null = null;
  failed = false;
  bound = false;
  gpuPage = 0;
  mode = 0;
  /** Bound into the AGP GATT rather than a GART. */
  boundAgp = false;

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

  /** The dma address the driver holds for page i (T11): the last map, else the coherent handle, else -1. */
  heldHandle(i: number): number {
    if (this.dma && this.dma[i] !== NONE) return this.dma[i];
    if (this.coh) return this.coh[i];
    return NONE;
  }
}

// ---- TT_POPULATE / TT_UNPOPULATE ------------------------------------------------------------

export function ttPopulate(model: Model, slot: number, pages: number, pool: number, caching: number): void {
  if (pages < 1 || pages > MAX_TT_PAGES || pool < Pool.ttm || pool > Pool.agpFsb || caching < Caching.cached || caching > Caching.uc) return;
  const tt = new Tt(++model.bufCounter, pages, pool, caching);
  let ok: boolean;
  switch (pool) {
    case Pool.ttm:
    case Pool.xenAware:
      ok = ttmPopulate(model, tt);
      break;
    case Pool.ttmDma:
      ok = ttmDmaPopulate(model, tt);
      break;
    default:
      ok = agpPopulate(model, tt);
  }
  if (!ok) {
    model.counters.allocFailures++;
    tt.failed = true;
  }
  adopt(model, slot, tt);
  if (ok) zeroFillTt(model, tt);
}

/** The CPU zeroes the new pages: one write operation, not counted in cpuWrites (T10). */
function zeroFillTt(model: Model, tt: Tt): void {
  const s = nextStamp(model, tt.id, false);
  const translate = cpuTranslate(model);
  for (let i = 0; i < tt.count; i++) {
    const base = tt.pfn[i] * PAGE_SIZE;
    writeRange(model, s, base, base + PAGE_SIZE, translate, true);
  }
}

/** TT_UNPOPULATE (T7): unbind if bound, pages back to where they came from, the slot empties. */
export function ttUnpopulate(model: Model, slot: number, tt: Tt): void {
  if (tt.bound) ttUnbind(model, tt);
  switch (tt.pool) {
    case Pool.ttm:
    case Pool.xenAware:
      ttmUnpopulate(model, tt);
      break;
    case Pool.ttmDma:
      ttmDmaUnpopulate(model, tt);
      break;
    default:
      agpUnpopulate(model, tt);
  }
  for (let i = 0; i < tt.count; i++) model.expected.clearPages(tt.pfn[i], 1);
  model.liveIds.delete(tt.id);
  model.slots[slot] = null;
}

// ---- TT_BIND / TT_UNBIND --------------------------------------------------------------------

/** Marks the bind's gpu pages failed (T12, T15) and counts the failure. */
function bindFailed(model: Model, tt: Tt, gpuPage: number): void {
  model.counters.bindFailures++;
  const end = Math.min(gpuPage + tt.pages, model.gpuFailed.length);
  for (let g = Math.max(0, gpuPage); g < end; g++) model.gpuFailed[g] = 1;
}

export function ttBind(model: Model, tt: Tt, gpuPage: number, mode: number): void {
  if (tt.bound || mode < BindMode.map || mode > BindMode.fsb) return;
  const agp = model.agp;
  const gatt = model.gatt;
  if (tt.failed || (agp && !gatt)) return bindFailed(model, tt, gpuPage);
  const end = gpuPage + tt.pages;
  if (gpuPage < 0 || end > model.gart.pages || (gatt && end > gatt.entries)) return bindFailed(model, tt, gpuPage);
  if (!agp && mode === BindMode.map && !mapPages(model, tt)) return bindFailed(model, tt, gpuPage);
  if (gatt) {
    // agp_generic_insert_memory: every entry of the range must be empty (the CPU's view).
    for (let g = gpuPage; g < end; g++) {
      if (gatt.table[g] !== 0) {
        model.counters.gattBusy++;
        return;
      }
    }
  }
  for (let i = 0; i < tt.pages; i++) {
    const g = gpuPage + i;
    const addr = bindAddress(model, tt, i, mode, agp);
    if (gatt) gatt.table[g] = gattEntry(addr);
    else model.gart.bind(g, addr, tt.id, tt.pfn[i]);
    model.gart.ownerId[g] = tt.id;
    model.gart.ownerPfn[g] = tt.pfn[i];
    model.gpuFailed[g] = 0;
  }
  model.counters.gartWrites += tt.pages;
  model.counters.tlbFlushes++;
  tt.bound = true;
  tt.gpuPage = gpuPage;
  tt.mode = mode;
  tt.boundAgp = agp;
}

/** What page i's entry points at (T12). */
function bindAddress(model: Model, tt: Tt, i: number, mode: number, agp: boolean): number {
  const pfn = tt.pfn[i];
  switch (mode) {
    case BindMode.map:
      return agp ? pfn * PAGE_SIZE : tt.dma![i];
    case BindMode.coherent:
      return tt.coh ? tt.coh[i] : pfn * PAGE_SIZE;
    default:
      return model.machine.mfnOf(pfn) * PAGE_SIZE;
  }
}

/**
 * dma_map_page + dma_mapping_error for every page in order; at the first failure the pages
 * mapped so far are unmapped again (radeon_gart_bind's error path) and false is returned.
 */
function mapPages(model: Model, tt: Tt): boolean {
  if (!tt.dma) {
    tt.dma = new Float64Array(tt.pages).fill(NONE);
    tt.bounce = new Int32Array(tt.pages).fill(NONE);
  }
  const dma = tt.dma, bounce = tt.bounce!;
  for (let i = 0; i < tt.pages; i++) {
    const rec = mapPhys(model, tt.pfn[i] * PAGE_SIZE, 0, PAGE_SIZE, Dir.bidirectional);
    if (rec.failed) {
      for (let j = 0; j < i; j++) unmapPage(model, tt, j);
      return false;
    }
    model.debug.mappingError(rec.dmaAddr);
    dma[i] = rec.dmaAddr;
    bounce[i] = rec.bounceIndex;
  }
  return true;
}

function unmapPage(model: Model, tt: Tt, i: number): void {
  unmapAt(model, tt.dma![i], Dir.bidirectional, PAGE_SIZE);
  tt.bounce![i] = NONE;
}

/** TT_UNBIND (T13): entries to the dummy page (AGP: 0), one flush, then mode 0's unmaps. */
export function ttUnbind(model: Model, tt: Tt): void {
  if (!tt.bound) return;
  const gatt = tt.boundAgp ? model.gatt : null;
  for (let i = 0; i < tt.pages; i++) {
    const g = tt.gpuPage + i;
    if (gatt) gatt.table[g] = 0;
    else if (!tt.boundAgp) model.gart.unbind(g, model.dummyBus);
    model.gart.ownerId[g] = 0;
    model.gart.ownerPfn[g] = -1;
    model.gpuFailed[g] = 0;
  }
  model.counters.gartWrites += tt.pages;
  model.counters.tlbFlushes++;
  if (!tt.boundAgp && tt.mode === BindMode.map) for (let i = 0; i < tt.pages; i++) unmapPage(model, tt, i);
  tt.bound = false;
}

// ---- TT_SYNC and CPU access -----------------------------------------------------------------

/** TT_SYNC (T14): dma_sync_single_for_cpu/_for_device per page, BIDIRECTIONAL, 4096 bytes. */
export function ttSync(model: Model, tt: Tt, toCpu: boolean): void {
  const c = model.counters;
  const live = tt.bound && !tt.boundAgp && tt.mode === BindMode.map;
  for (let i = 0; i < tt.count; i++) {
    if (toCpu) c.syncsForCpu++;
    else c.syncsForDevice++;
    const mapped = tt.dma !== null && tt.dma[i] !== NONE;
    if (!mapped && tt.coh) continue; // a coherent handle: nothing to check, nothing to copy
    const handle = mapped ? tt.dma![i] : tt.pfn[i] * PAGE_SIZE;
    model.debug.checkSync(model.op, { dmaAddr: handle, size: PAGE_SIZE, dir: Dir.bidirectional, type: DebugType.single }, toCpu);
    if (live && tt.bounce![i] >= 0) syncCopy(model, tt.bounce![i], 0, tt.pfn[i] * PAGE_SIZE, PAGE_SIZE, toCpu);
  }
}

/** CPU_WRITE / CPU_READ of tt bytes [offset, offset + size), walking the page list (T11). */
export function ttAccess(model: Model, tt: Tt, offset: number, size: number, write: boolean): void {
  const c = model.counters;
  const touched = pagesTouched(offset, size);
  if (write) c.cpuWrites += touched;
  else c.cpuReads += touched;
  if (touched === 0) return;
  const translate = cpuTranslate(model);
  const s = write ? nextStamp(model, tt.id, false) : null;
  const first = Math.floor(offset / PAGE_SIZE);
  const last = Math.min(Math.floor((offset + size - 1) / PAGE_SIZE), tt.count - 1);
  for (let p = first; p <= last; p++) {
    const base = tt.pfn[p] * PAGE_SIZE;
    const start = base + Math.max(offset - p * PAGE_SIZE, 0);
    const end = base + Math.min(offset + size - p * PAGE_SIZE, PAGE_SIZE);
    if (s) {
      writeRange(model, s, start, end, translate, true);
      continue;
    }
    readPage(model, start, end, translate, {
      reader: Reader.cpu, pfn: tt.pfn[p], dmaAddr: BigInt(tt.heldHandle(p)), gpuPage: -1, pte: 0n, bufId: tt.id,
    });
  }
}

// ---- RELEASE --------------------------------------------------------------------------------

/**
 * The device goes away (T20): every tt unbound and unpopulated in slot order, every pool
 * drained, the GATT freed. Counted like the ops; dma-debug reports nothing.
 */
export function teardown(model: Model): void {
  model.debug.quiet = true;
  model.slots.forEach((held, slot) => {
    if (held && held.kind === 'tt') ttUnpopulate(model, slot, held);
  });
  for (const { pool, kind, caching } of model.ttmPools.all()) {
    if (kind === Pool.ttmDma) {
      freeFromTail(model, pool, pool.size, caching !== Caching.cached, (pfn, handle, exchanged) => freeDmaPage(model, pfn, handle, exchanged));
    } else {
      freeFromTail(model, pool, pool.size, true, (pfn, _h, exchanged) => releasePage(model, pfn, exchanged));
    }
  }
  gattFree(model);
  model.debug.quiet = false;
}
