// The first violation's hops, filled in right after the op that found it (twin of
// assembly/driver/hops.ts): the page's own machine frame, then what the address the reader used is
// (dma/mapping.ts dmaDescribe), or for a GPU on an AGP bridge, where the chipset read the GATT
// entry and where the CPU wrote the table. A CPU read of a page the GATT maps gets the GPU's route
// to it: on AGP that route, not a dma handle, is where the GPU's writes went.
import { CC_PRIVATE_GATT, CC_PRIVATE_TARGET, PAGE_SIZE, Reader, Via } from '../../engine/abi.js';
import { ccPrivate } from '../sim/translate.js';
import { dmaDescribe } from '../dma/mapping.js';
import { entryAddress, entryValid } from '../drm/agpGatt.js';
import { hasGartDummy } from '../drm/gart.js';
import type { TtState } from '../drm/ttmTt.js';

/** The GPU page the GATT maps buffer `id`'s page `pfn` at (its first), or −1. */
function gattPageOf(s: TtState, id: number, pfn: number): number {
  for (let j = 0; j < s.gart.pages; j++) if (s.gart.ownerId[j] === id && s.gart.ownerPfn[j] === pfn) return j;
  return -1;
}

/** After an op: if it recorded the first violation, fill in its hops. */
export function explainViolation(s: TtState): void {
  const v = s.oracle.first;
  if (!v || !s.oracle.fresh) return;
  s.oracle.fresh = false;
  const pfn = Number(v.pfn);
  v.pageMfn = pfn >= 0 ? s.machine.mfnOf(pfn) : -1;
  v.gattEntryAddr = -1;
  v.gattTableMfn = -1;
  v.iovaUnmapOp = -1;
  v.iovaReadOnly = 0;
  // A GPU read whose GART or GATT entry rests on a failed map (D24), as the owner knows: 1 the entry
  // holds the error value the map returned (on AGP, a replay's gart_bind put it there), 2 the bind
  // wrote no entry (a 2.6.37 nouveau populate's map failed).
  const g = Number(v.gpuPage);
  v.failedMap = Number(v.reader) === Reader.gpu && g >= 0 && g < s.gart.pages ? s.gart.ownerError[g]! : 0;
  // The CPU read a page the GATT maps: what a GPU access to it finds now (the entry, its address).
  const cpuPage = Number(v.reader) === Reader.cpu && s.agp && s.gatt && pfn >= 0 ? gattPageOf(s, Number(v.bufId), pfn) : -1;
  if (cpuPage >= 0) {
    const e = s.gatt!.chipsetEntry(s, cpuPage);
    Object.assign(v, { gpuPage: cpuPage, pte: BigInt(e), dmaAddr: BigInt(entryValid(e) ? entryAddress(e) : -1) });
  }
  // A confidential guest: is the frame the address leads to private (a bus address is the machine
  // address there, no IOMMU)?
  const dma = BigInt.asUintN(64, BigInt(v.dmaAddr));
  let priv = dma !== BigInt.asUintN(64, -1n) && ccPrivate(s.trans, Number(dma / BigInt(PAGE_SIZE))) ? CC_PRIVATE_TARGET : 0;
  if ((Number(v.reader) === Reader.gpu || cpuPage >= 0) && s.agp) {
    Object.assign(v, { via: Via.gatt, slot: -1, hopPfn: -1 });
    const g = s.gatt;
    if (g) {
      const j = Number(v.gpuPage);
      v.gattEntryAddr = g.entryAddr(j);
      v.gattTableMfn = g.tableMfn(s, j);
      v.hopPfn = s.machine.mfnToPfn(Math.floor(g.entryAddr(j) / PAGE_SIZE));
      if (ccPrivate(s.trans, Math.floor(g.entryAddr(j) / PAGE_SIZE))) priv |= CC_PRIVATE_GATT;
    }
  } else {
    Object.assign(v, dmaDescribe(s, BigInt(v.dmaAddr)));
  }
  v.ccPrivate = priv;
  // The page behind the address is the one the driver mapped at device init for the GART.
  v.hopDummy = hasGartDummy(s.cfg) && Number(v.via) !== Via.gatt && Number(v.hopPfn) === s.layout.dummyPfn ? 1 : 0;
}
