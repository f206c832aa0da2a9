// Xen PV pseudo-physical map (arch/x86/xen/mmu.c, 2010) and XENMEM_exchange as the guest sees it
// through xen_create_contiguous_region / xen_destroy_contiguous_region, plus Xen's own heap.
// Different: the guest's "physical" frames are a shuffled set of high machine frames, and the
// only way to get frames below 4 GiB is to trade frames with Xen's finite low reserve.
// m2p is not stored: only the first violation's explanation needs a machine-to-guest lookup.

import { PLATFORM_XEN_PV, XEN_LOW_BASE_MFN, XEN_MAX_EXCHANGE_ORDER, DMA32_LIMIT_PFN,
  C_HYPERCALLS, C_ALLOC_FAILURES, C_EXCHANGED_FRAMES, PAGE_SHIFT } from './abi';
import { platform, p2m_ptr, heap_ptr, ram_pages, host_pages, xen_low_pages } from './layout';
import { buddy_alloc, buddy_free, ZONE_XEN_LOW_ID } from './buddy';
import { rand_next } from './rand';
import { count } from './counters';

// Xen's free heap is a LIFO of machine frames. At boot it holds [2^20, host - ram), less the low
// reserve, in ascending order; that run is kept implicit (frame = heap_base + index) and only
// frames pushed later are stored. Every push pairs with a low-reserve allocation and every pop with a low-reserve
// free, so the explicit part never exceeds xenLowPages.
let heap_implicit: i32 = 0;
let heap_explicit: i32 = 0;
let heap_base: i32 = DMA32_LIMIT_PFN; // first frame of the implicit run (above the low reserve)

@inline export function pfn_to_mfn(pfn: i32): i32 {
  if (platform != PLATFORM_XEN_PV) return pfn;
  return load<i32>(p2m_ptr + (<usize>pfn << 2));
}

/**
 * m2p for one frame: the guest page it backs, −1 for a frame the guest does not own. A scan of
 * p2m under Xen, so only explanations (the first violation) ask it; identity elsewhere.
 */
export function mfn_to_pfn(mfn: i64): i32 {
  if (mfn < 0 || mfn >= <i64>host_pages) return -1;
  if (platform != PLATFORM_XEN_PV) return mfn < <i64>ram_pages ? <i32>mfn : -1;
  for (let pfn = 0; pfn < ram_pages; pfn++) if (<i64>pfn_to_mfn(pfn) == mfn) return pfn;
  return -1;
}

@inline export function set_p2m(pfn: i32, mfn: i32): void {
  store<i32>(p2m_ptr + (<usize>pfn << 2), mfn);
}

/** The guest owns the highest ram_pages frames of the host, handed out in a seeded order. */
export function p2m_init(): void {
  const base = host_pages - ram_pages;
  for (let pfn = 0; pfn < ram_pages; pfn++) set_p2m(pfn, base + pfn);
  for (let i = ram_pages - 1; i >= 1; i--) {
    const j = <i32>(rand_next() % <u32>(i + 1));
    const a = pfn_to_mfn(i);
    set_p2m(i, pfn_to_mfn(j));
    set_p2m(j, a);
  }
  heap_base = max(DMA32_LIMIT_PFN, XEN_LOW_BASE_MFN + xen_low_pages);
  heap_implicit = base - heap_base;
  if (heap_implicit < 0) heap_implicit = 0;
  heap_explicit = 0;
}

function heap_push(mfn: i32): void {
  if (heap_explicit >= xen_low_pages) return; // cannot happen (see above); never corrupt memory
  store<i32>(heap_ptr + (<usize>heap_explicit << 2), mfn);
  heap_explicit++;
}

function heap_pop(): i32 {
  if (heap_explicit > 0) {
    heap_explicit--;
    return load<i32>(heap_ptr + (<usize>heap_explicit << 2));
  }
  if (heap_implicit > 0) {
    heap_implicit--;
    return heap_base + heap_implicit;
  }
  return -1;
}

@inline function is_low_frame(mfn: i32): bool {
  return mfn >= XEN_LOW_BASE_MFN && mfn < XEN_LOW_BASE_MFN + xen_low_pages;
}

/** A frame the guest trades away (D6): low-reserve frames go home one by one, others to the heap. */
function give_back_frame(mfn: i32): void {
  if (is_low_frame(mfn)) buddy_free(ZONE_XEN_LOW_ID, mfn, 0);
  else heap_push(mfn);
}

/**
 * xen_create_contiguous_region for pfns [pfn, pfn + 2^order): all or nothing. `counted` is
 * false for the boot-time exchanges of the xen-swiotlb pool, which no counter sees.
 * Returns true on success.
 */
export function xen_create_contiguous_region(pfn: i32, order: i32, address_bits: i32, counted: bool): bool {
  if (order > XEN_MAX_EXCHANGE_ORDER) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  if (counted) count(C_HYPERCALLS);
  const limit_bits = address_bits - PAGE_SHIFT;
  const limit = limit_bits >= 31 ? i32.MAX_VALUE : 1 << limit_bits;
  const low = buddy_alloc(ZONE_XEN_LOW_ID, order, limit);
  if (low < 0) {
    if (counted) count(C_ALLOC_FAILURES);
    return false;
  }
  const n = 1 << order;
  for (let i = 0; i < n; i++) {
    give_back_frame(pfn_to_mfn(pfn + i));
    set_p2m(pfn + i, low + i);
  }
  if (counted) count(C_EXCHANGED_FRAMES, n);
  return true;
}

/**
 * xen_destroy_contiguous_region: each pfn in turn takes a frame from Xen's heap and its low frame
 * goes home (D6, D16). All or nothing: a heap too short to refill every pfn changes nothing.
 */
export function xen_destroy_contiguous_region(pfn: i32, order: i32): void {
  count(C_HYPERCALLS);
  const n = 1 << order;
  if (heap_explicit + heap_implicit < n) return;
  for (let i = 0; i < n; i++) {
    const old = pfn_to_mfn(pfn + i);
    set_p2m(pfn + i, heap_pop());
    give_back_frame(old);
  }
  count(C_EXCHANGED_FRAMES, n);
}

// Xen's free heap as checkInvariants sees it: the explicit stack, then the implicit run.
export function heap_explicit_count(): i32 { return heap_explicit; }
export function heap_explicit_at(i: i32): i32 { return load<i32>(heap_ptr + (<usize>i << 2)); }
export function heap_implicit_count(): i32 { return heap_implicit; }
export function heap_implicit_base(): i32 { return heap_base; }
