// Xen PV pseudo-physical map (arch/x86/xen/mmu.c, p2m.c, 2010): the guest's "physical" frames are
// a shuffled set of the host's highest machine frames. The m2p is kept as p2m's inverse, as Xen
// keeps machine_to_phys_mapping for every frame, so bus → machine → pseudo-physical is one load
// (mfn_to_pfn in arch/x86/include/asm/xen/page.h). Different: m2p words hold pfn + 1, so the
// frames the guest never owned stay 0 (untouched memory) instead of being filled at boot.

import { PLATFORM_XEN_PV } from '../abi';
import { platform, p2m_ptr, m2p_ptr, ram_pages, host_pages } from '../layout';
import { rand_next } from '../sim/rand';
import { pfn_to_mfn } from '../sim/translate';

/** xen_pv_domain(): the one question the rest of the kernel asks about Xen. */
@inline export function xen_pv_domain(): bool { return platform == PLATFORM_XEN_PV; }

@inline function m2p_at(mfn: i32): usize {
  assert(<u32>mfn < <u32>host_pages, 'm2p entry out of range');
  return m2p_ptr + (<usize>mfn << 2);
}

/** Points pfn at mfn, keeping m2p the inverse (set_phys_to_machine + the hypervisor's m2p update). */
@inline export function set_p2m(pfn: i32, mfn: i32): void {
  assert(<u32>pfn < <u32>ram_pages && <u32>mfn < <u32>host_pages, 'p2m entry out of range');
  const old = pfn_to_mfn(pfn);
  if (load<i32>(m2p_at(old)) == pfn + 1) store<i32>(m2p_at(old), 0);
  store<i32>(p2m_ptr + (<usize>pfn << 2), mfn);
  store<i32>(m2p_at(mfn), pfn + 1);
}

/** The guest owns the highest ram_pages frames of the host, handed out in a seeded order. */
export function p2m_init(): void {
  const base = host_pages - ram_pages;
  const p2m = p2m_ptr;
  for (let pfn = 0; pfn < ram_pages; pfn++) store<i32>(p2m + (<usize>pfn << 2), base + pfn);
  for (let i = ram_pages - 1; i >= 1; i--) {
    const j = <i32>(rand_next() % <u32>(i + 1));
    const a = load<i32>(p2m + (<usize>i << 2));
    store<i32>(p2m + (<usize>i << 2), load<i32>(p2m + (<usize>j << 2)));
    store<i32>(p2m + (<usize>j << 2), a);
  }
  for (let pfn = 0; pfn < ram_pages; pfn++) store<i32>(m2p_at(pfn_to_mfn(pfn)), pfn + 1);
}

/** m2p for one frame: the guest page it backs, −1 for a frame the guest does not own; identity elsewhere. */
export function mfn_to_pfn(mfn: i64): i32 {
  if (mfn < 0 || mfn >= <i64>host_pages) return -1;
  if (!xen_pv_domain()) return mfn < <i64>ram_pages ? <i32>mfn : -1;
  return load<i32>(m2p_at(<i32>mfn)) - 1;
}
