// Reading kernel trace text (INTERFACE.md `replay --format ftrace`, MODEL.md §10): one line of
// `trace-cmd report` or /sys/kernel/tracing/trace in, one DMA-API event (or "skip") out.
//
// The line prefix is what the ring buffer's printer writes before each event
// (kernel/trace/trace_output.c, trace_print_context: TASK-PID, optionally (TGID), [CPU], the
// latency flags, TIMESTAMP:), and trace-cmd report's is the same without the flags. The fields
// follow each event's TP_printk, read from the kernel source:
// - include/trace/events/dma.h (first in 6.12): the dma_map class (dma_map_page and
//   dma_map_resource; later dma_map_phys, into which both were folded, MMIO as an attribute)
//   prints "DEV dir=D dma_addr=X size=N phys_addr=X attrs=F"; the dma_unmap class
//   "DEV dir=D dma_addr=X size=N attrs=F"; dma_sync_single_for_{cpu,device}
//   "DEV dir=D dma_addr=X size=N"; dma_alloc, in 6.12.0–6.12.47, "DEV dma_addr=X size=N
//   virt_addr=P flags=G attrs=F" (6.12-rc1 to rc4 printed phys_addr=X where virt_addr= is) and,
//   from 6.13 (and 6.12.48), with " dir=D" after the device, and the _pages and _sgt forms;
//   dma_free the same without flags (dir is read from neither: dma_alloc_class left it unset until
//   6.18); dma_map_sg "DEV dir=D [nents=a/b ents=c/d
//   [ [TRUNCATED]]] dma_addrs={…} sizes={…} phys_addrs={…} attrs=F" (the counts and the
//   128-entry cap came later still); dma_unmap_sg "DEV dir=D phys_addrs={…} attrs=F";
//   dma_sync_sg_for_{cpu,device} "DEV dir=D dma_addrs={…} sizes={…}"; dma_map_sg_err (6.13)
//   "DEV dir=D dma_addrs={…} err=N attrs=F", whose dma_addrs hold the entries' phys addresses.
//   In 6.12.0–6.12.47 dma_alloc_pages traced as dma_map_page and dma_alloc_noncontiguous as
//   dma_map_sg: such a trace replays them as streaming maps.
// - include/trace/events/swiotlb.h: swiotlb_bounced "dev_name: DEV dma_mask=X dev_addr=X size=N
//   FORCE|NORMAL" (NO_FORCE too before 5.18).
// Numbers are as printk writes them: %llx without 0x, %zu decimal; __print_array's elements
// (trace_print_array_seq) are 0x-prefixed hex, comma-separated, in braces. A NULL %p is
// 0000000000000000 from the kernel and (nil) from trace-cmd (libtraceevent prints %p with libc).

import { escapeText, shown } from '../errors.js';
import { ADDR_ERROR, type Addr, AddrFolder, FOLD_BASE, MAX_REGIONS, maskBits, parseAddr } from './traceAddr.js';

export { ADDR_ERROR, type Addr } from './traceAddr.js';

/** The dma and swiotlb events replay understands; every other event is skipped. */
export const TRACE_EVENTS = [
  'dma_map_page', 'dma_map_phys', 'dma_map_resource', 'dma_unmap_page', 'dma_unmap_phys', 'dma_unmap_resource',
  'dma_sync_single_for_cpu', 'dma_sync_single_for_device', 'dma_map_sg', 'dma_unmap_sg', 'dma_map_sg_err',
  'dma_sync_sg_for_cpu', 'dma_sync_sg_for_device', 'dma_alloc', 'dma_alloc_pages', 'dma_alloc_sgt', 'dma_alloc_sgt_err',
  'dma_free', 'dma_free_pages', 'dma_free_sgt', 'swiotlb_bounced',
] as const;
export type TraceEventName = (typeof TRACE_EVENTS)[number];
const KNOWN = new Set<string>(TRACE_EVENTS);

/** decode_dma_data_direction's symbols (dma.h). */
export const TRACE_DIRS = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE', 'NONE'] as const;
export type TraceDir = (typeof TRACE_DIRS)[number];
/** A direction a streaming call may take. */
export type StreamDir = Exclude<TraceDir, 'NONE'>;

/** DMA_MAPPING_ERROR of a 32-bit dma_addr_t, as %llx or 0x-prefixed. */
const MAPPING_ERROR_32 = /^(?:0x)?ffffffff$/i;

export type TraceEvent =
  /** `skipSync`: DMA_ATTR_SKIP_CPU_SYNC among attrs (a map: no cacheline EEXIST report; an unmap: no copy back). */
  | { kind: 'map'; name: TraceEventName; device: string; dir: TraceDir; dma: Addr; size: number; phys: Addr; mmio: boolean; shared: boolean; skipSync: boolean }
  | { kind: 'unmap'; name: TraceEventName; device: string; dir: TraceDir; dma: Addr; size: number; resource: boolean; skipSync: boolean }
  | { kind: 'sync'; name: TraceEventName; device: string; dir: TraceDir; dma: Addr; size: number; forCpu: boolean }
  | { kind: 'map_sg'; name: TraceEventName; device: string; dir: TraceDir; dmas: Addr[]; sizes: number[]; phys: Addr[]; nents: number; ents: number; truncated: boolean; shared: boolean; skipSync: boolean }
  | { kind: 'map_sg_err'; name: TraceEventName; device: string }
  | { kind: 'unmap_sg'; name: TraceEventName; device: string; dir: TraceDir; phys: Addr[]; shared: boolean; skipSync: boolean }
  | { kind: 'sync_sg'; name: TraceEventName; device: string; dir: TraceDir; dmas: Addr[]; sizes: number[]; forCpu: boolean }
  /** `dir`: the _pages and _sgt forms' direction, when one is printed (6.13 on; dma_alloc's is not
   * the caller's, and before 6.18 it was unset, so it is not read). */
  | { kind: 'alloc'; name: TraceEventName; device: string; dma: Addr; size: number; failed: boolean; dir?: StreamDir; legacyFormat?: boolean }
  | { kind: 'free'; name: TraceEventName; device: string; dma: Addr; size: number; noop: boolean; dir?: StreamDir }
  | { kind: 'bounced'; name: TraceEventName; device: string; size: number; maskBits?: number; devAddr?: Addr };

/** What one line of trace text is. */
export type TraceLine =
  | { kind: 'event'; event: TraceEvent }
  /** Blank, a comment or header line, or another event. */
  | { kind: 'skip'; other?: string }
  /** The ring buffer overflowed: events are missing here ("CPU:N [LOST M EVENTS]"; trace-cmd's
   * "[M EVENTS DROPPED]"; without a count, `events` is 0). */
  | { kind: 'lost'; events: number };

export class TraceSyntaxError extends Error {}

// TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: [(+DELTA)] EVENT: FIELDS. TASK may hold spaces and
// dashes; the last "-digits" before the bracketed CPU ends it. trace-cmd report --ts-diff adds the delta.
// trace-cmd prints a clock that does not count in nanoseconds (-C boot, x86-tsc, counter; or
// --raw-ts) as a bare "%12d:" right after the CPU (trace-read.c time_format): 12 digits or more
// touch the bracket.
const PREFIX = /^\s*(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s*(?:\S+\s+)?(\d+(?:\.\d+)?):\s+(?:\(\+[\d.]+\)\s+)?(.*)$/;
const EVENT_NAME = /^[A-Za-z_]\w*$/;
const WHITESPACE = /^\s$/;
const HEADER = /^(?:cpus=\d+|version\s*=\s*\d+|CPU \d+ is empty|trace-cmd: .*)\s*$/;
// print_trace_line's "[LOST N EVENTS]" ("[LOST EVENTS]" when the count is unknown); trace-cmd's
// "[N EVENTS DROPPED]" / "[EVENTS DROPPED]".
const LOST = /^CPU:\s*\d+\s+\[(?:LOST (?:(\d+) )?EVENTS|(?:(\d+) )?EVENTS DROPPED)\]\s*$/;
/** One of our events somewhere in a line: never skipped as another tracer's. */
const OURS = new RegExp(`\\b(?:${TRACE_EVENTS.join('|')}):`);

const SHARED_FOLDER = new AddrFolder();

/** One line → what it is; a line that is none of the known shapes throws TraceSyntaxError.
 * `folder`: the trace's (traceAddr.ts); without one, a folder all such calls share. */
export function parseTraceLine(text: string, folder = SHARED_FOLDER): TraceLine {
  const h = traceLineHead(text);
  return h.kind === 'ours' ? { kind: 'event', event: parseFields(h.name, h.fields, folder) } : h;
}

/** A line up to its event's fields: what it is, and for one of our events its name and the text
 * of its fields, not yet read. */
type TraceHead = Exclude<TraceLine, { kind: 'event' }> | { kind: 'ours'; name: TraceEventName; fields: string };

export function traceLineHead(text: string): TraceHead {
  const t = text.trim();
  if (t === '' || t.startsWith('#') || HEADER.test(t)) return { kind: 'skip' };
  const lost = LOST.exec(t);
  if (lost) return { kind: 'lost', events: Number(lost[1] ?? lost[2] ?? 0) };
  // An event's stack trace (the stacktrace option) follows it as " => function" lines.
  if (t.startsWith('=>')) return { kind: 'skip' };
  const m = PREFIX.exec(text);
  if (!m) {
    // The latency format (options/latency-format, latency tracers) and function_graph's comments
    // lay events out otherwise.
    if (OURS.test(t)) throw new TraceSyntaxError('a dma event in a layout replay does not read (latency-format, function_graph or no context-info?): record it as trace-cmd report or /sys/kernel/tracing/trace print it with options/latency-format off and the nop tracer');
    if (/^\x17\x08Dtracing/.test(text) || text.includes('\0')) throw new TraceSyntaxError("binary data, not trace text: a trace.dat? print it with `trace-cmd report FILE > FILE.txt` and replay that"); // trace-cmd record's magic
    throw new TraceSyntaxError('not a trace line (expected TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS, as trace-cmd report and /sys/kernel/tracing/trace print)');
  }
  const rest = m[5]!;
  // EVENT: FIELDS, where a colon ends the name and whitespace (or the end) follows it. PREFIX's
  // last group holds no line terminator, so the fields are all the text after the colon.
  const colon = rest.indexOf(':');
  const name = colon > 0 ? rest.slice(0, colon) : '';
  // Other tracers' lines (function, <stack trace>) and other events are not ours.
  if (!EVENT_NAME.test(name) || !(colon + 1 === rest.length || WHITESPACE.test(rest[colon + 1]!))) {
    if (OURS.test(rest)) throw new TraceSyntaxError(`a dma event after something replay does not read: ${rest.slice(0, 40)}…`);
    // Our event name (or its start) without its colon: a line cut short or that lost its colon; not the function tracer's
    // entry of a function so named (6.12 dma_alloc_pages...): "<-parent", or the name alone or +0xOFF/0xSIZE (sym-offset).
    const word = /^[A-Za-z_]\w*/.exec(rest)?.[0], fn = /^\w+(\+0x[0-9a-f]+\/0x[0-9a-f]+)?\s*$/.exec(rest);
    if (word && !rest.includes('<-') && !(fn && (fn[1] || TRACE_EVENTS.includes(word as TraceEventName))) && TRACE_EVENTS.some((e) => e.startsWith(word))) {
      throw new TraceSyntaxError(`${shown(word)} where an event's name and its colon belong: the line is cut short or lost its colon (expected TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS)`);
    }
    return { kind: 'skip' };
  }
  if (!KNOWN.has(name)) return { kind: 'skip', other: name };
  // trace-cmd prints the raw fields of an event whose format libtraceevent could not read.
  if (rest.includes('[FAILED TO PARSE]')) throw new TraceSyntaxError('trace-cmd could not parse this event\'s format ([FAILED TO PARSE]); use a newer trace-cmd/libtraceevent, or read /sys/kernel/tracing/trace');
  return { kind: 'ours', name: name as TraceEventName, fields: rest.slice(colon + 1).trim() };
}

/**
 * The recording device of one of our events, for the device scan: its first field (swiotlb_bounced:
 * the word after "dev_name:"), read without the others, whose errors the replay itself reports
 * (the scan reads every line, the replay then every line again). Fields that do not start so
 * simply get the full parse, and its error. So a trace with several problems may be told another
 * one first than a full scan would find: a tie between devices (before a bad field of a line), or
 * a replay error on an earlier line (before a bad field of a later one); each is exit 2.
 */
export function eventDevice(name: TraceEventName, fields: string, folder: AddrFolder): string {
  let at = 0;
  if (name === 'swiotlb_bounced') at = fields.startsWith('dev_name: ') ? 10 : -1;
  if (at >= 0 && !OTHER_SPACE.test(fields)) {
    while (fields.charCodeAt(at) === 32) at++;
    const end = fields.indexOf(' ', at);
    const device = fields.slice(at, end < 0 ? fields.length : end);
    if (device !== '' && !device.includes('=')) return device;
  }
  return parseFields(name, fields, folder).device;
}

/** The fields of one of our events, by its TP_printk. */
function parseFields(name: TraceEventName, text: string, folder: AddrFolder): TraceEvent {
  const f = new Fields(name, text, folder);
  switch (name) {
    case 'dma_map_page':
    case 'dma_map_phys':
    case 'dma_map_resource': {
      const dma = f.addr('dma_addr');
      return {
        kind: 'map', name, device: f.device, dir: f.dir(), size: f.size('size'), phys: f.addr('phys_addr', true),
        // DMA_MAPPING_ERROR of a 32-bit dma_addr_t (arm without LPAE, x86-32 without PAE) is ffffffff.
        dma: MAPPING_ERROR_32.test(f.str('dma_addr')) ? ADDR_ERROR : dma,
        // dma_map_resource, or (after it was folded into dma_map_phys) the MMIO attribute.
        mmio: name === 'dma_map_resource' || f.attr('MMIO'),
        // Memory a confidential guest already shares with the host: dma-direct maps it as it is.
        shared: f.attr('CC_SHARED'), skipSync: f.attr('SKIP_CPU_SYNC'),
      };
    }
    case 'dma_unmap_page':
    case 'dma_unmap_phys':
    case 'dma_unmap_resource':
      return { kind: 'unmap', name, device: f.device, dir: f.dir(), dma: f.addr('dma_addr'), size: f.size('size'), resource: name === 'dma_unmap_resource' || f.attr('MMIO'), skipSync: f.attr('SKIP_CPU_SYNC') };
    case 'dma_sync_single_for_cpu':
    case 'dma_sync_single_for_device':
      return { kind: 'sync', name, device: f.device, dir: f.dir(), dma: f.addr('dma_addr'), size: f.size('size'), forCpu: name.endsWith('cpu') };
    case 'dma_map_sg': {
      const dmas = f.addrs('dma_addrs'), sizes = f.sizes('sizes'), phys = f.addrs('phys_addrs', true);
      if (sizes.length !== dmas.length || dmas.length > phys.length) f.fail(sizes.length !== dmas.length ? `dma_addrs has ${dmas.length} entries, sizes ${sizes.length}` : `dma_addrs has ${dmas.length} entries, phys_addrs only ${phys.length} (a map gives at most one segment per entry)`);
      const nents = f.count('nents', phys.length), ents = f.count('ents', dmas.length);
      return { kind: 'map_sg', name, device: f.device, dir: f.dir(), dmas, sizes, phys, nents, ents, truncated: f.flag('[TRUNCATED]'), shared: f.attr('CC_SHARED'), skipSync: f.attr('SKIP_CPU_SYNC') };
    }
    case 'dma_map_sg_err':
      return { kind: 'map_sg_err', name, device: f.device };
    case 'dma_unmap_sg':
      return { kind: 'unmap_sg', name, device: f.device, dir: f.dir(), phys: f.addrs('phys_addrs', true), shared: f.attr('CC_SHARED'), skipSync: f.attr('SKIP_CPU_SYNC') };
    case 'dma_sync_sg_for_cpu':
    case 'dma_sync_sg_for_device': {
      const dmas = f.addrs('dma_addrs'), sizes = f.sizes('sizes');
      if (sizes.length !== dmas.length) f.fail(`dma_addrs has ${dmas.length} entries, sizes ${sizes.length}`);
      return { kind: 'sync_sg', name, device: f.device, dir: f.dir(), dmas, sizes, forCpu: name.endsWith('cpu') };
    }
    case 'dma_alloc':
    case 'dma_alloc_pages':
    case 'dma_alloc_sgt': {
      const dma = f.addr('dma_addr');
      // dma_alloc_attrs traces failures too, with virt_addr NULL and whatever the handle held
      // (0, DMA_MAPPING_ERROR or stale). 6.12's dma_alloc prints no dir= (6.13 added it).
      const virt = name === 'dma_alloc_sgt' ? 'x' : f.str('virt_addr', 'x');
      return { kind: 'alloc', name, device: f.device, dma, size: f.size('size'), failed: dma === ADDR_ERROR || NULL_POINTER.test(virt), ...(name !== 'dma_alloc' ? f.dirIfAny() : {}), ...(name === 'dma_alloc' && !f.has('dir') ? { legacyFormat: true } : {}) };
    }
    case 'dma_alloc_sgt_err':
      return { kind: 'alloc', name, device: f.device, dma: 0, size: f.size('size'), failed: true };
    case 'dma_free':
    case 'dma_free_pages':
    case 'dma_free_sgt':
      // Kernels that trace failed allocations also trace dma_free_attrs before it returns on a NULL
      // cpu_addr (6.12.0 returns first, untraced): such a free frees nothing.
      return { kind: 'free', name, device: f.device, dma: f.addr('dma_addr'), size: f.size('size'), noop: NULL_POINTER.test(f.str('virt_addr', 'x')), ...(name !== 'dma_free' ? f.dirIfAny() : {}) };
    case 'swiotlb_bounced':
      return { kind: 'bounced', name, device: f.device, size: f.size('size'), maskBits: maskBits(f.str('dma_mask', '')), ...(f.has('dev_addr') ? { devAddr: f.addr('dev_addr') } : {}) };
  }
}

/** A NULL pointer as %p prints it: the kernel's zeros (or "(null)"), libtraceevent's "(nil)". */
const NULL_POINTER = /^(?:0x)?0+$|^\((?:null|nil)\)$/;

/** Any whitespace but the space: the fields need the general split. */
const OTHER_SPACE = /[^\S ]/;

/** The "key=value" words after the device name (a handful per event: arrays, searched from the
 * end so that a repeated key's last value counts). */
class Fields {
  readonly device: string;
  private readonly keys: string[] = [];
  private readonly values: string[] = [];
  private readonly words: string[] = [];

  constructor(private readonly name: TraceEventName, text: string, private readonly folder: AddrFolder) {
    const tokens = (OTHER_SPACE.test(text) ? text.split(/\s+/) : text.split(' ')).filter((w) => w !== '');
    if (name === 'swiotlb_bounced') {
      if (tokens[0] !== 'dev_name:') this.fail('expected "dev_name: DEVICE" first');
      tokens.shift();
    }
    const device = tokens.shift();
    if (device === undefined || device.includes('=')) this.fail('expected the device name first');
    this.device = device!;
    for (let i = 0; i < tokens.length; i++) {
      let tok = tokens[i]!;
      const eq = tok.indexOf('=');
      if (eq <= 0) {
        this.words.push(tok);
        continue;
      }
      // An array printer that put spaces after its commas: join up to the closing brace.
      while (tok[eq + 1] === '{' && !tok.endsWith('}') && i + 1 < tokens.length) tok += tokens[++i];
      this.keys.push(tok.slice(0, eq));
      this.values.push(tok.slice(eq + 1));
    }
  }

  private value(key: string): string | undefined {
    const i = this.keys.lastIndexOf(key);
    return i < 0 ? undefined : this.values[i];
  }

  fail(what: string): never {
    throw new TraceSyntaxError(`${this.name}: ${what}`);
  }

  str(key: string, dflt?: string): string {
    const v = this.value(key);
    if (v !== undefined) return v;
    if (dflt !== undefined) return dflt;
    return this.fail(`missing ${key}=`);
  }

  has(key: string): boolean {
    return this.keys.includes(key);
  }

  flag(word: string): boolean {
    return this.words.includes(word);
  }

  /** Is this DMA attribute among attrs= (decode_dma_attrs joins them with '|')? */
  attr(symbol: string): boolean {
    return this.str('attrs', '').split('|').includes(symbol);
  }

  dir(): TraceDir {
    const v = this.str('dir');
    if (!(TRACE_DIRS as readonly string[]).includes(v)) this.fail(`dir=${v} is not one of ${TRACE_DIRS.join(', ')}`);
    return v as TraceDir;
  }

  /** Why `v` did not read as an address. */
  private notAddr(v: string): string {
    return /^(?:0x)?[0-9a-fA-F]{14,16}$/.test(v) ? `is one more 16 TiB region of addresses at or above 2^52 than the ${MAX_REGIONS} one trace may use` : 'is not a hexadecimal address';
  }

  /** dir= when it names a direction ({} when absent, NONE or a number: an unset field). */
  dirIfAny(): { dir?: StreamDir } {
    const v = this.value('dir');
    return v !== undefined && v !== 'NONE' && (TRACE_DIRS as readonly string[]).includes(v) ? { dir: v as StreamDir } : {};
  }

  /** `phys`: a physical address, below 2^52, where x86-64's (5-level paging) and arm64's (52-bit
   * PAs) end; sparc64's MAX_PHYSMEM_BITS is 53, not read here. Only DMA addresses fold. */
  addr(key: string, phys = false): Addr {
    const v = this.str(key);
    const a = parseAddr(v, this.folder);
    if (a === null) this.fail(`${key}=${v} ${this.notAddr(v)}`);
    return phys ? this.physical(key, a!, v) : a!;
  }

  private physical(key: string, a: Addr, v: string): Addr {
    if (a === ADDR_ERROR || a >= FOLD_BASE) this.fail(`${key}: ${v} lies at or above 2^52, where x86-64 and arm64 physical addresses end: replay reads physical addresses below 2^52 only`);
    return a;
  }

  size(key: string): number {
    const v = this.str(key);
    if (!/^\d{1,15}$/.test(v)) this.fail(`${key}=${v} is not a size in bytes`);
    return Number(v);
  }

  private array(key: string): string[] {
    const v = this.str(key);
    if (!v.startsWith('{') || !v.endsWith('}')) this.fail(`${key}=${v} is not an array ({0x…,0x…}, as the kernel prints it; an older libtraceevent's trace-cmd prints arrays otherwise: report it with a newer trace-cmd, or read /sys/kernel/tracing/trace)`);
    const inner = v.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((e) => e.trim());
  }

  addrs(key: string, phys = false): Addr[] {
    return this.array(key).map((e) => {
      const a = e.startsWith('0x') ? parseAddr(e, this.folder) : null;
      if (a === null) this.fail(`${key}: ${e} ${e.startsWith('0x') ? this.notAddr(e) : 'is not a 0x-prefixed hexadecimal address'}`);
      return phys ? this.physical(key, a!, e) : a!;
    });
  }

  sizes(key: string): number[] {
    return this.array(key).map((e) => {
      const a = e.startsWith('0x') ? parseAddr(e) : /^\d+$/.test(e) ? Number(e) : null;
      if (a === null || a === ADDR_ERROR || a > 0xffff_ffff) this.fail(`${key}: ${e} is not a length`);
      return a!;
    });
  }

  /** "nents=8/8": the entries printed and the list's full length (later kernels only). */
  count(key: string, printed: number): number {
    const v = this.value(key);
    if (v === undefined) return printed;
    const m = /^(\d+)\/(\d+)$/.exec(v);
    if (!m) this.fail(`${key}=${v} is not PRINTED/FULL`);
    if (Number(m![1]) !== printed) this.fail(`${key}=${v} but ${printed} entries are printed`);
    return Number(m![2]);
  }
}

export function deviceList(devices: { name: string; events: number }[]): string {
  return devices.map((d) => `${escapeText(d.name)} (${d.events} event${d.events === 1 ? '' : 's'})`).join(', ');
}

/** Why a trace with none of our events cannot be replayed, and how to record one that can. */
export const NO_TRACE_EVENTS = 'no dma or swiotlb trace events (record with: trace-cmd record -e dma -e swiotlb …)';
