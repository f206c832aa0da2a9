// The streaming DMA API dispatched by platform (kernel/dma/mapping.c): dma-direct with swiotlb
// fallback (bare metal), forced swiotlb, xen-swiotlb (drivers/xen/swiotlb-xen.c, 2010) and an
// IOMMU. Bounce buffers follow lib/swiotlb.c (2010) or kernel/dma/swiotlb.c (modern).
import { DebugType, Dir, IO_TLB_OVERFLOW_PAGES, Kernel, PAGE_SIZE, Platform, UNIT_SIZE } from '../engine/abi.js';
import { copyPhys } from './access.js';
import { bufferPhys, handleAt, type Buffer, type MappingRecord } from './buffers.js';
import { DMA_ERROR } from './gart.js';
import type { Model } from './model.js';

const OVERFLOW_BYTES = IO_TLB_OVERFLOW_PAGES * PAGE_SIZE;

export function dmaCapable(model: Model, addr: number, size: number): boolean {
  return addr + size - 1 <= 2 ** model.cfg.maskBits - 1;
}

const copiesToDevice = (dir: number) => dir === Dir.to_device || dir === Dir.bidirectional;
const copiesToCpu = (dir: number) => dir === Dir.from_device || dir === Dir.bidirectional;

function slotPhys(model: Model, index: number): number {
  return model.layout.poolPfn * PAGE_SIZE + index * UNIT_SIZE;
}

/** The slot whose run starts at bus address `bus`, or -1 (is_swiotlb_buffer + a live run). */
function liveBounceRun(model: Model, bus: number): number {
  if (model.iommu || bus < 0) return -1;
  const phys = model.machine.machineToPhys(bus);
  const offset = phys - slotPhys(model, 0);
  if (phys < 0 || offset < 0 || offset % UNIT_SIZE !== 0) return -1;
  const index = offset / UNIT_SIZE;
  return model.swiotlb.isRunStart(index) ? index : -1;
}

export function dmaMap(model: Model, buf: Buffer, dir: number, offset: number, size: number): void {
  buf.mapping = mapPhys(model, bufferPhys(buf) + offset, offset, size, dir);
}

/**
 * One dma_map_* call on guest physical range [phys, phys + size) (`offset`: where it starts in
 * the caller's buffer, kept in the record): platform dispatch, maps++, the dma-debug entry.
 */
export function mapPhys(model: Model, phys: number, offset: number, size: number, dir: number): MappingRecord {
  model.counters.maps++;
  const rec: MappingRecord = { dmaAddr: phys, offset, size, dir, live: true, failed: false, bounceIndex: -1 };
  switch (model.cfg.platform) {
    case Platform['bare-metal']:
      if (!dmaCapable(model, phys, size)) swiotlbBounce(model, rec, phys);
      break;
    case Platform['swiotlb-force']:
      swiotlbBounce(model, rec, phys);
      break;
    case Platform['xen-pv']: {
      rec.dmaAddr = model.machine.physToMachine(phys);
      const firstPfn = Math.floor(phys / PAGE_SIZE);
      const pages = Math.floor((phys + size - 1) / PAGE_SIZE) - firstPfn + 1;
      if (!dmaCapable(model, rec.dmaAddr, size) || !model.machine.machineContiguous(firstPfn, pages)) {
        swiotlbBounce(model, rec, phys);
      }
      break;
    }
    default:
      iommuMap(model, rec, phys);
  }
  if (rec.failed) rec.live = false;
  else model.debug.add(rec.dmaAddr, size, dir, DebugType.single);
  return rec;
}

/** swiotlb_tbl_map_single + the map-time copy; a full pool returns the era's error address. */
function swiotlbBounce(model: Model, rec: MappingRecord, phys: number): void {
  const c = model.counters;
  const index = model.swiotlb.allocate(phys, rec.size);
  if (index < 0) {
    c.swiotlbFull++;
    c.mappingErrors++;
    rec.failed = true;
    if (model.cfg.kernel === Kernel['2010']) {
      rec.dmaAddr = model.machine.physToMachine(model.layout.overflowPfn * PAGE_SIZE);
      if (rec.size > OVERFLOW_BYTES) c.swiotlbPanics++;
    } else {
      rec.dmaAddr = DMA_ERROR;
    }
    return;
  }
  c.bounces++;
  c.swiotlbSlotsInUse = model.swiotlb.slotsInUse;
  c.swiotlbPeakSlots = Math.max(c.swiotlbPeakSlots, model.swiotlb.slotsInUse);
  rec.bounceIndex = index;
  rec.dmaAddr = model.machine.physToMachine(slotPhys(model, index));
  if (copiesToDevice(rec.dir) || (rec.dir === Dir.from_device && model.cfg.kernel === Kernel.modern)) {
    copyPhys(model, phys, slotPhys(model, index), rec.size);
    c.bounceBytes += rec.size;
  }
}

function iommuMap(model: Model, rec: MappingRecord, phys: number): void {
  const iommu = model.iommu!;
  const firstPfn = Math.floor(phys / PAGE_SIZE);
  const pages = Math.floor((phys + rec.size - 1) / PAGE_SIZE) - firstPfn + 1;
  const first = iommu.allocate(pages);
  if (first < 0) {
    model.counters.mappingErrors++;
    rec.failed = true;
    rec.dmaAddr = DMA_ERROR;
    return;
  }
  iommu.fill(first, firstPfn, pages);
  model.counters.iommuPagesMapped += pages;
  rec.dmaAddr = iommu.busOf(first, phys % PAGE_SIZE);
}

export function dmaUnmap(model: Model, buf: Buffer, dir: number, size: number): void {
  const rec = buf.mapping;
  // D10: the last mapping's address (live or dead), else the coherent handle, else virt_to_phys.
  const addr = rec ? rec.dmaAddr : buf.kind === 'coherent' ? buf.handle : bufferPhys(buf);
  unmapAt(model, addr, dir, size);
  if (rec) rec.live = false;
}

/** One dma_unmap_* call on `addr`: the debug check, then the bounce copy-back and slot release or the IOVA release. */
export function unmapAt(model: Model, addr: number, dir: number, size: number): void {
  const c = model.counters;
  c.unmaps++;
  model.debug.checkUnmap(model.op, { dmaAddr: addr, size, dir, type: DebugType.single });
  if (model.iommu) {
    if (addr !== DMA_ERROR) c.iommuPagesUnmapped += model.iommu.freeAt(addr);
    return;
  }
  const index = liveBounceRun(model, addr);
  if (index < 0) return;
  const pool = model.swiotlb;
  if (copiesToCpu(dir)) {
    const bytes = Math.min(size, pool.runBytes[index]);
    copyPhys(model, slotPhys(model, index), pool.orig[index], bytes);
    c.bounceBytes += bytes;
  }
  pool.release(index);
  c.swiotlbSlotsInUse = pool.slotsInUse;
}

/** The bounce copy of a sync on a live bounced run: bounce→orig for the CPU, orig→bounce for the device. */
export function syncCopy(model: Model, bounceIndex: number, bounceOffset: number, orig: number, size: number, toCpu: boolean): void {
  const bounce = slotPhys(model, bounceIndex) + bounceOffset;
  if (toCpu) copyPhys(model, bounce, orig, size);
  else copyPhys(model, orig, bounce, size);
  model.counters.bounceBytes += size;
}

export function dmaSync(model: Model, buf: Buffer, dir: number, offset: number, size: number, toCpu: boolean): void {
  const c = model.counters;
  if (toCpu) c.syncsForCpu++;
  else c.syncsForDevice++;
  model.debug.checkSync(model.op, { dmaAddr: handleAt(buf, offset), size, dir, type: DebugType.single }, toCpu);
  const rec = buf.mapping;
  if (!rec || !rec.live || rec.bounceIndex < 0) return;
  if (offset < rec.offset || offset + size > rec.offset + rec.size) return;
  const orig = bufferPhys(buf) + offset;
  if (toCpu ? copiesToCpu(dir) : copiesToDevice(dir)) syncCopy(model, rec.bounceIndex, offset - rec.offset, orig, size, toCpu);
}

/** dma_mapping_error() on the buffer's last mapping address, live or dead (D7). */
export function dmaMappingError(model: Model, buf: Buffer): void {
  if (buf.mapping) model.debug.mappingError(buf.mapping.dmaAddr);
}
