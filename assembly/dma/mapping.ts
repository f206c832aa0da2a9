// The DMA API dispatcher (kernel/dma/mapping.c over dma-direct, lib/swiotlb.c, swiotlb-xen and
// an IOMMU): one switch on the platform id, no indirect calls, as dma_map_ops' direct fast path.
// Different per era: 2010 generic swiotlb (swiotlb_map_page) returns the overflow buffer when full
// and does not copy at a FROM_DEVICE map; 2010 xen_swiotlb_map_page (drivers/xen/swiotlb-xen.c,
// 2.6.37) returns DMA_ERROR_CODE, 0 on x86, silently (6.12.0's bounces on the same test here; its
// coherent path is dma/coherent.ts's); modern returns DMA_MAPPING_ERROR and copies
// at every map. A confidential-computing guest (coco, modern only) bounces every map, as
// swiotlb-force does (docs/ENGINE.md §16).

import { PLATFORM_BARE_METAL, PLATFORM_SWIOTLB_FORCE, PLATFORM_XEN_PV, PLATFORM_IOMMU, PLATFORM_COCO,
  KERNEL_MODERN, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL, DMA_MAPPING_ERROR, XEN_DMA_ERROR_CODE,
  IO_TLB_OVERFLOW, PAGE_SHIFT, PAGE_MASK, PAGE_SIZE, IO_TLB_SHIFT, DEBUG_TYPE_SINGLE,
  VIA_NONE, VIA_DIRECT, VIA_SWIOTLB, VIA_OVERFLOW, VIA_IOMMU,
  C_MAPS, C_MAPPING_ERRORS, C_BOUNCES, C_BOUNCE_BYTES, C_SWIOTLB_FULL, C_IOMMU_PAGES_MAPPED, C_IOMMU_PAGES_UNMAPPED,
  C_SWIOTLB_PANICS, C_SYNCS_FOR_CPU, C_SYNCS_FOR_DEVICE } from '../abi';
import { platform, kernel_era, dma_mask, nslabs, ram_pages } from '../layout';
import { count } from '../sim/counters';
import { copy_phys } from '../sim/stamps';
import { pfn_to_mfn, iova_entry_of, iova_entry_pfn, iova_read_only } from '../sim/translate';
import { V_VIA, V_SLOT, V_HOP_PFN, V_IOVA_UNMAP_OP, V_IOVA_READ_ONLY } from '../sim/oracle';
import { mfn_to_pfn } from '../xen/p2m';
import { xen_phys_to_bus, range_straddles_page_boundary, map_requires_alignment } from '../xen/swiotlb_xen';
import { swiotlb_tbl_map_single, swiotlb_tbl_unmap_single, bounce_bus, bounce_phys, slot_orig, slot_phys,
  slot_alloc_size, slot_in_use, overflow_bus, bus_to_slot, swiotlb_hold, swiotlb_align_offset } from './swiotlb';
import { iommu_alloc, iommu_unmap, iommu_retaken, iova_of, iommu_queued_unmap_op } from './iommu';
import { debug_add, check_sync } from './debug';

// How a map reached the device (a caller's outcome record, e.g. a buffer's mapping fields):
//   how (MAP_*), then the swiotlb run's first slot and slot count, or the IOVA entries.
@inline export const OUT_HOW: i32 = 0;
@inline export const OUT_FIRST: i32 = OUT_HOW + 4;
@inline export const OUT_COUNT: i32 = OUT_FIRST + 4;
@inline export const OUT_BYTES: i32 = OUT_COUNT + 4;
@inline export const MAP_DIRECT: i32 = 0;
@inline export const MAP_BOUNCE: i32 = 1;
@inline export const MAP_IOMMU: i32 = 2;
@inline export const MAP_FAILED: i32 = 3;

/** dma_capable: the whole range sits under the device mask. */
@inline function dma_capable(addr: u64, size: i32): bool {
  const last = addr + <u64>size - 1;
  return last >= addr && last <= dma_mask;
}

/**
 * force_dma_unencrypted (arch/x86/mm/mem_encrypt.c, 6.12): true in a guest with
 * CC_ATTR_GUEST_MEM_ENCRYPT (SEV, SEV-SNP, TDX): all DMA goes to shared memory, so
 * dma_direct_alloc decrypts what it hands out (dma/coherent.ts).
 */
@inline export function force_dma_unencrypted(): bool { return platform == PLATFORM_COCO; }

/**
 * dma_addressing_limited (kernel/dma/mapping.c, 6.12): the device's mask is below
 * dma_get_required_mask. That is dma_direct_get_required_mask for dma-direct (bare metal,
 * swiotlb=force, coco): the power-of-two mask over the last RAM page. An IOMMU (use_dma_iommu) and
 * Xen PV (xen_swiotlb_dma_ops has no get_required_mask) get DMA_BIT_MASK(32), which no device here
 * is below. Past that test it is false for an ops table or an IOMMU, and for dma-direct when
 * dma_direct_all_ram_mapped (x86 has no bus_dma_region: always).
 */
export function dma_addressing_limited(): bool {
  if (platform == PLATFORM_XEN_PV || platform == PLATFORM_IOMMU) return dma_mask < 0xFFFFFFFF;
  return (<u64>(ram_pages - 1) << PAGE_SHIFT) > dma_mask;
}

@inline function copies_to_device(dir: i32): bool { return dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL; }
@inline function copies_to_cpu(dir: i32): bool { return dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL; }

function bounce_copy(src: u64, dst: u64, n: i32): void {
  copy_phys(src, dst, n);
  count(C_BOUNCE_BYTES, n);
}

export function set_out(out: usize, how: i32, first: i32, n: i32): void {
  store<i32>(out, how, OUT_HOW); store<i32>(out, first, OUT_FIRST); store<i32>(out, n, OUT_COUNT);
}

/**
 * swiotlb_map_page's slow path (xen_swiotlb_map_page's on xen-pv): take slots, copy in, or report
 * the pool full per era. 2010 on Xen: swiotlb_tbl_map_single's NULL (a full pool, or more than a
 * 128-slot segment) becomes DMA_ERROR_CODE, 0 on x86, with no message, no overflow buffer and no
 * panic (xen_swiotlb_dma_mapping_error is !dma_addr); 2010 elsewhere: the overflow buffer, and a
 * size over 32 KiB is swiotlb_full's panic — but not for an sg entry: swiotlb_map_sg_attrs calls
 * swiotlb_full without panic and fails the call, whose entry keeps the 0 it never got; modern:
 * DMA_MAPPING_ERROR.
 */
function swiotlb_bounce(phys: u64, size: i32, dir: i32, out: usize, dtype: i32, recorded: i64, attrs: i32, filed: i32): u64 {
  const index = swiotlb_tbl_map_single(phys, size);
  if (index < 0) {
    count(C_SWIOTLB_FULL);
    count(C_MAPPING_ERRORS);
    set_out(out, MAP_FAILED, -1, 0);
    if (kernel_era == KERNEL_MODERN) return DMA_MAPPING_ERROR;
    if (platform == PLATFORM_XEN_PV) return XEN_DMA_ERROR_CODE;
    if (dtype != DEBUG_TYPE_SINGLE) return 0; // swiotlb_map_sg_attrs never sets the entry's dma_address
    if (size > IO_TLB_OVERFLOW) count(C_SWIOTLB_PANICS);
    return overflow_bus();
  }
  count(C_BOUNCES);
  // 6.12 swiotlb_tbl_map_single: the bounce address is the run's first slot plus the align offset
  // (the original's bits under the device's min_align_mask below a slot; 0 without a mask).
  if (copies_to_device(dir) || kernel_era == KERNEL_MODERN) bounce_copy(phys, bounce_phys(index), size);
  const dma = bounce_bus(index);
  set_out(out, MAP_BOUNCE, index, (size + swiotlb_align_offset(phys) + (1 << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT);
  debug_add(dma, filed, dir, dtype, dtype != DEBUG_TYPE_SINGLE, phys, recorded, attrs);
  return dma;
}

/**
 * dma_map_page for guest phys [phys, phys + size): the platform's dma_map_ops, one switch.
 * Returns the dma address (an era's error address when it failed); how it got there goes to `out`.
 * `dtype`: the dma-debug entry (debug_type): single, or an sg entry, whose map error dma-debug never
 * tracks (debug_dma_map_sg: MAP_ERR_CHECK_NOT_APPLICABLE). `recorded`, `attrs`: for dma-debug's
 * cacheline tracking (debug.ts debug_add): where a kernel trace had the memory, and the map's attrs.
 * `dsize` ≥ 0: the size dma-debug files, when not the size mapped (6.12 xen-pv dma_alloc_pages memory).
 */
export function dma_map_phys(phys: u64, size: i32, dir: i32, out: usize, dtype: i32 = DEBUG_TYPE_SINGLE, recorded: i64 = -1, attrs: i32 = 0, dsize: i32 = -1): u64 {
  count(C_MAPS);
  const filed = dsize >= 0 ? dsize : size;
  let dma: u64 = phys;
  switch (platform) {
    case PLATFORM_BARE_METAL: {
      if (!dma_capable(dma, size)) return swiotlb_bounce(phys, size, dir, out, dtype, recorded, attrs, filed);
      break;
    }
    case PLATFORM_SWIOTLB_FORCE: return swiotlb_bounce(phys, size, dir, out, dtype, recorded, attrs, filed);
    // dma_direct_map_page (kernel/dma/direct.h, 6.12): is_swiotlb_force_bounce, set at boot by
    // pci_swiotlb_detect's SWIOTLB_FORCE under CC_ATTR_GUEST_MEM_ENCRYPT (arch/x86/kernel/pci-dma.c),
    // sends every map to swiotlb_map whatever the mask; the pool sits below 4 GiB
    // (swiotlb_memblock_alloc without SWIOTLB_ANY: memblock_alloc_low), so every mask reaches it.
    case PLATFORM_COCO: return swiotlb_bounce(phys, size, dir, out, dtype, recorded, attrs, filed);
    case PLATFORM_XEN_PV: {
      dma = xen_phys_to_bus(phys);
      if (!dma_capable(dma, size) || range_straddles_page_boundary(phys, size)
        || (kernel_era == KERNEL_MODERN && map_requires_alignment(phys, size))) return swiotlb_bounce(phys, size, dir, out, dtype, recorded, attrs, filed);
      break;
    }
    case PLATFORM_IOMMU: {
      const npages = <i32>(((phys & PAGE_MASK) + <u64>size + PAGE_SIZE - 1) >> PAGE_SHIFT);
      const first = iommu_alloc(<i32>(phys >> PAGE_SHIFT), npages, true, dir == DMA_TO_DEVICE); // read-only for to_device
      if (first < 0) {
        count(C_MAPPING_ERRORS);
        set_out(out, MAP_FAILED, -1, 0);
        return DMA_MAPPING_ERROR;
      }
      dma = iova_of(first) | (phys & PAGE_MASK);
      set_out(out, MAP_IOMMU, first, npages);
      debug_add(dma, filed, dir, dtype, dtype != DEBUG_TYPE_SINGLE, phys, recorded, attrs);
      return dma;
    }
    default: break;
  }
  set_out(out, MAP_DIRECT, -1, 0);
  debug_add(dma, filed, dir, dtype, dtype != DEBUG_TYPE_SINGLE, phys, recorded, attrs);
  return dma;
}

/**
 * The one bus address the platform's dma_mapping_error() is true for, for dma-debug's
 * check_unmap: 2010 generic swiotlb ops (swiotlb_dma_mapping_error, lib/swiotlb.c 2.6.37): the
 * overflow buffer's; 2010 Xen (xen_swiotlb_dma_mapping_error, drivers/xen/swiotlb-xen.c): 0;
 * the IOMMU and modern kernels: DMA_MAPPING_ERROR.
 */
export function dma_error_addr(): u64 {
  if (kernel_era == KERNEL_MODERN || platform == PLATFORM_IOMMU) return DMA_MAPPING_ERROR;
  if (platform == PLATFORM_XEN_PV) return XEN_DMA_ERROR_CODE;
  return overflow_bus();
}

/**
 * 2.6.37: do the platform's dma_map_ops have sync_single_range_for_* (x86 swiotlb_dma_ops,
 * xen_swiotlb_dma_ops), through which dma_sync_single_range_* reaches
 * debug_dma_sync_single_range_*? ppc64's dma_iommu_ops has none: the generic header then makes it
 * the plain sync at handle + offset.
 */
export function range_sync_hook(): bool { return platform != PLATFORM_IOMMU; }

/** Is the simulated machine an x86 (CONFIG_X86)? All are but 2010's iommu platform, ppc64 (6.12's
 * iommu is x86's dma-iommu): agpgart's set_pages_array_uc/_wb are x86's (drm/agp_gatt.ts). */
export function arch_x86(): bool { return platform != PLATFORM_IOMMU || kernel_era == KERNEL_MODERN; }

/** What dma_mapping_error would say of the map whose outcome is `out`. */
@inline export function map_failed(out: usize): bool { return load<i32>(out, OUT_HOW) == MAP_FAILED; }

/**
 * The GART dummy page's pci_map_page(…, 0, PAGE_SIZE, BIDIRECTIONAL) at device init
 * (radeon_dummy_page_init, nouveau_sgdma_init, 2.6.37): the platform's streaming path for one
 * page — direct on bare metal, a bounce on swiotlb-force, a bounce on xen-pv when the page's
 * machine address is above the mask (it is alloc_page memory, never exchanged), the first IOVA
 * entry on the iommu (D3). The driver holds it for the device's life and unmaps it at teardown,
 * before dma-debug looks: no counter, no dma-debug entry, but its slots stay in use.
 */
export function dma_map_boot_page(pfn: i32): u64 {
  const phys = <u64>pfn << PAGE_SHIFT;
  let dma = phys;
  let bounce = false;
  switch (platform) {
    case PLATFORM_IOMMU: {
      const first = iommu_alloc(pfn, 1, false);
      return first >= 0 ? iova_of(first) : DMA_MAPPING_ERROR;
    }
    case PLATFORM_SWIOTLB_FORCE: bounce = true; break;
    case PLATFORM_COCO: bounce = true; break; // forced bounce, as dma_map_phys
    case PLATFORM_XEN_PV: dma = xen_phys_to_bus(phys); bounce = !dma_capable(dma, PAGE_SIZE); break;
    default: bounce = !dma_capable(dma, PAGE_SIZE); break;
  }
  if (!bounce) return dma;
  const index = swiotlb_tbl_map_single(phys, PAGE_SIZE); // an empty pool at init: it always fits
  assert(index >= 0, 'the dummy page found no bounce slot');
  copy_phys(phys, bounce_phys(index), PAGE_SIZE);
  swiotlb_hold(index);
  return bounce_bus(index);
}

// The address an entry of a failed dma_map_sg call is left with: behind an IOMMU an entry the call
// undid is an error (6.12 iommu_dma_map_sg's __invalidate_sg; 2.6.37 ppc64 iommu_map_sg sets
// DMA_ERROR_CODE), and 6.12 marks every entry so; elsewhere an undone entry keeps its address, and
// one the call never reached the 0 of a fresh sg table.
export function sg_never_mapped_addr(): u64 { return platform == PLATFORM_IOMMU && kernel_era == KERNEL_MODERN ? DMA_MAPPING_ERROR : 0; }
export function sg_undone_addr(dma: u64): u64 { return platform == PLATFORM_IOMMU ? DMA_MAPPING_ERROR : dma; }

@inline export function count_sync(to_cpu: bool): void { count(to_cpu ? C_SYNCS_FOR_CPU : C_SYNCS_FOR_DEVICE); }

/**
 * Whether what bus address `dma` reaches was given to another mapping since a mapping there was
 * unmapped (a kernel trace's call after that unmap, at its handle or inside it, replayed as on a
 * recording machine that had not given the address again, where no live mapping was there): an
 * IOVA run starting there or a page the unmap would clear that translates to another page than the
 * unmapped mapping's (dma/iommu.ts iommu_retaken; `own_pfn`: the mapping's page under `dma`;
 * `single`: dma_unmap_page's, not an sg entry's), a
 * bounce slot in a live run, or on 2.6.37 any of the slots the call's `size` bytes reach
 * (do_unmap_single frees them all, swiotlb_tbl_sync_single copies across them) keeping another
 * io_tlb_orig_addr than the unmapped mapping's (`orig` for the first, a slot more each: never
 * cleared; a slot still in the mapping's own run, the tail a smaller unmap left, is its own).
 * 6.12 acts through the slot's own record (its alloc_size and orig_addr), which a release clears, so a slot in use decides.
 */
export function dma_handle_retaken(dma: u64, orig: u64, size: i32, own_pfn: i32, single: bool = true): bool {
  if (dma == DMA_MAPPING_ERROR) return false;
  if (platform == PLATFORM_IOMMU) return iommu_retaken(dma, size, own_pfn, single);
  const index = bus_to_slot(dma);
  if (index < 0) return false;
  if (kernel_era == KERNEL_MODERN) return slot_in_use(index);
  const off = <i32>(dma & <u64>((1 << IO_TLB_SHIFT) - 1));
  const last = min(nslabs, index + ((off + max(size, 1) + (1 << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT));
  for (let i = index; i < last; i++) {
    if (slot_orig(i) != orig + (<u64>(i - index) << IO_TLB_SHIFT)) return true;
  }
  return false;
}

/**
 * dma_unmap_page after the debug check: IOVA release, or bounce copy-back and slot release.
 * `undo`: a failing map_sg unmapping its own entry: 6.12 passes DMA_ATTR_SKIP_CPU_SYNC (no copy
 * back); an IOVA is freed at once, and 6.12's iommu_dma_map_sg, one IOVA for the list, failed
 * before mapping anything, so the pages mapped entry by entry leave the mapped count again
 * (2.6.37 ppc64 iommu_map_sg did map and __iommu_free them: unmapped). `skip_cpu_sync`: the
 * caller passed DMA_ATTR_SKIP_CPU_SYNC (6.12 __swiotlb_tbl_unmap_single copies nothing back; 2.6.37
 * had no such attribute). `single`: dma_unmap_page's, whose 6.12 IOMMU path checks that the handle
 * translates first (iommu_dma_unmap_page); an entry of dma_unmap_sg is unmapped without it
 * (iommu_dma_unmap_sg: the list's range, unchecked).
 */
export function dma_unmap_addr(dma: u64, size: i32, dir: i32, undo: bool = false, skip_cpu_sync: bool = false, single: bool = true): void {
  const skip_sync = (undo || skip_cpu_sync) && kernel_era == KERNEL_MODERN;
  if (platform == PLATFORM_IOMMU) {
    const n = iommu_unmap(dma, max(size, 0), single, undo); // dma_unmap_page's or an sg entry's, wherever `dma` falls
    if (undo) count(kernel_era == KERNEL_MODERN ? C_IOMMU_PAGES_MAPPED : C_IOMMU_PAGES_UNMAPPED, kernel_era == KERNEL_MODERN ? -n : n);
  } else if (dma != DMA_MAPPING_ERROR) {
    const index = bus_to_slot(dma);
    if (index >= 0 && kernel_era != KERNEL_MODERN) {
      // 2.6.37 do_unmap_single (xen's too): by the slot at `dma`, live or not (io_tlb_orig_addr is
      // never cleared; a never-used slot holds 0): `size` bytes back, then the caller's slots free.
      const off = <i32>(dma & <u64>((1 << IO_TLB_SHIFT) - 1));
      const orig = slot_orig(index);
      if (orig != 0 && copies_to_cpu(dir) && !skip_sync) bounce_copy(slot_phys(index) + <u64>off, orig, min(size, ((nslabs - index) << IO_TLB_SHIFT) - off));
      swiotlb_tbl_unmap_single(index, (size + (1 << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT);
    } else if (index >= 0) {
      // 6.12 __swiotlb_tbl_unmap_single by the slot at `dma`, any slot of a run, through that slot's
      // own orig_addr and alloc_size (a released or unused slot's: INVALID_PHYS_ADDR and 0):
      // swiotlb_bounce copies `size` bytes from there, then swiotlb_release_slots frees
      // nr_slots(alloc_size + offset) from there, whoever holds them (none where that is not above
      // 0: the size_t wraps and DIV_ROUND_UP gives 0) — from a run's start the run, from inside it the rest.
      const live = slot_in_use(index);
      if (live && copies_to_cpu(dir) && !skip_sync) swiotlb_sync_modern(dma, size, dir, true);
      const v = (live ? slot_alloc_size(index) : 0) + swiotlb_align_offset(dma);
      swiotlb_tbl_unmap_single(index, v > 0 ? (v + (1 << IO_TLB_SHIFT) - 1) >> IO_TLB_SHIFT : 0);
    }
  }
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
export function swiotlb_sync_2010(dma: u64, size: i32, dir: i32, to_cpu: bool): void {
  if (platform == PLATFORM_IOMMU) return;
  const index = bus_to_slot(dma);
  if (index < 0) return;
  const off = <i32>(dma & <u64>((1 << IO_TLB_SHIFT) - 1));
  const n = min(size, ((nslabs - index) << IO_TLB_SHIFT) - off);
  sync_copy(slot_orig(index) + <u64>off, slot_phys(index) + <u64>off, n, dir, to_cpu);
}

/** A sync's copy: for the CPU bounce → orig if the device may have written, for the device orig → bounce if the CPU may have. */
function sync_copy(orig: u64, bounce: u64, n: i32, dir: i32, to_cpu: bool): void {
  if (to_cpu) {
    if (copies_to_cpu(dir)) bounce_copy(bounce, orig, n);
  } else if (copies_to_device(dir)) {
    bounce_copy(orig, bounce, n);
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
export function swiotlb_sync_modern(dma: u64, size: i32, dir: i32, to_cpu: bool): void {
  if (platform == PLATFORM_IOMMU || dma == DMA_MAPPING_ERROR) return;
  const index = bus_to_slot(dma);
  if (index < 0 || !slot_in_use(index)) return;
  // tlb_offset: the address's offset in its slot less the original's align offset (below 0 in the
  // first bytes of a later slot), added to the slot's orig_addr and taken from its alloc_size
  const in_slot = <i32>(dma & <u64>((1 << IO_TLB_SHIFT) - 1));
  const tlb_offset = in_slot - swiotlb_align_offset(slot_orig(index));
  const left = slot_alloc_size(index) - tlb_offset;
  if (left > 0) sync_copy(slot_orig(index) + <u64><i64>tlb_offset, slot_phys(index) + <u64>in_slot, min(size, left), dir, to_cpu);
}

/**
 * dma_sync_single_for_{cpu,device} of `size` bytes (a whole page unless given) at `dma`: each era's
 * swiotlb sync there. Coherent or direct handles cost the call and nothing more.
 */
export function dma_sync_page(dma: u64, dir: i32, to_cpu: bool, size: i32 = PAGE_SIZE): void {
  count_sync(to_cpu);
  check_sync(dma, size, dir, DEBUG_TYPE_SINGLE, to_cpu);
  if (kernel_era != KERNEL_MODERN) swiotlb_sync_2010(dma, size, dir, to_cpu);
  else swiotlb_sync_modern(dma, size, dir, to_cpu);
}

/**
 * What a bus address is, for a violation's hops (violation record at `v`): an IOVA and the page
 * it maps; a swiotlb slot (is_swiotlb_buffer) and the page it holds a copy of; the 2010 overflow
 * buffer; or a machine frame and the guest page it backs.
 */
export function dma_describe(dma: u64, v: usize): void {
  let via = VIA_DIRECT;
  let slot: i64 = -1;
  let hop: i64 = -1;
  if (dma == DMA_MAPPING_ERROR || (dma == XEN_DMA_ERROR_CODE && platform == PLATFORM_XEN_PV && kernel_era != KERNEL_MODERN)) {
    via = VIA_NONE; // an error handle names nothing (2010 Xen's 0: no guest page has machine frame 0)
  } else if (platform == PLATFORM_IOMMU) {
    via = VIA_IOMMU;
    const e = iova_entry_of(dma);
    if (e >= 0) {
      hop = iova_entry_pfn(e);
      store<i64>(v, iommu_queued_unmap_op(e), V_IOVA_UNMAP_OP);
      if (hop >= 0 && iova_read_only(e)) store<i64>(v, 1, V_IOVA_READ_ONLY);
    }
  } else {
    const index = bus_to_slot(dma);
    const ovf = overflow_bus();
    if (index >= 0) {
      via = VIA_SWIOTLB;
      slot = index;
      if (slot_in_use(index)) hop = <i64>(slot_orig(index) >> PAGE_SHIFT);
    } else if (dma >= ovf && dma - ovf < <u64>IO_TLB_OVERFLOW) {
      via = VIA_OVERFLOW;
    } else {
      hop = mfn_to_pfn(<i64>(dma >> PAGE_SHIFT));
    }
  }
  store<i64>(v, via, V_VIA);
  store<i64>(v, slot, V_SLOT);
  store<i64>(v, hop, V_HOP_PFN);
}
