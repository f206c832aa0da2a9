// Line builders and a replay runner shared by the kernel-trace tests (trace-parse.test.ts,
// trace.test.ts).
import assert from 'node:assert/strict';
import { cli, scratch, script } from './helpers.js';

export const dir = scratch();
export const DEV = '0000:03:00.0';
export const h = (n: number) => n.toString(16);
export const arr = (xs: number[]) => `{${xs.map((x) => `0x${h(x)}`).join(',')}}`;

// ---- line builders --------------------------------------------------------------------------

let clock = 0;
/** /sys/kernel/tracing/trace's prefix: TASK-PID [CPU] FLAGS TIMESTAMP: (no TGID). */
export function sys(body: string, task = 'kworker/3:1', pid = 178, tick = ++clock): string {
  return `${task.padStart(16)}-${pid.toString().padEnd(7)} [003] ..... ${(100 + tick / 1e6).toFixed(6).padStart(12)}: ${body}`;
}

export const ev = {
  mapPhys: (dir: string, dma: number, size: number, phys: number, attrs = '', dev = DEV) =>
    `dma_map_phys: ${dev} dir=${dir} dma_addr=${h(dma)} size=${size} phys_addr=${h(phys)} attrs=${attrs}`,
  unmapPhys: (dir: string, dma: number, size: number, attrs = '', dev = DEV) => `dma_unmap_phys: ${dev} dir=${dir} dma_addr=${h(dma)} size=${size} attrs=${attrs}`,
  sync: (forCpu: boolean, dir: string, dma: number, size: number, dev = DEV) =>
    `dma_sync_single_for_${forCpu ? 'cpu' : 'device'}: ${dev} dir=${dir} dma_addr=${h(dma)} size=${size}`,
  mapSg: (dir: string, phys: number[], dmas: number[], sizes: number[], dev = DEV) =>
    `dma_map_sg: ${dev} dir=${dir} nents=${phys.length}/${phys.length} ents=${dmas.length}/${dmas.length} dma_addrs=${arr(dmas)} sizes=${arr(sizes)} phys_addrs=${arr(phys)} attrs=`,
  unmapSg: (dir: string, phys: number[], dev = DEV) => `dma_unmap_sg: ${dev} dir=${dir} phys_addrs=${arr(phys)} attrs=`,
  syncSg: (forCpu: boolean, dir: string, dmas: number[], sizes: number[], dev = DEV) =>
    `dma_sync_sg_for_${forCpu ? 'cpu' : 'device'}: ${dev} dir=${dir} dma_addrs=${arr(dmas)} sizes=${arr(sizes)}`,
  alloc: (dma: number, size: number, dev = DEV) =>
    `dma_alloc: ${dev} dir=BIDIRECTIONAL dma_addr=${h(dma)} size=${size} virt_addr=00000000c0ffee00 flags=GFP_KERNEL|__GFP_ZERO attrs=`,
  free: (dma: number, size: number, dev = DEV) => `dma_free: ${dev} dir=BIDIRECTIONAL dma_addr=${h(dma)} size=${size} virt_addr=00000000c0ffee00 attrs=`,
  bounced: (addr: number, size: number, dev = DEV) => `swiotlb_bounced: dev_name: ${dev} dma_mask=ffffffff dev_addr=${h(addr)} size=${size} FORCE`,
};

/** A trace file of these event bodies (each behind a /sys/kernel/tracing/trace prefix; a lost-events line, CPU:…, as it is), under a header. */
export function traceFile(name: string, bodies: string[], header = true): string {
  const head = header ? ['# tracer: nop', '#', '# entries-in-buffer/entries-written: 0/0   #P:2', '#'] : [];
  return script(dir, name, [...head, ...bodies.map((b) => (b.startsWith('CPU:') ? b : sys(b)))].join('\n') + '\n'); // a lost-events line as trace-cmd prints it
}

export function replayJson(path: string, ...args: string[]) {
  const r = cli('replay', path, '--format', 'ftrace', '--json', ...args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** A trace whose every call pairs up (maps unmapped, allocations freed), and the bytes a
 * bouncing 6.12 platform copies for it. */
export const CLEAN = [
  ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000),
  ev.sync(false, 'TO_DEVICE', 0x10000000, 4096),
  ev.unmapPhys('TO_DEVICE', 0x10000000, 4096),
  ev.mapPhys('FROM_DEVICE', 0x10002000, 8192, 0x10002000),
  ev.sync(true, 'FROM_DEVICE', 0x10002800, 2048),
  ev.sync(false, 'FROM_DEVICE', 0x10002000, 4096),
  ev.unmapPhys('FROM_DEVICE', 0x10002000, 8192),
  ev.mapPhys('BIDIRECTIONAL', 0x10005400, 1024, 0x10005400),
  ev.sync(false, 'BIDIRECTIONAL', 0x10005400, 1024),
  ev.sync(true, 'BIDIRECTIONAL', 0x10005400, 1024),
  ev.unmapPhys('BIDIRECTIONAL', 0x10005400, 1024),
  ev.alloc(0x7f000000, 8192),
  ev.free(0x7f000000, 8192),
];
export const CLEAN_BYTES = 8192 + 18432 + 4096;
