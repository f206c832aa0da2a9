// DMA-API replay scripts (INTERFACE.md "Replay scripts"): JSON Lines in, the engine's op stream
// out. A script is streamed line by line; any line that is not a well-formed operation on a
// known buffer is a usage error naming SCRIPT:LINE. DMA-API misuse is not an error here: the
// engine simulates it and dma-debug reports it.
import { constants, openSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { type Readable, addAbortSignal } from 'node:stream';
import { CACHINGS, Caching, Dir, DIRS, MAX_ALLOC_PAGES, MAX_TT_PAGES, Op, PAGE_SIZE, UNIT_SIZE, Zone, ZONES } from '../engine/abi.js';
import { UsageError, escapeText, fsReason, listOf, msg, oneLine, shown } from '../errors.js';
import type { OpSink } from './sink.js';
import type { DriverProfile } from './workloads.js';

export const REPLAY_OPS = [
  'alloc', 'free', 'alloc_coherent', 'free_coherent', 'exchange', 'map', 'mapping_error', 'sync_for_device',
  'sync_for_cpu', 'unmap', 'cpu_write', 'cpu_read', 'dev_write', 'dev_read', 'gart_bind', 'gart_unbind',
  'gpu_write', 'gpu_read', 'tt_populate', 'tt_bind', 'tt_unbind', 'tt_sync', 'tt_unpopulate',
] as const;

/** Each op's fields besides "op" (INTERFACE.md "Replay scripts"): any other is a usage error, so a
 * misspelt optional field ("ofset") is never silently taken as its default. */
const RANGE = ['buf', 'offset', 'size'] as const;
const FIELDS: Record<(typeof REPLAY_OPS)[number], readonly string[]> = {
  alloc: ['buf', 'pages', 'zone'], free: ['buf'], alloc_coherent: ['buf', 'pages'], free_coherent: ['buf'],
  exchange: ['buf', 'addressBits'], map: ['buf', 'dir', 'offset', 'size'], mapping_error: ['buf'],
  sync_for_device: ['buf', 'dir', 'offset', 'size'], sync_for_cpu: ['buf', 'dir', 'offset', 'size'],
  unmap: ['buf', 'dir', 'size'], cpu_write: RANGE, cpu_read: RANGE, dev_write: RANGE, dev_read: RANGE,
  gart_bind: ['buf', 'gpuPage'], gart_unbind: ['gpuPage', 'pages'], gpu_write: ['gpuPage', 'pages'],
  gpu_read: ['gpuPage', 'pages'], tt_populate: ['buf', 'pages', 'caching'], tt_bind: ['buf', 'gpuPage'],
  tt_unbind: ['buf'], tt_sync: ['buf', 'for'], tt_unpopulate: ['buf'],
};

/** The ops that act on a TTM tt (besides cpu_write and cpu_read, which work on both). */
const TT_OPS = ['tt_bind', 'tt_unbind', 'tt_sync', 'tt_unpopulate'];
const BOTH_OPS = ['cpu_write', 'cpu_read'];

type Json = Record<string, unknown>;

interface Buffer { slot: number; pages: number; tt: boolean }

export interface ReplayLimits {
  maxBuffers: number;
  gartPages: number;
  payloadBytes: number;
  /** The TTM path of --strategy behind tt_* ops; null on an AGP device. */
  tt: DriverProfile | null;
}

/** Stateful translator: names to slots, fields to words. One per script. */
export class ReplayTranslator {
  private readonly buffers = new Map<string, Buffer>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly granule: number;
  /** Buffer id → script name as reports show it, escaped (the engine numbers every alloc from 1). */
  readonly names: string[] = [''];

  constructor(private readonly file: string, private readonly limits: ReplayLimits, private readonly sink: OpSink) {
    this.granule = limits.payloadBytes === PAGE_SIZE ? 1 : UNIT_SIZE;
  }

  line(text: string, lineNo: number): void {
    if (text.trim() === '') return;
    const fail = (what: string): never => {
      throw new UsageError(msg.scriptLine(this.file, lineNo, what));
    };
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (e) {
      // Kernel trace text given without --format ftrace: say so.
      const trace = /^\s*#|^cpus=\d+\s*$|^version = \d|\[\d+\]\s.*\d+\.\d+:\s+\w+:/.test(text) ? '; kernel trace text? add --format ftrace' : '';
      fail(`not valid JSON (${oneLine((e as Error).message)})${trace}`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) fail('each line must be a JSON object');
    const r = rec as Json;
    const op = r.op;
    if (typeof op !== 'string') fail(`"op" must be a string (valid: ${listOf(REPLAY_OPS)})`);
    if (!(REPLAY_OPS as readonly string[]).includes(op as string)) fail(`unknown op ${shown(op as string)} (valid: ${listOf(REPLAY_OPS)})`);
    const fields = FIELDS[op as (typeof REPLAY_OPS)[number]];
    for (const k of Object.keys(r)) {
      if (k !== 'op' && !fields.includes(k)) fail(`${op}: unknown field ${shown(k)} (valid: ${listOf(['op', ...fields])})`);
    }
    const f = new Fields(r, fail);
    const emit = (code: number, a = 0, b = 0, c = 0, d = 0, e = 0, g = 0) => this.sink.push(code, a, b, c, d, lineNo, e, g);

    switch (op) {
      case 'alloc':
      case 'alloc_coherent': {
        const name = f.name('buf');
        if (this.buffers.has(name)) fail(`buffer ${shown(name)} is already allocated`);
        const pages = f.int('pages', 1, MAX_ALLOC_PAGES);
        const slot = this.takeSlot(fail);
        this.buffers.set(name, { slot, pages, tt: false });
        this.names.push(escapeText(name));
        if (op === 'alloc') emit(Op.ALLOC, slot, pages, Zone[f.choice('zone', ZONES, 'dma32')]);
        else emit(Op.ALLOC_COHERENT, slot, pages);
        return;
      }
      case 'free':
      case 'free_coherent':
      case 'tt_unpopulate': {
        const name = f.name('buf');
        const b = this.buffer(name, fail, op);
        this.buffers.delete(name);
        this.freeSlots.push(b.slot);
        emit(op === 'free' ? Op.FREE : op === 'free_coherent' ? Op.FREE_COHERENT : Op.TT_UNPOPULATE, b.slot);
        return;
      }
      case 'tt_populate': {
        const tt = this.limits.tt;
        if (!tt) fail('tt_* ops need a TTM device (r100, r600, nv04, nv50): the agp device binds through its GATT');
        const name = f.name('buf');
        if (this.buffers.has(name)) fail(`buffer ${shown(name)} is already allocated`);
        const pages = f.int('pages', 1, MAX_TT_PAGES);
        const caching = Caching[f.choice('caching', CACHINGS, CACHINGS[tt!.caching])];
        const slot = this.takeSlot(fail);
        this.buffers.set(name, { slot, pages, tt: true });
        this.names.push(escapeText(name));
        emit(Op.TT_POPULATE, slot, pages, tt!.pool, caching);
        return;
      }
      case 'tt_bind': {
        const b = this.buffer(f.name('buf'), fail, op);
        const gpuPage = this.gpuRange(f, b, fail);
        emit(Op.TT_BIND, b.slot, gpuPage, this.limits.tt!.bindMode);
        return;
      }
      case 'tt_unbind':
        emit(Op.TT_UNBIND, this.buffer(f.name('buf'), fail, op).slot);
        return;
      case 'tt_sync': {
        const b = this.buffer(f.name('buf'), fail, op);
        emit(Op.TT_SYNC, b.slot, f.choice('for', ['device', 'cpu'] as const) === 'cpu' ? 1 : 0);
        return;
      }
      case 'exchange': {
        const b = this.buffer(f.name('buf'), fail, op);
        emit(Op.EXCHANGE, b.slot, f.int('addressBits', 12, 64));
        return;
      }
      case 'mapping_error':
        emit(Op.MAPPING_ERROR, this.buffer(f.name('buf'), fail, op).slot);
        return;
      case 'map':
      case 'sync_for_device':
      case 'sync_for_cpu': {
        const b = this.buffer(f.name('buf'), fail, op);
        const dir = Dir[f.choice('dir', DIRS)];
        const [offset, size] = this.range(f, b, fail);
        const code = op === 'map' ? Op.MAP : op === 'sync_for_device' ? Op.SYNC_FOR_DEVICE : Op.SYNC_FOR_CPU;
        // A sync of part of a mapping is the call a driver makes for it, dma_sync_single_range_for_*
        // (handle, offset into the mapping, size): the sync op's word f (1), which only 2.6.37's
        // dma-debug tells from a sync at handle + offset (driver/bufferOps.ts; 6.12 makes them one).
        if (code === Op.MAP) emit(code, b.slot, dir, offset, size);
        else emit(code, b.slot, dir, offset, size, 0, 1);
        return;
      }
      case 'unmap': {
        const b = this.buffer(f.name('buf'), fail, op);
        const dir = Dir[f.choice('dir', DIRS)];
        const size = f.int('size', 1, b.pages * PAGE_SIZE, b.pages * PAGE_SIZE);
        if (size % this.granule !== 0) fail(`"size" ${size} is not a multiple of ${this.granule} (use --payload-bytes 4096 for byte-exact sizes)`);
        emit(Op.UNMAP, b.slot, dir, size);
        return;
      }
      case 'cpu_write':
      case 'cpu_read':
      case 'dev_write':
      case 'dev_read': {
        const b = this.buffer(f.name('buf'), fail, op);
        const [offset, size] = this.range(f, b, fail);
        const code = { cpu_write: Op.CPU_WRITE, cpu_read: Op.CPU_READ, dev_write: Op.DEV_WRITE, dev_read: Op.DEV_READ }[op];
        emit(code, b.slot, offset, size);
        return;
      }
      case 'gart_bind': {
        const b = this.buffer(f.name('buf'), fail, op);
        emit(Op.GART_BIND, b.slot, this.gpuRange(f, b, fail));
        return;
      }
      case 'gart_unbind':
      case 'gpu_write':
      case 'gpu_read': {
        const gpuPage = f.int('gpuPage', 0, this.limits.gartPages - 1);
        const pages = f.int('pages', 1, this.limits.gartPages - gpuPage, 1);
        const code = op === 'gart_unbind' ? Op.GART_UNBIND : op === 'gpu_write' ? Op.GPU_WRITE : Op.GPU_READ;
        emit(code, gpuPage, pages);
        return;
      }
    }
  }

  private takeSlot(fail: (w: string) => never): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.nextSlot >= this.limits.maxBuffers) fail(`more than ${this.limits.maxBuffers} live buffers`);
    return this.nextSlot++;
  }

  /** The buffer a line names; `op` must suit what it is (a TTM tt takes tt_* ops, cpu_write and cpu_read). */
  private buffer(name: string, fail: (w: string) => never, op?: string): Buffer {
    const b = this.buffers.get(name);
    if (!b) fail(`unknown buffer ${shown(name)} (not allocated, or already freed)`);
    if (op && !BOTH_OPS.includes(op) && b!.tt !== TT_OPS.includes(op)) {
      fail(b!.tt ? `${op} on ${shown(name)}, a TTM tt (use ${listOf([...TT_OPS, ...BOTH_OPS])})` : `${op} needs a TTM tt; ${shown(name)} was allocated with alloc or alloc_coherent`);
    }
    return b!;
  }

  /** A bind's first GPU page: the whole buffer must fit in the aperture. */
  private gpuRange(f: Fields, b: Buffer, fail: (w: string) => never): number {
    const gpuPage = f.int('gpuPage', 0, this.limits.gartPages - 1);
    if (gpuPage + b.pages > this.limits.gartPages) fail(`"gpuPage" ${gpuPage} + ${b.pages} pages runs past the ${this.limits.tt ? 'GART' : 'GART (the agp device\'s GATT)'} (${this.limits.gartPages} pages)`);
    return gpuPage;
  }

  private range(f: Fields, b: Buffer, fail: (w: string) => never): [number, number] {
    const bytes = b.pages * PAGE_SIZE;
    const offset = f.int('offset', 0, bytes - 1, 0);
    const size = f.int('size', 1, bytes, bytes - offset);
    if (offset + size > bytes) fail(`"offset" ${offset} + "size" ${size} runs past the buffer (${bytes} bytes)`);
    if (offset % this.granule !== 0 || size % this.granule !== 0) {
      fail(`"offset" and "size" must be multiples of ${UNIT_SIZE} unless --payload-bytes is 4096`);
    }
    return [offset, size];
  }
}

class Fields {
  constructor(private readonly r: Json, private readonly fail: (w: string) => never) {}

  name(key: string): string {
    const v = this.r[key];
    if (typeof v !== 'string' || v === '') this.fail(`"${key}" must be a non-empty string`);
    return v as string;
  }

  int(key: string, min: number, max: number, dflt?: number): number {
    const v = this.r[key];
    if (v === undefined && dflt !== undefined) return dflt;
    if (v === undefined) this.fail(`missing "${key}"`);
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`"${key}" must be an integer`);
    if ((v as number) < min || (v as number) > max) this.fail(`"${key}" ${v} is outside ${min}..${max}`);
    return v as number;
  }

  choice<T extends string>(key: string, valid: readonly T[], dflt?: T): T {
    const v = this.r[key];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || !(valid as readonly string[]).includes(v)) {
      this.fail(`"${key}" must be one of ${listOf(valid)}`);
    }
    return v as T;
  }
}

/** How messages name standard input (`-` as SCRIPT). */
export const STDIN_NAME = '<stdin>';

/** Streams SCRIPT (`-`: standard input) through the translator. A script that cannot be opened
 * or read is a usage error at line 0 (or the line it stopped at). */
export async function translateScript(path: string, limits: ReplayLimits, sink: OpSink, signal?: AbortSignal): Promise<ReplayTranslator> {
  const name = path === '-' ? STDIN_NAME : path;
  const t = new ReplayTranslator(name, limits, sink);
  let ops = 0;
  await readLines(path, (text, lineNo) => {
    const before = sink.count;
    t.line(text, lineNo);
    ops += sink.count - before;
  }, signal);
  if (ops === 0) throw new UsageError(msg.scriptLine(name, 0, msg.scriptEmpty));
  return t;
}

/** Feeds each line of PATH (`-`: standard input; a leading UTF-8 BOM skipped) to `each`, in
 * bounded memory; returns the number of lines. Lines end at \n, \r\n or a lone \r (as
 * readline splits them), read a chunk at a time; `unterminated` is true for a last line with no
 * break after it (a file cut short ends so). A file that cannot be opened or read is a usage
 * error at line 0 (or the line it stopped at). */
export async function readLines(path: string, each: (text: string, lineNo: number, unterminated: boolean) => void, signal?: AbortSignal): Promise<number> {
  const name = path === '-' ? STDIN_NAME : path;
  const fail = (line: number, what: string) => new UsageError(msg.scriptLine(name, line, what));
  const input = path === '-' ? process.stdin.setEncoding('utf8') : await openScript(path, (why) => fail(0, msg.cannotRead(why)));
  if (signal) addAbortSignal(signal, input); // Ctrl-C ends a read that waits on a silent pipe
  let lineNo = 0;
  const lines = new LineSplitter((text, unterminated) => {
    lineNo++;
    each(lineNo === 1 && text.startsWith(BOM) ? text.slice(BOM.length) : text, lineNo, unterminated);
  });
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      signal?.throwIfAborted();
      lines.push(chunk);
    }
    lines.end();
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof UsageError) throw e;
    throw fail(lineNo + 1, msg.cannotRead(fsReason(e)));
  } finally {
    if (input !== process.stdin) input.destroy();
  }
  signal?.throwIfAborted();
  return lineNo;
}

/** Text in chunks → lines, each given to `emit` without its break: \n, \r\n or a lone \r, as
 * readline splits them (a chunk may end between \r and \n). */
export class LineSplitter {
  /** The text after the last break: the start of a line a later chunk ends. */
  private rest = '';
  /** The last chunk ended in \r (kept out of `rest`): a break, unless the next chunk starts with \n. */
  private cr = false;

  /** `emit` gets each line and whether it is a last line with no break after it. */
  constructor(private readonly emit: (line: string, unterminated: boolean) => void) {}

  push(chunk: string): void {
    if (chunk === '') return;
    // A chunk inside a long line is only appended: the line is split once, when it ends.
    if (!this.cr && !BREAK_CHAR.test(chunk)) {
      this.rest += chunk;
      return;
    }
    let text = this.rest + (this.cr ? '\r' : '') + chunk;
    this.cr = chunk.endsWith('\r');
    if (this.cr) text = text.slice(0, -1);
    const lines = text.split(LINE_BREAK);
    this.rest = lines.pop()!;
    for (const line of lines) this.emit(line, false);
  }

  /** The input ended: text after the last break, or before a final \r, is a line of its own. */
  end(): void {
    const [last, cr] = [this.rest, this.cr];
    [this.rest, this.cr] = ['', false];
    if (last !== '' || cr) this.emit(last, last !== '' && !cr);
  }
}

const BREAK_CHAR = /[\r\n]/;
const LINE_BREAK = /\r\n|\n|\r/;
const BOM = '\uFEFF';

/** Opens a script file: a regular file or a pipe (a FIFO, `<(…)`), never a directory or a device.
 * A pipe is read through the event loop (a socket), not by a thread blocked in read(2), so that
 * Ctrl-C ends the run even while the writer is silent. */
async function openScript(path: string, cannot: (why: string) => UsageError): Promise<Readable> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    throw cannot(fsReason(e));
  }
  if (info.isDirectory()) throw cannot(msg.scriptIsDirectory);
  if (!info.isFile() && !info.isFIFO()) throw cannot(msg.scriptNotFile);
  try {
    if (info.isFIFO()) return new Socket({ fd: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false }).setEncoding('utf8');
    return (await open(path, 'r')).createReadStream({ encoding: 'utf8' });
  } catch (e) {
    throw cannot(fsReason(e));
  }
}
