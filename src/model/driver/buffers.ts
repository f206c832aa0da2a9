// A driver's buffers and the dma handle it would hand the device for each page (twin of
// assembly/driver/buffers.ts; the driver's view, as in drivers/gpu/drm/ttm and radeon_gart.c): the
// coherent handle, else the last streaming mapping, else what a careless driver uses, virt_to_phys.
import { PAGE_SIZE } from '../../engine/abi.js';
import { DMA_ERROR, type MappingRecord } from '../dma/mapping.js';
import { getOrder } from '../mm/pageAlloc.js';

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
  /** Where a kernel trace had these pages (their first byte), which dma-debug's cacheline numbers take. */
  recorded?: number;
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

/** A device access to bytes [a, …) of page i: the handle of its first byte, laid over the page
 * (assembly/driver/buffers.ts dev_page_handle). */
export function devPageHandle(buf: Buffer, i: number, a: number): number {
  const h = handleAt(buf, i * PAGE_SIZE + a);
  return h === DMA_ERROR ? h : h - a;
}

/**
 * D24: does page i's handle (a device access's: at its first byte `a`) come from a map that failed
 * — an address dma_mapping_error would have refused (`err`: the platform's, dma/mapping.ts
 * dmaErrorAddr), which a driver that did not check hands on? The device or GPU then reaches
 * whatever is there, and the page does not move.
 */
export function pageHandleFailed(buf: Buffer, i: number, err: number, a = 0): boolean {
  return buf.kind !== 'coherent' && inMapping(buf, i * PAGE_SIZE + a) && buf.mapping!.dmaAddr === err;
}

/** Does the buffer's last mapping (live or dead) cover byte `at`? */
function inMapping(buf: Buffer, at: number): boolean {
  const m = buf.mapping;
  return m !== null && at >= m.offset && at < m.offset + m.size;
}

/** Does the driver hold a dma address for byte `at`: a coherent buffer's, or a mapping's that covers it? */
export function holdsHandle(buf: Buffer, at: number): boolean {
  return buf.kind === 'coherent' || inMapping(buf, at);
}

/** The dma address of byte `offset` of the buffer, by the same rule (D10). */
export function handleAt(buf: Buffer, offset: number): number {
  if (buf.kind === 'coherent') return buf.handle + offset;
  const m = buf.mapping;
  if (m && inMapping(buf, offset)) return offsetHandle(m.dmaAddr, offset - m.offset);
  return bufferPhys(buf) + offset;
}

/** The handle a driver computes for byte `offset` of its mapping (assembly/driver/buffers.ts driver_handle): a failed
 * map's error handle plus the offset too (DMA_ERROR, −1, + k is k − 1, as a u64 wraps); elsewhere handleAt. */
export function driverHandle(buf: Buffer, offset: number): number {
  const m = buf.mapping;
  if (buf.kind !== 'coherent' && m && inMapping(buf, offset)) return m.dmaAddr + (offset - m.offset);
  return handleAt(buf, offset);
}

/** D4: a CPU read reports the dma address the driver holds for the page, or -1 when it holds none. */
export function cpuPageHandle(buf: Buffer, i: number): number {
  return holdsHandle(buf, i * PAGE_SIZE) ? pageHandle(buf, i) : DMA_ERROR;
}

/** The address a driver passes to unmap (D10): its last mapping's, else the coherent handle, else phys. */
export function unmapHandle(buf: Buffer): number {
  if (buf.mapping) return buf.mapping.dmaAddr;
  return buf.kind === 'coherent' ? buf.handle : bufferPhys(buf);
}

export function failedBuffer(id: number, kind: Buffer['kind'], pages: number): Buffer {
  return { id, kind, pfn: -1, order: getOrder(pages), pages, handle: DMA_ERROR, mapping: null, exchangedOrder: -1, failed: true };
}
