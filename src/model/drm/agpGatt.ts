// The AGP GATT of drivers/char/agp/generic.c (2005): agp_generic_create_gatt_table (the table in
// guest memory, by virt_to_phys, dma_alloc_coherent or Keir's front-side-bus hooks),
// agp_generic_insert_memory (-EBUSY over a used entry), and agp_generic_alloc_page /
// destroy_page for the pages themselves. The chipset reads the table at the bus address the
// bridge was given, as a *machine* address behind no IOMMU: that is what breaks under Xen
// (virt_to_phys) and on IOMMU platforms (dma_alloc_coherent). ENGINE.md §12 and §15 T6, T16–T20.
import { AGP_ENTRIES_PER_PAGE, AGP_ENTRY_BYTES, AGP_VALID, GattMode, MAX_GATT_ENTRIES, PAGE_MASK, PAGE_SIZE, Zone } from '../../engine/abi.js';
import { coherentAllocBlock, coherentFreeBlock } from '../dma/coherent.js';
import { type DmaState, archX86 } from '../dma/mapping.js';
import { allocBlock, freeBlock, getOrder } from '../mm/pageAlloc.js';
import { xenCreateContiguousRegion, xenDestroyContiguousRegion } from '../xen/exchange.js';
import { ccPrivate } from '../sim/translate.js';
import { xenPvDomain } from '../xen/p2m.js';
import type { Gart } from './gart.js';
import { machineWork } from '../sim/counters.js';

const ENTRY_ADDR_MASK = (~PAGE_MASK) >>> 0;

/** What the GATT needs: the DMA API, the aperture's owners, and whether the device is a bridge. */
export interface AgpState extends DmaState {
  readonly gart: Gart;
  /** The AGP GATT, once GATT_CREATE made one (§12). */
  gatt: AgpGatt | null;
  /** The aperture is an AGP GATT: gartFamily 4, or a GATT was created (T16). */
  agp: boolean;
}

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
    /** The coherent handle (mode 1) and the order Xen exchanged for the block (-1: none). */
    readonly handle: number,
    readonly exchanged: number,
  ) {
    this.tablePages = 2 ** order;
    this.table = new Uint32Array(this.tablePages * AGP_ENTRIES_PER_PAGE);
  }

  /** What the chipset finds for entry j (T18): it reads machine memory at base + 4j. */
  chipsetEntry(s: AgpState, j: number): number {
    const addr = this.entryAddr(j);
    // A confidential guest's private frame: the chipset gets ciphertext or nothing, never an entry.
    if (ccPrivate(s.trans, Math.floor(addr / PAGE_SIZE))) return 0;
    const pfn = s.machine.mfnToPfn(Math.floor(addr / PAGE_SIZE));
    const page = pfn - this.tablePfn;
    if (pfn < 0 || page < 0 || page >= this.tablePages) return 0;
    return this.table[page * AGP_ENTRIES_PER_PAGE + (addr % PAGE_SIZE) / AGP_ENTRY_BYTES]!;
  }

  /** agp_generic_insert_memory's -EBUSY: any used entry in [first, first + n) (the CPU's view). */
  rangeBusy(first: number, n: number): boolean {
    for (let g = first; g < first + n; g++) if (this.table[g] !== 0) return true;
    return false;
  }

  /** Where the chipset reads entry j: the machine address the bridge base points it at. */
  entryAddr(j: number): number {
    return this.base + AGP_ENTRY_BYTES * j;
  }

  /** The machine frame of the table page the CPU wrote entry j in. */
  tableMfn(s: AgpState, j: number): number {
    return s.machine.mfnOf(this.tablePfn + Math.floor(j / AGP_ENTRIES_PER_PAGE));
  }
}

/** The entry the driver writes for an address: a 32-bit page address with the valid bit. */
export function gattEntry(addr: number): number {
  return ((addr % 2 ** 32 & ENTRY_ADDR_MASK) | AGP_VALID) >>> 0;
}

export function entryValid(entry: number): boolean {
  return (entry & AGP_VALID) !== 0;
}

/** The machine address an entry sends the GPU to. */
export function entryAddress(entry: number): number {
  return (entry & ENTRY_ADDR_MASK) >>> 0;
}

/** GATT_CREATE entries mode (T17): the driver's bring-up, which counts nothing (machineWork), though
 * the table holds its frames, exchange and coherent block; a table not made leaves every bind failing. */
export function gattCreate(s: AgpState, entries: number, mode: number): void {
  if (s.gatt || entries < 1 || entries > MAX_GATT_ENTRIES || mode < GattMode.phys || mode > GattMode.fsbHooks) return;
  machineWork(s.counters, () => makeTable(s, entries, mode));
}

function makeTable(s: AgpState, entries: number, mode: number): void {
  const order = getOrder(Math.ceil(entries / AGP_ENTRIES_PER_PAGE));
  if (mode === GattMode.dmaCoherent) {
    const block = coherentAllocBlock(s, order, false, 2 ** order * PAGE_SIZE); // the whole table block
    if (!block) return;
    return install(s, new AgpGatt(entries, mode, order, block.pfn, block.handle, block.handle, block.exchanged));
  }
  const pfn = allocBlock(s, order, Zone.dma32);
  if (pfn < 0) return;
  let exchanged = -1;
  if (mode === GattMode.fsbHooks && xenPvDomain(s)) {
    if (!xenCreateContiguousRegion(s, pfn, order, 32, true)) {
      freeBlock(s, pfn, order);
      return;
    }
    exchanged = order;
  }
  const base = mode === GattMode.phys ? pfn * PAGE_SIZE : s.machine.mfnOf(pfn) * PAGE_SIZE;
  install(s, new AgpGatt(entries, mode, order, pfn, base, -1, exchanged));
}

function install(s: AgpState, gatt: AgpGatt): void {
  s.gatt = gatt;
  s.agp = true;
}

/** agp_generic_free_gatt_table at teardown (T20), uncounted as it was made: the device stays AGP, without a table. */
export function gattFree(s: AgpState): void {
  const gatt = s.gatt;
  if (!gatt) return;
  s.gatt = null;
  machineWork(s.counters, () => freeTable(s, gatt));
}

function freeTable(s: AgpState, gatt: AgpGatt): void {
  if (gatt.mode === GattMode.dmaCoherent) {
    coherentFreeBlock(s, { pfn: gatt.tablePfn, handle: gatt.handle, exchanged: gatt.exchanged }, gatt.order, false, gatt.tablePages * PAGE_SIZE);
    return;
  }
  if (gatt.exchanged >= 0) xenDestroyContiguousRegion(s, gatt.tablePfn, gatt.exchanged);
  freeBlock(s, gatt.tablePfn, gatt.order);
}

/** A script's gart_unbind on the AGP device: agp_generic_remove_memory of the range's entries that
 * the table has (none without a table): entries to 0, owners cleared, one TLB flush. */
export function agpGartUnbind(s: AgpState & { gpuFailed: Uint8Array }, gpuPage: number, pages: number): void {
  const gatt = s.gatt;
  const n = gatt ? Math.min(pages, gatt.entries - gpuPage) : 0;
  if (!gatt || gpuPage < 0 || n <= 0) return;
  for (let g = gpuPage; g < gpuPage + n; g++) {
    gatt.table[g] = 0;
    s.gart.clearOwner(g);
    s.gpuFailed[g] = 0;
  }
  s.counters.gartWrites += n;
  s.counters.tlbFlushes++;
}

/** agp_generic_alloc_pages' set_pages_array_uc, agp_generic_destroy_pages' set_pages_array_wb:
 * one call over the whole array, on x86 only (assembly/drm/agp_gatt.ts agp_set_pages_array says
 * when: not on 2010's iommu, ppc64). */
export function agpSetPagesArray(s: AgpState, pages: number): void {
  if (pages <= 0 || !archX86(s)) return;
  s.counters.cachingChangeCalls++;
  s.counters.cachingChangePages += pages;
}
