// Xen PV pseudo-physical map (arch/x86/xen/mmu.c, p2m.c, 2010): the guest's "physical" frames are
// a shuffled set of the host's highest machine frames. Different: p2m is the only table; m2p is
// not stored, since only the first violation's explanation asks a machine-to-guest question.

import { PLATFORM_XEN_PV } from '../abi';
import { platform, p2m_ptr, ram_pages, host_pages } from '../layout';
import { rand_next } from '../sim/rand';
import { pfn_to_mfn } from '../sim/translate';

/** xen_pv_domain(): the one question the rest of the kernel asks about Xen. */
@inline export function xen_pv_domain(): bool { return platform == PLATFORM_XEN_PV; }

@inline export function set_p2m(pfn: i32, mfn: i32): void {
  assert(<u32>pfn < <u32>ram_pages && <u32>mfn < <u32>host_pages, 'p2m entry out of range');
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
}

/**
 * m2p for one frame: the guest page it backs, −1 for a frame the guest does not own. A scan of
 * p2m under Xen, so only explanations (the first violation) ask it; identity elsewhere.
 */
export function mfn_to_pfn(mfn: i64): i32 {
  if (mfn < 0 || mfn >= <i64>host_pages) return -1;
  if (!xen_pv_domain()) return mfn < <i64>ram_pages ? <i32>mfn : -1;
  for (let pfn = 0; pfn < ram_pages; pfn++) if (<i64>pfn_to_mfn(pfn) == mfn) return pfn;
  return -1;
}
