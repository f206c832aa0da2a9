// The GPU side of radeon_gart.c / nouveau_sgdma.c (2010): bind writes one PTE per page from the
// buffer's dma handle and flushes the GART TLB; unbind points entries at the dummy page; the GPU
// reaches memory only through decoded PTEs (then the IOMMU, if any).
import { PAGE_SIZE, Reader, ViolationKind } from '../engine/abi.js';
import { busToMachine, nextStamp, readPage, writeRange } from './access.js';
import { pageHandle, type Buffer } from './buffers.js';
import { decodePte, decodePteBig, pteBig, pteValid } from './gart.js';
import type { Model } from './model.js';

export function gartBind(model: Model, buf: Buffer, gpuPage: number): void {
  for (let i = 0; i < buf.pages; i++) model.gart.bind(gpuPage + i, pageHandle(buf, i), buf.id, buf.pfn + i);
  model.counters.gartWrites += buf.pages;
  model.counters.tlbFlushes++;
}

export function gartUnbind(model: Model, gpuPage: number, pages: number): void {
  for (let i = 0; i < pages; i++) model.gart.unbind(gpuPage + i, model.dummyBus);
  model.counters.gartWrites += pages;
  model.counters.tlbFlushes++;
}

/** Machine address of the page a GART entry reaches, or -1 (invalid entry, fault, no RAM). */
function gpuPageMachine(model: Model, gpuPage: number): number {
  const { gart } = model;
  const pte = gart.pte(gpuPage);
  if (!pteValid(gart.family, pte)) return -1;
  return busToMachine(model, decodePte(gart.family, pte));
}

/** The live owner of an entry: its buffer id, or 0 when unbound or the buffer is gone. */
function liveOwner(model: Model, gpuPage: number): number {
  const id = model.gart.ownerId[gpuPage];
  return id !== 0 && model.liveIds.has(id) ? id : 0;
}

export function gpuWrite(model: Model, gpuPage: number, pages: number): void {
  model.counters.gpuWrites += pages;
  const { lo } = nextStamp(model, 0, true); // one version for the whole operation
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    const machine = gpuPageMachine(model, g);
    const owner = liveOwner(model, g);
    const s = { hi: owner, lo }; // D9: the live owner's id, else 0
    // Logical side: the owner's page if it is alive; else only machine memory changes.
    const base = owner ? model.gart.ownerPfn[g] * PAGE_SIZE : 0;
    writeRange(model, s, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), owner !== 0);
  }
}

export function gpuRead(model: Model, gpuPage: number, pages: number): void {
  model.counters.gpuReads += pages;
  const { gart } = model;
  for (let g = gpuPage; g < gpuPage + pages; g++) {
    const pte = gart.pte(g);
    const valid = pteValid(gart.family, pte);
    const dmaAddr = valid ? decodePteBig(gart.family, pte) : -1n;
    const machine = gpuPageMachine(model, g);
    const owner = liveOwner(model, g);
    if (!owner) {
      model.oracle.failPage(ViolationKind.foreign, () => ({
        kind: ViolationKind.foreign, op: model.op, reader: Reader.gpu, pfn: -1,
        mfn: machine >= 0 ? Math.floor(machine / PAGE_SIZE) : -1, dmaAddr, gpuPage: g, pte: pteBig(pte),
        unit: 0, seenHi: model.ram.hiAt(machine), seenLo: model.ram.loAt(machine), expHi: 0, expLo: 0, bufId: -1,
      }));
      continue;
    }
    const pfn = gart.ownerPfn[g];
    const base = pfn * PAGE_SIZE;
    readPage(model, base, base + PAGE_SIZE, (a) => (machine < 0 ? -1 : machine + (a - base)), {
      reader: Reader.gpu, pfn, dmaAddr, gpuPage: g, pte: pteBig(pte), bufId: owner,
    });
  }
}
