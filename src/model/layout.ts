// Where the fixed pieces of guest memory sit (twin of assembly/layout.ts; docs/ENGINE.md §1): the
// kernel's first 16 MiB, then the swiotlb pool, the 2010 overflow buffer and the GART dummy page.
// Everything above goes to the page allocator.
import { IO_TLB_OVERFLOW_PAGES, KERNEL_RESERVED_PAGES, UNITS_PER_PAGE, type MachineConfig } from '../engine/abi.js';

export interface Layout {
  poolPfn: number;
  poolPages: number;
  overflowPfn: number;
  dummyPfn: number;
  firstFreePfn: number;
}

export function layoutFor(cfg: MachineConfig): Layout {
  const poolPfn = KERNEL_RESERVED_PAGES;
  const poolPages = Math.ceil(cfg.nslabs / UNITS_PER_PAGE);
  const overflowPfn = poolPfn + poolPages;
  const dummyPfn = overflowPfn + IO_TLB_OVERFLOW_PAGES;
  return { poolPfn, poolPages, overflowPfn, dummyPfn, firstFreePfn: dummyPfn + 1 };
}

/** What a slot holds: a §3 buffer (driver/buffers.ts) or a TTM tt (drm/ttmTt.ts). */
export interface Slotted {
  readonly kind: string;
  readonly id: number;
  failed: boolean;
}

/** The slots the harness names, and the ids of what they hold (the GART may outlive them). */
export interface SlotState {
  readonly slots: (Slotted | null)[];
  readonly liveIds: Set<number>;
  /** Empty slots whose last dma_free_coherent freed an allocation: its handle (a kernel trace's second dma_free checks it). */
  readonly freedHandles: Map<number, number>;
}

/** Puts a buffer or tt (live or failed) in a slot; whatever the slot held before is no longer live there. */
export function adopt(s: SlotState, slot: number, held: Slotted): void {
  const old = s.slots[slot];
  if (old) s.liveIds.delete(old.id);
  s.freedHandles.delete(slot);
  s.slots[slot] = held;
  if (!held.failed) s.liveIds.add(held.id);
}

/** Empties a slot. */
export function vacate(s: SlotState, slot: number): void {
  const old = s.slots[slot];
  if (old) s.liveIds.delete(old.id);
  s.freedHandles.delete(slot);
  s.slots[slot] = null;
}
