// The op loop (twin of assembly/ops.ts): decodes the harness's Int32Array stream and calls the
// kernel paths in program order, as a driver (TTM + radeon/nouveau, 2010) issues DMA API calls.
// Ops on a slot that holds no usable buffer are no-ops, like a driver that ignores a failure.
import { OP_DIR_BITS, OP_WORDS, Op, PAGE_SIZE } from '../engine/abi.js';
import { gattCreate } from './drm/agpGatt.js';
import { Tt, ttAccess, ttBind, ttmTeardown, ttPopulate, ttSync, ttUnbind, ttUnpopulate, type TtState } from './drm/ttmTt.js';
import { ttmDmaPooledBlocks } from './drm/ttmPool.js';
import { bufferAccess, devSkipped, gpuRead, gpuWrite } from './driver/access.js';
import type { Buffer } from './driver/buffers.js';
import {
  allocCoherent, allocPages, allocPagesMapped, dmaMap, dmaFreeAt, dmaMappingError, dmaSync, dmaSyncError, dmaUnmap, dmaUnmapAt, dmaUnmapError, exchange, freeCoherent, gartBind, gartUnbind,
  releaseBuffer,
} from './driver/bufferOps.js';
import { explainViolation } from './driver/hops.js';

type State = TtState & { released: boolean; deviceDown: boolean };
const DIR_MASK = (1 << OP_DIR_BITS) - 1;

export function runOps(s: State, ops: Int32Array, count: number, firstOp: number): void {
  for (let n = 0; n < count; n++) {
    s.op = firstOp + n;
    const w = n * OP_WORDS;
    execute(s, ops[w]!, ops[w + 1]!, ops[w + 2]!, ops[w + 3]!, ops[w + 4]!, ops[w + 5]!, ops[w + 6]!);
    explainViolation(s);
  }
}

/** After DEVICE_DOWN (the driver never came up; assembly/ops.ts says why): an op is dropped, and the
 * pages the GPU or the device was to reach count as skipped. */
function dropped(s: State, code: number, a: number, b: number, c: number): void {
  if (code === Op.GPU_READ || code === Op.GPU_WRITE) s.counters.gpuSkippedPages += Math.max(0, Math.min(b, s.gart.pages - a));
  else if (code === Op.DEV_READ || code === Op.DEV_WRITE) devSkipped(s, b, c);
}

/** The §3 buffer in a slot (live or failed), or null. */
function bufferIn(s: State, slot: number): Buffer | null {
  const held = s.slots[slot];
  return held && !(held instanceof Tt) ? (held as Buffer) : null;
}

function execute(s: State, code: number, a: number, b: number, c: number, d: number, e: number, f: number): void {
  if (code < Op.ALLOC || code > Op.DEVICE_DOWN) throw new Error(`op ${s.op}: unknown op code ${code}`);
  s.released = false;
  if (s.deviceDown && code !== Op.RELEASE) return dropped(s, code, a, b, c);
  switch (code) {
    case Op.DEVICE_DOWN:
      s.deviceDown = true;
      return;
    case Op.ALLOC: // d, e: a trace's recorded first page, low 32 bits and high bits + 1 (0: none)
      return allocPages(s, a, b, c, e === 0 ? -1 : ((e - 1) * 2 ** 32 + (d >>> 0)) * PAGE_SIZE);
    case Op.ALLOC_PAGES:
      return allocPagesMapped(s, a, b, c & DIR_MASK, d, c >> OP_DIR_BITS, e, f);
    case Op.UNMAP_ERROR:
      return dmaUnmapError(s, b & DIR_MASK, a, c);
    case Op.SYNC_ERROR:
      return dmaSyncError(s, b & DIR_MASK, a, c !== 0);
    case Op.FREE_AT:
      return dmaFreeAt(s, a, b, c !== 0, d, e, f);
    case Op.ALLOC_COHERENT:
      return allocCoherent(s, a, b, c, d, e);
    case Op.FREE: {
      const held = bufferIn(s, a);
      if (!s.slots[a]) s.freedHandles.delete(a); // as the engine's rec_clear of an empty slot
      if (!held) return;
      releaseBuffer(s, a, held);
      // a kernel trace's second free of mapped dma_alloc_pages memory (dmaFreeAt): its handle, kept
      if (!held.failed && held.mapping) s.freedHandles.set(a, held.mapping.dmaAddr);
      return;
    }
    case Op.FREE_COHERENT: {
      const held = bufferIn(s, a);
      if (!held) return;
      return held.failed ? releaseBuffer(s, a, held) : freeCoherent(s, a, held, b, c, d);
    }
    case Op.GART_UNBIND:
      return gartUnbind(s, a, b);
    case Op.GPU_WRITE:
      return gpuWrite(s, a, b);
    case Op.GPU_READ:
      return gpuRead(s, a, b);
    case Op.RELEASE:
      s.debug.release(s.op, ttmDmaPooledBlocks(s));
      ttmTeardown(s);
      s.released = true;
      return;
    case Op.TT_POPULATE:
      return ttPopulate(s, a, b, c, d);
    case Op.GATT_CREATE:
      return gattCreate(s, a, b);
    case Op.TT_UNPOPULATE:
    case Op.TT_BIND:
    case Op.TT_UNBIND:
    case Op.TT_SYNC:
    case Op.CPU_WRITE:
    case Op.CPU_READ: {
      const tt = s.slots[a];
      if (tt instanceof Tt) return executeTt(s, code, a, tt, b, c);
    }
  }
  const buf = bufferIn(s, a);
  if (buf?.failed && (code === Op.DEV_READ || code === Op.DEV_WRITE)) return devSkipped(s, b, c);
  if (!buf || buf.failed) return;
  switch (code) {
    case Op.EXCHANGE:
      return exchange(s, buf, b);
    // b: the direction, and above OP_DIR_BITS an sg call's entry count (0: a single-page call);
    // an sg entry's e: its call's number (entries of one dma_map_sg share it)
    case Op.MAP:
      return dmaMap(s, buf, b & DIR_MASK, c, d, b >> OP_DIR_BITS, e, f);
    case Op.MAPPING_ERROR:
      return dmaMappingError(s, buf);
    case Op.SYNC_FOR_DEVICE:
      return dmaSync(s, buf, b & DIR_MASK, c, d, false, b >> OP_DIR_BITS, e, f);
    case Op.SYNC_FOR_CPU:
      return dmaSync(s, buf, b & DIR_MASK, c, d, true, b >> OP_DIR_BITS, e, f);
    case Op.UNMAP:
      return dmaUnmap(s, buf, b & DIR_MASK, c, b >> OP_DIR_BITS, d, e, f);
    case Op.UNMAP_AT:
      return dmaUnmapAt(s, buf, b, c, d, e, f);
    case Op.CPU_WRITE:
      return bufferAccess(s, buf, b, c, false, true);
    case Op.CPU_READ:
      return bufferAccess(s, buf, b, c, false, false);
    case Op.DEV_WRITE:
      return bufferAccess(s, buf, b, c, true, true);
    case Op.DEV_READ:
      return bufferAccess(s, buf, b, c, true, false);
    case Op.GART_BIND:
      return gartBind(s, buf, b);
  }
}

/** Ops on a slot holding a tt (§11, T1): a failed tt only unpopulates. */
function executeTt(s: State, code: number, slot: number, tt: Tt, b: number, c: number): void {
  if (code === Op.TT_UNPOPULATE) return ttUnpopulate(s, slot, tt);
  if (code === Op.TT_BIND) return ttBind(s, tt, b, c);
  if (tt.failed) return;
  switch (code) {
    case Op.TT_UNBIND:
      return ttUnbind(s, tt);
    case Op.TT_SYNC:
      return ttSync(s, tt, b !== 0, c);
    case Op.CPU_WRITE:
      return ttAccess(s, tt, b, c, true);
    case Op.CPU_READ:
      return ttAccess(s, tt, b, c, false);
  }
}
