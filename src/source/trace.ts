// Kernel traces as replay input (INTERFACE.md `replay --format ftrace`, MODEL.md §10): the dma and
// swiotlb events of one device become the engine's ops, so a driver's recorded traffic runs on
// any simulated platform. A trace names memory by physical address and has no CPU or device
// accesses: the oracle checks nothing, dma-debug and the counters do the work.
//
// How events become ops (each one said in the result's `trace` section when it applies):
// - a streaming map (dma_map_page, dma_map_phys) maps the pages under phys_addr: a buffer is
//   allocated for them (ZONE_DMA32 below 4 GiB, ZONE_NORMAL above, as the recording kernel's
//   allocator had them) and kept for the next map of the same pages once unmapped, so a page a
//   driver maps again is the same page in the simulation; a second live map of the same pages
//   gets pages of its own. A trace does not show dma_mapping_error(), so each map is taken as
//   checked (drivers must check; dma-debug would otherwise flag every map).
// - unmaps and syncs find their mapping by the recorded dma_addr (a sync may address a part of
//   it); the simulation uses the address its own platform gave, as a driver would.
// - dma_map_sg maps each entry (dma_direct_map_sg maps entry by entry); an sg list is unmapped
//   by its physical addresses, as dma_unmap_sg's event gives them.
// - dma_alloc and its _pages/_sgt forms are device-reachable memory from the DMA API
//   (dma_alloc_coherent's path; dma_alloc_pages and dma_alloc_noncontiguous take the same
//   zones and decryption), named by dma_addr: the trace prints no physical address for them.
// - swiotlb_bounced lines are counted and compared with the simulation's bounces.
// - not replayed, and counted: MMIO (dma_map_resource, or DMA_ATTR_MMIO: never bounced, never
//   RAM), calls that failed on the recording machine (the driver took another path), unmaps and
//   syncs of mappings made before the trace began, and single calls larger than the largest
//   block the buddy allocator hands out (MAX_ORDER).
import { Dir, MAX_ALLOC_PAGES, Op, PAGE_SIZE, Zone } from '../engine/abi.js';
import { UsageError, escapeText, msg, shown } from '../errors.js';
import { hex } from '../units.js';
import { STDIN_NAME, readLines } from './replay.js';
import type { OpSink } from './sink.js';
import { ADDR_ERROR, type Addr, type TraceDir, type TraceEvent, TraceSyntaxError, deviceList, parseTraceLine } from './traceEvents.js';

/** What a replayed trace was, beside the counters (a result's `trace`). */
export interface TraceSummary {
  format: 'ftrace';
  /** The recording device whose events were replayed (its dev_name). */
  device: string;
  /** Every device with dma or swiotlb events, most events first. */
  devices: { name: string; events: number }[];
  lines: number;
  /** The replayed device's events, by event name. */
  events: Record<string, number>;
  /** swiotlb_bounced lines of the device: what the recording machine bounced. */
  recordedBounces: number;
  /** Events the ring buffer dropped ("[LOST N EVENTS]"): the trace is incomplete there. */
  lostEvents: number;
  /** Events not replayed, by why (see the file's header). */
  skipped: { mmio: number; failedOnRecording: number; beforeTrace: number; tooLarge: number; zeroLength: number };
  /** sg lists whose entries' lengths the trace does not give (merged by the recording IOMMU),
   * and lists printed only in part ([TRUNCATED], 128 entries). */
  sgMerged: number;
  sgTruncated: number;
  /** Mappings and allocations still live when the trace ended (the release reports them). */
  liveAtEnd: number;
  /** The end of the highest physical page a replayed map named (bytes): the recording machine's
   * RAM reached at least that far. */
  highestPhys: number;
  /** Always false: a trace has no CPU or device accesses, so the oracle checked no read and the
   * result's `verdict` (coherent when no read failed) says nothing about data. */
  oracleChecked: false;
}

export interface TraceLimits {
  maxBuffers: number;
}

interface Buffer { slot: number; id: number; pages: number; key: string; live: boolean }
interface Mapping { dma: Addr; size: number; buf: Buffer; offset: number; sg: boolean }

const DIR = { BIDIRECTIONAL: Dir.bidirectional, TO_DEVICE: Dir.to_device, FROM_DEVICE: Dir.from_device } as const;
/** Unmapped page buffers kept for a later map of the same pages (least recently used go first). */
const IDLE_MAX = 4096;
const DMA32_LIMIT = 2 ** 32;

/** Stateful translator: one per trace. */
export class TraceTranslator {
  /** Buffer id → name as reports show it (the engine numbers every alloc from 1). */
  readonly names: string[] = [''];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private nextId = 1;
  private readonly idle = new Map<string, Buffer>();
  /** Live streaming mappings by recorded dma page: unmaps match the start, syncs any byte. */
  private readonly byPage = new Map<number, Mapping[]>();
  private liveMappings = 0;
  /** Live sg lists by their first physical address (dma_unmap_sg gives only phys_addrs). */
  private readonly sgLists = new Map<Addr, Mapping[][]>();
  /** Live DMA-API allocations by recorded dma_addr. */
  private readonly allocs = new Map<Addr, Buffer[]>();
  private readonly deviceEvents = new Map<string, number>();
  private chosen: string | undefined;
  readonly summary: TraceSummary;
  private lineNo = 0;

  constructor(private readonly file: string, private readonly limits: TraceLimits, private readonly sink: OpSink, device: string | undefined) {
    this.chosen = device;
    this.summary = {
      format: 'ftrace', device: device ?? '', devices: [], lines: 0, events: {}, recordedBounces: 0, lostEvents: 0,
      skipped: { mmio: 0, failedOnRecording: 0, beforeTrace: 0, tooLarge: 0, zeroLength: 0 }, sgMerged: 0, sgTruncated: 0, liveAtEnd: 0, highestPhys: 0, oracleChecked: false,
    };
  }

  private fail(what: string): never {
    throw new UsageError(msg.scriptLine(this.file, this.lineNo, what));
  }

  line(text: string, lineNo: number): void {
    this.lineNo = lineNo;
    let parsed;
    try {
      parsed = parseTraceLine(text);
    } catch (e) {
      if (e instanceof TraceSyntaxError) this.fail(e.message);
      throw e;
    }
    if (parsed.kind === 'lost') this.summary.lostEvents += parsed.events;
    if (parsed.kind !== 'event') return;
    const ev = parsed.event;
    this.deviceEvents.set(ev.device, (this.deviceEvents.get(ev.device) ?? 0) + 1);
    // Without --trace-device on a stream that cannot be scanned first, the first device is replayed.
    this.chosen ??= ev.device;
    if (ev.device !== this.chosen) return;
    this.summary.events[ev.name] = (this.summary.events[ev.name] ?? 0) + 1;
    this.event(ev);
  }

  private event(ev: TraceEvent): void {
    const sk = this.summary.skipped;
    switch (ev.kind) {
      case 'map':
        if (ev.mmio) sk.mmio++;
        else if (ev.dma === ADDR_ERROR) sk.failedOnRecording++;
        else this.map(ev.phys, ev.size, ev.dma, this.dir(ev.dir));
        return;
      case 'unmap': {
        if (ev.resource) {
          sk.mmio++;
          return;
        }
        const m = this.findStart(ev.dma);
        if (!m) {
          sk.beforeTrace++;
          return;
        }
        if (m.sg) this.fail(`${ev.name} of dma_addr=${ev.dma.toString(16)}, an entry of an sg list (dma_unmap_sg unmaps those)`);
        this.unmap(m, this.dir(ev.dir), ev.size);
        return;
      }
      case 'sync':
        this.sync(ev.dma, ev.size, this.dir(ev.dir), ev.forCpu);
        return;
      case 'map_sg':
        this.mapSg(ev);
        return;
      case 'map_sg_err':
        sk.failedOnRecording++;
        return;
      case 'unmap_sg': {
        const lists = ev.phys.length > 0 ? this.sgLists.get(ev.phys[0]!) : undefined;
        const list = lists?.pop();
        if (lists && lists.length === 0) this.sgLists.delete(ev.phys[0]!);
        if (!list) {
          sk.beforeTrace++;
          return;
        }
        const dir = this.dir(ev.dir);
        for (const m of list) this.unmap(m, dir, m.size);
        return;
      }
      case 'sync_sg':
        for (let i = 0; i < ev.dmas.length; i++) if (ev.sizes[i]! > 0) this.sync(ev.dmas[i]!, ev.sizes[i]!, this.dir(ev.dir), ev.forCpu);
        return;
      case 'alloc':
        this.alloc(ev.dma, ev.size, ev.failed);
        return;
      case 'free': {
        const bufs = this.allocs.get(ev.dma);
        const b = bufs?.pop();
        if (bufs && bufs.length === 0) this.allocs.delete(ev.dma);
        if (!b) {
          sk.beforeTrace++;
          return;
        }
        this.push(Op.FREE_COHERENT, b.slot);
        this.freeSlots.push(b.slot);
        return;
      }
      case 'bounced':
        this.summary.recordedBounces++;
        return;
    }
  }

  private dir(d: TraceDir): number {
    // dma_map_page_attrs and the syncs BUG() on an invalid direction before they trace.
    if (d === 'NONE') this.fail('dir=NONE on a streaming call (the kernel BUG()s before tracing one)');
    return DIR[d];
  }

  private push(code: number, a = 0, b = 0, c = 0, d = 0): void {
    this.sink.push(code, a, b, c, d, this.lineNo);
  }

  private takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= this.limits.maxBuffers) {
      // Give back the least recently unmapped page buffer before giving up.
      const oldest = this.idle.values().next().value as Buffer | undefined;
      if (oldest) {
        this.dropIdle(oldest);
        return this.freeSlots.pop()!;
      }
      this.fail(`more than ${this.limits.maxBuffers} mappings and allocations live at once`);
    }
    return this.nextSlot++;
  }

  private newBuffer(pages: number, key: string, name: string): Buffer {
    const slot = this.takeSlot();
    const b: Buffer = { slot, id: this.nextId++, pages, key, live: true };
    this.names.push(escapeText(name));
    return b;
  }

  private dropIdle(b: Buffer): void {
    this.idle.delete(b.key);
    this.push(Op.FREE, b.slot);
    this.freeSlots.push(b.slot);
  }

  /** A streaming map of [phys, phys + size), given dma address `dma` on the recording machine. */
  private map(phys: Addr, size: number, dma: Addr, dir: number, list?: Mapping[]): void {
    const sk = this.summary.skipped;
    if (size === 0) {
      sk.zeroLength++;
      return;
    }
    const first = Math.floor(phys / PAGE_SIZE);
    const offset = phys - first * PAGE_SIZE;
    const pages = Math.ceil((offset + size) / PAGE_SIZE);
    if (pages > MAX_ALLOC_PAGES) {
      sk.tooLarge++;
      return;
    }
    this.summary.highestPhys = Math.max(this.summary.highestPhys, (first + pages) * PAGE_SIZE);
    const key = `${first}:${pages}`;
    let b = this.idle.get(key);
    if (b) {
      this.idle.delete(key);
      b.live = true;
    } else {
      b = this.newBuffer(pages, key, `phys ${hex(first * PAGE_SIZE)}`);
      this.push(Op.ALLOC, b.slot, pages, first * PAGE_SIZE < DMA32_LIMIT ? Zone.dma32 : Zone.normal);
    }
    this.push(Op.MAP, b.slot, dir, offset, size);
    this.push(Op.MAPPING_ERROR, b.slot);
    const m: Mapping = { dma, size, buf: b, offset, sg: list !== undefined };
    for (let p = Math.floor(dma / PAGE_SIZE), last = Math.floor((dma + size - 1) / PAGE_SIZE); p <= last; p++) {
      const at = this.byPage.get(p);
      if (at) at.push(m);
      else this.byPage.set(p, [m]);
    }
    this.liveMappings++;
    list?.push(m);
  }

  private unmap(m: Mapping, dir: number, size: number): void {
    this.push(Op.UNMAP, m.buf.slot, dir, size);
    for (let p = Math.floor(m.dma / PAGE_SIZE), last = Math.floor((m.dma + m.size - 1) / PAGE_SIZE); p <= last; p++) {
      const at = this.byPage.get(p)!;
      at.splice(at.lastIndexOf(m), 1);
      if (at.length === 0) this.byPage.delete(p);
    }
    this.liveMappings--;
    const b = m.buf;
    b.live = false;
    // One idle buffer per page range: a second, from a concurrent map of the same pages, goes.
    if (this.idle.has(b.key)) {
      this.push(Op.FREE, b.slot);
      this.freeSlots.push(b.slot);
      return;
    }
    this.idle.set(b.key, b);
    if (this.idle.size > IDLE_MAX) this.dropIdle(this.idle.values().next().value as Buffer);
  }

  /** The latest live mapping that starts at `dma`. */
  private findStart(dma: Addr): Mapping | undefined {
    const at = this.byPage.get(Math.floor(dma / PAGE_SIZE));
    for (let i = (at?.length ?? 0) - 1; i >= 0; i--) if (at![i]!.dma === dma) return at![i];
    return undefined;
  }

  /** dma_sync_single_for_{cpu,device} on [dma, dma + size): the latest live mapping holding dma. */
  private sync(dma: Addr, size: number, dir: number, forCpu: boolean): void {
    const at = this.byPage.get(Math.floor(dma / PAGE_SIZE));
    let m: Mapping | undefined;
    for (let i = (at?.length ?? 0) - 1; i >= 0 && !m; i--) {
      const c = at![i]!;
      if (dma >= c.dma && dma < c.dma + c.size) m = c;
    }
    if (!m) {
      this.summary.skipped.beforeTrace++;
      return;
    }
    const offset = m.offset + (dma - m.dma);
    // A sync past the mapping stays inside the buffer; dma-debug reports it (sync-outside).
    const len = Math.min(size, m.buf.pages * PAGE_SIZE - offset);
    if (len <= 0) return;
    this.push(forCpu ? Op.SYNC_FOR_CPU : Op.SYNC_FOR_DEVICE, m.buf.slot, dir, offset, len);
  }

  private mapSg(ev: Extract<TraceEvent, { kind: 'map_sg' }>): void {
    if (ev.truncated || ev.phys.length < ev.nents) this.summary.sgTruncated++;
    if (ev.phys.length === 0) return;
    const dir = this.dir(ev.dir);
    const list: Mapping[] = [];
    if (ev.dmas.length === ev.phys.length && ev.ents === ev.nents) {
      for (let i = 0; i < ev.phys.length; i++) this.map(ev.phys[i]!, ev.sizes[i]!, ev.dmas[i]!, dir, list);
    } else {
      // The recording IOMMU merged entries (ents < nents): the trace gives each merged segment's
      // length, not each entry's. The list's length is split over its entries, whole pages each
      // but the last; each entry's dma address is its place in the segments laid end to end.
      this.summary.sgMerged++;
      const total = ev.sizes.reduce((a, b) => a + b, 0);
      const n = ev.phys.length;
      const base = Math.max(PAGE_SIZE, Math.floor(total / n / PAGE_SIZE) * PAGE_SIZE);
      let left = total;
      let at = 0;
      for (let i = 0; i < n && left > 0; i++) {
        const len = i === n - 1 ? left : Math.min(base, left);
        this.map(ev.phys[i]!, len, segmentAddr(ev.dmas, ev.sizes, at), dir, list);
        left -= len;
        at += len;
      }
    }
    if (list.length === 0) return;
    const lists = this.sgLists.get(ev.phys[0]!);
    if (lists) lists.push(list);
    else this.sgLists.set(ev.phys[0]!, [list]);
  }

  private alloc(dma: Addr, size: number, failed: boolean): void {
    const sk = this.summary.skipped;
    if (failed) {
      sk.failedOnRecording++;
      return;
    }
    if (size === 0) {
      sk.zeroLength++;
      return;
    }
    const pages = Math.ceil(size / PAGE_SIZE);
    if (pages > MAX_ALLOC_PAGES) {
      sk.tooLarge++;
      return;
    }
    const b = this.newBuffer(pages, '', `dma ${hex(dma)}`);
    this.push(Op.ALLOC_COHERENT, b.slot, pages);
    const bufs = this.allocs.get(dma);
    if (bufs) bufs.push(b);
    else this.allocs.set(dma, [b]);
  }

  /** The end of the trace: which device ran, and whether the choice was the user's to make. */
  finish(lines: number): TraceSummary {
    const s = this.summary;
    s.lines = lines;
    s.devices = [...this.deviceEvents].map(([name, events]) => ({ name, events })).sort((a, b) => b.events - a.events || (a.name < b.name ? -1 : 1));
    if (s.devices.length === 0) throw new UsageError(msg.scriptLine(this.file, lines, 'no dma or swiotlb trace events (record with: trace-cmd record -e dma -e swiotlb …)'));
    if (this.chosen !== undefined && !this.deviceEvents.has(this.chosen)) {
      throw new UsageError(`--trace-device: ${shown(this.chosen)} has no events in ${escapeText(this.file)} (devices: ${deviceList(s.devices)})`);
    }
    s.device = this.chosen!;
    s.liveAtEnd = this.liveMappings + [...this.allocs.values()].reduce((a, l) => a + l.length, 0);
    return s;
  }
}

/** Where stream offset `at` lies in dma segments laid end to end (the last segment's end past them). */
function segmentAddr(dmas: Addr[], sizes: number[], at: number): Addr {
  let start = 0;
  for (let i = 0; i < dmas.length; i++) {
    if (at < start + sizes[i]! || i === dmas.length - 1) return dmas[i]! + (at - start);
    start += sizes[i]!;
  }
  return 0;
}

/**
 * Streams TRACE (`-`: standard input) through the translator. `device`: the recording device to
 * replay (--trace-device, or the one scanTraceDevices found busiest); without it, on a stream,
 * the first device seen, and the trace must hold no other.
 */
export async function translateTrace(path: string, limits: TraceLimits, sink: OpSink, device: string | undefined, signal?: AbortSignal): Promise<TraceTranslator> {
  const name = path === '-' ? STDIN_NAME : path;
  const given = device !== undefined;
  const t = new TraceTranslator(name, limits, sink, device);
  const lines = await readLines(path, (text, n) => t.line(text, n), signal);
  const s = t.finish(lines);
  if (!given && s.devices.length > 1) {
    throw new UsageError(`${escapeText(name)}: the trace has events of ${s.devices.length} devices (${deviceList(s.devices)}); choose one with --trace-device`);
  }
  if (sink.count === 0 && !given) throw new UsageError(msg.scriptLine(name, lines, `no dma calls of ${shown(s.device)} to replay`));
  return t;
}
