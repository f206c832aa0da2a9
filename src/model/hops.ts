// What the address a reader used is, for the first violation's explanation (twin of
// assembly/hops.ts): a swiotlb slot, the 2010 overflow buffer, an IOVA, a GATT entry, or a plain
// machine frame and the guest page it backs.
import { IO_TLB_OVERFLOW_PAGES, PAGE_SIZE, Reader, UNIT_SIZE, Via } from '../engine/abi.js';
import type { Model } from './model.js';

const ALL_ONES = (1n << 64n) - 1n; // DMA_MAPPING_ERROR, or "no address" as the violation words say it

export interface Hops {
  pageMfn: number;
  via: number;
  slot: number;
  hopPfn: number;
  gattEntryAddr: number;
  gattTableMfn: number;
}

/** m2p for one frame: the guest page it backs, or -1. */
function pfnOfFrame(model: Model, mfn: number): number {
  const m = model.machine;
  if (mfn < 0 || mfn >= m.hostPages) return -1;
  return m.m2p ? m.m2p[mfn] : mfn < m.ramPages ? mfn : -1;
}

export function hopsOf(model: Model, reader: number, pfn: number, dmaAddr: bigint, gpuPage: number): Hops {
  const pageMfn = pfn >= 0 ? model.machine.mfnOf(pfn) : -1;
  const h = (via: number, slot = -1, hopPfn = -1): Hops => ({ pageMfn, via, slot, hopPfn, gattEntryAddr: -1, gattTableMfn: -1 });
  if (reader === Reader.gpu && model.agp) {
    const g = model.gatt;
    if (!g) return h(Via.gatt);
    const at = g.base + 4 * gpuPage;
    return {
      ...h(Via.gatt, -1, pfnOfFrame(model, Math.floor(at / PAGE_SIZE))),
      gattEntryAddr: at, gattTableMfn: model.machine.mfnOf(g.tablePfn + Math.floor(gpuPage / (PAGE_SIZE / 4))),
    };
  }
  if (BigInt.asUintN(64, dmaAddr) === ALL_ONES) return h(Via.none);
  const bus = Number(dmaAddr);
  if (model.iommu) {
    const phys = model.iommu.translate(bus);
    return h(Via.iommu, -1, phys < 0 ? -1 : Math.floor(phys / PAGE_SIZE));
  }
  const phys = model.machine.machineToPhys(bus);
  const { poolPfn, poolPages, overflowPfn } = model.layout;
  const poolStart = poolPfn * PAGE_SIZE;
  if (phys >= poolStart && phys < (poolPfn + poolPages) * PAGE_SIZE) {
    const slot = Math.floor((phys - poolStart) / UNIT_SIZE);
    if (slot < model.swiotlb.nslabs) {
      const inUse = model.swiotlb.list[slot] === 0;
      return h(Via.swiotlb, slot, inUse ? Math.floor(model.swiotlb.orig[slot]! / PAGE_SIZE) : -1);
    }
  }
  if (phys >= overflowPfn * PAGE_SIZE && phys < (overflowPfn + IO_TLB_OVERFLOW_PAGES) * PAGE_SIZE) return h(Via.overflow);
  return h(Via.direct, -1, pfnOfFrame(model, Math.floor(bus / PAGE_SIZE)));
}
