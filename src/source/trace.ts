// Kernel traces as replay input (INTERFACE.md `replay --format ftrace`, MODEL.md §10): one device's
// dma and swiotlb events become the engine's ops, to run on any simulated platform. A trace names
// memory by physical address and has no CPU or device accesses: dma-debug and the counters speak.
// How events become ops (docs/ENGINE.md "Kernel traces" gives each rule and its kernel source):
// - a streaming map maps the pages under phys_addr (ZONE_DMA32 if they lay below 4 GiB when
//   recorded), a buffer kept after the unmap for the next map of them; dma_map_sg entry by entry.
// - unmaps and syncs find their mapping by the recorded dma_addr, dma_unmap_sg its list by
//   physical addresses (traceSgLists.ts); calls after an unmap or at DMA_MAPPING_ERROR replay for
//   dma-debug, as do an unmap or free inside a live mapping or allocation (inside). dma_alloc and its
//   _pages/_sgt forms are memory of their own named by dma_addr (6.12 xen-pv: _pages/_sgt are pages
//   xen-swiotlb maps); a second dma_free is dma-debug's (freeCall). Slots: traceState.ts.
// - not replayed, and counted: MMIO, CC_SHARED memory, calls that failed when recorded, calls on
//   mappings made before the trace or over 4 MiB, and those on a mapping not replayed (traceSkips.ts).
import { AllocForm, MAX_ALLOC_PAGES, OP_ATTR_AFTER_UNMAP as AFTER, OP_ATTR_SKIP_CPU_SYNC, OP_DIR_BITS, OP_SYNC_SG_ALL as SG_ALL, OP_SYNC_SG_NONE as SG_NONE, Op, PAGE_SIZE, Zone } from '../engine/abi.js';
import { ADDR_ERROR, type Addr, type TraceEvent, TraceSyntaxError, parseTraceLine } from './traceEvents.js';
import { type TraceSummary, finishSummary } from './traceSummary.js';
import { sgEntries, sgSyncs } from './traceSg.js';
import { ADDR_ERROR_32, FOLD_BASE } from './traceAddr.js';
import { type Buffer, DIR, IDLE_MAX, type Mapping, attrsOf, coveredBy } from './traceMappings.js';
import { type SkipEntry, sgKey } from './traceSkips.js';
import { TraceState } from './traceState.js';

export type { TraceLimits } from './traceState.js';
const DMA32_LIMIT = 2 ** 32;
/** The form of a dma_alloc or dma_free call (its _pages, _sgt variant), as ALLOC_COHERENT and FREE_COHERENT carry it. */
const formOf = (name: string) => (name.endsWith('_pages') ? AllocForm.pages : name.endsWith('_sgt') ? AllocForm.sgt : AllocForm.coherent);

/** Stateful translator: one per trace. */
export class TraceTranslator extends TraceState {
  line(text: string, lineNo: number): void {
    this.lineNo = lineNo;
    let parsed;
    try {
      parsed = parseTraceLine(text, this.folder);
    } catch (e) {
      if (e instanceof TraceSyntaxError) this.fail(e.message);
      throw e;
    }
    if (parsed.kind === 'lost') {
      this.bounced.length = 0; // what they preceded may be lost too
      this.dead.lost();
      this.summary.lostEvents += parsed.events;
      this.summary.lostMarkers++;
    }
    if (parsed.kind !== 'event') return;
    const ev = parsed.event;
    this.deviceEvents.set(ev.device, (this.deviceEvents.get(ev.device) ?? 0) + 1);
    // Without --trace-device on a stream that cannot be scanned first, the first device is replayed.
    this.chosen ??= ev.device;
    if (ev.device !== this.chosen) return;
    this.summary.events[ev.name] = (this.summary.events[ev.name] ?? 0) + 1;
    this.event(ev);
    if (ev.kind !== 'bounced') this.bounced.length = 0;
  }

  private event(ev: TraceEvent): void {
    const sk = this.summary.skipped;
    this.rec = 'dma' in ev ? ev.dma : NaN; // the call's own address (an sg entry's: set where pushed)
    switch (ev.kind) {
      case 'map':
        if (ev.mmio || ev.shared) this.skip(ev.dma, ev.size, ev.mmio ? 'mmio' : 'ccShared', 'map');
        else if (ev.dma === ADDR_ERROR) sk.failedOnRecording++;
        else this.map(ev.phys, ev.size, ev.dma, this.dir(ev.dir), undefined, undefined, 0, attrsOf(ev), this.wasBounced([ev])[0]);
        return;
      case 'unmap': {
        const dir = this.dir(ev.dir), attrs = attrsOf(ev);
        if (!ev.resource && this.errorHandle(ev.dma, 'unmaps', Op.UNMAP_ERROR, ev.size, dir, attrs)) return;
        const m = ev.resource ? undefined : this.mappings.findStart(ev.dma, ev.size);
        // An unmap of a mapping not replayed is not replayed either (MMIO never is). Its size
        // tells it from a replayed one at the same address (dma-debug checks it): a skipped map of
        // that start and size unless a live replayed one there has that size; with no replayed
        // one there, live or unmapped, a skipped map of that start.
        const why = m?.size === ev.size ? undefined : this.skips.take(ev.dma, ev.size, !m && !this.dead.has(ev.dma), 'map');
        if (why) return void sk[why]++;
        if (!m) {
          const a = ev.resource ? undefined : this.allocs.at(ev.dma); // a dma_alloc unmapped as a mapping: check_unmap's wrong function
          if (ev.resource) sk.mmio++;
          else if (a) { // a mapped one (6.12 xen-pv _pages): its syncs, free and unmaps come after an unmap
            this.summary.allocUnmaps++;
            this.push(Op.UNMAP, a.slot, dir, ev.size, attrs | (a.map && !a.map.live ? AFTER : 0));
            if (a.map?.live) this.mappings.remove(a.map);
          }
          else if (!this.inside(ev.dma, ev.size, 0, dir)) this.afterUnmap(ev.dma, (b, at, inside) => inside ? this.push(Op.UNMAP_AT, b.slot, ev.size, at, 0, dir, attrs) : this.push(Op.UNMAP, b.slot, dir, ev.size, attrs | AFTER), ev.size, true);
          return;
        }
        // Only an sg entry is mapped there: the driver unmaps one entry by itself (dma-debug: wrong function).
        if (m.sg) this.summary.sgEntryUnmaps++;
        this.unmap(m, dir, ev.size, 0, attrs);
        return;
      }
      case 'sync':
        if (this.errorHandle(ev.dma, 'syncs', Op.SYNC_ERROR, ev.size, this.dir(ev.dir), ev.forCpu ? 1 : 0)) return;
        return this.sync(ev.dma, ev.size, this.dir(ev.dir), ev.forCpu);
      case 'map_sg':
        this.mapSg(ev);
        return;
      case 'map_sg_err':
        sk.failedOnRecording++;
        return;
      case 'unmap_sg': {
        // The unmap names its list by all its physical addresses, and its attrs say whether it
        // was one not replayed (CC_SHARED); else the latest live list starting there.
        const key = sgKey(ev.phys), first = ev.phys[0], { at: same, count } = this.sgLists.find(first, key);
        const why = ev.shared || same < 0 ? this.skips.takeSg(key) : undefined;
        const at = why ? -1 : same >= 0 ? same : count - 1, dir = this.dir(ev.dir), n = ev.phys.length;
        const again = at < 0 && !why ? this.sgLists.unmapped(key) : undefined; // a list the trace unmapped: each entry again
        if (at < 0 && !again) return void sk[why ?? 'beforeTrace']++;
        const list = again ? { maps: again } : this.sgLists.take(first!, at, key);
        if ('skipped' in list && list.skipped) this.skips.release(list.skipped); // its entries not replayed go with it
        // The call's first `nelems` entries (dma_direct_unmap_sg, debug_dma_unmap_sg: the rest stay
        // mapped), each checked sg type with the call's count: one the driver unmapped by itself is "not allocated" now.
        for (const m of list.maps.slice(0, n)) {
          this.rec = m.synthetic ? NaN : m.dma; // an entry placed inside a merged segment: none recorded
          m.live ? this.unmap(m, dir, m.size, n, attrsOf(ev)) : this.afterUnmap(m.dma, (b) => this.push(Op.UNMAP, b.slot, dir | (n << OP_DIR_BITS), m.size, attrsOf(ev) | AFTER));
        }
        return;
      }
      case 'sync_sg': {
        const entries = sgSyncs(ev); // those with bytes, or why the call is counted instead
        if (typeof entries === 'string') return void this.summary.skipped[entries]++;
        // dma-debug checks the entries below the mapped_ents its first entry's lookup gives: where that entry is not
        // replayed (or has no bytes, so no sync of it is), what the recording machine had there (sgMappedNotReplayed).
        const dir = this.dir(ev.dir), n = ev.dmas.length;
        let sgFirst = entries[0]!.index === 0 ? 0 : this.sgMappedNotReplayed(ev.dmas[0]!, ev.sizes[0]!, dir, n, false);
        for (const e of entries) {
          const [pushed, gone] = [this.pushed, this.summary.skipped.afterUnmap];
          this.sync(e.dma, e.size, dir, ev.forCpu, n, e.index, sgFirst);
          if (e.index === 0 && this.pushed === pushed) sgFirst = this.sgMappedNotReplayed(e.dma, e.size, dir, n, this.summary.skipped.afterUnmap > gone);
        }
        return;
      }
      case 'alloc':
        if (ev.legacyFormat) this.summary.allocFormat612 = true;
        return this.alloc(ev);
      case 'free':
        return ev.noop ? undefined : this.freeCall(ev);
      case 'bounced':
        this.bounced.push(ev); // the map it precedes (swiotlb_map, xen_swiotlb_map_page, iommu_dma_map_page) was bounced
        this.summary.recordedBounces++;
        if (ev.maskBits && !this.summary.recordedMaskBits.includes(ev.maskBits)) this.summary.recordedMaskBits.push(ev.maskBits);
        return;
    }
  }

  /** debug_dma_sync_sg_*'s mapped_ents where the call's first entry (of `n`, [dma, dma + size), `dir`) was not replayed:
   * what the recording's get_nr_mapped_entries found at its dma_addr (bucket_find_exact, 2.6.37 and 6.12 alike: the lone
   * entry there, or the one that fits perfectly). An sg entry gives its list's count (taken as the call's: all checked);
   * any other (a single map's, a dma_alloc's: sg_mapped_ents 0), none fitting among several, or none (a mapping the trace
   * had unmapped, `unmapped`; an address inside one) gives 0: none checked. Where the trace shows nothing, a list made
   * before it, taken as the call's. Replayed live mappings there (a zero-length first entry's, not synced): an sg entry
   * among them gives its list's count (their direction and count not compared). */
  private sgMappedNotReplayed(dma: Addr, size: number, dir: number, n: number, unmapped: boolean): number {
    if (unmapped || this.allocs.holding(dma)) return SG_NONE;
    const live = this.mappings.startingAt(dma);
    if (live.length > 0) return live.some((m) => m.sg) ? SG_ALL : SG_NONE;
    const found = this.skips.exactAt(dma, size, dir, n);
    if (found) return found === 'sg' ? SG_ALL : SG_NONE;
    return this.skips.holding(dma, 1) ? SG_NONE : SG_ALL;
  }

  /** An unmap or sync at DMA_MAPPING_ERROR (all ones, or a 32-bit dma_addr_t's ffffffff no live mapping holds): a failed map's handle used unchecked, replayed at the handle a failed map gives here. */
  private errorHandle(dma: Addr, kind: 'unmaps' | 'syncs', code: number, size: number, dir: number, last: number): boolean {
    if (dma !== ADDR_ERROR && (dma !== ADDR_ERROR_32 || this.mappings.holds(dma))) return false;
    this.summary.errorHandle[kind]++;
    this.summary.errorHandle.firstLine ??= this.lineNo;
    this.push(code, size, dir, last);
    return true;
  }


  /** A streaming map of [phys, phys + size), given dma address `dma` on the recording machine. */
  private map(phys: Addr, size: number, dma: Addr, dir: number, list?: Mapping[], skipped?: SkipEntry[], nents = 0, attrs = 0, bounced = false, segments?: ReadonlySet<Addr>): void {
    // A bounce slot, or an IOVA range a recording IOMMU merged a list into (`segments`: its starts), is the mapping's own (traceMappings.ts holdingAlone).
    const alone = bounced || segments !== undefined;
    // An entry the replay placed inside a segment a recording IOMMU merged has no address of its own in the trace.
    this.rec = segments && !segments.has(dma) ? NaN : dma;
    const first = Math.floor(phys / PAGE_SIZE);
    const offset = phys - first * PAGE_SIZE;
    const pages = Math.ceil((offset + size) / PAGE_SIZE);
    if (size === 0 || pages > MAX_ALLOC_PAGES) return this.skip(dma, size, size === 0 ? 'zeroLength' : 'tooLarge', 'map', skipped, { dir, ents: nents });
    if (phys < FOLD_BASE) this.summary.highestPhys = Math.max(this.summary.highestPhys, (first + pages) * PAGE_SIZE);
    const key = `${first}:${pages}`;
    let b = this.idle.get(key);
    if (b) {
      this.idle.delete(key);
      b.live = true;
    } else {
      b = this.newBuffer(pages, key, `phys ${this.folder.hex(first * PAGE_SIZE)}`);
      // The recorded first page (for dma-debug's cacheline numbers): low 32 bits, high bits + 1.
      this.push(Op.ALLOC, b.slot, pages, first * PAGE_SIZE < DMA32_LIMIT ? Zone.dma32 : Zone.normal, first % 2 ** 32, Math.floor(first / 2 ** 32) + 1);
    }
    this.push(Op.MAP, b.slot, dir | (nents << OP_DIR_BITS), offset, size, nents > 0 ? this.sgCalls : 0, attrs); // an sg entry: dma-debug's sg type
    const made = this.made();
    if (nents === 0) this.push(Op.MAPPING_ERROR, b.slot); // dma-debug never checks an sg entry's
    const m: Mapping = { dma, size, buf: b, offset, sg: list !== undefined, live: true, alone, synthetic: segments && !segments.has(dma), made, segments };
    this.mappings.add(m);
    b.last = m;
    this.liveMappings++;
    list?.push(m);
  }

  /** Which of these maps the swiotlb_bounced lines before them were for: the line's dev_addr (phys_to_dma of the original)
   * the map's phys_addr first; then, where phys_to_dma is no identity (Xen PV's machine address, an SME C-bit), the size
   * and the offset in the page, for a map whose dma_addr is neither its phys_addr (there phys_to_dma is one, and the first
   * pass decides) nor the line's dev_addr (a map at its own phys_to_dma was not bounced). Each line once. */
  private wasBounced(maps: readonly { phys: Addr; size: number; dma: Addr }[]): boolean[] {
    const out = maps.map(() => false);
    const take = (match: (b: { size: number; devAddr?: Addr }, m: { phys: Addr; size: number; dma: Addr }) => boolean) => maps.forEach((m, i) => {
      const j = out[i] ? -1 : this.bounced.findIndex((b) => b.size === m.size && match(b, m));
      if (j >= 0) [out[i]] = [true, this.bounced.splice(j, 1)];
    });
    take((b, m) => b.devAddr === m.phys);
    take((b, m) => m.dma !== m.phys && (b.devAddr === undefined || (b.devAddr % PAGE_SIZE === m.phys % PAGE_SIZE && b.devAddr !== m.dma)));
    return out;
  }

  private unmap(m: Mapping, dir: number, size: number, nents = 0, attrs = 0): void {
    this.push(Op.UNMAP, m.buf.slot, dir | (nents << OP_DIR_BITS), size, attrs);
    this.mappings.remove(m);
    this.gone(m.made);
    this.liveMappings--;
    const b = m.buf;
    b.live = false;
    this.dead.add(m);
    // One idle buffer per page range: a second, from a concurrent map of the same pages, goes.
    if (this.idle.has(b.key)) return this.release(b);
    this.idle.set(b.key, b);
    if (this.idle.size > IDLE_MAX) this.dropOldestIdle();
  }

  /**
   * An unmap or sync whose dma_addr no live mapping holds: if the trace unmapped a mapping there,
   * the driver is using it after its unmap — replayed on the unmapped pages while they are still
   * unused (OP_ATTR_AFTER_UNMAP: dma-debug finds nothing live there, as on the recording machine,
   * and the platform acts at the handle unless the simulation gave it to another mapping since),
   * else counted; otherwise its mapping was made before the trace. With `pieces`, inside a mapping
   * the trace unmapped (the piece a smaller unmap at its handle left: DeadMappings.holding), the
   * same at that offset, unless a live mapping not replayed holds the address (`size` > 0: checked here).
   */
  private afterUnmap(dma: Addr, replay: (b: Buffer, offset: number, inside: boolean) => void, size = 0, pieces = false): void {
    const exact = this.dead.get(dma), why = exact || size === 0 ? undefined : this.skips.holding(dma, size);
    const dead = exact ?? (why || !pieces ? undefined : this.dead.holding(dma));
    if (!dead) return void this.summary.skipped[why ?? 'beforeTrace']++; // an unmap inside a map not replayed: its reason
    if (dead.buf.live || dead.buf.freed || dead.buf.last !== dead) { // mapped again since: the engine's record is the newer mapping's
      this.summary.skipped.afterUnmap++;
      return;
    }
    this.summary.afterUnmap++;
    replay(dead.buf, dead.offset + (dma - dead.dma), !exact);
  }

  /**
   * dma_sync_single_for_{cpu,device} on [dma, dma + size): where a live mapping holds its start, each live mapping
   * it overlaps (the entries of a segment an IOMMU merged), the latest first where two hold the same bytes, once. One
   * running past what they hold, or over separate mappings side by side, is one call with the driver's size where it starts, as the kernel's (check_sync sees the whole
   * range; the era's swiotlb copies, 6.12 to the mapping's end). Starting inside a mapping: 2.6.37's range form (op word f).
   */
  private sync(dma: Addr, size: number, dir: number, forCpu: boolean, nents = 0, index = 0, sgFirst = 0): void {
    const [op, d] = [forCpu ? Op.SYNC_FOR_CPU : Op.SYNC_FOR_DEVICE, dir | (nents << OP_DIR_BITS)];
    this.rec = dma;
    // Starting where no live mapping holds it, a sync touches none it runs into: dma-debug looks it
    // up from its start (2.6.37 check_sync: the entry at that handle; 6.12 bucket_find_contain: one
    // containing the whole sync), and 6.12's swiotlb_bounce copies by the start's slot (released:
    // nothing), so it goes on below as a sync at an address nothing the trace shows holds. A segment
    // address a recording IOMMU printed for a live merged list is that list's, wherever its entries were placed.
    const overlaps = this.mappings.overlapping(dma, size);
    const synced = overlaps.some((o) => o.from === dma || o.m.segments?.has(dma)) ? overlaps : [];
    // Several mappings hold it: the entries of one segment an IOMMU merged, or else (separate
    // mappings side by side) a sync that runs past the mapping it starts in.
    const first = synced.find((o) => o.from === dma);
    const past = synced.length > 0 && (!coveredBy(synced, dma, size) || (synced.length > 1 && !synced.every((o) => o.m.sg)));
    if (past && nents === 0) this.summary.syncsPastMapping++; // dma-debug checks an sg call's entries only where they start live sg entries
    // Starting inside a mapping: 2.6.37's driver would call dma_sync_single_range_* (6.12 traces both alike).
    if (first && past) return this.push(op, first.m.buf.slot, d, first.m.offset + (dma - first.m.dma), size, index, (nents === 0 && dma > first.m.dma ? 1 : 0) | sgFirst);
    for (const { m, from, to } of synced) this.push(op, m.buf.slot, d, m.offset + (from - m.dma), to - from, index, (nents === 0 && from > m.dma ? 1 : 0) | sgFirst);
    if (synced.length > 0) return;
    // Inside a DMA-API allocation's own memory (a mapped one's map is unmapped): never bounced; checked on 6.12 (check_sync), 2.6.37 counts.
    const held = this.allocs.holding(dma), replay = held && (this.limits.modern || held.b.map);
    if (held) this.summary[held.b.map ? 'afterUnmap' : 'allocSyncs']++;
    if (held) return replay ? this.push(op, held.b.slot, d, dma - held.start, size, index, (held.b.map ? AFTER : 0) | sgFirst) : undefined;
    // Starting inside a live mapping not replayed: that mapping's sync, however far it runs.
    const why = this.skips.holding(dma, Math.min(size, 1));
    if (why) return void this.summary.skipped[why]++;
    // A sync of no bytes inside a live replayed mapping: dma-debug's check_sync finds the mapping
    // (it looks the address up; the size checks pass), and there is nothing to copy. One outside
    // any goes on below: dma-debug reports a sync of memory not mapped whatever its size.
    if (size === 0 && this.mappings.holds(dma)) {
      return void this.summary.skipped.zeroLength++;
    }
    this.afterUnmap(dma, (b, at, inside) => this.push(forCpu ? Op.SYNC_FOR_CPU : Op.SYNC_FOR_DEVICE, b.slot, dir | (nents << OP_DIR_BITS), at, size, index, AFTER | sgFirst | (inside && nents === 0 ? 1 : 0)), 0, true);
  }

  private mapSg(ev: Extract<TraceEvent, { kind: 'map_sg' }>): void {
    if (ev.truncated || ev.phys.length < ev.nents) this.summary.sgTruncated++;
    if (ev.phys.length === 0) return;
    const dir = this.dir(ev.dir);
    const list: Mapping[] = [];
    const entries = sgEntries(ev), segments = entries.merged ? new Set(ev.dmas) : undefined;
    if (entries.merged) [this.summary.sgMerged++, this.iommu = true, this.dead.iommuShown()];
    this.sgCalls++;
    // Entries not replayed: memory already shared with the host (DMA_ATTR_CC_SHARED, which
    // dma_direct_map_sg passes to each entry's map: the list counts once), too large, zero-length.
    const skipped: SkipEntry[] = [];
    if (ev.shared) this.summary.skipped.ccShared++;
    const bounced = segments ? [] : this.wasBounced(entries.list);
    for (const [i, e] of entries.list.entries()) {
      if (ev.shared) skipped.push({ dma: e.dma, size: e.size, reason: 'ccShared', kind: 'map', sg: true, dir, ents: ev.nents });
      else this.map(e.phys, e.size, e.dma, dir, list, skipped, ev.nents, attrsOf(ev), bounced[i], segments);
    }
    const key = sgKey(ev.phys);
    const handle = skipped.length > 0 ? this.skips.add(skipped, list.length === 0 ? key : undefined) : undefined;
    if (list.length === 0) return;
    this.sgLists.add(ev.phys[0]!, { key, maps: list, skipped: handle });
  }

  private alloc(ev: Extract<TraceEvent, { kind: 'alloc' }>): void {
    const { dma, size } = ev;
    const pages = Math.ceil(size / PAGE_SIZE);
    if (ev.failed) return void this.summary.skipped.failedOnRecording++;
    if (size === 0 || pages > MAX_ALLOC_PAGES) return this.skip(dma, size, size === 0 ? 'zeroLength' : 'tooLarge', 'alloc');
    const b = this.newBuffer(pages, '', `dma ${this.folder.hex(dma)}`);
    this.allocs.add(dma, b);
    if (ev.name === 'dma_alloc') b.coherent = true;
    if (!this.limits.allocPagesMapped || ev.name === 'dma_alloc') {
      this.push(Op.ALLOC_COHERENT, b.slot, pages, ev.name === 'dma_alloc_sgt' && this.limits.modern ? pages * PAGE_SIZE : size, formOf(ev.name), DIR[ev.dir ?? 'BIDIRECTIONAL']); // the size asked; an _sgt's sg_dma_len
      b.made = this.made();
      return;
    }
    // 6.12 xen-pv: __dma_alloc_pages → dma_common_alloc_pages (the ALLOC_PAGES op): PAGE_ALIGN(size)
    // of normal pages mapped by xen_swiotlb_map_page (bounced when a frame lies above the mask or
    // the pages straddle machine frames; DMA_ATTR_SKIP_CPU_SYNC, which swiotlb_tbl_map_single's copy
    // in ignores); the _sgt form an sg list of one entry (debug_dma_map_sg). The direction is the
    // caller's, BIDIRECTIONAL when unreadable. A map that fails here fails the allocation.
    const sg = ev.name === 'dma_alloc_sgt', dir = DIR[ev.dir ?? 'BIDIRECTIONAL'], bytes = pages * PAGE_SIZE;
    if (sg) this.sgCalls++;
    this.push(Op.ALLOC_PAGES, b.slot, pages, dir | ((sg ? 1 : 0) << OP_DIR_BITS), bytes, sg ? this.sgCalls : 0, size); // dma-debug files _pages at the size asked
    b.made = this.made();
    b.map = { dma, size: bytes, buf: b, offset: 0, sg, live: true, alloc: true };
    this.mappings.add(b.map);
    this.summary.allocsMapped++;
  }

  /** dma_free: of a live allocation, or one not replayed (counted with it); else what 6.12's debug_dma_free_coherent checks
   * (check_unmap, coherent, BIDIRECTIONAL) at a live streaming mapping's handle, or at the dma_alloc the trace freed there (a double free). */
  private freeCall(ev: Extract<TraceEvent, { kind: 'free' }>): void {
    const b = this.allocs.take(ev.dma);
    if (b) return this.free(b, ev);
    const why = this.skips.take(ev.dma, ev.size, true, 'alloc');
    const m = why ? undefined : this.mappings.findStart(ev.dma, ev.size);
    const freed = why || m ? undefined : this.allocs.freedAt(ev.dma); // a live mapping there first, as dma-debug finds it
    if (m) this.summary.mappingFrees++;
    else if (freed) this.summary.freesAgain++;
    const sgt = ev.name === 'dma_free_sgt' && this.limits.modern, form = formOf(ev.name), dir = DIR[ev.dir ?? 'BIDIRECTIONAL'];
    const size = sgt ? (m ? m.size : freed ? freed.pages * PAGE_SIZE : Math.ceil(ev.size / PAGE_SIZE) * PAGE_SIZE) : ev.size; // an _sgt's: sg_dma_len
    if (m || freed) return this.push(Op.FREE_AT, m ? m.buf.slot : freed!.slot, size, m ? 0 : 1, form, dir);
    if (why) return void this.summary.skipped[why]++;
    // Inside a live mapping or allocation (what holds the address now), at a mapping the trace unmapped (a use after
    // unmap: no entry, "has not allocated"), inside an allocation it freed (a second free, at the offset), or none of those.
    if (this.inside(ev.dma, size, form + 1, dir)) return;
    if (this.dead.has(ev.dma)) return this.afterUnmap(ev.dma, (b, at) => this.push(Op.UNMAP_AT, b.slot, size, at, form + 1, dir));
    const held = this.allocs.freedHolding(ev.dma);
    if (held) [this.summary.freesAgain++, this.push(Op.FREE_AT, held.b.slot, size, 1, form, dir, ev.dma - held.start)];
    else this.summary.skipped[this.skips.holding(ev.dma, ev.size) ?? 'beforeTrace']++;
  }

  /** An unmap or a free (`form`: its AllocForm + 1, 0 an unmap) where nothing starts, inside a live mapping no other can
   * share or a live allocation: check_unmap's exact lookup finds no entry ("has not allocated"), replayed for dma-debug. */
  private inside(dma: Addr, size: number, form: number, dir: number): boolean {
    const held = (a = this.allocs.holding(dma)) => a && { slot: a.b.slot, offset: dma - a.start }; // a scan: only where no mapping holds it
    const at = this.mappings.holdingAlone(dma, this.iommu) ?? held();
    if (at) [this.summary.insideCalls++, this.push(Op.UNMAP_AT, at.slot, size, at.offset, form, dir)];
    return at !== undefined;
  }

  /** dma_free (_pages, _sgt) of a live allocation: dma_common_free_pages unmaps a mapped one (DMA_ATTR_SKIP_CPU_SYNC), which dma-debug checks
   * as the free call's hook does (debug_dma_free_pages; debug_dma_unmap_sg, an _sgt's size its table's, whatever the caller gave), and frees it. */
  private free(b: Buffer, ev: Extract<TraceEvent, { kind: 'free' }>): void {
    const m = b.map, sgt = ev.name === 'dma_free_sgt';
    if (m) {
      const after = m.live ? 0 : AFTER; // unmapped before by a dma_unmap_page: nothing live at its address (trace-stale)
      if (m.live) this.mappings.remove(m);
      this.push(Op.UNMAP, b.slot, DIR[ev.dir ?? 'BIDIRECTIONAL'] | ((m.sg ? 1 : 0) << OP_DIR_BITS), sgt ? m.size : Math.ceil(ev.size / PAGE_SIZE) * PAGE_SIZE, OP_ATTR_SKIP_CPU_SYNC | after,
        formOf(ev.name) + 1, sgt ? m.size : ev.size); // checked as the free call's hook checks (its type, the size given)
      this.push(Op.FREE, b.slot);
    } else this.push(Op.FREE_COHERENT, b.slot, sgt && this.limits.modern ? 0 : ev.size, formOf(ev.name), DIR[ev.dir ?? 'BIDIRECTIONAL']); // 0: the table's (2.6.37: coherent)
    this.gone(b.made);
    // The slot is kept, with the handle it had there, for a second free (freeCall).
    for (const gone of this.allocs.keepFreed(ev.dma, b)) this.freeSlots.push(gone.slot);
    delete this.names[b.id];
  }

  /** The end: which device ran, whether the user chose it, whether the last line was cut (not read). */
  finish(lines: number, cut = false): TraceSummary {
    return finishSummary(this.summary, { file: this.file, lines, cut,
      deviceEvents: this.deviceEvents, chosen: this.chosen, allocsLive: this.allocs.size, liveMappings: this.liveMappings });
  }
}
