// Who touches memory and how the address they use reaches RAM (no single kernel file): the CPU
// through p2m, the device through its dma handle (identity bus = machine address, or the IOMMU),
// and the swiotlb copies between original and bounce slots. Stamps and payload bytes move here.
import { PAGE_SIZE, Reader, UNIT_SIZE, ViolationKind } from '../engine/abi.js';
import { bufferPhys, pageHandle, type Buffer } from './buffers.js';
import { DMA_ERROR } from './gart.js';
import { DEV_BIT, fillPayload, payloadByte, type Stamp } from './memory.js';
import type { Model } from './model.js';
import { classify, type Described, type Kind } from './oracle.js';

/** Maps an address of the logical side (guest physical) to a machine address, or -1. */
export type Translate = (logical: number) => number;

/** A write op's stamp: its version is the op's index + 1, so a stamp names the op that wrote it. */
export function nextStamp(model: Model, bufId: number, dev: boolean): Stamp {
  return { hi: bufId, lo: ((dev ? DEV_BIT : 0) | ((model.op + 1) & 0x7fff_ffff)) >>> 0 };
}

/** Where a device access to `bus` lands in machine memory, or -1 (fault / nothing there). */
export function busToMachine(model: Model, bus: number): number {
  if (bus < 0) return -1;
  const machine = model.iommu ? model.iommu.translate(bus) : bus;
  return machine >= 0 && machine < model.ram.bytes ? machine : -1;
}

export function cpuTranslate(model: Model): Translate {
  return (phys) => model.machine.physToMachine(phys);
}

/** The device reaching buffer bytes through the handle of each page. */
export function deviceTranslate(model: Model, buf: Buffer): Translate {
  const base = bufferPhys(buf);
  return (phys) => {
    const i = Math.floor((phys - base) / PAGE_SIZE);
    const handle = pageHandle(buf, i);
    return handle === DMA_ERROR ? -1 : busToMachine(model, handle + ((phys - base) % PAGE_SIZE));
  };
}

/** Bytes until the next 2 KiB boundary of either side. */
function chunkLength(logical: number, machine: number, end: number): number {
  let len = Math.min(end - logical, UNIT_SIZE - (logical % UNIT_SIZE));
  if (machine >= 0) len = Math.min(len, UNIT_SIZE - (machine % UNIT_SIZE));
  return len;
}

/**
 * One write operation's effect on [start, end) of the logical side: every machine unit it
 * touches takes the stamp (dropped where nothing is there) and, if `logical`, so does expected.
 */
export function writeRange(model: Model, s: Stamp, start: number, end: number, translate: Translate, logical: boolean): void {
  const { ram, expected } = model;
  for (let pos = start; pos < end; ) {
    const machine = translate(pos);
    const len = chunkLength(pos, machine, end);
    if (logical) expected.setStampAt(pos, s.hi, s.lo);
    if (machine >= 0) ram.setStampAt(machine, s.hi, s.lo);
    if (ram.payloadBytes > 0) writePayload(model, s, pos, len, machine, logical);
    pos += len;
  }
}

/** The payload part of one write chunk: logical bytes [pos, pos+len) reaching `machine` (D18). */
function writePayload(model: Model, s: Stamp, pos: number, len: number, machine: number, logical: boolean): void {
  const { ram, expected, ram: { payloadBytes } } = model;
  const k0 = pos % PAGE_SIZE;
  if (k0 >= payloadBytes) return;
  const top = Math.min(len, payloadBytes - k0);
  const shadow = logical ? expected.pageBytes(pos, true) : undefined;
  if (shadow) fillPayload(shadow, s, k0, k0 + top);
  // The machine side may sit at another offset (a bounce slot, a shifted handle): it keeps the
  // writer's bytes wherever its unit tracks them.
  if (machine < 0) return;
  for (let j = 0; j < top; j++) ram.setByteAt(machine + j, payloadByte(s, k0 + j));
}

/** What a page read reports if it fails: everything but the unit-level fields. */
export interface PageContext {
  reader: number;
  pfn: number;
  dmaAddr: bigint;
  gpuPage: number;
  pte: bigint;
  bufId: number;
}

/** Checks a read of [start, end), all inside one logical page, and counts it if it fails. */
export function readPage(model: Model, start: number, end: number, translate: Translate, ctx: PageContext): void {
  const { ram, expected } = model;
  const pageBase = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
  let worst: Kind = ViolationKind.none;
  let worstUnit = 0, worstMachine = -1;
  for (let unit = 0; unit * UNIT_SIZE < PAGE_SIZE; unit++) {
    const us = Math.max(start, pageBase + unit * UNIT_SIZE);
    const ue = Math.min(end, pageBase + (unit + 1) * UNIT_SIZE);
    if (us >= ue) continue;
    const machine = translate(us);
    let kind = classify(ctx.reader === Reader.cpu, ram.hiAt(machine), ram.loAt(machine), expected.hiAt(us), expected.loAt(us));
    if (kind === ViolationKind.none && ram.payloadBytes > 0 && bytesDiffer(model, us, ue, translate)) kind = ViolationKind.stale;
    if (kind > worst) {
      worst = kind;
      worstUnit = unit;
      worstMachine = machine;
    }
  }
  if (worst === ViolationKind.none) return;
  const unitAddr = pageBase + worstUnit * UNIT_SIZE;
  const firstByte = Math.max(start, unitAddr);
  model.oracle.failPage(worst, (): Described => ({
    kind: worst, op: model.op, reader: ctx.reader, pfn: ctx.pfn,
    mfn: worstMachine >= 0 ? Math.floor(worstMachine / PAGE_SIZE) : -1,
    dmaAddr: ctx.dmaAddr, gpuPage: ctx.gpuPage, pte: ctx.pte, unit: worstUnit,
    seenHi: ram.hiAt(worstMachine), seenLo: ram.loAt(worstMachine),
    expHi: expected.hiAt(firstByte), expLo: expected.loAt(firstByte), bufId: ctx.bufId,
  }));
}

function bytesDiffer(model: Model, start: number, end: number, translate: Translate): boolean {
  const { ram, expected, ram: { payloadBytes } } = model;
  for (let pos = start; pos < end; ) {
    const machine = translate(pos);
    const len = chunkLength(pos, machine, end);
    const k0 = pos % PAGE_SIZE;
    const shadow = expected.pageBytes(pos, false);
    for (let j = 0; j < len && k0 + j < payloadBytes; j++) {
      const seen = machine >= 0 ? ram.byteAt(machine + j) : 0;
      if (seen !== (shadow ? shadow[k0 + j] : 0)) return true;
    }
    pos += len;
  }
  return false;
}

/** A memcpy between two guest physical ranges (swiotlb bounce): stamps and bytes move. */
export function copyPhys(model: Model, src: number, dst: number, size: number): void {
  const { ram, machine: m } = model;
  for (let pos = 0; pos < size; ) {
    const s = src + pos, d = dst + pos;
    const len = Math.min(size - pos, UNIT_SIZE - (s % UNIT_SIZE), UNIT_SIZE - (d % UNIT_SIZE));
    const ms = m.physToMachine(s), md = m.physToMachine(d);
    if (md >= 0) {
      // A destination unit takes the stamp of the source unit holding its first copied byte.
      if (pos === 0 || d % UNIT_SIZE === 0) ram.setStampAt(md, ram.hiAt(ms), ram.loAt(ms));
      if (ram.payloadBytes > 0) copyPayload(model, ms, md, len);
    }
    pos += len;
  }
}

/** Payload bytes of one copy chunk (both sides inside one unit each): each tracked byte moves (D18). */
function copyPayload(model: Model, from: number, to: number, len: number): void {
  const { ram } = model;
  for (let j = 0; j < len; j++) ram.setByteAt(to + j, from >= 0 ? ram.byteAt(from + j) : 0);
}

/** D4: a CPU read reports the dma address the driver holds for the page, or -1 when it holds none. */
function cpuViolationHandle(buf: Buffer, i: number): number {
  const m = buf.mapping;
  const at = i * PAGE_SIZE;
  const held = buf.kind === 'coherent' || (m !== null && at >= m.offset && at < m.offset + m.size);
  return held ? pageHandle(buf, i) : DMA_ERROR;
}

/** Pages of a buffer that [offset, offset + size) touches. */
export function pagesTouched(offset: number, size: number): number {
  if (size <= 0) return 0;
  return Math.floor((offset + size - 1) / PAGE_SIZE) - Math.floor(offset / PAGE_SIZE) + 1;
}

/** cpu_write / dev_write / cpu_read / dev_read of buffer bytes [offset, offset + size). */
export function bufferAccess(model: Model, buf: Buffer, offset: number, size: number, dev: boolean, write: boolean): void {
  const c = model.counters;
  const pages = pagesTouched(offset, size);
  if (write) dev ? (c.gpuWrites += pages) : (c.cpuWrites += pages);
  else dev ? (c.gpuReads += pages) : (c.cpuReads += pages);
  const translate = dev ? deviceTranslate(model, buf) : cpuTranslate(model);
  const start = bufferPhys(buf) + offset;
  const end = start + size;
  if (write) {
    writeRange(model, nextStamp(model, buf.id, dev), start, end, translate, true);
    return;
  }
  for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < end; page++) {
    const i = page - buf.pfn;
    const handle = dev ? pageHandle(buf, i) : cpuViolationHandle(buf, i);
    readPage(model, Math.max(start, page * PAGE_SIZE), Math.min(end, (page + 1) * PAGE_SIZE), translate, {
      reader: dev ? Reader.dev : Reader.cpu, pfn: page, dmaAddr: BigInt(handle), gpuPage: -1, pte: 0n, bufId: buf.id,
    });
  }
}
