// The script's DMA-API calls on its own buffers (alloc_pages, dma_alloc_coherent, dma_map_single,
// dma_sync_single_*, dma_unmap_single, xen_create_contiguous_region, a GART bind): what a 2010
// driver does with one buffer, checked by dma-debug. Different: a buffer keeps only its last
// mapping, and an op on a slot that holds nothing usable is a no-op (ops.ts decides).

import { ZONE_DMA32, ZONE_NORMAL, DMA_BIDIRECTIONAL, DEBUG_TYPE_SINGLE, DEBUG_TYPE_COHERENT, DEBUG_TYPE_NONCOHERENT, ALLOC_FORM_COHERENT, ALLOC_FORM_PAGES, PAGE_SHIFT, PAGE_SIZE, MAX_ALLOC_PAGES,
  C_ALLOC_FAILURES, C_MAPPING_ERRORS, C_PAGES_ALLOCATED, C_UNMAPS, C_GATT_BUSY, C_TLB_FLUSHES, C_BIND_FAILURES, KERNEL_MODERN, OP_ATTR_SKIP_CPU_SYNC, OP_ATTR_AFTER_UNMAP, OP_SYNC_SG_NONE, OP_SYNC_SG_ALL, SYNC_CHECK_MAX, IO_TLB_SHIFT } from '../abi';
import { mask_bits, gart_pages, kernel_era, KIND_PAGE, KIND_COHERENT, KIND_NONE, rec_start, rec_clear, rec_kind,
  rec_failed, rec_usable, rec_id } from '../layout';
import { count } from '../sim/counters';
import { forget_pages, next_buf_id } from '../sim/stamps';
import { get_order, alloc_block, free_block } from '../mm/page_alloc';
import { xen_pv_domain } from '../xen/p2m';
import { xen_create_contiguous_region } from '../xen/exchange';
import { dma_map_phys, dma_unmap_addr, dma_handle_retaken, count_sync, range_sync_hook, swiotlb_sync_2010, swiotlb_sync_modern, dma_error_addr, set_out, MAP_FAILED,
  sg_never_mapped_addr, sg_undone_addr } from '../dma/mapping';
import { coherent_alloc_block, coherent_free_block } from '../dma/coherent';
import { check_unmap, check_sync, debug_mapping_error, debug_type, debug_set_quiet, report_unmap_unknown, report_sync_unknown, debug_set_sg_mapped } from '../dma/debug';
import { gart_set, gart_tlb_flush } from '../drm/gart';
import { is_agp, gatt_exists, gatt_entry_count, agp_range_busy, agp_insert_entry } from '../drm/agp_gatt';
import { buf, buf_set, b_recorded, m_offset, b_pfn, b_order, b_pages, b_exch, b_handle, set_b_exch, set_mapping, kill_mapping,
  m_has, m_live, m_dma, set_m_dma, m_size, m_dir, m_sg_next, set_m_sg_next, byte_handle, driver_handle, page_handle, agp_page_addr, page_handle_failed, unmap_handle,
  keep_freed_handle, freed_handle_kept, B_COH, M_OUT } from './buffers';
import { buffer_write } from './access';

/** alloc_pages; `recorded`: where a kernel trace had these pages (their first byte), −1 for none. */
export function op_alloc(slot: i32, pages: i32, zone: i32, recorded: i64 = -1): void {
  const b = buf(slot);
  const id = next_buf_id();
  assert(pages >= 1 && pages <= MAX_ALLOC_PAGES, 'alloc: pages out of range'); // the host checks (ENGINE.md)
  const order = get_order(pages);
  const pfn = alloc_block(order, zone == ZONE_DMA32);
  rec_start(b, id, KIND_PAGE, pfn < 0);
  buf_set(b, pfn, order, pages, zone, recorded);
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    return;
  }
  count(C_PAGES_ALLOCATED, 1 << order);
  buffer_write(b, 0, pages << PAGE_SHIFT, false); // the zeroing: a CPU write nobody counts
}

/**
 * 6.12 dma_common_alloc_pages (kernel/dma/ops_helpers.c), the alloc_pages_op of xen-swiotlb:
 * normal pages (dma_alloc_pages refuses GFP_DMA32), mapped through the platform's map_page, which
 * files nothing itself: dma-debug files what dma_alloc_pages does (debug_dma_alloc_pages:
 * noncoherent, the size asked, `asked`) or (`nents` 1) dma_alloc_noncontiguous's one-entry table
 * (debug_dma_map_sg, sg_dma_len). It checks the handle itself; a failed map gives the pages back
 * and dma_alloc_pages returns NULL: an allocation failure, not a mapping error a driver sees, and
 * the slot holds a failed buffer.
 */
export function op_alloc_pages(slot: i32, pages: i32, dir: i32, bytes: i32, nents: i32, call: i32, asked: i32 = 0): void {
  op_alloc(slot, pages, ZONE_NORMAL);
  const b = buf(slot);
  if (!rec_usable(b)) return;
  dma_map(slot, dir, 0, bytes, nents, call, 0, nents == 0 ? DEBUG_TYPE_NONCOHERENT : -1, nents == 0 && asked > 0 ? asked : -1);
  if (m_live(b)) {
    if (nents == 0) dma_mapping_error(slot);
    return;
  }
  count(C_MAPPING_ERRORS, -1);
  count(C_ALLOC_FAILURES);
  const id = rec_id(b), order = b_order(b);
  forget_pages(b_pfn(b), 1 << order);
  free_block(b_pfn(b), order);
  rec_start(b, id, KIND_PAGE, true);
  buf_set(b, -1, order, pages, ZONE_NORMAL);
}

export function op_free(slot: i32): void {
  const b = buf(slot);
  const mapped = rec_usable(b) && m_has(b), handle = m_dma(b);
  if (rec_usable(b)) {
    forget_pages(b_pfn(b), 1 << b_order(b));
    free_block(b_pfn(b), b_order(b));
  }
  rec_clear(b);
  if (mapped) keep_freed_handle(b, handle); // a kernel trace's second free of mapped dma_alloc_pages memory (dma_free_at)
}

/**
 * The Xen-aware driver's explicit exchange (fix 3 of the RFC); nothing to trade off Xen. On 6.12 a
 * coherent buffer's free destroys only what its allocation exchanged (xen_swiotlb_free_coherent
 * tests PageXenRemapped, which only xen_swiotlb_alloc_coherent sets); 2.6.37's always destroys.
 */
export function op_exchange(slot: i32, address_bits: i32): void {
  if (!xen_pv_domain()) return;
  const b = buf(slot);
  const keep = kernel_era == KERNEL_MODERN && rec_kind(b) == KIND_COHERENT;
  if (xen_create_contiguous_region(b_pfn(b), b_order(b), address_bits, true) && !keep) set_b_exch(b, b_order(b));
}

/**
 * The dma-debug type of a kernel trace's allocation or free of form `form` (ALLOC_FORM_*) on 6.12:
 * debug_dma_alloc_coherent / debug_dma_free_coherent, debug_dma_alloc_pages / debug_dma_free_pages
 * (noncoherent, with the call's direction), and dma_alloc_noncontiguous's debug_dma_map_sg /
 * dma_free_noncontiguous's debug_dma_unmap_sg of a one-entry table. 2.6.37 had dma_alloc_coherent only.
 */
function alloc_debug_type(form: i32): i32 {
  if (kernel_era != KERNEL_MODERN || form == ALLOC_FORM_COHERENT) return DEBUG_TYPE_COHERENT;
  return form == ALLOC_FORM_PAGES ? DEBUG_TYPE_NONCOHERENT : debug_type(1);
}
@inline function alloc_debug_dir(form: i32, dir: i32): i32 { return alloc_debug_type(form) == DEBUG_TYPE_COHERENT ? DMA_BIDIRECTIONAL : dir; }

/** dma_alloc_coherent of `bytes` (0: `pages` whole pages): PAGE_ALIGN(bytes) is `pages` pages, and
 * dma-debug records the size asked (debug_dma_alloc_coherent), which the free is checked against;
 * a kernel trace's other forms are filed as 6.12 files them (alloc_debug_type), of the same memory. */
export function op_alloc_coherent(slot: i32, pages: i32, bytes: i32, form: i32 = ALLOC_FORM_COHERENT, dir: i32 = DMA_BIDIRECTIONAL): void {
  const b = buf(slot);
  const id = next_buf_id();
  assert(pages >= 1 && pages <= MAX_ALLOC_PAGES, 'alloc_coherent: pages out of range'); // the host checks (ENGINE.md)
  const order = get_order(pages);
  rec_start(b, id, KIND_COHERENT, false);
  const pfn = coherent_alloc_block(order, true, bytes > 0 ? bytes : pages * PAGE_SIZE, b + B_COH, alloc_debug_type(form), alloc_debug_dir(form, dir));
  if (pfn < 0) {
    count(C_ALLOC_FAILURES);
    rec_start(b, id, KIND_COHERENT, true);
    buf_set(b, -1, order, pages, ZONE_DMA32);
    return;
  }
  const exch = b_exch(b);
  buf_set(b, pfn, order, pages, mask_bits <= 32 ? 0 : 1);
  set_b_exch(b, exch);
  buffer_write(b, 0, pages * PAGE_SIZE, false);
}

/** dma_free_coherent of `bytes` (0: the allocation's pages): dma-debug checks that size (and a
 * kernel trace's free call's type and direction, alloc_debug_type); the pages go back by the allocation's. */
export function op_free_coherent(slot: i32, bytes: i32, form: i32 = ALLOC_FORM_COHERENT, dir: i32 = DMA_BIDIRECTIONAL): void {
  const b = buf(slot);
  if (rec_kind(b) == KIND_NONE) return;
  if (rec_failed(b)) { rec_clear(b); return; }
  const given = bytes > 0 ? bytes : b_pages(b) * PAGE_SIZE;
  if (rec_kind(b) == KIND_COHERENT) {
    const handle = b_handle(b);
    coherent_free_block(b_pfn(b), b_order(b), handle, b_exch(b), b_pages(b) * PAGE_SIZE, true, given, alloc_debug_type(form), alloc_debug_dir(form, dir));
    rec_clear(b);
    keep_freed_handle(b, handle); // for a kernel trace's second dma_free (dma_free_at)
    return;
  }
  // dma_free_coherent on alloc_pages memory (D1): dma-debug sees it, the pages are freed as by free.
  check_unmap(page_handle(b, 0), given, DMA_BIDIRECTIONAL, DEBUG_TYPE_COHERENT);
  forget_pages(b_pfn(b), 1 << b_order(b));
  free_block(b_pfn(b), b_order(b));
  rec_clear(b);
}

// The dma_map_sg call in progress: its number (the harness numbers calls from 1), the slots of its
// first and last mapped entries (−1: none yet; each entry links to the next), and whether an entry failed.
let sg_call = 0;
let sg_first = -1;
let sg_last = -1;
let sg_failed = false;

/**
 * dma_map_page, or (`nents` > 0) one entry of dma_map_sg call number `call` of `nents` entries
 * (dma-debug's sg type). A call maps its entries in turn and stops at the first that fails
 * (6.12 dma_direct_map_sg, xen_swiotlb_map_sg; 2.6.37 swiotlb_map_sg_attrs,
 * xen_swiotlb_map_sg_attrs): it unmaps the entries it had mapped, first to last — 6.12 with
 * DMA_ATTR_SKIP_CPU_SYNC, 2.6.37 as any unmap, copying back — and fails, so debug_dma_map_sg files
 * none of them; the entries after the failed one are never mapped (their address stays 0, as does
 * 2.6.37's failed one). Behind an IOMMU undone entries are error addresses (dma/mapping.ts).
 */
export function dma_map(slot: i32, dir: i32, offset: i32, size: i32, nents: i32, call: i32, attrs: i32 = 0, filed_type: i32 = -1, filed_size: i32 = -1): void {
  const b = buf(slot);
  if (nents > 0 && call != sg_call) { sg_call = call; sg_first = sg_last = -1; sg_failed = false; }
  if (nents > 0 && sg_failed) {
    set_out(b + M_OUT, MAP_FAILED, -1, 0);
    set_mapping(b, sg_never_mapped_addr(), offset, size, dir);
    return;
  }
  const type = filed_type >= 0 ? filed_type : debug_type(nents); // filed_*: op_alloc_pages's
  // dma-debug's cacheline: of the memory a trace recorded, when it did (buffers.ts b_recorded)
  const rec = b_recorded(b);
  const dma = dma_map_phys((<u64>b_pfn(b) << PAGE_SHIFT) + <u64>offset, size, dir, b + M_OUT, type, rec >= 0 ? rec + offset : -1, attrs, filed_size);
  set_mapping(b, dma, offset, size, dir);
  if (nents == 0) return;
  if (m_live(b)) {
    set_m_sg_next(b, -1);
    if (sg_last >= 0) set_m_sg_next(buf(sg_last), slot); else sg_first = slot;
    sg_last = slot;
    return;
  }
  sg_failed = true;
  debug_set_quiet(true); // the list's entries were never filed (no debug_dma_map_sg): none is reported
  for (let k = sg_first; k >= 0; k = m_sg_next(buf(k))) {
    const e = buf(k);
    check_unmap(m_dma(e), m_size(e), m_dir(e), type);
    dma_unmap_addr(m_dma(e), m_size(e), m_dir(e), true, false, false); // no WARN check: not dma_unmap_page's
    set_m_dma(e, sg_undone_addr(m_dma(e)));
    kill_mapping(e);
  }
  debug_set_quiet(false);
  sg_first = sg_last = -1;
  // 2.6.37's map_sg keeps the failed entry's result in a local: its dma_address stays 0.
  if (kernel_era != KERNEL_MODERN) set_m_dma(b, 0);
}

/**
 * dma_unmap_page (an entry of dma_unmap_sg when nents > 0); `attrs` OP_ATTR_SKIP_CPU_SYNC: no copy
 * back (6.12). `form` > 0: the unmap a kernel trace's free call (ALLOC_FORM_* + 1) of mapped
 * dma_alloc_pages memory makes (dma_common_free_pages), checked as that call's debug hook does
 * (alloc_debug_type; `checked` bytes, 0: `size`).
 */
/** The debug type and direction dma-debug checks an unmap or a free's unmap by: `form`, the free call's AllocForm + 1
 * (its hook's, alloc_debug_type), or 0 for dma_unmap_page / an entry of dma_unmap_sg of `nents`. */
@inline function call_type(form: i32, nents: i32): i32 { return form > 0 ? alloc_debug_type(form - 1) : debug_type(nents); }
@inline function call_dir(form: i32, dir: i32): i32 { return form > 0 ? alloc_debug_dir(form - 1, dir) : dir; }

export function dma_unmap(slot: i32, dir: i32, size: i32, nents: i32, attrs: i32, form: i32 = 0, checked: i32 = 0): void {
  const b = buf(slot);
  const type = call_type(form, nents);
  const csize = checked > 0 ? checked : size, cdir = call_dir(form, dir); // what dma-debug checks
  const single = nents == 0 || form > 0; // not dma_unmap_sg's entry (a free: dma_common_free_pages' unmap_page)
  if ((attrs & OP_ATTR_AFTER_UNMAP) != 0 && m_has(b) && !m_live(b)) { // a kernel trace's unmap after its unmap (retaken says how)
    const h = m_dma(b);
    count(C_UNMAPS);
    report_unmap_unknown(h, csize, cdir, type);
    if (!retaken(b, h, size, single)) dma_unmap_addr(h, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) != 0, single);
    return;
  }
  unmap_at(unmap_handle(b), dir, size, type, attrs, csize, cdir, single);
  kill_mapping(b);
}

/** `single`: dma_unmap_page's, whose 6.12 IOMMU unmap first checks that the handle translates (an
 * entry of dma_unmap_sg: iommu_dma_unmap_sg has no such check). */
function unmap_at(dma: u64, dir: i32, size: i32, type: i32, attrs: i32, check_size: i32 = size, check_dir: i32 = dir, single: bool = true): void {
  count(C_UNMAPS);
  check_unmap(dma, check_size, check_dir, type);
  dma_unmap_addr(dma, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) != 0, single);
}

/**
 * A kernel trace's dma_unmap_page / dma_sync_single_* of DMA_MAPPING_ERROR, the handle of a map
 * that failed when recorded (and was not replayed): the driver passes on what a failed map gave it,
 * here the era's and platform's error handle (dma_error_addr). dma-debug checks it as any other;
 * the platform finds nothing of its own there (no bounce slot; 6.12 iommu_dma_unmap_page: no
 * translation, WARN and return; 2.6.37 ppc64 iommu_free: "invalid entry").
 */
export function dma_unmap_error(dir: i32, size: i32, attrs: i32): void {
  unmap_at(dma_error_addr(), dir, size, DEBUG_TYPE_SINGLE, attrs);
}
export function dma_sync_error(dir: i32, size: i32, to_cpu: bool): void {
  sync_at(dma_error_addr(), dir, size, to_cpu, DEBUG_TYPE_SINGLE, 0);
}

/**
 * A kernel trace's free (form `form`: dma_free_attrs → debug_dma_free_coherent, coherent and
 * BIDIRECTIONAL; debug_dma_free_pages; debug_dma_unmap_sg; alloc_debug_type) of `size` bytes at a
 * handle no live allocation holds: `freed`, the handle the slot's last free kept, `offset` bytes past it (a second free, or one inside:
 * "has not allocated", with no lookup — nothing live is at the recorded address, whatever the
 * simulation gave that handle since); else the slot's streaming mapping's (check_unmap: the size,
 * the wrong function and the direction where they differ, and the entry it finds goes, so the
 * mapping's own unmap is "has not allocated" later; a map that failed here: its error handle, as
 * its unmap). Different: dma-debug only; the
 * platform's free of memory the allocator does not hold (6.12 dma_direct_free of a mapping's page
 * or bounce slot, a page freed twice) is not simulated, and the mapping stays.
 */
export function dma_free_at(slot: i32, size: i32, freed: bool, form: i32 = ALLOC_FORM_COHERENT, dir: i32 = DMA_BIDIRECTIONAL, offset: i32 = 0): void {
  const b = buf(slot);
  const type = alloc_debug_type(form), cdir = alloc_debug_dir(form, dir); // the free call's hook (debug_dma_free_pages, …)
  if (freed) {
    if (rec_kind(b) == KIND_NONE && freed_handle_kept(b)) report_unmap_unknown(b_handle(b) + <u64>offset, size, cdir, type);
  } else if (rec_usable(b) && m_has(b)) { // a map that failed here: its error handle, as its unmap would
    check_unmap(m_dma(b), size, cdir, type);
  }
}

/**
 * A kernel trace's unmap or free at a recorded address where no mapping or allocation starts:
 * inside buffer `slot`'s live mapping or DMA-API allocation, `offset` bytes into the buffer, at
 * its dead mapping's start (a free) or inside its dead mapping (an unmap of the piece a smaller
 * unmap at its handle left) (`form`: the free call's AllocForm + 1, checked as dma_free_at checks
 * it; 0: dma_unmap_page, single, `attrs` its OP_ATTR_SKIP_CPU_SYNC). check_unmap's exact lookup (bucket_find_exact) finds no entry at the
 * recorded address: "has not allocated" at the simulated one, with no lookup (nothing starts there
 * here either, and a dead mapping's handle may be another's since); at the era's error handle (a
 * map that failed here, at its start), check_unmap's "invalid" answer, as its own unmap would get;
 * inside one, that handle plus the offset, "has not allocated". An unmap counts in `unmaps`. An
 * unmap at a live mapping's or a coherent allocation's handle plus an offset is also the
 * platform's (the kernel does not look for the mapping: an IOMMU clears from there, swiotlb
 * releases bounce slots from there); inside a mapping not live here (the trace unmapped it, or its
 * map failed here: an error handle plus the offset, which nothing holds) the platform's unmap is
 * replayed at that handle as after any unmap (retaken). Different: a free inside an allocation is
 * not simulated (dma-debug only).
 */
export function dma_unmap_at(slot: i32, size: i32, offset: i32, form: i32, dir: i32, attrs: i32 = 0): void {
  const b = buf(slot);
  const type = call_type(form, 0), cdir = call_dir(form, dir);
  // The driver's handle plus its offset, as it computes it: a mapping's, even one that failed here
  // (its error handle plus the offset, wrapping as a dma_addr_t), or the allocation's.
  const mapped = rec_kind(b) != KIND_COHERENT && m_has(b);
  const h = mapped ? m_dma(b) + <u64>(offset - m_offset(b)) : byte_handle(b, offset);
  if (form == 0) count(C_UNMAPS); // an unmap call, as any other
  report_unmap_unknown(h, size, cdir, type);
  if (form != 0) return;
  // A mapping not live here: a piece of one the trace had unmapped (its head first), the platform's
  // unmap at h as after any unmap (retaken): 2.6.37's swiotlb copies back and frees the slots
  // there, 6.12's finds them released; an IOMMU clears from there what still translates.
  if (mapped && !m_live(b)) {
    if (!retaken(b, h, size)) dma_unmap_addr(h, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) != 0);
    return;
  }
  // A live mapping or a coherent allocation: the platform's unmap at h, which does not look for
  // the mapping (dma/mapping.ts dma_unmap_addr): behind an IOMMU it clears from there; in a live
  // run of bounce slots 2.6.37 copies `size` bytes back and frees the slots they span, 6.12 the
  // rest of the mapping from there; a page of a direct mapping or an allocation is no bounce slot.
  if (rec_kind(b) == KIND_COHERENT || m_has(b)) dma_unmap_addr(h, size, dir, false, (attrs & OP_ATTR_SKIP_CPU_SYNC) != 0);
}

/**
 * dma_sync_single_for_{cpu,device} on buffer bytes [offset, offset + size), at their handle (D10),
 * copied as the era's swiotlb does at that address (dma/mapping.ts swiotlb_sync_2010,
 * swiotlb_sync_modern): whoever holds the slot there now, live mapping or not.
 */
export function dma_sync(slot: i32, dir: i32, offset: i32, size: i32, to_cpu: bool, nents: i32, index: i32, flags: i32 = 0): void {
  const b = buf(slot);
  const range = (flags & 1) != 0;
  if ((flags & (OP_SYNC_SG_NONE | OP_SYNC_SG_ALL)) != 0) debug_set_sg_mapped((flags & OP_SYNC_SG_NONE) != 0 ? 0 : nents);
  // `range`: a kernel trace's sync inside a mapping, which 6.12 traces alike for dma_sync_single_*
  // at handle + offset and dma_sync_single_range_*; 2.6.37's driver calls the range form, whose
  // debug_dma_sync_single_range_* checks the mapping's handle with offset + size — where the dma
  // ops have the range hook (dma/mapping.ts). The sum saturates at SYNC_CHECK_MAX, as in the model.
  const whole = range && nents == 0 && kernel_era != KERNEL_MODERN && range_sync_hook() && m_has(b) ? offset - m_offset(b) : -1;
  const checked = whole >= 0 ? <i32>min(<i64>whole + <i64>size, <i64>SYNC_CHECK_MAX) : -1;
  if ((flags & OP_ATTR_AFTER_UNMAP) != 0 && m_has(b) && !m_live(b)) { // a kernel trace's sync after its unmap (retaken says how)
    const h = driver_handle(b, offset);
    count_sync(to_cpu);
    // inside the unmapped mapping, 2.6.37's range form names its handle (check_sync: none there)
    report_sync_unknown(whole >= 0 ? byte_handle(b, m_offset(b)) : h, whole >= 0 ? checked : size, dir, debug_type(nents), index);
    if (!retaken(b, h, size)) sync_platform(h, size, dir, to_cpu);
    return;
  }
  sync_at(driver_handle(b, offset), dir, size, to_cpu, debug_type(nents), index, whole >= 0 ? byte_handle(b, m_offset(b)) : 0, checked);
}

/** The sync at `dma`; dma-debug checks `checked` bytes at `check_at` instead when `checked` ≥ 0 (a range sync). */
function sync_at(dma: u64, dir: i32, size: i32, to_cpu: bool, type: i32, index: i32, check_at: u64 = 0, checked: i32 = -1): void {
  count_sync(to_cpu);
  if (checked >= 0) check_sync(check_at, checked, dir, type, to_cpu, index);
  else check_sync(dma, size, dir, type, to_cpu, index);
  sync_platform(dma, size, dir, to_cpu);
}

/** The era's swiotlb copy of a sync at `dma` (the platform's part: dma/mapping.ts). */
function sync_platform(dma: u64, size: i32, dir: i32, to_cpu: bool): void {
  if (kernel_era != KERNEL_MODERN) swiotlb_sync_2010(dma, size, dir, to_cpu);
  else swiotlb_sync_modern(dma, size, dir, to_cpu);
}

/**
 * A kernel trace's unmap or sync of a mapping it had unmapped (OP_ATTR_AFTER_UNMAP: a double unmap,
 * a use after unmap): no live mapping was at the recorded address, so dma-debug finds none there
 * ("has not allocated" with no lookup, whatever the simulation gave the handle to since), and the
 * platform's part is replayed at the handle `h` unless the simulation gave what it reaches to another
 * mapping since (dma_handle_retaken; `orig`: the slot's original under this mapping, 2.6.37's kept
 * io_tlb_orig_addr), as a recording that had not: 2.6.37 copies to the kept original and frees the
 * slots again; 6.12 finds no live run and does nothing.
 */
function retaken(b: usize, h: u64, size: i32, single: bool = true): bool {
  const at = h - m_dma(b); // bytes into the mapping: a 2.6.37 mapping starts at its first slot
  const start = (<u64>b_pfn(b) << PAGE_SHIFT) + <u64>m_offset(b);
  return dma_handle_retaken(h, start + ((at >> <u64>IO_TLB_SHIFT) << <u64>IO_TLB_SHIFT), size, <i32>((start + at) >> <u64>PAGE_SHIFT), single);
}

/** dma_mapping_error on the buffer's last mapping address, live or dead (D7). */
export function dma_mapping_error(slot: i32): void {
  const b = buf(slot);
  if (!m_has(b)) return;
  debug_mapping_error(m_dma(b));
}

/** radeon_gart_bind / nouveau_sgdma_bind: one PTE per page of the buffer's handle, then the family's
 * TLB flushes; on the AGP device agp_generic_insert_memory of the handles into the GATT a replay's
 * bring-up made, clipped to its entries: -EBUSY (gattBusy, nothing written) over a used entry, else
 * one entry a page and the bridge's one TLB flush. */
export function gart_bind(slot: i32, first: i32): void {
  const b = buf(slot);
  const err = dma_error_addr();
  if (is_agp()) {
    if (!gatt_exists()) { count(C_BIND_FAILURES); return; } // its bring-up could not make the table
    const n = min(b_pages(b), gatt_entry_count() - first);
    if (first < 0 || n <= 0) return;
    if (agp_range_busy(first, n)) { count(C_GATT_BUSY); return; }
    for (let i = 0; i < n; i++) agp_insert_entry(first + i, agp_page_addr(b, i), slot, rec_id(b), b_pfn(b) + i, page_handle_failed(b, i, err)); // D24
    count(C_TLB_FLUSHES);
    return;
  }
  const pages = b_pages(b);
  for (let i = 0; i < pages; i++) {
    const p = first + i;
    if (<u32>p >= <u32>gart_pages) break;
    gart_set(p, page_handle(b, i), slot, rec_id(b), b_pfn(b) + i, page_handle_failed(b, i, err)); // D24
  }
  gart_tlb_flush();
}
