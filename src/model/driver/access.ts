// Who touches memory and how (twin of assembly/driver/access.ts): the CPU through the kernel mapping
// (guest phys → p2m), a device through the driver's dma handle (bus → IOMMU), the GPU through
// decoded GART entries or, on an AGP bridge, GATT entries the chipset fetches itself. The same
// page reached by different routes sees different frames once a bounce or a p2m sits between them,
// and the oracle is asked after every read.
import { PAGE_SIZE, Reader } from '../../engine/abi.js';
import { foreignPage, readPage } from '../sim/oracle.js';
import { cpuReach, nextStamp, writeRange, type Reach } from '../sim/stamps.js';
import { busToMachine, deviceMachine } from '../sim/translate.js';
import { DMA_ERROR, dmaErrorAddr } from '../dma/mapping.js';
import { entryAddress, entryValid } from '../drm/agpGatt.js';
import { decodePte, decodePteBig, pteBig, pteReaches } from '../drm/gart.js';
import { pagesTouched, type TtState } from '../drm/ttmTt.js';
import { bufferPhys, cpuPageHandle, devPageHandle, pageHandleFailed, type Buffer } from './buffers.js';

/** Where an access from `start` begins in the page at `page` (pfn): its first byte's offset. */
const firstByte = (start: number, page: number) => Math.max(start, page * PAGE_SIZE) - page * PAGE_SIZE;

/** The device reaching buffer bytes from `start` through each page's handle at its first byte
 * accessed (buffers.ts devPageHandle; `write`: it needs write permission). */
function deviceReach(s: TtState, buf: Buffer, write: boolean, start: number): Reach {
  const base = bufferPhys(buf);
  return (phys) => {
    const i = Math.floor((phys - base) / PAGE_SIZE);
    const handle = devPageHandle(buf, i, firstByte(start, buf.pfn + i));
    return handle === DMA_ERROR ? -1 : busToMachine(s.trans, handle + ((phys - base) % PAGE_SIZE), write);
  };
}

/** The device's IOTLB caches the IOVA pages it reaches through each page's handle (dma/iommu.ts iotlbFill). */
function deviceIotlbFill(s: TtState, buf: Buffer, start: number, end: number): void {
  if (!s.iommu) return;
  for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < end; page++) {
    const a = firstByte(start, page);
    const handle = devPageHandle(buf, page - buf.pfn, a);
    const e = Math.min(end, (page + 1) * PAGE_SIZE) - page * PAGE_SIZE;
    if (handle !== DMA_ERROR) s.iommu.iotlbFill(handle + a, e - a);
  }
}

/** cpu_write / dev_write / cpu_read / dev_read of buffer bytes [offset, offset + size). */
export function bufferAccess(s: TtState, buf: Buffer, offset: number, size: number, dev: boolean, write: boolean): void {
  const c = s.counters;
  const pages = pagesTouched(offset, size);
  if (write) dev ? (c.gpuWrites += pages) : (c.cpuWrites += pages);
  else dev ? (c.gpuReads += pages) : (c.cpuReads += pages);
  const start = bufferPhys(buf) + offset;
  const reach = dev ? deviceReach(s, buf, write, start) : cpuReach(s);
  const end = start + size;
  if (dev) deviceIotlbFill(s, buf, start, end);
  if (dev) countErrorPages(s, buf, start, end);
  if (write) {
    writeRange(s, nextStamp(s, buf.id, dev), start, end, reach, true);
    return;
  }
  for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < end; page++) {
    const i = page - buf.pfn, a = firstByte(start, page);
    // A device read reports the address it was given for these bytes: their first byte's.
    const handle = dev ? devPageHandle(buf, i, a) : cpuPageHandle(buf, i);
    readPage(s, Math.max(start, page * PAGE_SIZE), Math.min(end, (page + 1) * PAGE_SIZE), reach, {
      reader: dev ? Reader.dev : Reader.cpu, pfn: page, dmaAddr: BigInt(dev && handle !== DMA_ERROR ? handle + a : handle), gpuPage: -1, pte: 0n, bufId: buf.id,
    });
  }
}

/** D24: pages of [start, end) whose handle a failed map returned: reached, not moved. */
function countErrorPages(s: TtState, buf: Buffer, start: number, end: number): void {
  const err = dmaErrorAddr(s);
  for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < end; page++) {
    if (pageHandleFailed(buf, page - buf.pfn, err, firstByte(start, page))) s.counters.failedMapPages++;
  }
}

/** A device access to a buffer that was never allocated: the pages were asked for, none moved (D22). */
export function devSkipped(s: TtState, offset: number, size: number): void {
  s.counters.gpuSkippedPages += pagesTouched(offset, size);
}

/** What the GPU finds for one of its pages: the raw entry, whether it is valid, where it leads. */
interface GpuEntry {
  valid: boolean;
  /** The raw PTE or GATT entry (u64 bit pattern). */
  pte: bigint;
  /** The decoded bus address (-1 when invalid), as the violation reports it (D15). */
  dmaAddr: bigint;
  /** Machine address of the page reached, or -1 (invalid entry, fault, no RAM). */
  machine: number;
}

const INVALID: GpuEntry = { valid: false, pte: 0n, dmaAddr: -1n, machine: -1 };

/** GART: decode the PTE, then the IOMMU if any (`write`: it needs write permission). AGP: the chipset reads the GATT (T18), no IOMMU. */
function gpuEntry(s: TtState, gpuPage: number, write = false): GpuEntry {
  if (s.agp) {
    if (!s.gatt) return INVALID;
    const entry = s.gatt.chipsetEntry(s, gpuPage);
    if (!entryValid(entry)) return { valid: false, pte: BigInt(entry), dmaAddr: -1n, machine: -1 };
    const addr = entryAddress(entry);
    return { valid: true, pte: BigInt(entry), dmaAddr: BigInt(addr), machine: deviceMachine(s.trans, addr) };
  }
  const { gart } = s;
  const pte = gart.pte(gpuPage);
  if (!pteReaches(gart.family, pte)) return { valid: false, pte: pteBig(pte), dmaAddr: -1n, machine: -1 };
  const bus = decodePte(gart.family, pte);
  s.iommu?.iotlbFill(bus, PAGE_SIZE); // the GPU's access caches the IOVA's translation (dma/iommu.ts)
  return { valid: true, pte: pteBig(pte), dmaAddr: decodePteBig(gart.family, pte), machine: busToMachine(s.trans, bus, write) };
}

/** The live owner of an entry: its buffer or tt id, or 0 when unbound or gone. */
function liveOwner(s: TtState, gpuPage: number): number {
  const id = s.gart.ownerId[gpuPage]!;
  return id !== 0 && s.liveIds.has(id) ? id : 0;
}

/** A page of a failed bind: the driver knows, the GPU never touches it (T15). */
function skipped(s: TtState, gpuPage: number): boolean {
  if (s.gpuFailed[gpuPage] !== 1) return false;
  s.counters.gpuSkippedPages++;
  return true;
}

export function gpuWrite(s: TtState, gpuPage: number, pages: number): void {
  const { lo } = nextStamp(s, 0, true); // one version for the whole operation
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    if (skipped(s, g)) continue;
    s.counters.gpuWrites++;
    const { machine } = gpuEntry(s, g, true);
    const owner = liveOwner(s, g);
    if (owner && s.gart.ownerError[g]) s.counters.failedMapPages++; // D24
    const stamp = { hi: owner, lo }; // D9: the live owner's id, else 0
    // Logical side: the owner's page if it is alive; else only machine memory changes.
    const base = owner ? s.gart.ownerPfn[g]! * PAGE_SIZE : 0;
    writeRange(s, stamp, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), owner !== 0);
  }
}

export function gpuRead(s: TtState, gpuPage: number, pages: number): void {
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    if (skipped(s, g)) continue;
    s.counters.gpuReads++;
    const { pte, dmaAddr, machine } = gpuEntry(s, g);
    const owner = liveOwner(s, g);
    if (!owner) {
      foreignPage(s, machine, dmaAddr, g, pte);
      continue;
    }
    if (s.gart.ownerError[g]) s.counters.failedMapPages++; // D24
    const pfn = s.gart.ownerPfn[g]!;
    const base = pfn * PAGE_SIZE;
    readPage(s, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), {
      reader: Reader.gpu, pfn, dmaAddr, gpuPage: g, pte, bufId: owner,
    });
  }
}
