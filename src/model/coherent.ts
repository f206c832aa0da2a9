// dma_alloc_coherent / dma_free_coherent per platform: dma-direct (kernel/dma/direct.c),
// xen_swiotlb_alloc_coherent (drivers/xen/swiotlb-xen.c, 2010: exchange when the machine range
// is above the mask or scattered) and an IOMMU mapping. The handle needs no sync, ever.
import { DebugType, Dir, PAGE_SIZE, Platform, Zone } from '../engine/abi.js';
import { failedBuffer, orderFor, pageHandle, type Buffer } from './buffers.js';
import { dmaCapable } from './dma.js';
import type { Model } from './model.js';
import { adopt, allocBlock, exchange, freeBlock, releaseBuffer, unexchange, zeroFill } from './pages.js';

export function allocCoherent(model: Model, slot: number, pages: number): void {
  const c = model.counters;
  const id = ++model.bufCounter;
  const order = orderFor(pages);
  const blockPages = 2 ** order;
  const pfn = allocBlock(model, order, model.cfg.maskBits === 32 ? Zone.dma32 : Zone.normal);
  const buf: Buffer = { id, kind: 'coherent', pfn, order, pages, handle: -1, mapping: null, exchangedOrder: -1, failed: false };
  if (pfn >= 0) c.pagesAllocated += blockPages; // counted when taken, even if the platform step fails (D8)
  if (pfn >= 0 && !platformHandle(model, buf, blockPages)) freeBlock(model, pfn, order);
  else if (pfn >= 0) {
    c.coherentAllocs++;
    adopt(model, slot, buf);
    zeroFill(model, buf);
    model.debug.add(buf.handle, pages * PAGE_SIZE, Dir.bidirectional, DebugType.coherent);
    return;
  }
  c.allocFailures++;
  adopt(model, slot, failedBuffer(id, 'coherent', pages));
}

/** Gives the block its device handle; false when the platform cannot (the block is freed by the caller). */
function platformHandle(model: Model, buf: Buffer, blockPages: number): boolean {
  const { machine } = model;
  switch (model.cfg.platform) {
    case Platform['xen-pv']: {
      const reachable = dmaCapable(model, machine.mfnOf(buf.pfn) * PAGE_SIZE, blockPages * PAGE_SIZE)
        && machine.machineContiguous(buf.pfn, blockPages);
      if (!reachable && !exchange(model, buf, model.cfg.maskBits)) return false;
      buf.handle = machine.mfnOf(buf.pfn) * PAGE_SIZE;
      return true;
    }
    case Platform.iommu: {
      const iommu = model.iommu!;
      const first = iommu.allocate(blockPages);
      if (first < 0) return false;
      iommu.fill(first, buf.pfn, blockPages);
      model.counters.iommuPagesMapped += blockPages;
      buf.handle = iommu.busOf(first, 0);
      return true;
    }
    default:
      buf.handle = buf.pfn * PAGE_SIZE;
      return true;
  }
}

export function freeCoherent(model: Model, slot: number, buf: Buffer): void {
  const handle = pageHandle(buf, 0);
  model.debug.checkUnmap(model.op, { dmaAddr: handle, size: buf.pages * PAGE_SIZE, dir: Dir.bidirectional, type: DebugType.coherent });
  // D1: on alloc_pages memory only the debug check happens; the pages are freed as by free.
  if (buf.kind === 'coherent' && buf.exchangedOrder >= 0) unexchange(model, buf);
  if (model.iommu && buf.kind === 'coherent') model.counters.iommuPagesUnmapped += model.iommu.freeAt(handle);
  releaseBuffer(model, slot, buf);
}
