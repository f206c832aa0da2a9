// The script's DMA-API calls on its own buffers (twin of assembly/driver/buffer_ops.ts):
// alloc_pages, dma_alloc_coherent, dma_map_single, dma_sync_single_*, dma_unmap_single,
// xen_create_contiguous_region and a GART bind — what a 2010 driver does with one buffer, checked
// by dma-debug. A buffer keeps only its last mapping.
import { AllocForm, DebugType, Dir, GattMode, Kernel, OP_ATTR_AFTER_UNMAP, OP_ATTR_SKIP_CPU_SYNC, OP_SYNC_SG_ALL, OP_SYNC_SG_NONE, PAGE_SIZE, SYNC_CHECK_MAX, UNIT_SIZE, Zone } from '../../engine/abi.js';
import { adopt, vacate } from '../layout.js';
import { cpuReach, nextBufId, nextStamp, writeRange } from '../sim/stamps.js';
import { allocBlock, freeBlock, getOrder } from '../mm/pageAlloc.js';
import { xenCreateContiguousRegion } from '../xen/exchange.js';
import { xenPvDomain } from '../xen/p2m.js';
import { coherentAllocBlock, coherentFreeBlock, tableEnts } from '../dma/coherent.js';
import { countSync, dmaErrorAddr, dmaHandleRetaken, dmaMapPhys, dmaUnmapAddr, dmaUnmapPage, rangeSyncHook, sgNeverMappedAddr, sgUndoneAddr, swiotlbSync2010, swiotlbSyncModern } from '../dma/mapping.js';
import { gartTlbFlush } from '../drm/gart.js';
import { agpGartUnbind, gattEntry } from '../drm/agpGatt.js';
import type { TtState } from '../drm/ttmTt.js';
import { bufferPhys, driverHandle, failedBuffer, handleAt, holdsHandle, pageHandle, pageHandleFailed, unmapHandle, type Buffer } from './buffers.js';

/** The CPU zeroes a fresh buffer: one write operation (not counted in cpuWrites). */
function zeroFill(s: TtState, buf: Buffer): void {
  const start = buf.pfn * PAGE_SIZE;
  writeRange(s, nextStamp(s, buf.id, false), start, start + buf.pages * PAGE_SIZE, cpuReach(s), true);
}

/** alloc_pages; `recorded`: where a kernel trace had these pages (their first byte), −1 for none. */
export function allocPages(s: TtState, slot: number, pages: number, zone: number, recorded = -1): void {
  const id = nextBufId(s);
  const order = getOrder(pages);
  const pfn = allocBlock(s, order, zone);
  if (pfn < 0) {
    s.counters.allocFailures++;
    adopt(s, slot, failedBuffer(id, 'page', pages));
    return;
  }
  s.counters.pagesAllocated += 2 ** order;
  const buf: Buffer = { id, kind: 'page', pfn, order, pages, handle: -1, mapping: null, exchangedOrder: -1, failed: false };
  if (recorded >= 0) buf.recorded = recorded;
  adopt(s, slot, buf);
  zeroFill(s, buf);
}

/**
 * 6.12 dma_common_alloc_pages (assembly/driver/buffer_ops.ts op_alloc_pages): normal pages mapped
 * through the platform's map_page; a failed map gives them back, an allocation failure (not a
 * mapping error a driver sees), and the slot holds a failed buffer.
 */
export function allocPagesMapped(s: TtState, slot: number, pages: number, dir: number, bytes: number, sgEnts: number, call: number, asked = 0): void {
  allocPages(s, slot, pages, Zone.normal);
  const buf = s.slots[slot] as Buffer;
  if (buf.failed) return;
  // dma-debug files what dma_alloc_pages does (noncoherent, the size asked), or the _sgt table (sgEnts 1)
  dmaMap(s, buf, dir, 0, bytes, sgEnts, call, 0, sgEnts === 0 ? { type: DebugType.noncoherent, size: asked > 0 ? asked : bytes } : undefined);
  if (buf.mapping!.live) {
    if (sgEnts === 0) dmaMappingError(s, buf);
    return;
  }
  s.counters.mappingErrors--;
  s.counters.allocFailures++;
  releaseBuffer(s, slot, buf);
  adopt(s, slot, failedBuffer(buf.id, 'page', pages));
}

/** Returns the buffer's block to the buddy and forgets what it held; the slot empties. */
export function releaseBuffer(s: TtState, slot: number, buf: Buffer): void {
  vacate(s, slot);
  if (buf.failed) return;
  freeBlock(s, buf.pfn, buf.order);
  s.expected.clearPages(buf.pfn, 2 ** buf.order);
}

/** The Xen-aware driver's explicit exchange (fix 3 of the RFC; buffer_ops.ts op_exchange: on 6.12 a
 * coherent buffer's free destroys only what its allocation exchanged, PageXenRemapped). */
export function exchange(s: TtState, buf: Buffer, addressBits: number): void {
  if (!xenPvDomain(s)) return;
  const keep = s.cfg.kernel === Kernel.modern && buf.kind === 'coherent';
  if (xenCreateContiguousRegion(s, buf.pfn, buf.order, addressBits, true) && !keep) buf.exchangedOrder = buf.order;
}

/** dma_alloc_coherent of `bytes` (0: whole pages; buffer_ops.ts op_alloc_coherent). */
/** The dma-debug type of a kernel trace's allocation or free form on 6.12 (buffer_ops.ts alloc_debug_type): coherent,
 * noncoherent (_pages), an sg table's one entry (_sgt); 2.6.37 had dma_alloc_coherent only. Its direction, the call's. */
/** The debug type and direction dma-debug checks an unmap or a free's unmap by (assembly/driver/buffer_ops.ts call_type, call_dir):
 * `form`, the free call's AllocForm + 1, or 0 for dma_unmap_page / an entry of dma_unmap_sg (`sgEnts` > 0). */
const callDebug = (s: TtState, form: number, sgEnts: number, dir: number): [number, number] =>
  form > 0 ? allocDebug(s, form - 1, dir) : [sgEnts > 0 ? DebugType.sg : DebugType.single, dir];

function allocDebug(s: TtState, form: number, dir: number): [number, number] {
  if (s.cfg.kernel !== Kernel.modern || form === AllocForm.coherent) return [DebugType.coherent, Dir.bidirectional];
  return [form === AllocForm.pages ? DebugType.noncoherent : DebugType.sg, dir];
}

export function allocCoherent(s: TtState, slot: number, pages: number, bytes: number, form: number = AllocForm.coherent, dir: number = Dir.bidirectional): void {
  const id = nextBufId(s);
  const order = getOrder(pages);
  const block = coherentAllocBlock(s, order, true, bytes > 0 ? bytes : pages * PAGE_SIZE, ...allocDebug(s, form, dir));
  if (!block) {
    s.counters.allocFailures++;
    adopt(s, slot, failedBuffer(id, 'coherent', pages));
    return;
  }
  const buf: Buffer = {
    id, kind: 'coherent', pfn: block.pfn, order, pages, handle: block.handle, mapping: null,
    exchangedOrder: block.exchanged, failed: false,
  };
  adopt(s, slot, buf);
  zeroFill(s, buf);
}

/** dma_free_coherent of `bytes` (0: the allocation's pages): dma-debug checks that size (buffer_ops.ts op_free_coherent). */
export function freeCoherent(s: TtState, slot: number, buf: Buffer, bytes: number, form: number = AllocForm.coherent, dir: number = Dir.bidirectional): void {
  const size = buf.pages * PAGE_SIZE;
  const given = bytes > 0 ? bytes : size;
  if (buf.kind === 'coherent') {
    coherentFreeBlock(s, { pfn: buf.pfn, handle: buf.handle, exchanged: buf.exchangedOrder }, buf.order, true, size, given, ...allocDebug(s, form, dir));
    vacate(s, slot);
    s.freedHandles.set(slot, buf.handle); // for a kernel trace's second dma_free (dmaFreeAt)
    return;
  }
  // D1: dma_free_coherent on alloc_pages memory: dma-debug sees it, the pages are freed as by free.
  s.debug.checkUnmap(s.op, { dmaAddr: pageHandle(buf, 0), size: given, dir: Dir.bidirectional, type: DebugType.coherent });
  releaseBuffer(s, slot, buf);
}

/**
 * dma_map_page, or (`sgEnts` > 0) one entry of dma_map_sg call number `call` of that many entries
 * (dma-debug's sg type). A call stops at its first failed entry (6.12 dma_direct_map_sg,
 * xen_swiotlb_map_sg; 2.6.37 swiotlb_map_sg_attrs, xen_swiotlb_map_sg_attrs): the entries it had
 * mapped are unmapped, first to last — 6.12 with DMA_ATTR_SKIP_CPU_SYNC, 2.6.37 copying back — and
 * never filed by dma-debug; the entries after it are never mapped (their address stays 0, as does
 * 2.6.37's failed one). Behind an IOMMU undone entries are error addresses (dma/mapping.ts).
 */
export function dmaMap(s: TtState, buf: Buffer, dir: number, offset: number, size: number, sgEnts: number, call: number, attrs = 0, filed?: { type: number; size: number }): void {
  const sg = s.sgCall;
  if (sgEnts > 0 && call !== sg.call) Object.assign(sg, { call, mapped: [], failed: false });
  if (sgEnts > 0 && sg.failed) {
    buf.mapping = { dmaAddr: sgNeverMappedAddr(s), offset, size, dir, live: false, failed: true, bounceIndex: -1 };
    return;
  }
  // dma-debug's cacheline: of the memory a trace recorded, when it did (buffers.ts recorded)
  buf.mapping = dmaMapPhys(s, bufferPhys(buf) + offset, offset, size, dir, sgEnts, buf.recorded !== undefined ? buf.recorded + offset : -1, attrs, filed);
  if (sgEnts === 0) return;
  if (buf.mapping.live) return void sg.mapped.push(buf);
  sg.failed = true;
  s.debug.quiet = true; // the list's entries were never filed (no debug_dma_map_sg): none is reported
  for (const e of sg.mapped) {
    const m = e.mapping!;
    dmaUnmapPage(s, m.dmaAddr, m.size, m.dir, sgEnts, true);
    Object.assign(m, { dmaAddr: sgUndoneAddr(s, m.dmaAddr), live: false });
  }
  s.debug.quiet = false;
  sg.mapped = [];
  // 2.6.37's map_sg keeps the failed entry's result in a local: its dma_address stays 0.
  if (s.cfg.kernel !== Kernel.modern) buf.mapping.dmaAddr = 0;
}

/** dma_unmap_page (an entry of dma_unmap_sg when sgEnts > 0); `attrs` OP_ATTR_SKIP_CPU_SYNC: no copy back (6.12);
 * `form` > 0: a trace's free call (AllocForm + 1) of mapped dma_alloc_pages memory, checked as its hook does (buffer_ops.ts dma_unmap). */
export function dmaUnmap(s: TtState, buf: Buffer, dir: number, size: number, sgEnts: number, attrs: number, form = 0, checked = 0): void {
  const [type, cdir] = callDebug(s, form, sgEnts, dir);
  const m = buf.mapping, check = form > 0 ? { size: checked > 0 ? checked : size, dir: cdir, type, sgEnts: tableEnts(type) } : undefined;
  const single = sgEnts === 0 || form > 0; // not dma_unmap_sg's entry (a free: dma_common_free_pages' unmap_page)
  if ((attrs & OP_ATTR_AFTER_UNMAP) !== 0 && m && !m.live) { // a kernel trace's unmap after its unmap (retaken says how)
    s.counters.unmaps++;
    const ref = { dmaAddr: m.dmaAddr, ...(check ?? { size, dir, type, sgEnts }) };
    s.debug.reportUnmapUnknown(s.op, ref);
    if (!retaken(s, buf, m.dmaAddr, size, single)) dmaUnmapAddr(s, m.dmaAddr, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) !== 0, single);
    return;
  }
  dmaUnmapPage(s, unmapHandle(buf), size, dir, single ? 0 : sgEnts, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) !== 0, check);
  if (buf.mapping) buf.mapping.live = false;
}

/**
 * A kernel trace's dma_unmap_page / dma_sync_single_* of DMA_MAPPING_ERROR (assembly/driver/
 * buffer_ops.ts dma_unmap_error): at the handle a failed map gives here (dmaErrorAddr).
 */
export function dmaUnmapError(s: TtState, dir: number, size: number, attrs: number): void {
  dmaUnmapPage(s, dmaErrorAddr(s), size, dir, 0, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) !== 0);
}
export function dmaSyncError(s: TtState, dir: number, size: number, toCpu: boolean): void {
  syncAt(s, dmaErrorAddr(s), dir, size, toCpu, 0, 0);
}

/**
 * A kernel trace's dma_free at a handle no live allocation holds (assembly/driver/buffer_ops.ts
 * dma_free_at: debug_dma_free_coherent's check_unmap, coherent, BIDIRECTIONAL): `freed`, the handle
 * the slot's last free freed, `offset` bytes past it ("has not allocated", no lookup); else the slot's live streaming mapping's. dma-debug only.
 */
export function dmaFreeAt(s: TtState, slot: number, size: number, freed: boolean, form: number = AllocForm.coherent, dir: number = Dir.bidirectional, offset = 0): void {
  const held = s.slots[slot], handle = s.freedHandles.get(slot);
  const buf = held && held.kind !== 'tt' && !held.failed ? (held as Buffer) : undefined;
  const [type, cdir] = allocDebug(s, form, dir); // the free call's hook
  const ref = { size, dir: cdir, type, sgEnts: tableEnts(type) };
  if (freed && !held && handle !== undefined) s.debug.reportUnmapUnknown(s.op, { dmaAddr: handle + offset, ...ref }); // no lookup: nothing live at the recorded address
  else if (!freed && buf?.mapping) s.debug.checkUnmap(s.op, { dmaAddr: buf.mapping.dmaAddr, ...ref }); // a failed map: its error handle
}

/**
 * A kernel trace's unmap or free where no mapping or allocation starts, inside `buf`'s (or at its
 * dead mapping's start, a free; or inside its dead mapping, an unmap of a piece), `offset` bytes in
 * (assembly/driver/buffer_ops.ts dma_unmap_at): "has not allocated" at the simulated address (a
 * failed map's error handle plus the offset), no lookup; at the error handle itself, as its unmap.
 * `form`: the free call's AllocForm + 1 (its hook's type and direction), 0 dma_unmap_page (`attrs`
 * its OP_ATTR_SKIP_CPU_SYNC). An unmap (not a free) is also the platform's, at a live mapping's or a coherent
 * allocation's handle plus an offset, and inside a dead mapping unless retaken.
 */
export function dmaUnmapAt(s: TtState, buf: Buffer, size: number, offset: number, form: number, dir: number, attrs = 0): void {
  const [type, cdir] = callDebug(s, form, 0, dir);
  const m = buf.kind !== 'coherent' ? buf.mapping : undefined, h = m ? m.dmaAddr + (offset - m.offset) : handleAt(buf, offset); // DMA_ERROR (-1) + k is k - 1, as a u64 wraps
  const ref = { dmaAddr: h, size, dir: cdir, type, sgEnts: tableEnts(type) };
  if (form === 0) s.counters.unmaps++; // an unmap call, as any other
  s.debug.reportUnmapUnknown(s.op, ref);
  if (form !== 0) return;
  // A mapping not live here (unmapped by the trace, or its map failed here): the platform's unmap at h, as after any unmap.
  if (m && !m.live) return void (retaken(s, buf, h, size) || dmaUnmapAddr(s, h, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) !== 0));
  // A live mapping or a coherent allocation: the platform's unmap at h, which does not look for the mapping (behind an
  // IOMMU it clears from there; in a live run of bounce slots it copies back and releases slots from there).
  if (buf.kind === 'coherent' || m) dmaUnmapAddr(s, h, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) !== 0);
}

/**
 * dma_sync_single_for_{cpu,device} on buffer bytes [offset, offset + size), at their handle (D10),
 * copied as the era's swiotlb does at that address (dma/mapping.ts swiotlbSync2010,
 * swiotlbSyncModern): whoever holds the slot there now, live mapping or not.
 */
export function dmaSync(s: TtState, buf: Buffer, dir: number, offset: number, size: number, toCpu: boolean, sgEnts: number, sgIndex: number, flags = 0): void {
  const range = (flags & 1) !== 0;
  if ((flags & (OP_SYNC_SG_NONE | OP_SYNC_SG_ALL)) !== 0) s.debug.setSgMapped((flags & OP_SYNC_SG_NONE) !== 0 ? 0 : sgEnts);
  // `range`: a kernel trace's sync inside a mapping: 2.6.37's range form checks the mapping's handle
  // with offset + size where the dma ops have the hook (dma/mapping.ts); assembly/driver/buffer_ops.ts dma_sync.
  const m = buf.mapping, whole = range && sgEnts === 0 && s.cfg.kernel !== Kernel.modern && rangeSyncHook(s) && m ? offset - m.offset : -1;
  const [checkAt, checked] = whole >= 0 ? [handleAt(buf, m!.offset), Math.min(whole + size, SYNC_CHECK_MAX)] : [0, -1];
  if ((flags & OP_ATTR_AFTER_UNMAP) !== 0 && m && !m.live) { // a kernel trace's sync after its unmap (retaken says how)
    const h = driverHandle(buf, offset);
    countSync(s, toCpu);
    // inside the unmapped mapping, 2.6.37's range form names its handle (check_sync: none there)
    const ref = whole >= 0 ? { dmaAddr: checkAt, size: checked } : { dmaAddr: h, size };
    s.debug.reportSyncUnknown(s.op, { ...ref, dir, type: sgEnts > 0 ? DebugType.sg : DebugType.single, sgEnts, sgIndex });
    if (!retaken(s, buf, h, size)) syncPlatform(s, h, size, dir, toCpu);
    return;
  }
  syncAt(s, driverHandle(buf, offset), dir, size, toCpu, sgEnts, sgIndex, checkAt, checked);
}

/** The sync at `dma`; dma-debug checks `checked` bytes at `checkAt` instead when `checked` ≥ 0 (a range sync). */
function syncAt(s: TtState, dma: number, dir: number, size: number, toCpu: boolean, sgEnts: number, sgIndex: number, checkAt = 0, checked = -1): void {
  const c = s.counters;
  if (toCpu) c.syncsForCpu++;
  else c.syncsForDevice++;
  const [at, n] = checked >= 0 ? [checkAt, checked] : [dma, size];
  s.debug.checkSync(s.op, { dmaAddr: at, size: n, dir, type: sgEnts > 0 ? DebugType.sg : DebugType.single, sgEnts, sgIndex }, toCpu);
  syncPlatform(s, dma, size, dir, toCpu);
}

/** The era's swiotlb copy of a sync at `dma` (the platform's part). */
function syncPlatform(s: TtState, dma: number, size: number, dir: number, toCpu: boolean): void {
  if (s.cfg.kernel !== Kernel.modern) swiotlbSync2010(s, dma, size, dir, toCpu);
  else swiotlbSyncModern(s, dma, size, dir, toCpu);
}

/** A kernel trace's unmap or sync of a mapping it had unmapped (assembly/driver/buffer_ops.ts retaken): dma-debug finds nothing
 * live there, and the platform acts at handle `h` unless the simulation gave what it reaches to another mapping since. */
function retaken(s: TtState, buf: Buffer, h: number, size: number, single = true): boolean {
  const m = buf.mapping!, at = h - m.dmaAddr; // bytes into the mapping: a 2.6.37 mapping starts at its first slot
  const start = bufferPhys(buf) + m.offset;
  return dmaHandleRetaken(s, h, start + Math.floor(at / UNIT_SIZE) * UNIT_SIZE, size, Math.floor((start + at) / PAGE_SIZE), single);
}

/** dma_mapping_error() on the buffer's last mapping address, live or dead (D7). */
export function dmaMappingError(s: TtState, buf: Buffer): void {
  if (buf.mapping) s.debug.mappingError(buf.mapping.dmaAddr);
}

/** radeon_gart_bind / nouveau_sgdma_bind: one PTE per page of the buffer's handle, then the family's TLB flushes. */
export function gartBind(s: TtState, buf: Buffer, gpuPage: number): void {
  const err = dmaErrorAddr(s);
  if (s.agp) return agpGartBind(s, buf, gpuPage, err);
  for (let i = 0; i < buf.pages; i++) {
    s.gart.bind(gpuPage + i, pageHandle(buf, i), buf.id, buf.pfn + i, pageHandleFailed(buf, i, err)); // D24
    s.gpuFailed[gpuPage + i] = 0;
  }
  s.counters.gartWrites += buf.pages;
  gartTlbFlush(s);
}

/** What agp_generic_insert_memory writes for page i of a replay's buffer: its handle, but with a table
 * made through the fsb hooks the machine address of a page neither mapped nor coherent (virt_to_fsb;
 * assembly/driver/buffer_ops.ts agp_page_addr). */
function agpPageAddr(s: TtState, buf: Buffer, i: number): number {
  return s.gatt?.mode === GattMode.fsbHooks && !holdsHandle(buf, i * PAGE_SIZE) ? s.machine.mfnOf(buf.pfn + i) * PAGE_SIZE : pageHandle(buf, i);
}

/** On the AGP device (T16): agp_generic_insert_memory of the buffer's page handles into the GATT a
 * replay's bring-up made, clipped to its entries: -EBUSY over a used entry (nothing written), else
 * one entry a page and the bridge's one TLB flush (assembly/driver/buffer_ops.ts gart_bind). */
function agpGartBind(s: TtState, buf: Buffer, gpuPage: number, err: number): void {
  const gatt = s.gatt;
  if (!gatt) return void s.counters.bindFailures++; // its bring-up could not make the table
  const n = Math.min(buf.pages, gatt.entries - gpuPage);
  if (gpuPage < 0 || n <= 0) return;
  if (gatt.rangeBusy(gpuPage, n)) return void s.counters.gattBusy++;
  for (let i = 0; i < n; i++) {
    gatt.table[gpuPage + i] = gattEntry(agpPageAddr(s, buf, i));
    s.gart.setOwner(gpuPage + i, buf.id, buf.pfn + i, pageHandleFailed(buf, i, err)); // D24
    s.gpuFailed[gpuPage + i] = 0;
  }
  s.counters.gartWrites += n;
  s.counters.tlbFlushes++;
}

export function gartUnbind(s: TtState, gpuPage: number, pages: number): void {
  if (s.agp) return agpGartUnbind(s, gpuPage, pages);
  for (let i = 0; i < pages; i++) {
    s.gart.unbind(gpuPage + i, s.dummyBus);
    s.gpuFailed[gpuPage + i] = 0;
  }
  s.counters.gartWrites += pages;
  gartTlbFlush(s);
}
