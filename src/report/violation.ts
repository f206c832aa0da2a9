// The first violation for the person debugging it: the violation words of either engine turned
// into the contract's fields and one explanation that names each hop as a kernel engineer would
// (the page and its machine frame, the address the driver gave the device and what that address
// is, the PTE or GATT entry, the frame the reader reached, what it saw and what it should have).
import { CC_PRIVATE_GATT, CC_PRIVATE_TARGET, Op, PAGE_SHIFT, Reader, UNIT_SIZE, VIOLATION_FIELDS, VIA_NAMES, Via, ViolationKind, type KernelName } from '../engine/abi.js';
import { hex } from '../units.js';

export type ViaName = (typeof VIA_NAMES)[number];

export interface Violation {
  kind: 'stale' | 'foreign' | 'lost';
  /** The op (a script line in replay) whose read failed. */
  op: number;
  reader: 'cpu' | 'device' | 'gpu';
  /** The page the reader should have seen, and its machine frame. */
  pfn: number | null;
  pageMfn: number | null;
  /** The address the reader used (the device's handle, the decoded PTE or GATT entry). */
  dmaAddr: string | null;
  via: ViaName | null;
  slot: number | null;
  /** The machine frame the reader actually touched. */
  mfn: number | null;
  gpuPage: number | null;
  pte: string | null;
  /** The ops (script lines in replay) that wrote what was seen and what was expected. */
  seenOp: number | null;
  expectedOp: number | null;
  detail: string;
}

/** The op codes that wrote the seen and the expected data (−1: none), found by the harness. */
export type Writers = [seenCode: number, expectedCode: number];

type Words = Record<(typeof VIOLATION_FIELDS)[number], bigint>;

const KIND_NAME: Record<number, Violation['kind']> = { [ViolationKind.stale]: 'stale', [ViolationKind.lost]: 'lost', [ViolationKind.foreign]: 'foreign' };
const READER: Record<number, Violation['reader']> = { [Reader.cpu]: 'cpu', [Reader.dev]: 'device', [Reader.gpu]: 'gpu' };
const WRITE_NAME: Record<number, string> = {
  [Op.ALLOC]: "the CPU's zero-fill at alloc",
  [Op.ALLOC_COHERENT]: "the CPU's zero-fill at dma_alloc_coherent",
  [Op.TT_POPULATE]: "the CPU's zero-fill when the TTM pages were populated",
  [Op.CPU_WRITE]: "the CPU's write",
  [Op.DEV_WRITE]: "the device's write through its dma handle",
  [Op.GPU_WRITE]: "the GPU's write through the GART",
};

const VERSION_MASK = 0x7fff_ffffn;
const num = (v: bigint) => (v < 0n ? null : Number(v));
const frame = (mfn: bigint | number) => `machine frame ${hex(mfn)}`;

export interface ExplainContext {
  /** Op index → what the user calls it (a script line in replay). */
  origin: (op: number) => number;
  /** "line" in replay, "op" for generated workloads. */
  opWord: string;
  names?: (id: number) => string;
  writers?: Writers | null;
  /** The era: 6.12's swiotlb cuts a sync at its mapping's end, 2.6.37's copies as far as it runs. */
  kernel?: KernelName;
  /** AGP: how the table's address was told to the bridge (--gatt), and the platform, to name the base. */
  gatt?: string;
  platform?: string;
  /** The device, to name the page its driver mapped for the GART at init. */
  device?: string;
}

/** What the page the driver mapped for the GART at device init is, by driver and era. */
function dummyPage(ctx: ExplainContext): string {
  if (ctx.device === 'r100' || ctx.device === 'r600') return "radeon's GART dummy page, mapped by radeon_dummy_page_init for unbound entries";
  if (ctx.device === 'nv04') return "nouveau's sgdma dummy page, mapped by nouveau_sgdma_init for unbound entries";
  if (ctx.device === 'nv50') return ctx.kernel === 'modern' ? "the fb's sysmem flush page, mapped by nvkm_fb_ctor for nv50_fb_sysmem_flush_page_init" : "nouveau's sgdma dummy page, mapped by nouveau_sgdma_init though nv50 leaves unbound entries invalid";
  return 'the page the driver mapped for its GART at device init';
}

/** "pfn 0x5008", and what it is when it is the GART's dummy page. */
function pfnText(w: Words, ctx: ExplainContext): string {
  return `pfn ${hex(w.hopPfn)}${w.hopDummy === 1n ? `, ${dummyPage(ctx)}` : ''}`;
}

/** What the bridge base is, by how the driver made it (T17), where the scenario says. */
function bridgeBase(ctx: ExplainContext): string {
  switch (ctx.gatt) {
    case 'phys':
      return ctx.platform === 'xen-pv' ? "virt_to_phys() of the table, its pseudo-physical address, which under Xen PV is not its machine address" : 'virt_to_phys() of the table';
    case 'dma-coherent':
      return ctx.platform === 'iommu' ? "the table's dma_alloc_coherent() handle, an IOVA, which the chipset takes for a machine address: it fetches the GATT past the IOMMU" : "the table's dma_alloc_coherent() handle";
    case 'fsb-hooks':
      return 'virt_to_fsb() of the table, its machine address';
    default:
      return '';
  }
}

/** The ops that wrote a stamp: version v is op v − 1 (docs/ENGINE.md §2). */
function writerOp(lo: bigint, hi: bigint): number | null {
  if (lo === 0n && hi === 0n) return null;
  return Number(lo & VERSION_MASK) - 1;
}

export function violationFrom(raw: bigint[] | null, ctx: ExplainContext): Violation | null {
  if (!raw || Number(raw[0]) === ViolationKind.none) return null;
  const w = Object.fromEntries(VIOLATION_FIELDS.map((f, i) => [f, raw[i] ?? -1n])) as Words;
  const reader = READER[Number(w.reader)]!;
  const via = Number(w.via) === Via.none ? null : VIA_NAMES[Number(w.via) - 1]!;
  const hasAddr = BigInt.asUintN(64, w.dmaAddr) !== BigInt.asUintN(64, -1n);
  const seenOp = writerOp(w.seenLo, w.seenHi);
  const expectedOp = writerOp(w.expLo, w.expHi);
  return {
    kind: KIND_NAME[Number(w.kind)]!,
    op: ctx.origin(Number(w.op)),
    reader,
    pfn: num(w.pfn),
    pageMfn: num(w.pageMfn),
    dmaAddr: hasAddr ? hex(w.dmaAddr) : null,
    via,
    slot: num(w.slot),
    mfn: num(w.mfn),
    gpuPage: num(w.gpuPage),
    // Off the table, what the chipset took for an entry is not modelled: no value to give.
    pte: (reader === 'gpu' || via === 'gatt') && !offTable(w) ? hex(w.pte) : null,
    seenOp: seenOp === null ? null : ctx.origin(seenOp),
    expectedOp: expectedOp === null ? null : ctx.origin(expectedOp),
    detail: explain(w, ctx),
  };
}

function bufferName(id: bigint, ctx: ExplainContext): string {
  return ctx.names ? `buffer '${ctx.names(Number(id))}' (#${id})` : `buffer #${id}`;
}

/** AGP's pages and GPU path in their own words: agpgart's allocation, not TTM's; the aperture, not a GART. */
function agpWriteName(code: number, ctx: ExplainContext): string | undefined {
  if (code === Op.TT_POPULATE) {
    return ctx.gatt === 'dma-coherent' ? "the zero-fill of the AGP pages when dma_alloc_coherent() gave them" : "the zero-fill of the AGP pages when agp_generic_alloc_pages() allocated them (__GFP_ZERO)";
  }
  return code === Op.GPU_WRITE ? "the GPU's write through the AGP aperture (GATT)" : undefined;
}

/** What a stamp holds, in words: "the CPU's write of op 17". */
function dataText(hi: bigint, lo: bigint, code: number, ctx: ExplainContext, owner: bigint): string {
  const op = writerOp(lo, hi);
  if (op === null) return 'nothing ever written there';
  const dev = (lo >> 31n) & 1n;
  const what = (ctx.device === 'agp' ? agpWriteName(code, ctx) : undefined) ?? WRITE_NAME[code] ?? (dev ? 'a device write' : 'a CPU write');
  if (hi === 0n && hi !== owner && code === Op.GPU_WRITE) {
    // A GPU write through an entry no live buffer owned (one a freed buffer left behind): the only
    // write stamped with no owner.
    return `the GPU's write through a ${ctx.device === 'agp' ? 'GATT' : 'GART'} entry no live buffer owned (${ctx.opWord} ${ctx.origin(op)})`;
  }
  const whose = hi === owner ? '' : hi === 0n ? ' through an entry no live buffer owned' : ` of ${bufferName(hi, ctx)}`;
  return `${what}${whose} (${ctx.opWord} ${ctx.origin(op)})`;
}

/** coco: the frame the address leads to, or the GATT's, is private to the confidential guest. */
const privateTarget = (w: Words) => (w.ccPrivate & BigInt(CC_PRIVATE_TARGET)) !== 0n;
const privateGatt = (w: Words) => (w.ccPrivate & BigInt(CC_PRIVATE_GATT)) !== 0n;
const PRIVATE = 'private to this confidential guest now (never shared with set_memory_decrypted, or made private again by dma_free_coherent\'s set_memory_encrypted or a freed swiotlb pool), so no device reaches it';

/** The address hop: what the dma address is, and where it leads. */
function addressHop(w: Words, ctx: ExplainContext, nameError = true): string {
  const addr = hex(w.dmaAddr);
  // A GART entry bound from a failed map's return: ~0 (6.12's DMA_MAPPING_ERROR, 2.6.37's IOMMU
  // DMA_ERROR_CODE), page-masked by the PTE, leads somewhere or nowhere; say what it is first.
  if (nameError && w.failedMap === 1n && (Number(w.via) === Via.direct || Number(w.via) === Via.iommu)) {
    const name = ctx.kernel === 'modern' ? 'DMA_MAPPING_ERROR' : 'DMA_ERROR_CODE';
    const rest = addressHop(w, ctx, false).slice(`dma address ${addr}: `.length);
    return `dma address ${addr}: the error value a failed map returned (${name}, ~0, as far as the PTE holds it), which the driver bound without checking dma_mapping_error(); as an address it is ${rest}`;
  }
  switch (Number(w.via)) {
    case Via.swiotlb: {
      const slotAt = hex(BigInt.asUintN(64, w.dmaAddr) & ~BigInt(UNIT_SIZE - 1));
      const copy = w.hopPfn < 0n ? 'a slot no mapping holds now' : w.hopPfn === w.pfn ? 'the bounce copy of this page' : `the bounce copy of ${pfnText(w, ctx)}`;
      return `dma address ${addr}: bounce slot ${w.slot} of ${ctx.platform === 'xen-pv' ? 'xen-swiotlb' : 'swiotlb'} at machine ${slotAt} (${copy})`;
    }
    case Via.overflow:
      return `dma address ${addr}: 2.6.37 swiotlb's overflow buffer, io_tlb_overflow_buffer, which swiotlb_map_page returns when the pool is full (only dma_mapping_error() tells)`;
    case Via.iommu:
      // A lazy IOMMU's freed IOVA still in the flush queue: its IOTLB entry is not yet invalidated.
      if (w.iovaUnmapOp >= 0n) {
        const to = w.hopPfn === w.pfn ? 'this page' : pfnText(w, ctx);
        return `dma address ${addr}: an IOVA unmapped at ${ctx.opWord} ${ctx.origin(Number(w.iovaUnmapOp))} and not yet flushed (lazy IOMMU: it waits in the flush queue, so the IOTLB still maps it to ${to})`;
      }
      // Another page behind the IOVA the device was given: the mapping it came from is gone, and
      // the allocator gave the IOVA to a newer one (6.12 alloc_iova_fast takes the IOVA its size
      // class freed last from the rcache, iova_rcache_get, before it searches the tree).
      return `dma address ${addr}: an IOVA ${w.hopPfn < 0n ? 'with no IOMMU entry (the IOMMU faults)' : w.hopPfn === w.pfn ? 'the IOMMU maps to this page'
        // An address no mapping of this page gave (the dummy page's, a failed map's, an older bind's): no teardown story.
        : w.hopDummy === 1n || w.failedMap !== 0n ? `the IOMMU maps to ${pfnText(w, ctx)}, not this page`
        : `the IOMMU now maps to pfn ${hex(w.hopPfn)}, not this page: the mapping this address came from was torn down (unmapped or freed) and the IOVA allocator handed the IOVA to a newer mapping`}`;
    case Via.direct: {
      const target = BigInt.asUintN(64, w.dmaAddr) >> BigInt(PAGE_SHIFT);
      const priv = privateTarget(w) ? `, ${PRIVATE}` : '';
      if (w.pageMfn >= 0n && target === BigInt(w.pageMfn)) return `dma address ${addr}: the page itself (${frame(target)})${priv}`;
      return `dma address ${addr}: ${frame(target)}, ${w.hopPfn < 0n ? 'no page of this guest' : `which backs ${pfnText(w, ctx)}, not this page`}${priv}`;
    }
    default:
      // An error handle used as an address: 2.6.37 xen-swiotlb's 0 (modern's ~0 names no address at all).
      return BigInt.asUintN(64, w.dmaAddr) === BigInt.asUintN(64, -1n) ? 'no dma address'
        : `dma address ${addr}: the error value a failed map returned (2.6.37 xen-swiotlb's DMA_ERROR_CODE), used as an address`;
  }
}

/** The chipset read the GATT entry from a frame that is not the table the CPU filled (the bridge
 * base is not the table's machine address): what it took for an entry there is not modelled. */
function offTable(w: Words): boolean {
  return Number(w.via) === Via.gatt && w.gattEntryAddr >= 0n && (BigInt.asUintN(64, w.gattEntryAddr) >> BigInt(PAGE_SHIFT)) !== BigInt(w.gattTableMfn);
}

/** Where a valid GATT entry sends the GPU, against the page's own frame. */
function gattTarget(w: Words): string {
  if (w.pageMfn < 0n) return '';
  return (BigInt.asUintN(64, w.dmaAddr) >> BigInt(PAGE_SHIFT)) === BigInt(w.pageMfn) ? ' (the page itself)' : `, not the page (${frame(w.pageMfn)})`;
}

/** The GPU's route to a page; `writes`: told for a CPU read, where what matters is where the GPU's writes went. */
function gpuHops(w: Words, ctx: ExplainContext, writes = false): string[] {
  const nothing = writes ? "the GPU's writes reach no memory" : 'the GPU reads nothing';
  if (Number(w.via) === Via.gatt) {
    if (w.gattEntryAddr < 0n) return [`GPU page ${w.gpuPage}`, `no AGP GATT exists: the chipset finds no entry, ${nothing}`];
    const base = BigInt.asUintN(64, w.gattEntryAddr) - 4n * w.gpuPage;
    const where = !offTable(w)
      ? 'the table the CPU filled'
      : `${w.hopPfn < 0n ? 'a frame of no page of this guest' : `the frame of pfn ${hex(w.hopPfn)}`}, not the table the CPU filled (${frame(w.gattTableMfn)})`;
    const what = bridgeBase(ctx);
    const hops = [`GPU page ${w.gpuPage}`, `the chipset reads GATT entry ${w.gpuPage} at machine ${hex(w.gattEntryAddr)} (bridge base ${hex(base)}${what ? `: ${what}` : ''}): ${where}${privateGatt(w) ? `, ${PRIVATE}` : ''}`];
    const valid = (w.pte & 1n) !== 0n;
    // agp_generic_create_gatt_table gave the bridge that address: the chipset fetches whatever the frame holds there.
    if (offTable(w) && !privateGatt(w)) {
      const holder = w.hopPfn >= 0n ? `pfn ${hex(w.hopPfn)}'s data` : ctx.platform === 'xen-pv' ? "Xen's or another domain's memory" : 'memory that is no page of this guest';
      hops.push(`what that frame holds at that offset (${holder}), which the chipset takes for the entry, is not modelled: the GPU's ${writes ? 'writes go' : 'reads come from'} wherever it points, never this page (taken here as no valid entry)`);
      return hops;
    }
    hops.push(valid ? `entry ${hex(w.pte)} sends the GPU to machine ${hex(w.dmaAddr)}${gattTarget(w)}, past any IOMMU${privateTarget(w) ? `, ${PRIVATE}` : ''}` : `${privateGatt(w) ? 'the chipset gets no entry' : `entry ${hex(w.pte)} is not valid`}: ${nothing}`);
    return hops;
  }
  const hops = [`GPU page ${w.gpuPage}`];
  // No address behind the entry: it is not valid (an error handle as an address still leads somewhere).
  if (Number(w.via) === Via.none && BigInt.asUintN(64, w.dmaAddr) === BigInt.asUintN(64, -1n)) hops.push(`GART PTE ${hex(w.pte)} is not valid: the GPU reads nothing`);
  // 6.12 r600's dummy entry has no valid bit (rs600_gart_get_page_entry of RADEON_GART_PAGE_DUMMY).
  else if (ctx.device === 'r600' && (w.pte & 1n) === 0n) hops.push(`GART PTE ${hex(w.pte)}, not valid (6.12's dummy entry, RADEON_GART_PAGE_DUMMY): the access lands on the address it holds, which r600_pcie_gart_enable also made VM_CONTEXT0_PROTECTION_FAULT_DEFAULT_ADDR`, addressHop(w, ctx));
  else hops.push(`GART PTE ${hex(w.pte)}`, addressHop(w, ctx));
  return hops;
}

function explain(w: Words, ctx: ExplainContext): string {
  const reader = Number(w.reader);
  const [seenCode, expCode] = ctx.writers ?? [-1, -1];
  const owner = w.bufId;
  const page = w.pfn >= 0n
    ? `${owner > 0n ? `${bufferName(owner, ctx)}, ` : ''}page pfn ${hex(w.pfn)} (${w.pageMfn >= 0n ? frame(w.pageMfn) : 'no machine frame'})`
    : 'a GART page no live buffer owns';
  const hops: string[] = [];
  if (reader === Reader.gpu) hops.push(...gpuHops(w, ctx));
  else if (reader === Reader.dev) hops.push(addressHop(w, ctx));
  // A CPU read of a page the AGP GATT maps: the GPU's route to it (its writes went that way).
  else if (Number(w.via) === Via.gatt) hops.push(`the GPU reaches it as ${gpuHops(w, ctx, true).join(' → ')}`);
  else hops.push(Number(w.via) !== Via.none ? `the device was given ${addressHop(w, ctx)}`
    // 2.6.37 xen-swiotlb's failed map leaves the driver holding its error value, 0 (addressHop words it).
    : w.dmaAddr >= 0n ? `the driver holds ${addressHop(w, ctx)}` : 'the driver holds no dma address for it');
  const unit = Number(w.unit);
  // The page's bytes: the frame holds them at the same offset only when the route keeps it (a
  // bounce slot of a mapping that starts mid-page, or a 2 KiB one, may hold them in the other half).
  const bytes = `bytes ${unit * UNIT_SIZE}–${(unit + 1) * UNIT_SIZE - 1} of the page`;
  const reached = w.mfn >= 0n ? `read ${bytes} in ${frame(w.mfn)}` : `reached no memory for ${bytes}`;
  const who = reader === Reader.gpu ? 'the GPU' : reader === Reader.dev ? 'the device' : 'the CPU';
  const byte = Number(w.byte);
  // Payload: the bytes came from the right write, but not all of them (a partial copy).
  const saw = dataText(w.seenHi, w.seenLo, seenCode, ctx, owner) + (byte >= 0 ? ` in part: payload byte ${byte}, the first that differs, is not that write's` : '');
  const expected = w.expHi === 0n && w.expLo === 0n ? 'nothing (no live buffer owns the page)' : dataText(w.expHi, w.expLo, expCode, ctx, owner);
  const why = reasonText(w, ctx);
  return `${reader === Reader.gpu ? 'GPU' : reader === Reader.dev ? 'device' : 'CPU'} read of ${page}: ${hops.join(' → ')}; ${who} ${reached}: saw ${saw}, expected ${expected}${why ? ` — ${why}` : ''}`;
}

/** What a failed streaming map returns, by era and platform (the engines' dma_error_addr), as an
 * AGP GATT entry holds it (the page bits). */
function gattErrorValue(kernel?: KernelName, platform?: string): string {
  if (kernel === 'modern') return "6.12's DMA_MAPPING_ERROR, ~0, cut to the entry's address bits";
  if (platform === 'iommu') return "ppc64's DMA_ERROR_CODE, ~0, cut to the entry's address bits";
  if (platform === 'xen-pv') return "2.6.37 xen-swiotlb's DMA_ERROR_CODE, 0";
  return "the bus address of 2.6.37 swiotlb's overflow buffer (io_tlb_overflow_buffer), which swiotlb_map_page returns when the pool is full";
}

/** The one-sentence reason, where the hops make it certain. */
function reasonText(w: Words, ctx: ExplainContext): string {
  const { kernel, platform, writers, device } = ctx;
  const kind = Number(w.kind);
  const via = Number(w.via);
  if (privateGatt(w)) return 'a confidential guest shares only the swiotlb pool and what it converts with set_memory_decrypted (dma_alloc_coherent memory); the GATT is neither, so the chipset reads ciphertext (SEV, SEV-SNP) or is refused (TDX)';
  if (privateTarget(w)) return 'a confidential guest shares only the swiotlb pool and what it converts with set_memory_decrypted (dma_alloc_coherent memory, until it is freed); this page is neither now, so the device reads ciphertext (SEV, SEV-SNP) or is refused (TDX), and its writes never reach the page (the SEV-SNP RMP check refuses them)';
  const cpu = Number(w.reader) === Reader.cpu;
  const [seen, exp] = writers ?? [-1, -1];
  // Another's write landed in this page through a GART (GATT) entry no live buffer owned: the
  // entry a freed buffer left behind still led here, or to a bounce slot whose copy came here
  // (the frame, IOVA or slot handed on to this buffer since, or a lazy IOMMU's IOTLB still
  // translating a queued IOVA). Only a GPU write is stamped with no owner.
  if (cpu && kind === ViolationKind.foreign && w.seenHi === 0n && seen === Op.GPU_WRITE) {
    const entry = device === 'agp' ? 'GATT entry' : 'GART entry';
    return `the ${entry} that write went through was left behind by a buffer since freed, and its address led to this page or to a bounce slot whose copy reached it (at an unmap or a sync for the CPU), which now belong to this buffer: the frame, IOVA or slot was handed on, or a lazy IOMMU's IOTLB still translated the queued IOVA`;
  }
  if (via === Via.swiotlb && w.hopPfn < 0n) {
    // The CPU reads the page itself, and a copy from a slot no mapping holds now put older data in
    // it: the unmap's copy back (FROM_DEVICE and BIDIRECTIONAL), or a sync for the CPU after it.
    if (cpu && kind === ViolationKind.stale && w.seenHi === w.bufId && w.seenHi !== 0n && exp >= 0 && exp !== Op.DEV_WRITE && exp !== Op.GPU_WRITE) {
      return "a copy from the bounce slot (the unmap's, which bounces a FROM_DEVICE or BIDIRECTIONAL mapping back whatever the device did, or a sync for the CPU after it) brought back an older copy of the page over the CPU's later write: the CPU wrote the page while the device owned it and no dma_sync_single_for_device put that write in the slot, or a sync for the CPU ran after the unmap";
    }
    if (cpu && w.seenHi === 0n && w.seenLo === 0n) {
      return "a copy from a bounce slot that never held this page's data (the unmap's, or a sync for the CPU after it) came back over the page: a FROM_DEVICE map copies nothing into its slot, and no device write reached it";
    }
    // Else the device's write sits in a slot no mapping holds now, put there before the unmap
    // (which copies back only FROM_DEVICE and BIDIRECTIONAL mappings, only the size it is given)
    // or through the address after it; the record cannot tell which.
    if (cpu) return "the bounce slot belongs to no live mapping: the device's write in it never came back to the page — the unmap copies back only a FROM_DEVICE or BIDIRECTIONAL mapping, and only the bytes its size covers — or the device wrote through the address after the unmap; no sync makes that right";
    return 'the bounce slot belongs to no live mapping: its address was used after the unmap (the GART or the driver still held it), and no sync makes that right';
  }
  // A sync copies only the range it is given: with payload, the bytes past it stay behind.
  const partial = Number(w.byte) >= 0 ? `; a sync copies only the range it is given${kernel === 'modern' ? ', within one mapping' : ''}` : '';
  if (via === Via.swiotlb && kind === ViolationKind.stale && Number(w.reader) !== Reader.cpu) {
    return `the bounce slot holds an older copy of these bytes: nothing copied the later write into it (no dma_sync_single_for_device reached these bytes after it${partial})`;
  }
  if (via === Via.iommu && kind === ViolationKind.lost && w.iovaReadOnly === 1n) {
    return 'the IOVA is read-only (a DMA_TO_DEVICE mapping: 6.12 dma_info_to_prot gives IOMMU_READ alone, ppc64 tce_build no TCE_PCI_WRITE): a device write through it faults and never reaches the page';
  }
  if (via === Via.swiotlb && kind === ViolationKind.lost) return `the device's write went to the bounce slot and nothing copied it back to the page (no dma_sync_single_for_cpu reached these bytes after it${partial})`;
  if (offTable(w)) {
    // Under Xen PV phys is wrong twice: each entry agp_generic_insert_memory writes is page_to_phys() too
    // (a run's pages are agpgart's own; a replay's gart_bind writes a mapped or coherent page's handle).
    const entries = ctx.gatt === 'phys' && platform === 'xen-pv' && ctx.opWord === 'op' ? "; and were the table found, each entry in it, page_to_phys() of its page, is a pseudo-physical address too" : '';
    return `the bridge was given an address that is not the machine address of the table, so the chipset reads its entries from another frame${entries}`;
  }
  if (via === Via.gatt && w.failedMap === 1n) {
    // A replay's gart_bind on AGP wrote the handle a failed map returned (D24) into the GATT.
    return `the map failed and gart_bind wrote the handle it returned into the GATT entry, unchecked by dma_mapping_error(): ${gattErrorValue(kernel, platform)}; the chipset sends the GPU wherever that points, never to the page`;
  }
  if (via === Via.gatt && (w.pte & 1n) !== 0n && w.pageMfn >= 0n && (BigInt.asUintN(64, w.dmaAddr) >> BigInt(PAGE_SHIFT)) !== BigInt(w.pageMfn)) {
    // A replay's gart_bind on agp puts the map's handle in the entry: an older copy there is a bounce slot's.
    if (kind === ViolationKind.stale) return "the entry holds the bounce slot the map returned, not the page's machine address, and the slot holds an older copy of these bytes than the latest write (a sync after the write copies it there while the mapping lives; after the unmap none does)";
    // agp_generic_insert_memory writes each entry with writel: a page at or above 4 GiB loses its top bits.
    const pageAddr = BigInt(w.pageMfn) << BigInt(PAGE_SHIFT);
    if (pageAddr >= 1n << 32n && BigInt.asUintN(64, w.dmaAddr) === (pageAddr & 0xffff_f000n)) {
      return `the page's machine address ${hex(pageAddr)} does not fit the 32-bit GATT entry (agp_generic_insert_memory writes each entry with writel), so the entry names a frame below 4 GiB: agpgart's pages must lie below 4 GiB (GFP_DMA32, and under Xen an exchange to 32 address bits)`;
    }
    return "the entry holds an address that is not the page's machine address, and the chipset translates nothing";
  }
  if (w.failedMap === 2n) {
    // 2.6.37 nouveau: a populate whose map failed unmapped its pages and its bind wrote no entry (§11).
    return `the populate could not map this page, so the bind wrote no entry for it: the entry still points ${w.hopDummy === 1n ? 'at the dummy page' : 'where it pointed before the bind'}`;
  }
  if (w.failedMap === 1n && (via === Via.direct || via === Via.iommu)) {
    return 'the map failed and the driver put its error value in the GART: the GPU goes wherever that value points, never to the page';
  }
  if (via === Via.direct && w.pageMfn >= 0n && (BigInt.asUintN(64, w.dmaAddr) >> BigInt(PAGE_SHIFT)) !== BigInt(w.pageMfn) && kind === ViolationKind.foreign) {
    return 'the address the device was given is not the machine address of the page';
  }
  return '';
}
