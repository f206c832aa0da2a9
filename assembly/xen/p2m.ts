// Xen PV pseudo-physical map (arch/x86/xen/mmu.c, p2m.c, 2010): the guest's "physical" frames are
// the host's highest machine frames in a seeded order (sim/rand.ts perm_of). The m2p is kept as
// p2m's inverse, as Xen keeps machine_to_phys_mapping for every frame, so bus → machine →
// pseudo-physical is one lookup (mfn_to_pfn, arch/x86/include/asm/xen/page.h). Different: a
// frame's m2p word sits in its Xen frame record (layout.ts) and reads 0 until the frame changes
// hands, meaning "the boot owner", whose pfn the boot placement's inverse gives (sim/rand.ts
// perm_inverse; sim/translate.ts uses it for the frame store too); a p2m entry reads 0 until it is
// changed, meaning "the boot placement"; p2m changes also keep the pfn's store frame (sfn) current
// and say so in p2m_written (sim/translate.ts).

import { PLATFORM_XEN_PV } from '../abi';
import { platform, p2m_ptr, sfn_ptr, p2m_written_ptr, p2m_written_bytes, xen_frames_ptr, XEN_FRAME_BYTES, XF_M2P, XF_M2P_NONE, XF_LINK_TAG, guest_base,
  ram_pages, host_pages, mark_xen_frame } from '../layout';
import { perm_init, perm_inverse } from '../sim/rand';
import { pfn_to_mfn, pfn_to_sfn, mfn_to_sfn, mark_p2m_written } from '../sim/translate';

/** xen_pv_domain(): the one question the rest of the kernel asks about Xen. */
@inline export function xen_pv_domain(): bool { return platform == PLATFORM_XEN_PV; }

// m2p word: 0 = the boot owner (none for a frame below guest_base), pfn + 1, or no guest page:
// XF_M2P_NONE, or a free heap block's link (layout.ts), both with XF_LINK_TAG set.

/** The m2p word of the frame at store frame `sfn`. */
@inline function m2p_at(sfn: i32): usize {
  assert(<u32>sfn < <u32>host_pages, 'm2p entry out of range');
  return xen_frames_ptr + <usize>sfn * XEN_FRAME_BYTES + XF_M2P;
}

@inline function m2p(mfn: i32): i32 {
  const w = load<u32>(m2p_at(mfn_to_sfn(mfn)));
  if (w == 0) return mfn >= guest_base ? <i32>perm_inverse(<u32>(mfn - guest_base)) : -1;
  return (w & XF_LINK_TAG) != 0 ? -1 : <i32>(w - 1);
}

/**
 * Points pfn at mfn, keeping m2p the inverse (set_phys_to_machine + the hypervisor's m2p update).
 * `sfn` is mfn's store frame when the caller has it (Xen's heap hands it out), else −1.
 */
export function set_p2m(pfn: i32, mfn: i32, sfn: i32 = -1): void {
  assert(<u32>pfn < <u32>ram_pages && <u32>mfn < <u32>host_pages, 'p2m entry out of range');
  // A word still 0 means the frame never changed hands, so its boot owner maps it, and p2m is
  // one-to-one: that owner is pfn (no need to compute the boot placement's inverse). A frame
  // already given back to Xen's heap keeps its word (a free block's link, or none).
  const old_sfn = pfn_to_sfn(pfn);
  const old = m2p_at(old_sfn);
  mark_p2m_written(pfn);
  mark_xen_frame(old_sfn);
  const w = load<u32>(old);
  if (w == 0 || w == <u32>pfn + 1) store<u32>(old, XF_M2P_NONE);
  store<i32>(p2m_ptr + (<usize>pfn << 2), mfn + 1); // entries hold mfn + 1 (sim/translate.ts)
  if (sfn < 0) sfn = mfn_to_sfn(mfn);
  mark_xen_frame(sfn);
  store<u32>(m2p_at(sfn), <u32>pfn + 1);
  store<i32>(sfn_ptr + (<usize>pfn << 2), sfn == pfn ? 0 : sfn + 1);
}

/**
 * The guest owns the highest ram_pages frames of the host, in a seeded order: pfn → guest_base +
 * perm_of(pfn), keyed by the first three draws of the sequence. Nothing is filled: every p2m entry
 * and m2p word reads 0 (fresh memory), the boot placement.
 */
export function p2m_boot(): void {
  perm_init(<u32>ram_pages);
  // p2m_written (sim/translate.ts) is read before it is written: written here (layout.ts heads_init says why).
  memory.fill(p2m_written_ptr, 0, <usize>p2m_written_bytes());
}

/** m2p for one frame: the guest page it backs, −1 for a frame the guest does not own; identity elsewhere. */
export function mfn_to_pfn(mfn: i64): i32 {
  if (mfn < 0 || mfn >= <i64>host_pages) return -1;
  if (!xen_pv_domain()) return mfn < <i64>ram_pages ? <i32>mfn : -1;
  return m2p(<i32>mfn);
}
