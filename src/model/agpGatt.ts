// The AGP GATT of drivers/char/agp/generic.c (2005): agp_generic_create_gatt_table (the table in
// guest memory, by virt_to_phys, dma_alloc_coherent or Keir's front-side-bus hooks),
// agp_generic_insert_memory (-EBUSY over a used entry), and agp_generic_alloc_page /
// destroy_page for the pages themselves. The chipset reads the table at the bus address the
// bridge was given, as a *machine* address behind no IOMMU: that is what breaks under Xen
// (virt_to_phys) and on IOMMU platforms (dma_alloc_coherent). ENGINE.md §12 and §15 T6, T16–T20.
import { GattMode, PAGE_SIZE, Pool, Zone } from '../engine/abi.js';
import { orderFor } from './buffers.js';
import { coherentBlock, freeCoherentBlock } from './coherent.js';
import type { Model } from './model.js';
import { allocBlock, destroyRegion, exchangeRegion, freeBlock } from './pages.js';
import type { Tt } from './tt.js';
import { allocPage, cachingChange, Exchanged, exchangeIfAbove, releasePage } from './ttmPool.js';

const ENTRIES_PER_PAGE = PAGE_SIZE / 4;
/** The largest GATT a GATT_CREATE accepts (an order-10 table). */
export const MAX_GATT_ENTRIES = 1 << 20;
const ENTRY_VALID = 1;
const ENTRY_ADDR_MASK = 0xfffff000;

export class AgpGatt {
  /** The CPU's view of the table: entry j at table page j >> 10, index j & 1023. */
  readonly table: Uint32Array;
  readonly tablePages: number;

  constructor(
    /** num_entries: what inserts may use. */
    readonly entries: number,
    readonly mode: number,
    readonly order: number,
    readonly tablePfn: number,
    /** The bus address the bridge reads the table at (agp_bridge->gatt_bus_addr). */
    readonly base: number,
    /** The coherent handle (mode 1) and whether Xen exchanged the block. */
    readonly handle: number,
    readonly exchanged: boolean,
  ) {
    this.tablePages = 2 ** order;
    this.table = new Uint32Array(this.tablePages * ENTRIES_PER_PAGE);
  }

  /** What the chipset finds for entry j (T18): it reads machine memory at base + 4j. */
  chipsetEntry(model: Model, j: number): number {
    const addr = this.base + 4 * j;
    const mfn = Math.floor(addr / PAGE_SIZE);
    if (mfn < 0 || mfn >= model.machine.hostPages) return 0;
    const pfn = model.machine.m2p ? model.machine.m2p[mfn] : mfn;
    const page = pfn - this.tablePfn;
    if (pfn < 0 || page < 0 || page >= this.tablePages) return 0;
    return this.table[page * ENTRIES_PER_PAGE + (addr % PAGE_SIZE) / 4];
  }
}

/** The entry the driver writes for an address: a 32-bit page address with the valid bit. */
export function gattEntry(addr: number): number {
  return ((addr % 2 ** 32 & ENTRY_ADDR_MASK) | ENTRY_VALID) >>> 0;
}

export function entryValid(entry: number): boolean {
  return (entry & ENTRY_VALID) !== 0;
}

/** The machine address an entry sends the GPU to. */
export function entryAddress(entry: number): number {
  return (entry & ENTRY_ADDR_MASK) >>> 0;
}

/** GATT_CREATE entries mode (T17). */
export function gattCreate(model: Model, entries: number, mode: number): void {
  if (model.gatt || entries < 1 || entries > MAX_GATT_ENTRIES || mode < GattMode.phys || mode > GattMode.fsbHooks) return;
  const order = orderFor(Math.ceil(entries / ENTRIES_PER_PAGE));
  const c = model.counters;
  if (mode === GattMode.dmaCoherent) {
    const block = coherentBlock(model, order);
    if (!block) {
      c.allocFailures++;
      return;
    }
    return install(model, new AgpGatt(entries, mode, order, block.pfn, block.handle, block.handle, block.exchanged));
  }
  const pfn = allocBlock(model, order, Zone.dma32);
  if (pfn < 0) {
    c.allocFailures++;
    return;
  }
  c.pagesAllocated += 2 ** order;
  let exchanged = false;
  if (mode === GattMode.fsbHooks && model.machine.isXen) {
    if (!exchangeRegion(model, pfn, order, 32)) {
      freeBlock(model, pfn, order);
      c.allocFailures++;
      return;
    }
    exchanged = true;
  }
  const base = mode === GattMode.phys ? pfn * PAGE_SIZE : model.machine.mfnOf(pfn) * PAGE_SIZE;
  install(model, new AgpGatt(entries, mode, order, pfn, base, -1, exchanged));
}

function install(model: Model, gatt: AgpGatt): void {
  model.gatt = gatt;
  model.agp = true;
}

/** agp_generic_free_gatt_table at teardown (T20): the device stays AGP, without a table. */
export function gattFree(model: Model): void {
  const gatt = model.gatt;
  if (!gatt) return;
  model.gatt = null;
  if (gatt.mode === GattMode.dmaCoherent) {
    freeCoherentBlock(model, { pfn: gatt.tablePfn, handle: gatt.handle, exchanged: gatt.exchanged }, gatt.order);
    return;
  }
  if (gatt.exchanged) destroyRegion(model, gatt.tablePfn, gatt.order);
  freeBlock(model, gatt.tablePfn, gatt.order);
}

// ---- AGP pages (kinds 3, 4, 5) --------------------------------------------------------------

/**
 * agp_generic_alloc_page for every page (kind 3), with Keir's alloc_fsb_pages exchange below
 * 4 GiB under Xen (kind 5), or dma_alloc_coherent (kind 4). T6.
 */
export function agpPopulate(model: Model, tt: Tt): boolean {
  if (tt.pool === Pool.agpCoherent) {
    for (let i = 0; i < tt.pages; i++) {
      const block = coherentBlock(model, 0);
      if (!block) return false;
      tt.addPage(block.pfn, block.handle, block.exchanged);
    }
    return true;
  }
  let ok = true;
  for (let i = 0; i < tt.pages; i++) {
    const pfn = allocPage(model, Zone.dma32);
    if (pfn < 0) {
      ok = false;
      break;
    }
    const ex = tt.pool === Pool.agpFsb ? exchangeIfAbove(model, pfn, 32) : Exchanged.no;
    if (ex === Exchanged.failed) {
      ok = false;
      break;
    }
    tt.addPage(pfn, -1, ex === Exchanged.yes);
  }
  cachingChange(model, tt.count); // map_page_into_agp: set uncached
  return ok;
}

/** agp_generic_destroy_pages (kinds 3, 5: back to wb, then freed) or dma_free_coherent (kind 4). */
export function agpUnpopulate(model: Model, tt: Tt): void {
  if (tt.pool === Pool.agpCoherent) {
    for (let i = 0; i < tt.count; i++) freeCoherentBlock(model, { pfn: tt.pfn[i], handle: tt.coh![i], exchanged: tt.isExchanged(i) }, 0);
    return;
  }
  cachingChange(model, tt.count);
  for (let i = 0; i < tt.count; i++) releasePage(model, tt.pfn[i], tt.isExchanged(i));
}
