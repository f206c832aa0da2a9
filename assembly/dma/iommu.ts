// A hardware IOMMU window in the style of ppc64 iommu_range_alloc (arch/powerpc/kernel/iommu.c):
// next-fit from a hint over the table, wrap once, the hint moves past each allocation.
// Different: bus addresses are IOVAs that mean nothing to memory until translated here, so a
// stale or foreign handle faults instead of hitting some other page.

import { PLATFORM_IOMMU, IOMMU_BASE, IOMMU_WINDOW_PAGES, IOMMU_NONE, PAGE_SHIFT,
  C_IOMMU_PAGES_MAPPED, C_IOMMU_PAGES_UNMAPPED } from '../abi';
import { platform, iommu_ptr, iommu_len_ptr } from '../layout';
import { count } from '../sim/counters';
import { iova_entry_of } from '../sim/translate';

let hint: i32 = 0;

/** Is there a hardware IOMMU between devices and memory (the iommu platform)? */
@inline export function iommu_present(): bool { return platform == PLATFORM_IOMMU; }

@inline function entry_at(i: i32): usize {
  assert(<u32>i < <u32>IOMMU_WINDOW_PAGES, 'IOVA entry out of range');
  return iommu_ptr + (<usize>i << 2);
}
@inline function len_at(i: i32): usize { return iommu_len_ptr + (<usize>i << 2); }

/** Last used entry in [start, start + n), or −1 when the whole range is free. */
function last_used(start: i32, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) if (load<u32>(entry_at(start + i)) != IOMMU_NONE) return start + i;
  return -1;
}

function find_from(from: i32, limit: i32, n: i32): i32 {
  let i = from;
  while (i + n <= limit) {
    const used = last_used(i, n);
    if (used < 0) return i;
    i = used + 1; // no fit can start at or before a used entry
  }
  return -1;
}

/** iommu_range_alloc + entry fill for pfns [pfn, pfn + n); returns the first entry or −1. */
export function iommu_alloc(pfn: i32, n: i32, counted: bool): i32 {
  let first = find_from(hint, IOMMU_WINDOW_PAGES, n);
  if (first < 0 && hint > 0) first = find_from(0, min(IOMMU_WINDOW_PAGES, hint + n - 1), n);
  if (first < 0) return -1;
  for (let i = 0; i < n; i++) store<u32>(entry_at(first + i), <u32>(pfn + i + 1));
  store<u32>(len_at(first), <u32>n);
  hint = first + n;
  if (hint >= IOMMU_WINDOW_PAGES) hint = 0;
  if (counted) count(C_IOMMU_PAGES_MAPPED, n);
  return first;
}

@inline export function iova_of(first: i32): u64 {
  return IOMMU_BASE + (<u64>first << PAGE_SHIFT);
}

/** Frees the allocation starting at the entry holding `bus`; false when none starts there. */
export function iommu_free_at(bus: u64): bool {
  const first = iova_entry_of(bus);
  if (first < 0) return false;
  const n = <i32>load<u32>(len_at(first));
  if (n == 0) return false;
  for (let i = 0; i < n; i++) store<u32>(entry_at(first + i), IOMMU_NONE);
  store<u32>(len_at(first), 0);
  count(C_IOMMU_PAGES_UNMAPPED, n);
  return true;
}
