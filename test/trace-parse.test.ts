// Kernel trace text (replay --format ftrace; src/source/traceEvents.ts): every event's TP_printk in
// each kernel generation, both line prefixes and the lines that are not ours, and bad lines as
// FILE:LINE usage errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADDR_ERROR, TRACE_EVENTS, type TraceEvent, TraceSyntaxError, parseTraceLine } from '../src/source/traceEvents.js';
import { SMALL, cli, cliAs, expectUsage, script } from './helpers.js';
import { DEV, arr, dir, ev, sys, traceFile } from './traceLines.js';

// ---- 1, 2: the parser ---------------------------------------------------------------------

function event(text: string): TraceEvent {
  const p = parseTraceLine(text);
  assert.equal(p.kind, 'event', `an event: ${text}`);
  return (p as { event: TraceEvent }).event;
}

describe('trace parser: each event, each format generation', () => {
  const sg128 = Array.from({ length: 128 }, (_, i) => 0x200000 + i * 0x1000);
  const CASES: [string, string, TraceEvent][] = [
    ['dma_map_page (6.12)', 'dma_map_page: 0000:03:00.0 dir=TO_DEVICE dma_addr=fffff000 size=4096 phys_addr=1234000 attrs=',
      { kind: 'map', name: 'dma_map_page', device: DEV, dir: 'TO_DEVICE', dma: 0xfffff000, size: 4096, phys: 0x1234000, mmio: false, shared: false, skipSync: false }],
    ['dma_map_phys (later), attrs without MMIO', 'dma_map_phys: 0000:03:00.0 dir=FROM_DEVICE dma_addr=1ffe00800 size=1500 phys_addr=12f4a0800 attrs=WEAK_ORDERING|SKIP_CPU_SYNC',
      { kind: 'map', name: 'dma_map_phys', device: DEV, dir: 'FROM_DEVICE', dma: 0x1ffe00800, size: 1500, phys: 0x12f4a0800, mmio: false, shared: false, skipSync: true }],
    ['dma_map_phys with attrs=MMIO is MMIO', 'dma_map_phys: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=fe000000 size=65536 phys_addr=fe000000 attrs=SKIP_CPU_SYNC|MMIO',
      { kind: 'map', name: 'dma_map_phys', device: DEV, dir: 'BIDIRECTIONAL', dma: 0xfe000000, size: 65536, phys: 0xfe000000, mmio: true, shared: false, skipSync: true }],
    ['dma_map_resource is MMIO', 'dma_map_resource: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=fd000000 size=4096 phys_addr=fd000000 attrs=',
      { kind: 'map', name: 'dma_map_resource', device: DEV, dir: 'BIDIRECTIONAL', dma: 0xfd000000, size: 4096, phys: 0xfd000000, mmio: true, shared: false, skipSync: false }],
    ['a map that failed: dma_addr=ffffffffffffffff', 'dma_map_phys: 0000:03:00.0 dir=TO_DEVICE dma_addr=ffffffffffffffff size=4096 phys_addr=1234000 attrs=',
      { kind: 'map', name: 'dma_map_phys', device: DEV, dir: 'TO_DEVICE', dma: ADDR_ERROR, size: 4096, phys: 0x1234000, mmio: false, shared: false, skipSync: false }],
    ['dma_unmap_page (6.12)', 'dma_unmap_page: 0000:03:00.0 dir=TO_DEVICE dma_addr=fffff000 size=4096 attrs=',
      { kind: 'unmap', name: 'dma_unmap_page', device: DEV, dir: 'TO_DEVICE', dma: 0xfffff000, size: 4096, resource: false, skipSync: false }],
    ['dma_unmap_phys (later)', 'dma_unmap_phys: 0000:03:00.0 dir=FROM_DEVICE dma_addr=1ffe00800 size=1500 attrs=',
      { kind: 'unmap', name: 'dma_unmap_phys', device: DEV, dir: 'FROM_DEVICE', dma: 0x1ffe00800, size: 1500, resource: false, skipSync: false }],
    ['dma_unmap_phys with attrs=MMIO', 'dma_unmap_phys: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=fe000000 size=65536 attrs=MMIO',
      { kind: 'unmap', name: 'dma_unmap_phys', device: DEV, dir: 'BIDIRECTIONAL', dma: 0xfe000000, size: 65536, resource: true, skipSync: false }],
    ['dma_unmap_phys with attrs=SKIP_CPU_SYNC (no copy back)', 'dma_unmap_phys: 0000:03:00.0 dir=FROM_DEVICE dma_addr=1ffe00800 size=1500 attrs=WEAK_ORDERING|SKIP_CPU_SYNC',
      { kind: 'unmap', name: 'dma_unmap_phys', device: DEV, dir: 'FROM_DEVICE', dma: 0x1ffe00800, size: 1500, resource: false, skipSync: true }],
    ['dma_unmap_resource', 'dma_unmap_resource: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=fd000000 size=4096 attrs=',
      { kind: 'unmap', name: 'dma_unmap_resource', device: DEV, dir: 'BIDIRECTIONAL', dma: 0xfd000000, size: 4096, resource: true, skipSync: false }],
    ['dma_sync_single_for_cpu', 'dma_sync_single_for_cpu: 0000:03:00.0 dir=FROM_DEVICE dma_addr=1ffe00800 size=64',
      { kind: 'sync', name: 'dma_sync_single_for_cpu', device: DEV, dir: 'FROM_DEVICE', dma: 0x1ffe00800, size: 64, forCpu: true }],
    ['dma_sync_single_for_device', 'dma_sync_single_for_device: 0000:03:00.0 dir=TO_DEVICE dma_addr=fffff000 size=4096',
      { kind: 'sync', name: 'dma_sync_single_for_device', device: DEV, dir: 'TO_DEVICE', dma: 0xfffff000, size: 4096, forCpu: false }],
    ['dma_map_sg (6.12: no nents=)', 'dma_map_sg: 0000:03:00.0 dir=TO_DEVICE dma_addrs={0x10000,0x13000} sizes={0x1000,0x2000} phys_addrs={0x10000,0x13000} attrs=',
      { kind: 'map_sg', name: 'dma_map_sg', device: DEV, dir: 'TO_DEVICE', dmas: [0x10000, 0x13000], sizes: [0x1000, 0x2000], phys: [0x10000, 0x13000], nents: 2, ents: 2, truncated: false, shared: false, skipSync: false }],
    ['dma_map_sg (later: nents=/ents=, merged by an IOMMU)', 'dma_map_sg: 0000:03:00.0 dir=FROM_DEVICE nents=3/3 ents=1/1 dma_addrs={0xfff00000} sizes={0x3000} phys_addrs={0x10000,0x20000,0x30000} attrs=',
      { kind: 'map_sg', name: 'dma_map_sg', device: DEV, dir: 'FROM_DEVICE', dmas: [0xfff00000], sizes: [0x3000], phys: [0x10000, 0x20000, 0x30000], nents: 3, ents: 1, truncated: false, shared: false, skipSync: false }],
    ['dma_map_sg [TRUNCATED] at 128 entries', `dma_map_sg: 0000:03:00.0 dir=TO_DEVICE nents=128/200 ents=128/200 [TRUNCATED] dma_addrs=${arr(sg128)} sizes=${arr(sg128.map(() => 0x1000))} phys_addrs=${arr(sg128)} attrs=`,
      { kind: 'map_sg', name: 'dma_map_sg', device: DEV, dir: 'TO_DEVICE', dmas: sg128, sizes: sg128.map(() => 4096), phys: sg128, nents: 200, ents: 200, truncated: true, shared: false, skipSync: false }],
    ['an array printed with spaces after its commas', 'dma_map_sg: 0000:03:00.0 dir=TO_DEVICE dma_addrs={0x10000, 0x13000} sizes={0x1000, 0x2000} phys_addrs={0x10000, 0x13000} attrs=',
      { kind: 'map_sg', name: 'dma_map_sg', device: DEV, dir: 'TO_DEVICE', dmas: [0x10000, 0x13000], sizes: [0x1000, 0x2000], phys: [0x10000, 0x13000], nents: 2, ents: 2, truncated: false, shared: false, skipSync: false }],
    ['dma_map_sg of memory already shared (attrs=CC_SHARED)', 'dma_map_sg: 0000:03:00.0 dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs={0x10000} sizes={0x1000} phys_addrs={0x10000} attrs=SKIP_CPU_SYNC|CC_SHARED',
      { kind: 'map_sg', name: 'dma_map_sg', device: DEV, dir: 'TO_DEVICE', dmas: [0x10000], sizes: [0x1000], phys: [0x10000], nents: 1, ents: 1, truncated: false, shared: true, skipSync: true }],
    ['dma_unmap_sg', 'dma_unmap_sg: 0000:03:00.0 dir=TO_DEVICE phys_addrs={0x10000,0x13000} attrs=',
      { kind: 'unmap_sg', name: 'dma_unmap_sg', device: DEV, dir: 'TO_DEVICE', phys: [0x10000, 0x13000], shared: false, skipSync: false }],
    ['dma_sync_sg_for_cpu', 'dma_sync_sg_for_cpu: 0000:03:00.0 dir=FROM_DEVICE dma_addrs={0xfff00000} sizes={0x3000}',
      { kind: 'sync_sg', name: 'dma_sync_sg_for_cpu', device: DEV, dir: 'FROM_DEVICE', dmas: [0xfff00000], sizes: [0x3000], forCpu: true }],
    ['dma_sync_sg_for_device', 'dma_sync_sg_for_device: 0000:03:00.0 dir=BIDIRECTIONAL dma_addrs={0x10000,0x13000} sizes={0x1000,0x2000}',
      { kind: 'sync_sg', name: 'dma_sync_sg_for_device', device: DEV, dir: 'BIDIRECTIONAL', dmas: [0x10000, 0x13000], sizes: [0x1000, 0x2000], forCpu: false }],
    ['dma_map_sg_err', 'dma_map_sg_err: 0000:03:00.0 dir=TO_DEVICE dma_addrs={0x10000,0x13000} err=-12 attrs=',
      { kind: 'map_sg_err', name: 'dma_map_sg_err', device: DEV }],
    ['dma_alloc (6.12.0–6.12.47: virt_addr=, no dir=)', 'dma_alloc: 0000:03:00.0 dma_addr=7f000000 size=8192 virt_addr=000000003c0c1d1e flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: 0x7f000000, size: 8192, failed: false, legacyFormat: true }],
    ['dma_alloc (later: dir=)', 'dma_alloc: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=7f000000 size=8192 virt_addr=000000003c0c1d1e flags=GFP_KERNEL|__GFP_ZERO attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: 0x7f000000, size: 8192, failed: false }],
    ['dma_alloc that failed (6.12): virt_addr=0000000000000000', 'dma_alloc: 0000:03:00.0 dma_addr=0 size=8192 virt_addr=0000000000000000 flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: 0, size: 8192, failed: true, legacyFormat: true }],
    ['dma_alloc that failed: virt_addr=(null)', 'dma_alloc: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=0 size=8192 virt_addr=(null) flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: 0, size: 8192, failed: true }],
    ['dma_alloc_pages', 'dma_alloc_pages: 0000:03:00.0 dir=FROM_DEVICE dma_addr=7f100000 size=16384 virt_addr=00000000deadbeef flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc_pages', device: DEV, dma: 0x7f100000, size: 16384, failed: false, dir: 'FROM_DEVICE' }],
    ['dma_alloc_sgt (phys_addrs, no virt_addr)', 'dma_alloc_sgt: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=7f200000 size=8192 phys_addrs={0x40000,0x41000} flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc_sgt', device: DEV, dma: 0x7f200000, size: 8192, failed: false, dir: 'BIDIRECTIONAL' }],
    ['dma_alloc_sgt_err', 'dma_alloc_sgt_err: 0000:03:00.0 dir=BIDIRECTIONAL phys_addrs={} size=8192 flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc_sgt_err', device: DEV, dma: 0, size: 8192, failed: true }],
    ['dma_free (no dir=)', 'dma_free: 0000:03:00.0 dma_addr=7f000000 size=8192 virt_addr=000000003c0c1d1e attrs=',
      { kind: 'free', name: 'dma_free', device: DEV, dma: 0x7f000000, size: 8192, noop: false }],
    ['dma_free_pages', 'dma_free_pages: 0000:03:00.0 dir=FROM_DEVICE dma_addr=7f100000 size=16384 virt_addr=00000000deadbeef attrs=',
      { kind: 'free', name: 'dma_free_pages', device: DEV, dma: 0x7f100000, size: 16384, noop: false, dir: 'FROM_DEVICE' }],
    ['dma_free_sgt', 'dma_free_sgt: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=7f200000 size=8192 phys_addrs={0x40000,0x41000} attrs=',
      { kind: 'free', name: 'dma_free_sgt', device: DEV, dma: 0x7f200000, size: 8192, noop: false, dir: 'BIDIRECTIONAL' }],
    ['dma_alloc (6.12-rc1 to rc4: phys_addr=, no dir=)', 'dma_alloc: 0000:03:00.0 dma_addr=7f000000 size=8192 phys_addr=12340000 flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: 0x7f000000, size: 8192, failed: false, legacyFormat: true }],
    ['dma_alloc that failed, as trace-cmd prints NULL: virt_addr=(nil)', 'dma_alloc: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=ffffffffffffffff size=8192 virt_addr=(nil) flags=GFP_KERNEL attrs=',
      { kind: 'alloc', name: 'dma_alloc', device: DEV, dma: ADDR_ERROR, size: 8192, failed: true }],
    ['a failed map with a 32-bit dma_addr_t: dma_addr=ffffffff', 'dma_map_page: 0000:03:00.0 dir=TO_DEVICE dma_addr=ffffffff size=4096 phys_addr=1234000 attrs=',
      { kind: 'map', name: 'dma_map_page', device: DEV, dir: 'TO_DEVICE', dma: ADDR_ERROR, size: 4096, phys: 0x1234000, mmio: false, shared: false, skipSync: false }],
    ['dma_map_phys of memory already shared (attrs=CC_SHARED)', 'dma_map_phys: 0000:03:00.0 dir=TO_DEVICE dma_addr=1234000 size=4096 phys_addr=1234000 attrs=CC_SHARED',
      { kind: 'map', name: 'dma_map_phys', device: DEV, dir: 'TO_DEVICE', dma: 0x1234000, size: 4096, phys: 0x1234000, mmio: false, shared: true, skipSync: false }],
    ['dma_free of NULL frees nothing', 'dma_free: 0000:03:00.0 dir=BIDIRECTIONAL dma_addr=0 size=8192 virt_addr=(nil) attrs=',
      { kind: 'free', name: 'dma_free', device: DEV, dma: 0, size: 8192, noop: true }],
    ['swiotlb_bounced FORCE', 'swiotlb_bounced: dev_name: 0000:03:00.0 dma_mask=ffffffff dev_addr=1234000 size=4096 FORCE',
      { kind: 'bounced', name: 'swiotlb_bounced', device: DEV, size: 4096, maskBits: 32, devAddr: 0x1234000 }],
    ['swiotlb_bounced NORMAL', 'swiotlb_bounced: dev_name: 0000:03:00.0 dma_mask=ffffffffff dev_addr=12345678000 size=1500 NORMAL',
      { kind: 'bounced', name: 'swiotlb_bounced', device: DEV, size: 1500, maskBits: 40, devAddr: 0x12345678000 }],
    ['swiotlb_bounced NO_FORCE (before 5.18)', 'swiotlb_bounced: dev_name: 0000:03:00.0 dma_mask=ffffffff dev_addr=1234000 size=512 NO_FORCE',
      { kind: 'bounced', name: 'swiotlb_bounced', device: DEV, size: 512, maskBits: 32, devAddr: 0x1234000 }],
  ];
  for (const [description, body, expected] of CASES) {
    it(description, () => assert.deepEqual(event(sys(body)), expected));
  }

  it('every event name replay knows has a case above', () => {
    const covered = new Set(CASES.map((c) => c[2].name));
    assert.deepEqual(TRACE_EVENTS.filter((n) => !covered.has(n)), []);
  });
});

describe('trace parser: line prefixes and lines that are not ours', () => {
  const BODY = 'dma_map_phys: 0000:03:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=';
  const PREFIXES: [string, string][] = [
    ['/sys/kernel/tracing/trace, latency flags', '          <idle>-0       [003] d.h1.   100.000001: '],
    ['/sys/kernel/tracing/trace with (TGID)', '     kworker/3:1-178     (    178) [003] .....   102.345678: '],
    ['/sys/kernel/tracing/trace with an unknown TGID (-------)', '          <idle>-0       (-------) [000] dNh2.   102.345678: '],
    ['a task name with spaces and dashes', '   Web Content-1234    [002] .....  55.000001: '],
    ['a task name with dashes and digits', '  irq/45-nvme0q1-789     [001] d..1.  55.000001: '],
    ['trace-cmd report (no flags)', '     kworker/3:1-178   [003]   102.345678: '],
    ['trace-cmd report, a task name with spaces', '   Web Content-1234  [002]  55.000001: '],
    // trace-read.c time_format: a clock not in nanoseconds (-C x86-tsc, --raw-ts) prints "%12d:".
    ['trace-cmd report, a raw clock of 12 digits or more, touching the CPU', '     kworker/3:1-178   [003]5731829163392: '],
    ['trace-cmd report, a short raw clock, padded', '     kworker/3:1-178   [003]      4096127: '],
  ];
  for (const [description, prefix] of PREFIXES) {
    it(`prefix: ${description}`, () => {
      const e = event(prefix + BODY);
      assert.equal(e.kind, 'map');
      assert.equal(e.device, DEV);
      assert.equal((e as { dma: number }).dma, 0x1000);
    });
  }

  it('trace-cmd report pads the event name with spaces', () => {
    const e = event('     kworker/3:1-178   [003]   102.345678: dma_unmap_phys:       0000:03:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=');
    assert.deepEqual(e, { kind: 'unmap', name: 'dma_unmap_phys', device: DEV, dir: 'TO_DEVICE', dma: 0x1000, size: 4096, resource: false, skipSync: false });
  });

  const SKIPPED: [string, string, string | undefined][] = [
    ['# tracer: nop', '# tracer: nop', undefined],
    ['a column header comment', '#                                _-----=> irqs-off/BH-disabled', undefined],
    ['a blank line', '', undefined],
    ['cpus=8', 'cpus=8', undefined],
    ['version = 6', 'version = 6', undefined],
    ['CPU 3 is empty', 'CPU 3 is empty', undefined],
    ['a stack line', ' => __dma_map_sg_attrs', undefined],
    ['a stack line of trace-cmd', '   => dma_map_page_attrs (ffffffff8a1b2c3d)', undefined],
    ['the <stack trace> event', '     kworker/3:1-178     [003] .....   102.345678: <stack trace>', undefined],
    ['a function tracer line', '            bash-1234    [001] .....   100.000001: do_sys_open <-__x64_sys_openat', undefined],
    ['a function tracer line of a dma function', '            bash-1234    [001] .....   100.000001: dma_map_page_attrs <-amdgpu_ttm_tt_pin', undefined],
    ['a function tracer line of a function named as an event', '            bash-1234    [001] .....   100.000001: dma_sync_single_for_cpu <-e1000_clean_rx_irq', undefined],
    ['the same with noprint-parent (the name alone)', '            bash-1234    [001] .....   100.000001: dma_alloc_pages', undefined],
    ['the same with sym-offset', '            bash-1234    [001] .....   100.000001: dma_free_pages+0x0/0x60', undefined],
    ['another event (sched_switch)', '          <idle>-0       [000] d..2.   100.000001: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=bash next_pid=1234 next_prio=120', 'sched_switch'],
    ['another dma-ish event', '     kworker/3:1-178   [003]   102.345678: dma_fence_signaled: driver=amdgpu timeline=gfx context=1 seqno=2', 'dma_fence_signaled'],
  ];
  for (const [description, line, other] of SKIPPED) {
    it(`skipped: ${description}`, () => {
      const p = parseTraceLine(line);
      assert.equal(p.kind, 'skip');
      assert.equal((p as { other?: string }).other, other);
    });
  }

  it('CPU:2 [LOST 35 EVENTS] is a lost line with its count', () => {
    assert.deepEqual(parseTraceLine('CPU:2 [LOST 35 EVENTS]'), { kind: 'lost', events: 35 });
  });

  // print_trace_line without a count; trace-cmd's show_data wording, with and without one.
  for (const [line, events] of [['CPU:2 [LOST EVENTS]', 0], ['CPU:5 [12 EVENTS DROPPED]', 12], ['CPU:0 [EVENTS DROPPED]', 0]] as const) {
    it(`${line} is a lost line`, () => assert.deepEqual(parseTraceLine(line), { kind: 'lost', events }));
  }

  it('trace-cmd report --ts-diff: a (+delta) between the timestamp and the event', () => {
    const e = event('     kworker/3:1-178   [003]   102.345678: (+0.000012) ' + BODY);
    assert.equal(e.kind, 'map');
  });

  it('a dma event in a layout replay does not read is an error, not skipped', () => {
    // The latency format: comm cut to 8, the CPU unbracketed, a microsecond stamp.
    assert.throws(() => parseTraceLine('kworker/-178     3d..1  123us : ' + BODY), /latency-format/);
    // function_graph wraps events as comments.
    assert.throws(() => parseTraceLine(' 3)               |  /* dma_map_phys: 0000:03:00.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs= */'), /latency-format, function_graph/);
    // libtraceevent that could not parse the event's format.
    assert.throws(() => parseTraceLine('     kworker/3:1-178   [003]   102.345678: dma_map_phys: [FAILED TO PARSE] dev=0000:03:00.0'), /FAILED TO PARSE/);
    // Another event trace-cmd could not parse is not ours: skipped like any other.
    assert.deepEqual(parseTraceLine('     kworker/3:1-178   [003]   102.345678: xhci_urb_enqueue: [FAILED TO PARSE] urb=0xffff8881'), { kind: 'skip', other: 'xhci_urb_enqueue' });
  });

  it('a line of no known shape throws TraceSyntaxError', () => {
    assert.throws(() => parseTraceLine('hello world'), TraceSyntaxError);
    assert.throws(() => parseTraceLine('[003] 100.0: dma_map_phys: x'), TraceSyntaxError);
  });
});

// ---- 3: bad lines ---------------------------------------------------------------------------

describe('trace: a bad line is FILE:LINE, exit 2, one line on stderr, no --out file', () => {
  const GOOD = ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000);
  const CASES: [string, string, RegExp][] = [
    ['a garbage line', 'this is not a trace line', /not a trace line \(expected TASK-PID \[CPU\] TIMESTAMP: EVENT: FIELDS/],
    ['a dma event missing a field', sys(`dma_map_phys: ${DEV} dir=TO_DEVICE dma_addr=20000000 phys_addr=20000000 attrs=`), /dma_map_phys: missing size=$/],
    ['a non-hex address', sys(`dma_unmap_phys: ${DEV} dir=TO_DEVICE dma_addr=1000zz size=4096 attrs=`), /dma_unmap_phys: dma_addr=1000zz is not a hexadecimal address$/],
    ['a bad dir', sys(`dma_sync_single_for_cpu: ${DEV} dir=SIDEWAYS dma_addr=10000000 size=4096`), /dma_sync_single_for_cpu: dir=SIDEWAYS is not one of BIDIRECTIONAL, TO_DEVICE, FROM_DEVICE, NONE$/],
    ['an array that is not {…}', sys(`dma_unmap_sg: ${DEV} dir=TO_DEVICE phys_addrs=0x10000,0x13000 attrs=`), /dma_unmap_sg: phys_addrs=0x10000,0x13000 is not an array/],
    ['dma_addrs and sizes of different lengths', sys(`dma_sync_sg_for_device: ${DEV} dir=TO_DEVICE dma_addrs={0x10000,0x13000} sizes={0x1000}`), /dma_sync_sg_for_device: dma_addrs has 2 entries, sizes 1$/],
    ['more dma_addrs than phys_addrs', sys(`dma_map_sg: ${DEV} dir=TO_DEVICE dma_addrs={0x10000,0x13000,0x15000} sizes={0x1000,0x1000,0x1000} phys_addrs={0x10000,0x13000} attrs=`), /dma_map_sg: dma_addrs has 3 entries, phys_addrs only 2 \(a map gives at most one segment per entry\)$/],
    ['nents=5/5 with another number printed', sys(`dma_map_sg: ${DEV} dir=TO_DEVICE nents=5/5 ents=2/2 dma_addrs={0x10000,0x13000} sizes={0x1000,0x1000} phys_addrs={0x10000,0x13000} attrs=`), /dma_map_sg: nents=5\/5 but 2 entries are printed$/],
    ['dir=NONE on a map', sys(`dma_map_phys: ${DEV} dir=NONE dma_addr=20000000 size=4096 phys_addr=20000000 attrs=`), /dir=NONE on a streaming call/],
    ['a line cut inside the event name', sys('dma'), /'dma' where an event's name and its colon belong: the line is cut short or lost its colon/],
    ['an event name cut before its colon (the name alone would be a function tracer\'s entry)', sys('dma_map_ph'), /'dma_map_ph' where an event's name and its colon belong/],
    ['an event name without its colon', sys(`dma_map_phys ${DEV} dir=TO_DEVICE dma_addr=20000000 size=4096 phys_addr=20000000 attrs=`), /'dma_map_phys' where an event's name and its colon belong/],
  ];
  CASES.forEach(([description, bad, pattern], i) => {
    it(description, () => {
      const path = script(dir, `bad-${i}.trace`, ['# tracer: nop', sys(GOOD), bad, sys(ev.unmapPhys('TO_DEVICE', 0x10000000, 4096))].join('\n') + '\n');
      const out = join(dir, `bad-${i}.json`);
      const r = cli('replay', path, '--format', 'ftrace', '--out', out, '--platform', 'swiotlb-force', ...SMALL);
      expectUsage(r, new RegExp(`^gartbench: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: `), description);
      assert.match(r.stderr.trimEnd(), pattern);
      assert.equal(existsSync(out), false, 'no --out file');
    });
  });

  it('a last line with no line break after it is not read (a file cut short): counted, said (JSON and text); with the break it is replayed', () => {
    const lines = ['# tracer: nop', sys(ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000)), sys(ev.unmapPhys('TO_DEVICE', 0x10000000, 4096))];
    for (const [end, cut] of [['', true], ['\n', false], ['\r\n', false]] as const) {
      const path = script(dir, `end-${JSON.stringify(end).length}.trace`, lines.join('\n') + end);
      const r = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.trace.skipped.cut, cut ? 1 : 0);
      assert.equal(j.counters.unmaps, cut ? 0 : 1, 'the cut unmap was not replayed');
      assert.equal(j.trace.liveAtEnd, cut ? 1 : 0);
      const text = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', ...SMALL).stdout;
      assert.equal(/not replayed: the last line \(3\), which has no line break after it: .*add a line break after it to replay it/.test(text), cut);
    }
  });

  it('a cut last line is not read, so a field or a name it cut short is neither replayed as a smaller value nor an error; from standard input too', () => {
    const head = ['# tracer: nop', sys(ev.mapPhys('TO_DEVICE', 0x10000000, 8192, 0x10000000))];
    const unmap = sys(ev.unmapPhys('TO_DEVICE', 0x10000000, 8192));
    // size=8192 cut to size=81 would be dma-debug's "frees DMA memory with different size"; cut
    // before its size= it would be "missing size="; inside the event's name, not a trace line.
    for (const tail of [unmap.slice(0, unmap.indexOf('size=') + 7), unmap.slice(0, unmap.indexOf('size=')), unmap.slice(0, unmap.indexOf('dma_unmap') + 6)]) {
      const text = [...head, tail].join('\n');
      const path = script(dir, `cut-${tail.length}.trace`, text);
      for (const r of [cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL),
        cliAs({ input: text }, 'replay', '-', '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL)]) {
        assert.equal(r.code, 0, `${tail}: ${r.stderr}`);
        const j = JSON.parse(r.stdout);
        assert.equal(j.trace.skipped.cut, 1, tail);
        assert.equal(j.counters.unmaps, 0, tail);
        assert.deepEqual(j.dmaDebug.map((d: { class: string }) => d.class), ['leak'], `${tail}: the map is live at the release, nothing else`);
      }
      // With its break the same line is read: an error where it cannot be, a replayed call where it can.
      const whole = cli('replay', script(dir, `whole-${tail.length}.trace`, text + '\n'), '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL);
      if (whole.code === 0) assert.equal(JSON.parse(whole.stdout).counters.unmaps, 1, tail);
      else expectUsage(whole, /:3: /, tail);
    }
    // A last comment, another event or a lost-events line with no break is read as any.
    for (const [name, last, lost] of [['comment', '# end', 0], ['sched', sys('sched_switch: prev_comm=a prev_pid=1 ==> next_comm=b next_pid=2'), 0], ['lost', 'CPU:3 [LOST 35 EVENTS]', 35]] as const) {
      const r = cli('replay', script(dir, `cut-${name}.trace`, [...head, unmap, last].join('\n')), '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL);
      assert.equal(r.code, 0, r.stderr);
      const t = JSON.parse(r.stdout).trace;
      assert.equal(t.skipped.cut, 0, name);
      assert.equal(t.lostEvents, lost, name);
    }
  });

  it('a cut last line is the release\'s place no more, and an error that finds no events because of it says so', () => {
    const map = sys(ev.mapPhys('TO_DEVICE', 0x10000000, 8192, 0x10000000));
    const unmap = sys(ev.unmapPhys('TO_DEVICE', 0x10000000, 8192));
    const r = cli('replay', script(dir, 'cut-release.trace', ['# tracer: nop', map, unmap.slice(0, -10)].join('\n')), '--format', 'ftrace', '--platform', 'swiotlb-force', '--json', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    const leak = JSON.parse(r.stdout).dmaDebug;
    assert.deepEqual(leak.map((d: { class: string; op: number }) => [d.class, d.op]), [['leak', 2]], 'the release comes after line 2, the last line read');
    const NOTE = /its last line, with no line break after it, was not read \(a file cut short ends so\)$/;
    // The only event is the cut line: from a file (the device scan), from standard input, with --trace-device.
    const only = ['# tracer: nop', unmap.slice(0, -10)].join('\n');
    const path = script(dir, 'cut-only.trace', only);
    for (const run of [cli('replay', path, '--format', 'ftrace'), cliAs({ input: only }, 'replay', '-', '--format', 'ftrace'), cli('replay', path, '--format', 'ftrace', '--trace-device', DEV)]) {
      expectUsage(run, /no dma or swiotlb trace events/);
      assert.match(run.stderr.trimEnd(), NOTE);
    }
    // A device whose only event is the cut line, named by --trace-device.
    const other = script(dir, 'cut-other.trace', ['# tracer: nop', map, unmap, unmap.replace(DEV, '0000:05:00.0').slice(0, -10)].join('\n'));
    const named = cli('replay', other, '--format', 'ftrace', '--trace-device', '0000:05:00.0');
    expectUsage(named, /--trace-device: '0000:05:00\.0' has no events/);
    assert.match(named.stderr.trimEnd(), NOTE);
    // Its events all skipped, the cut line beside them.
    const skippedOnly = script(dir, 'cut-skipped.trace', ['# tracer: nop', sys(ev.unmapPhys('TO_DEVICE', 0x30000000, 4096)), unmap.slice(0, -10)].join('\n'));
    const none = cli('replay', skippedOnly, '--format', 'ftrace');
    expectUsage(none, /no dma calls of '0000:03:00\.0' to replay/);
    assert.match(none.stderr.trimEnd(), NOTE);
  });

  it('trace text replayed without --format ftrace: the JSON error says to add it', () => {
    const path = traceFile('no-format.trace', [ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000)]);
    expectUsage(cli('replay', path), /no-format\.trace:1: not valid JSON .*; kernel trace text\? add --format ftrace$/m);
    // trace-cmd report's header starts with "cpus=N" (a line that also says so).
    expectUsage(cli('replay', script(dir, 'cpus.trace', 'cpus=8\n')), /cpus\.trace:1: not valid JSON .*; kernel trace text\? add --format ftrace$/m);
  });

  it("trace-cmd record's binary trace.dat: says to print it with trace-cmd report", () => {
    const path = script(dir, 'trace.dat', '\x17\x08Dtracing6\x00' + '8\x00\x00\x00\n');
    expectUsage(cli('replay', path, '--format', 'ftrace'), /trace\.dat:1: binary data, not trace text: a trace\.dat\? print it with `trace-cmd report FILE > FILE\.txt` and replay that$/m);
  });
});
