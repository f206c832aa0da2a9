// The first violation's hops, filled in right after the op that found it (twin of
// assembly/driver/hops.ts): the page's own machine frame, then what the address the reader used is
// (dma/mapping.ts dmaDescribe), or for a GPU on an AGP bridge, where the chipset read the GATT
// entry and where the CPU wrote the table.
import { PAGE_SIZE, Reader, Via } from '../../engine/abi.js';
import { dmaDescribe } from '../dma/mapping.js';
import type { TtState } from '../drm/ttmTt.js';

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
  if (Number(v.reader) === Reader.gpu && s.agp) {
    Object.assign(v, { via: Via.gatt, slot: -1, hopPfn: -1 });
    const g = s.gatt;
    if (!g) return;
    const j = Number(v.gpuPage);
    v.gattEntryAddr = g.entryAddr(j);
    v.gattTableMfn = g.tableMfn(s, j);
    v.hopPfn = s.machine.mfnToPfn(Math.floor(g.entryAddr(j) / PAGE_SIZE));
    return;
  }
  Object.assign(v, dmaDescribe(s, BigInt(v.dmaAddr)));
}
