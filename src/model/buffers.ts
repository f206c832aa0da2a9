// A driver's buffers and the dma handle it would hand the device for each page (the driver's
// view, as in drivers/gpu/drm/ttm and radeon_gart.c): the coherent handle, else the last
// streaming mapping, else what a careless driver uses, virt_to_phys.
import { PAGE_SIZE } from '../engine/abi.js';
import { DMA_ERROR } from './gart.js';

/** The result of one dma_map_* call; it stays the buffer's handle source after unmap. */
export interface MappingRecord {
  dmaAddr: number;
  offset: number;
  size: number;
  dir: number;
  live: boolean;
  /** The map failed (overflow buffer or DMA_MAPPING_ERROR): not tracked by dma-debug. */
  failed: boolean;
  /** First swiotlb slot if bounced, else -1. */
  bounceIndex: number;
}

export interface Buffer {
  id: number;
  kind: 'page' | 'coherent';
  pfn: number;
  order: number;
  pages: number;
  /** Coherent buffers: the handle dma_alloc_coherent returned. */
  handle: number;
  mapping: MappingRecord | null;
  /** Order of a successful xen exchange, or -1. */
  exchangedOrder: number;
  /** The allocation failed: every op but free is a no-op. */
  failed: boolean;
}

export function orderFor(pages: number): number {
  let order = 0;
  while (2 ** order < pages) order++;
  return order;
}

export function bufferPhys(buf: Buffer): number {
  return buf.pfn * PAGE_SIZE;
}

function offsetHandle(base: number, delta: number): number {
  return base === DMA_ERROR ? DMA_ERROR : base + delta;
}

/** The dma address of buffer page i as the driver hands it to the device (ENGINE.md §3). */
export function pageHandle(buf: Buffer, i: number): number {
  return handleAt(buf, i * PAGE_SIZE);
}

/** The dma address of byte `offset` of the buffer, by the same rule. */
export function handleAt(buf: Buffer, offset: number): number {
  if (buf.kind === 'coherent') return buf.handle + offset;
  const m = buf.mapping;
  if (m && offset >= m.offset && offset < m.offset + m.size) return offsetHandle(m.dmaAddr, offset - m.offset);
  return bufferPhys(buf) + offset;
}

export function failedBuffer(id: number, kind: Buffer['kind'], pages: number): Buffer {
  return { id, kind, pfn: -1, order: orderFor(pages), pages, handle: DMA_ERROR, mapping: null, exchangedOrder: -1, failed: true };
}
