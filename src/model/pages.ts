// alloc_pages / __free_pages for driver buffers (mm/page_alloc.c, 2010) over the two zones, the
// CPU's zero-fill, and the XENMEM_exchange op (arch/x86/xen/mmu.c) a driver may ask for.
import { DMA32_LIMIT_PFN, PAGE_SIZE, Zone } from '../engine/abi.js';
import { cpuTranslate, nextStamp, writeRange } from './access.js';
import { Buddy } from './buddy.js';
import { failedBuffer, orderFor, type Buffer } from './buffers.js';
import type { Layout } from './machine.js';
import type { Model } from './model.js';
import type { Tt } from './tt.js';
import { createContiguousRegion, destroyContiguousRegion } from './xen.js';

export interface Zones {
  dma32: Buddy;
  normal: Buddy | null;
}

export function buildZones(layout: Layout, ramPages: number): Zones {
  const dma32 = new Buddy(layout.firstFreePfn, Math.min(ramPages, DMA32_LIMIT_PFN));
  dma32.freeRangeAtInit();
  let normal: Buddy | null = null;
  if (ramPages > DMA32_LIMIT_PFN) {
    normal = new Buddy(DMA32_LIMIT_PFN, ramPages);
    normal.freeRangeAtInit();
  }
  return { dma32, normal };
}

/** A block from the zone asked for (`normal` falls back to DMA32), or -1. */
export function allocBlock(model: Model, order: number, zone: number): number {
  const { dma32, normal } = model.zones;
  if (zone === Zone.normal && normal) {
    const pfn = normal.alloc(order);
    if (pfn >= 0) return pfn;
  }
  return dma32.alloc(order);
}

export function freeBlock(model: Model, pfn: number, order: number): void {
  const { dma32, normal } = model.zones;
  (pfn >= DMA32_LIMIT_PFN ? normal! : dma32).free(pfn, order);
  model.counters.pagesFreed += 2 ** order;
}

/** The CPU zeroes a fresh buffer: one write operation (not counted in cpuWrites). */
export function zeroFill(model: Model, buf: Buffer): void {
  const start = buf.pfn * PAGE_SIZE;
  writeRange(model, nextStamp(model, buf.id, false), start, start + buf.pages * PAGE_SIZE, cpuTranslate(model), true);
}

export function allocPages(model: Model, slot: number, pages: number, zone: number): void {
  const id = ++model.bufCounter;
  const order = orderFor(pages);
  const pfn = allocBlock(model, order, zone);
  if (pfn < 0) {
    model.counters.allocFailures++;
    adopt(model, slot, failedBuffer(id, 'page', pages));
    return;
  }
  model.counters.pagesAllocated += 2 ** order;
  const buf: Buffer = { id, kind: 'page', pfn, order, pages, handle: -1, mapping: null, exchangedOrder: -1, failed: false };
  adopt(model, slot, buf);
  zeroFill(model, buf);
}

/** Puts a buffer or tt (live or failed) in a slot; whatever the slot held before is no longer live there. */
export function adopt(model: Model, slot: number, buf: { id: number; failed: boolean }): void {
  const old = model.slots[slot];
  if (old) model.liveIds.delete(old.id);
  model.slots[slot] = buf as Buffer | Tt;
  if (!buf.failed) model.liveIds.add(buf.id);
}

/** Returns the buffer's block to the buddy and forgets what it held; the slot empties. */
export function releaseBuffer(model: Model, slot: number, buf: Buffer): void {
  model.slots[slot] = null;
  if (buf.failed) return;
  model.liveIds.delete(buf.id);
  freeBlock(model, buf.pfn, buf.order);
  model.expected.clearPages(buf.pfn, 2 ** buf.order);
}

/** XENMEM_exchange for a buffer (counted); true on success. */
export function exchange(model: Model, buf: Buffer, addressBits: number): boolean {
  if (!exchangeRegion(model, buf.pfn, buf.order, addressBits)) return false;
  buf.exchangedOrder = buf.order;
  return true;
}

/** xen_create_contiguous_region for pfns [pfn, pfn + 2^order), counted as ENGINE.md §6. */
export function exchangeRegion(model: Model, pfn: number, order: number, addressBits: number): boolean {
  const c = model.counters;
  if (order > 9) {
    c.allocFailures++;
    return false;
  }
  c.hypercalls++;
  if (!createContiguousRegion(model.machine, pfn, order, addressBits)) {
    c.allocFailures++;
    return false;
  }
  c.exchangedFrames += 2 ** order;
  return true;
}

/** xen_destroy_contiguous_region for an exchanged buffer (counted). */
export function unexchange(model: Model, buf: Buffer): void {
  destroyRegion(model, buf.pfn, buf.exchangedOrder);
  buf.exchangedOrder = -1;
}

/** xen_destroy_contiguous_region for pfns [pfn, pfn + 2^order), counted (D16). */
export function destroyRegion(model: Model, pfn: number, order: number): void {
  model.counters.hypercalls++;
  if (destroyContiguousRegion(model.machine, pfn, order)) model.counters.exchangedFrames += 2 ** order;
}
