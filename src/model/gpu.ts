// The GPU side of radeon_gart.c / nouveau_sgdma.c (2010): bind writes one PTE per page from the
// buffer's dma handle and flushes the GART TLB; unbind points entries at the dummy page; the GPU
// reaches memory only through decoded PTEs (then the IOMMU, if any) — or, on an AGP device, through
// the GATT entries the chipset reads (agpGatt.ts). Pages of a failed bind are skipped.
import { PAGE_SIZE, Reader, ViolationKind } from '../engine/abi.js';
import { busToMachine, nextStamp, readPage, writeRange } from './access.js';
import { pageHandle, type Buffer } from './buffers.js';
import { entryAddress, entryValid } from './agpGatt.js';
import { decodePte, decodePteBig, pteBig, pteValid } from './gart.js';
import type { Model } from './model.js';

export function gartBind(model: Model, buf: Buffer, gpuPage: number): void {
  if (model.agp) return; // AGP memory is bound through TT_BIND only (T16)
  for (let i = 0; i < buf.pages; i++) {
    model.gart.bind(gpuPage + i, pageHandle(buf, i), buf.id, buf.pfn + i);
    model.gpuFailed[gpuPage + i] = 0;
  }
  model.counters.gartWrites += buf.pages;
  model.counters.tlbFlushes++;
}

export function gartUnbind(model: Model, gpuPage: number, pages: number): void {
  if (model.agp) return;
  for (let i = 0; i < pages; i++) {
    model.gart.unbind(gpuPage + i, model.dummyBus);
    model.gpuFailed[gpuPage + i] = 0;
  }
  model.counters.gartWrites += pages;
  model.counters.tlbFlushes++;
}

/** What the GPU finds for one of its pages: the raw entry, whether it is valid, where it leads. */
interface Translation {
  valid: boolean;
  /** The raw PTE or GATT entry (u64 bit pattern). */
  pte: bigint;
  /** The decoded bus address (-1 when invalid), as the violation reports it (D15). */
  dmaAddr: bigint;
  /** Machine address of the page reached, or -1 (invalid entry, fault, no RAM). */
  machine: number;
}

const INVALID: Translation = { valid: false, pte: 0n, dmaAddr: -1n, machine: -1 };

/** GART: decode the PTE, then the IOMMU if any. AGP: the chipset reads the GATT (T18), no IOMMU. */
function translateGpuPage(model: Model, gpuPage: number): Translation {
  if (model.agp) {
    if (!model.gatt) return INVALID;
    const entry = model.gatt.chipsetEntry(model, gpuPage);
    if (!entryValid(entry)) return { valid: false, pte: BigInt(entry), dmaAddr: -1n, machine: -1 };
    const addr = entryAddress(entry);
    return { valid: true, pte: BigInt(entry), dmaAddr: BigInt(addr), machine: addr < model.ram.bytes ? addr : -1 };
  }
  const { gart } = model;
  const pte = gart.pte(gpuPage);
  if (!pteValid(gart.family, pte)) return { valid: false, pte: pteBig(pte), dmaAddr: -1n, machine: -1 };
  return {
    valid: true, pte: pteBig(pte), dmaAddr: decodePteBig(gart.family, pte),
    machine: busToMachine(model, decodePte(gart.family, pte)),
  };
}

/** The live owner of an entry: its buffer id, or 0 when unbound or the buffer is gone. */
function liveOwner(model: Model, gpuPage: number): number {
  const id = model.gart.ownerId[gpuPage];
  return id !== 0 && model.liveIds.has(id) ? id : 0;
}

/** A page of a failed bind: the driver knows, the GPU never touches it (T15). */
function skipped(model: Model, gpuPage: number): boolean {
  if (model.gpuFailed[gpuPage] !== 1) return false;
  model.counters.gpuSkippedPages++;
  return true;
}

export function gpuWrite(model: Model, gpuPage: number, pages: number): void {
  const { lo } = nextStamp(model, 0, true); // one version for the whole operation
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    if (skipped(model, g)) continue;
    model.counters.gpuWrites++;
    const { machine } = translateGpuPage(model, g);
    const owner = liveOwner(model, g);
    const s = { hi: owner, lo }; // D9: the live owner's id, else 0
    // Logical side: the owner's page if it is alive; else only machine memory changes.
    const base = owner ? model.gart.ownerPfn[g] * PAGE_SIZE : 0;
    writeRange(model, s, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), owner !== 0);
  }
}

export function gpuRead(model: Model, gpuPage: number, pages: number): void {
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    if (skipped(model, g)) continue;
    model.counters.gpuReads++;
    const { pte, dmaAddr, machine } = translateGpuPage(model, g);
    const owner = liveOwner(model, g);
    if (!owner) {
      model.oracle.failPage(ViolationKind.foreign, () => ({
        kind: ViolationKind.foreign, op: model.op, reader: Reader.gpu, pfn: -1,
        mfn: machine >= 0 ? Math.floor(machine / PAGE_SIZE) : -1, dmaAddr, gpuPage: g, pte,
        unit: 0, seenHi: model.ram.hiAt(machine), seenLo: model.ram.loAt(machine), expHi: 0, expLo: 0, bufId: -1,
      }));
      continue;
    }
    const pfn = model.gart.ownerPfn[g];
    const base = pfn * PAGE_SIZE;
    readPage(model, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), {
      reader: Reader.gpu, pfn, dmaAddr, gpuPage: g, pte, bufId: owner,
    });
  }
}
