// dma_alloc_coherent / dma_free_coherent per platform: dma-direct (kernel/dma/direct.c),
// xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c, 2010: exchange when the machine range
// is above the mask or scattered) and an IOMMU mapping. The handle needs no sync, ever.
import { DebugType, Dir, PAGE_SIZE, Platform, Zone } from '../engine/abi.js';
import { failedBuffer, orderFor, pageHandle, type Buffer } from './buffers.js';
import { dmaCapable } from './dma.js';
import type { Model } from './model.js';
import { adopt, allocBlock, destroyRegion, exchangeRegion, freeBlock, releaseBuffer, unexchange, zeroFill } from './pages.js';

export function allocCoherent(model: Model, slot: number, pages: number): void {
  const c = model.counters;
  const id = ++model.bufCounter;
  const order = orderFor(pages);
  const block = coherentBlock(model, order);
  if (!block) {
    c.allocFailures++;
    adopt(model, slot, failedBuffer(id, 'coherent', pages));
    return;
  }
  const buf: Buffer = {
    id, kind: 'coherent', pfn: block.pfn, order, pages, handle: block.handle, mapping: null,
    exchangedOrder: block.exchanged ? order : -1, failed: false,
  };
  adopt(model, slot, buf);
  zeroFill(model, buf);
  model.debug.add(buf.handle, pages * PAGE_SIZE, Dir.bidirectional, DebugType.coherent);
}

/** A coherent block: its first pfn, device handle, and whether Xen exchanged it. */
export interface CoherentBlock {
  pfn: number;
  handle: number;
  exchanged: boolean;
}

/**
 * dma_alloc_coherent's allocation and platform steps, without the zero-fill and dma-debug (the
 * callers add those): pagesAllocated when taken, coherentAllocs on success, and a give-back
 * (pagesFreed) when the platform step fails (D8). Null on failure; allocFailures is the caller's,
 * but a failed exchange counts its own (§6). Also the TTM dma pool's and the GATT's allocator (T8).
 */
export function coherentBlock(model: Model, order: number): CoherentBlock | null {
  const pfn = allocBlock(model, order, model.cfg.maskBits === 32 ? Zone.dma32 : Zone.normal);
  if (pfn < 0) return null;
  model.counters.pagesAllocated += 2 ** order; // counted when taken, even if the platform step fails (D8)
  const block = platformHandle(model, pfn, order);
  if (!block) {
    freeBlock(model, pfn, order);
    return null;
  }
  model.counters.coherentAllocs++;
  return block;
}

/** Gives the block its device handle, or null when the platform cannot (the caller frees it). */
function platformHandle(model: Model, pfn: number, order: number): CoherentBlock | null {
  const { machine } = model;
  const blockPages = 2 ** order;
  switch (model.cfg.platform) {
    case Platform['xen-pv']: {
      const reachable = dmaCapable(model, machine.mfnOf(pfn) * PAGE_SIZE, blockPages * PAGE_SIZE)
        && machine.machineContiguous(pfn, blockPages);
      if (!reachable && !exchangeRegion(model, pfn, order, model.cfg.maskBits)) return null;
      return { pfn, handle: machine.mfnOf(pfn) * PAGE_SIZE, exchanged: !reachable };
    }
    case Platform.iommu: {
      const iommu = model.iommu!;
      const first = iommu.allocate(blockPages);
      if (first < 0) return null;
      iommu.fill(first, pfn, blockPages);
      model.counters.iommuPagesMapped += blockPages;
      return { pfn, handle: iommu.busOf(first, 0), exchanged: false };
    }
    default:
      return { pfn, handle: pfn * PAGE_SIZE, exchanged: false };
  }
}

/** dma_free_coherent without the dma-debug check (T8): undo the exchange or the IOVAs, free the block. */
export function freeCoherentBlock(model: Model, block: CoherentBlock, order: number): void {
  if (block.exchanged && model.machine.isXen) destroyRegion(model, block.pfn, order);
  if (model.iommu) model.counters.iommuPagesUnmapped += model.iommu.freeAt(block.handle);
  freeBlock(model, block.pfn, order);
}

export function freeCoherent(model: Model, slot: number, buf: Buffer): void {
  const handle = pageHandle(buf, 0);
  model.debug.checkUnmap(model.op, { dmaAddr: handle, size: buf.pages * PAGE_SIZE, dir: Dir.bidirectional, type: DebugType.coherent });
  // D1: on alloc_pages memory only the debug check happens; the pages are freed as by free.
  if (buf.kind === 'coherent' && buf.exchangedOrder >= 0) unexchange(model, buf);
  if (model.iommu && buf.kind === 'coherent') model.counters.iommuPagesUnmapped += model.iommu.freeAt(handle);
  releaseBuffer(model, slot, buf);
}
