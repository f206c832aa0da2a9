// The streaming DMA API dispatched by platform (twin of assembly/dma/mapping.ts; kernel/dma/mapping.c):
// dma-direct with swiotlb fallback (bare metal), forced swiotlb, xen-swiotlb
// (drivers/xen/swiotlb-xen.c: 2.6.37's, and 6.12.0's xen_swiotlb_map_page, whose bounce test is the
// same here; its coherent path is coherent.ts's) and an IOMMU. Bounce buffers follow lib/swiotlb.c (2010) or
// kernel/dma/swiotlb.c (modern): a full pool is the overflow buffer in 2010 (generic
// swiotlb_map_page), 0 under 2010 Xen (xen_swiotlb_map_page's DMA_ERROR_CODE), DMA_MAPPING_ERROR now.
// A confidential-computing guest (coco, modern only) bounces every map, as swiotlb-force does
// (docs/ENGINE.md §16).
import { DebugType, Dir, IO_TLB_OVERFLOW, IOMMU_READ_ONLY, Kernel, PAGE_SIZE, Platform, UNIT_SIZE, Via, XEN_DMA_ERROR_CODE, type MachineConfig } from '../../engine/abi.js';
import { copyPhys } from '../sim/stamps.js';
import { iovaEntryOf, iovaEntryPfn } from '../sim/translate.js';
import type { XenState } from '../xen/exchange.js';
import { mapRequiresAlignment, rangeStraddlesPageBoundary, xenPhysToBus } from '../xen/swiotlbXen.js';
import type { DebugRef, DmaDebug } from './debug.js';
import type { Iommu } from './iommu.js';
import { busToSlot, inOverflow, type SwiotlbPool } from './swiotlb.js';

/** A dma address that is DMA_MAPPING_ERROR (all ones, u64). */
export const DMA_ERROR = -1;

export interface DmaState extends XenState {
  readonly cfg: MachineConfig;
  readonly swiotlb: SwiotlbPool;
  readonly iommu: Iommu | null;
  readonly debug: DmaDebug;
}

/** How a map reached the device; it stays the caller's handle source after unmap. */
export interface MappingRecord {
  dmaAddr: number;
  offset: number;
  size: number;
  dir: number;
  live: boolean;
  /** The map failed (overflow buffer or DMA_MAPPING_ERROR): not tracked by dma-debug. */
  failed: boolean;
  /** First swiotlb slot if bounced, else -1. */
  bounceIndex: number;
}

/** The dma_map_sg call in progress (driver/bufferOps.ts dmaMap; the engine's buffer_ops.ts sg_call …):
 * its number, the buffers whose entries it mapped so far, whether an entry failed. */
export interface SgCall { call: number; mapped: { mapping: MappingRecord | null }[]; failed: boolean }

export function dmaCapable(s: DmaState, addr: number, size: number): boolean {
  return addr + size - 1 <= 2 ** s.cfg.maskBits - 1;
}

/**
 * force_dma_unencrypted (arch/x86/mm/mem_encrypt.c, 6.12): true in a guest with
 * CC_ATTR_GUEST_MEM_ENCRYPT (SEV, SEV-SNP, TDX): all DMA goes to shared memory, so
 * dma_direct_alloc decrypts what it hands out (dma/coherent.ts).
 */
export function forceDmaUnencrypted(s: DmaState): boolean {
  return s.cfg.platform === Platform.coco;
}

/**
 * dma_addressing_limited (kernel/dma/mapping.c, 6.12): the device's mask is below
 * dma_get_required_mask. That is dma_direct_get_required_mask for dma-direct (bare metal,
 * swiotlb=force, coco): the power-of-two mask over the last RAM page. An IOMMU (use_dma_iommu) and
 * Xen PV (xen_swiotlb_dma_ops has no get_required_mask) get DMA_BIT_MASK(32), which no device here
 * is below. Past that test it is false for an ops table or an IOMMU, and for dma-direct when
 * dma_direct_all_ram_mapped (x86 has no bus_dma_region: always).
 */
export function dmaAddressingLimited(s: DmaState): boolean {
  const mask = 2 ** s.cfg.maskBits - 1;
  if (s.cfg.platform === Platform['xen-pv'] || s.cfg.platform === Platform.iommu) return mask < 2 ** 32 - 1;
  return (s.cfg.ramPages - 1) * PAGE_SIZE > mask;
}

const copiesToDevice = (dir: number) => dir === Dir.to_device || dir === Dir.bidirectional;
const copiesToCpu = (dir: number) => dir === Dir.from_device || dir === Dir.bidirectional;

function bounceCopy(s: DmaState, src: number, dst: number, size: number): void {
  copyPhys(s, src, dst, size);
  s.counters.bounceBytes += size;
}

/**
 * dma_map_page on guest physical range [phys, phys + size) (`offset`: where it starts in the
 * caller's buffer, kept in the record): platform dispatch, maps++, the dma-debug entry — single,
 * or (`sgEnts` > 0) an entry of an sg call of that many entries, whose map error dma-debug never
 * tracks (debug_dma_map_sg: MAP_ERR_CHECK_NOT_APPLICABLE). `recorded`, `attrs`: for dma-debug's
 * cacheline tracking (debug.ts add): where a kernel trace had the memory, and the map's attrs.
 */
export function dmaMapPhys(s: DmaState, phys: number, offset: number, size: number, dir: number, sgEnts = 0, recorded = -1, attrs = 0, filed?: { type: number; size: number }): MappingRecord {
  s.counters.maps++;
  const rec: MappingRecord = { dmaAddr: phys, offset, size, dir, live: true, failed: false, bounceIndex: -1 };
  switch (s.cfg.platform) {
    case Platform['bare-metal']:
      if (!dmaCapable(s, phys, size)) swiotlbBounce(s, rec, phys, sgEnts > 0);
      break;
    case Platform['swiotlb-force']:
      swiotlbBounce(s, rec, phys, sgEnts > 0);
      break;
    // dma_direct_map_page (kernel/dma/direct.h, 6.12): is_swiotlb_force_bounce, set at boot by
    // pci_swiotlb_detect's SWIOTLB_FORCE under CC_ATTR_GUEST_MEM_ENCRYPT (arch/x86/kernel/pci-dma.c),
    // sends every map to swiotlb_map whatever the mask; the pool sits below 4 GiB
    // (swiotlb_memblock_alloc without SWIOTLB_ANY: memblock_alloc_low), so every mask reaches it.
    case Platform.coco:
      swiotlbBounce(s, rec, phys, sgEnts > 0);
      break;
    case Platform['xen-pv']:
      rec.dmaAddr = xenPhysToBus(s.machine, phys);
      if (!dmaCapable(s, rec.dmaAddr, size) || rangeStraddlesPageBoundary(s.machine, phys, size)
        || (s.cfg.kernel === Kernel.modern && mapRequiresAlignment(s.machine, phys, size))) swiotlbBounce(s, rec, phys, sgEnts > 0);
      break;
    default:
      iommuMap(s, rec, phys);
  }
  if (rec.failed) rec.live = false;
  else s.debug.add(s.op, rec.dmaAddr, filed?.size ?? size, dir, filed?.type ?? (sgEnts > 0 ? DebugType.sg : DebugType.single), phys, sgEnts, recorded, attrs);
  return rec;
}

/**
 * swiotlb_map_page's slow path (xen_swiotlb_map_page's on xen-pv): take slots, copy in, or report
 * the pool full per era: 2010 Xen returns DMA_ERROR_CODE (0) silently, no overflow buffer, no
 * panic; 2010 elsewhere the overflow buffer (and swiotlb_full's panic over 32 KiB); modern
 * DMA_MAPPING_ERROR.
 */
function swiotlbBounce(s: DmaState, rec: MappingRecord, phys: number, sg: boolean): void {
  const c = s.counters;
  const index = s.swiotlb.swiotlbTblMapSingle(phys, rec.size, s.cfg.kernel);
  if (index < 0) {
    c.swiotlbFull++;
    c.mappingErrors++;
    rec.failed = true;
    if (s.cfg.kernel === Kernel['2010'] && s.machine.isXen) {
      rec.dmaAddr = XEN_DMA_ERROR_CODE;
    } else if (s.cfg.kernel === Kernel['2010'] && sg) {
      rec.dmaAddr = 0; // swiotlb_map_sg_attrs: swiotlb_full without panic, and the entry's dma_address never set
    } else if (s.cfg.kernel === Kernel['2010']) {
      rec.dmaAddr = xenPhysToBus(s.machine, s.layout.overflowPfn * PAGE_SIZE);
      if (rec.size > IO_TLB_OVERFLOW) c.swiotlbPanics++;
    } else {
      rec.dmaAddr = DMA_ERROR;
    }
    return;
  }
  c.bounces++;
  c.swiotlbSlotsInUse = s.swiotlb.slotsInUse;
  c.swiotlbPeakSlots = Math.max(c.swiotlbPeakSlots, s.swiotlb.slotsInUse);
  rec.bounceIndex = index;
  // 6.12 swiotlb_tbl_map_single: the bounce address is the run's first slot plus the align offset
  // (the original's bits under the device's min_align_mask below a slot; 0 without a mask).
  const bounce = s.swiotlb.bouncePhys(s.layout, index);
  rec.dmaAddr = xenPhysToBus(s.machine, bounce);
  if (copiesToDevice(rec.dir) || s.cfg.kernel === Kernel.modern) bounceCopy(s, phys, bounce, rec.size);
}

function iommuMap(s: DmaState, rec: MappingRecord, phys: number): void {
  const iommu = s.iommu!;
  const firstPfn = Math.floor(phys / PAGE_SIZE);
  const pages = Math.floor((phys + rec.size - 1) / PAGE_SIZE) - firstPfn + 1;
  const first = iommu.allocate(pages);
  if (first < 0) {
    s.counters.mappingErrors++;
    rec.failed = true;
    rec.dmaAddr = DMA_ERROR;
    return;
  }
  iommu.fill(first, firstPfn, pages, rec.dir === Dir.to_device); // read-only for to_device
  s.counters.iommuPagesMapped += pages;
  rec.dmaAddr = iommu.busOf(first, phys % PAGE_SIZE);
}

/** 2.6.37: do the platform's dma_map_ops have sync_single_range_for_* (assembly/dma/mapping.ts range_sync_hook)? */
export function rangeSyncHook(s: DmaState): boolean {
  return s.cfg.platform !== Platform.iommu;
}

/** Is the machine an x86? All but 2010's iommu, ppc64 (assembly/dma/mapping.ts arch_x86). */
export function archX86(s: DmaState): boolean {
  return s.cfg.platform !== Platform.iommu || s.cfg.kernel === Kernel.modern;
}

/**
 * The one bus address the platform's dma_mapping_error() is true for (twin of dma_error_addr):
 * 2010 generic swiotlb: the overflow buffer's; 2010 Xen: 0; the IOMMU and modern: DMA_MAPPING_ERROR.
 */
export function dmaErrorAddr(s: DmaState): number {
  if (s.cfg.kernel === Kernel.modern || s.cfg.platform === Platform.iommu) return DMA_ERROR;
  if (s.cfg.platform === Platform['xen-pv']) return XEN_DMA_ERROR_CODE;
  return xenPhysToBus(s.machine, s.layout.overflowPfn * PAGE_SIZE);
}

/**
 * The GART dummy page's pci_map_page(…, 0, PAGE_SIZE, BIDIRECTIONAL) at device init
 * (radeon_dummy_page_init, nouveau_sgdma_init, 2.6.37), through the platform's streaming path:
 * direct, a bounce (swiotlb-force; xen-pv when its machine address is above the mask: it is
 * alloc_page memory, never exchanged) or the first IOVA (D3). Held for the device's life: no
 * counter, no dma-debug entry, but its slots stay in use.
 */
export function dmaMapBootPage(s: DmaState, pfn: number): number {
  if (s.iommu) {
    const first = s.iommu.allocate(1);
    s.iommu.fill(first, pfn, 1);
    return s.iommu.busOf(first, 0);
  }
  const phys = pfn * PAGE_SIZE;
  const dma = s.machine.isXen ? xenPhysToBus(s.machine, phys) : phys;
  // coco: forced bounce, as dmaMapPhys.
  const bounce = s.cfg.platform === Platform['swiotlb-force'] || s.cfg.platform === Platform.coco || !dmaCapable(s, dma, PAGE_SIZE);
  if (!bounce) return dma;
  const pool = s.swiotlb;
  const index = pool.swiotlbTblMapSingle(phys, PAGE_SIZE, s.cfg.kernel); // an empty pool at init: it always fits
  copyPhys(s, phys, s.swiotlb.bouncePhys(s.layout, index), PAGE_SIZE);
  pool.heldIndex = index;
  s.counters.swiotlbSlotsInUse = pool.slotsInUse;
  s.counters.swiotlbPeakSlots = Math.max(s.counters.swiotlbPeakSlots, pool.slotsInUse);
  return xenPhysToBus(s.machine, s.swiotlb.bouncePhys(s.layout, index));
}

// The address an entry of a failed dma_map_sg call is left with (twin of assembly/dma/mapping.ts
// sg_never_mapped_addr, sg_undone_addr): behind an IOMMU an entry the call undid is an error
// (6.12 __invalidate_sg, 2.6.37 ppc64 iommu_map_sg's DMA_ERROR_CODE), and 6.12 marks every entry so;
// elsewhere an undone entry keeps its address, and one the call never reached the 0 of a fresh table.
export const sgNeverMappedAddr = (s: DmaState): number => (s.iommu && s.cfg.kernel === Kernel.modern ? DMA_ERROR : 0);
export const sgUndoneAddr = (s: DmaState, dma: number): number => (s.iommu ? DMA_ERROR : dma);

/**
 * dma_unmap_page on `addr` (`sgEnts` > 0: an entry of dma_unmap_sg of that many): unmaps++,
 * dma-debug's check, then the IOVA release or the bounce copy-back and slot release. `undo`: the
 * unmap a failing dma_map_sg makes of its own entries (driver/bufferOps.ts dmaMap): not the
 * driver's, so not counted; 6.12 skips the copy back (DMA_ATTR_SKIP_CPU_SYNC) and an IOVA is freed
 * at once, counted as assembly/dma/mapping.ts dma_unmap_addr says. `skipCpuSync`: the caller
 * passed DMA_ATTR_SKIP_CPU_SYNC (6.12 __swiotlb_tbl_unmap_single copies nothing back; 2.6.37 had
 * no such attribute).
 */
export function dmaUnmapPage(s: DmaState, addr: number, size: number, dir: number, sgEnts = 0, undo = false, skipCpuSync = false, check?: Omit<DebugRef, 'dmaAddr'>): void {
  if (!undo) s.counters.unmaps++;
  s.debug.checkUnmap(s.op, { dmaAddr: addr, ...(check ?? { size, dir, type: sgEnts > 0 ? DebugType.sg : DebugType.single, sgEnts }) });
  dmaUnmapAddr(s, addr, size, dir, undo, skipCpuSync, sgEnts === 0);
}

/**
 * Whether what bus address `dma` reaches was given to another mapping since a mapping there was
 * unmapped, for a trace's call at its handle or inside it (assembly/dma/mapping.ts
 * dma_handle_retaken): an IOVA run starting there or a page the unmap would clear that translates
 * to another page than the mapping's (`ownPfn` under `dma`; dma/iommu.ts retaken), a bounce slot in
 * a live run, or on 2.6.37 any slot the call's `size` bytes reach keeping another original.
 */
export function dmaHandleRetaken(s: DmaState, dma: number, orig: number, size: number, ownPfn: number, single = true): boolean {
  if (dma === DMA_ERROR) return false;
  if (s.iommu) return s.iommu.retaken(dma, size, ownPfn, single);
  const pool = s.swiotlb, index = busToSlot(s.layout, s.machine, pool, dma);
  if (index < 0) return false;
  if (s.cfg.kernel === Kernel.modern) return pool.list[index] === 0;
  const last = Math.min(pool.nslabs, index + Math.ceil(((dma % UNIT_SIZE) + Math.max(size, 1)) / UNIT_SIZE)); // every slot 2.6.37 touches
  for (let i = index; i < last; i++) if (pool.orig[i] !== orig + (i - index) * UNIT_SIZE) return true;
  return false;
}

/** The platform's part of an unmap at `addr` (assembly/dma/mapping.ts dma_unmap_addr): the IOVA release, or the bounce copy-back and slot release. */
export function dmaUnmapAddr(s: DmaState, addr: number, size: number, dir: number, undo = false, skipCpuSync = false, single = true): void {
  const c = s.counters;
  const skipSync = (undo || skipCpuSync) && s.cfg.kernel === Kernel.modern;
  if (s.iommu) {
    if (addr === DMA_ERROR) return;
    const n = s.iommu.unmap(addr, Math.max(size, 0), s.op, single, undo); // dma_unmap_page's (`single`: checked) or an sg entry's, wherever `addr` falls
    if (undo && s.cfg.kernel === Kernel.modern) c.iommuPagesMapped -= n; // 6.12 mapped nothing
    else c.iommuPagesUnmapped += n;
    return;
  }
  const pool = s.swiotlb;
  if (s.cfg.kernel !== Kernel.modern) {
    // 2.6.37 do_unmap_single (xen's too): by the slot at `addr`, live or not (io_tlb_orig_addr is
    // never cleared; a never-used slot holds 0): `size` bytes back, then the caller's slots free.
    const index = addr === DMA_ERROR ? -1 : busToSlot(s.layout, s.machine, pool, addr);
    if (index < 0) return;
    const off = addr % UNIT_SIZE;
    const orig = pool.orig[index]!;
    if (orig !== 0 && copiesToCpu(dir) && !skipSync) bounceCopy(s, pool.slotPhys(s.layout, index) + off, orig, Math.min(size, (pool.nslabs - index) * UNIT_SIZE - off));
    pool.swiotlbTblUnmapSingle(index, s.cfg.kernel, Math.ceil(size / UNIT_SIZE));
    c.swiotlbSlotsInUse = pool.slotsInUse;
    return;
  }
  // 6.12 __swiotlb_tbl_unmap_single by the slot at `addr`, any slot of a run, through that slot's own orig_addr and
  // alloc_size (a released or unused slot's: INVALID_PHYS_ADDR and 0; assembly/dma/mapping.ts dma_unmap_addr):
  // swiotlb_bounce copies `size` bytes from there, then swiotlb_release_slots frees nr_slots(alloc_size + offset) from
  // there, whoever holds them (none where that is not above 0: the size_t wraps and DIV_ROUND_UP gives 0).
  const index = addr === DMA_ERROR ? -1 : busToSlot(s.layout, s.machine, pool, addr);
  if (index < 0) return;
  const live = pool.list[index] === 0;
  if (live && copiesToCpu(dir) && !skipSync) swiotlbSyncModern(s, addr, size, dir, true);
  const v = (live ? pool.allocSize[index]! : 0) + pool.alignOffset(addr);
  pool.swiotlbTblUnmapSingle(index, s.cfg.kernel, v > 0 ? Math.ceil(v / UNIT_SIZE) : 0);
  c.swiotlbSlotsInUse = pool.slotsInUse;
}

export function countSync(s: DmaState, toCpu: boolean): void {
  if (toCpu) s.counters.syncsForCpu++;
  else s.counters.syncsForDevice++;
}

/**
 * 2.6.37's sync of `size` bytes at bus address `dma` (swiotlb_sync_single, xen_swiotlb_sync_single
 * → swiotlb_tbl_sync_single): if `dma` lies in the pool (is_swiotlb_buffer), the bytes are copied
 * between it and its slot's io_tlb_orig_addr plus the offset in the slot, in the direction's
 * sense, whether or not a mapping is live there and however far it runs: unmap never clears
 * io_tlb_orig_addr (a slot never used holds 0, as the zeroed boot array did) and nothing checks
 * the size. So a sync after unmap copies again, onto whatever the page or the slot holds now.
 * Different: the copy stops at the pool's end (the kernel's would run on past it).
 */
export function swiotlbSync2010(s: DmaState, dma: number, size: number, dir: number, toCpu: boolean): void {
  if (s.iommu) return;
  const index = busToSlot(s.layout, s.machine, s.swiotlb, dma);
  if (index < 0) return;
  const off = dma % UNIT_SIZE;
  const n = Math.min(size, (s.swiotlb.nslabs - index) * UNIT_SIZE - off);
  syncCopy(s, s.swiotlb.orig[index]! + off, s.swiotlb.slotPhys(s.layout, index) + off, n, dir, toCpu);
}

/** A sync's copy: for the CPU bounce → orig if the device may have written, for the device orig → bounce if the CPU may have. */
function syncCopy(s: DmaState, orig: number, bounce: number, n: number, dir: number, toCpu: boolean): void {
  if (toCpu) {
    if (copiesToCpu(dir)) bounceCopy(s, bounce, orig, n);
  } else if (copiesToDevice(dir)) {
    bounceCopy(s, orig, bounce, n);
  }
}

/**
 * 6.12's sync of `size` bytes at bus address `dma` (swiotlb_sync_single_for_{cpu,device} →
 * swiotlb_bounce): it goes by the slot at `dma`, whoever holds it now. A released slot's
 * orig_addr is INVALID_PHYS_ADDR: nothing. Else the copy runs between the address and the
 * slot's orig_addr plus tlb_offset (the offset in the slot less the align offset), for at most the
 * slot's alloc_size less tlb_offset — what is left of the mapping from there on ("Buffer
 * overflow detected" cuts a longer sync to it). A slot's alloc_size is its run's size less the
 * slots before it, kept per slot as the kernel does (dma/swiotlb.ts).
 * Different: a sync that starts past its mapping's end, in the run's last slot, copies nothing
 * (the kernel's alloc_size underflows and it copies all `size`).
 */
export function swiotlbSyncModern(s: DmaState, dma: number, size: number, dir: number, toCpu: boolean): void {
  if (s.iommu || dma === DMA_ERROR) return;
  const pool = s.swiotlb;
  const index = busToSlot(s.layout, s.machine, pool, dma);
  if (index < 0 || pool.list[index] !== 0) return;
  // tlb_offset: the address's offset in its slot less the original's align offset (below 0 in the first bytes of a
  // later slot), added to the slot's orig_addr and taken from its alloc_size
  const inSlot = dma % UNIT_SIZE, tlbOffset = inSlot - pool.alignOffset(pool.orig[index]!);
  const left = pool.allocSize[index]! - tlbOffset;
  if (left > 0) syncCopy(s, pool.orig[index]! + tlbOffset, pool.slotPhys(s.layout, index) + inSlot, Math.min(size, left), dir, toCpu);
}

/**
 * dma_sync_single_for_{cpu,device} of `size` bytes (a whole page unless given) at `dma`: each era's
 * swiotlb sync there. Coherent or direct handles cost the call and nothing more.
 */
export function dmaSyncPage(s: DmaState, dma: number, dir: number, toCpu: boolean, size = PAGE_SIZE): void {
  countSync(s, toCpu);
  s.debug.checkSync(s.op, { dmaAddr: dma, size, dir, type: DebugType.single }, toCpu);
  if (s.cfg.kernel !== Kernel.modern) swiotlbSync2010(s, dma, size, dir, toCpu);
  else swiotlbSyncModern(s, dma, size, dir, toCpu);
}

/** What a bus address is, for a violation's hops (twin of dma_describe). */
export function dmaDescribe(s: DmaState, dma: bigint): { via: number; slot: number; hopPfn: number; iovaUnmapOp?: number; iovaReadOnly?: number } {
  if (BigInt.asUintN(64, dma) === BigInt.asUintN(64, -1n)) return { via: Via.none, slot: -1, hopPfn: -1 };
  // 2010 Xen's error handle, 0: no guest page has machine frame 0.
  if (dma === BigInt(XEN_DMA_ERROR_CODE) && s.machine.isXen && s.cfg.kernel === Kernel['2010']) return { via: Via.none, slot: -1, hopPfn: -1 };
  const bus = Number(dma);
  if (s.iommu) {
    const e = iovaEntryOf(bus);
    const hopPfn = e < 0 ? -1 : iovaEntryPfn(s.trans, e);
    const iovaReadOnly = hopPfn >= 0 && (s.trans.iova![e]! & IOMMU_READ_ONLY) !== 0 ? 1 : 0;
    return { via: Via.iommu, slot: -1, hopPfn, iovaUnmapOp: e < 0 ? -1 : s.iommu.queuedUnmapOp(e), iovaReadOnly };
  }
  const slot = busToSlot(s.layout, s.machine, s.swiotlb, bus);
  if (slot >= 0) {
    const inUse = s.swiotlb.list[slot] === 0;
    return { via: Via.swiotlb, slot, hopPfn: inUse ? Math.floor(s.swiotlb.orig[slot]! / PAGE_SIZE) : -1 };
  }
  if (inOverflow(s.layout, s.machine, bus)) return { via: Via.overflow, slot: -1, hopPfn: -1 };
  return { via: Via.direct, slot: -1, hopPfn: s.machine.mfnToPfn(Math.floor(bus / PAGE_SIZE)) };
}
