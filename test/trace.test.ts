// Kernel traces as replay input (replay --format ftrace; src/source/trace.ts): what the events
// become on each platform, device choice, --platform all, the two engines agreeing on
// hand-written and seeded random traces, a trace against the JSON Lines script it means, edges.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { XorShift32 } from '../src/rand.js';
import { SMALL, cli, cliAs, expectUsage, script } from './helpers.js';
import { CLEAN, CLEAN_BYTES, DEV, arr, dir, ev, h, replayJson, sys, traceFile } from './traceLines.js';
import { OP_WORDS, Op } from '../src/engine/abi.js';
import type { Engine } from '../src/engine/types.js';
import { OpSink } from '../src/source/sink.js';
import { TraceTranslator } from '../src/source/trace.js';

// ---- 4: what the events become --------------------------------------------------------------

/**
 * Three streaming maps of a clean driver, each synced and unmapped, and a coherent buffer. On a
 * platform that bounces every map on the modern kernel (swiotlb-force, coco; xen-pv too for this
 * 32-bit device), swiotlb_tbl_map_single copies every map in whatever its direction (the info-leak
 * fix: src/model/dma/mapping.ts swiotlbBounce), a sync for the device copies in for TO_DEVICE and
 * BIDIRECTIONAL, a sync for the CPU and an unmap copy out for FROM_DEVICE and BIDIRECTIONAL:
 *   map TO_DEVICE 4096 in + sync_for_device 4096                                     =  8192
 *   map FROM_DEVICE 8192 in + sync_for_cpu 2048 (from offset 2048) + sync_for_device 0
 *     + unmap 8192 out                                                               = 18432
 *   map BIDIRECTIONAL 1024 (at page offset 0x400) + sync both ways + unmap, 1024 each =  4096
 * 30720 bytes in all; 2.6.37's swiotlb does not copy a FROM_DEVICE map in: 30720 - 8192.
 */
describe('trace: counters on each platform', () => {
  const path = traceFile('clean.trace', CLEAN);
  const pick = (c: Record<string, number>) => {
    const { maps, unmaps, bounces, bounceBytes, syncsForDevice, syncsForCpu, coherentAllocs, dmaDebugErrors } = c;
    return { maps, unmaps, bounces, bounceBytes, syncsForDevice, syncsForCpu, coherentAllocs, dmaDebugErrors };
  };
  const calls = { maps: 3, unmaps: 3, syncsForDevice: 3, syncsForCpu: 2, coherentAllocs: 1, dmaDebugErrors: 0 };
  const CASES: [string, string[], object, string[]][] = [
    ['bare-metal: a 32-bit device reaches DMA32 pages directly, nothing bounces', ['--platform', 'bare-metal'], { ...calls, bounces: 0, bounceBytes: 0 }, []],
    ['swiotlb-force: every map bounces; copies by direction', ['--platform', 'swiotlb-force'], { ...calls, bounces: 3, bounceBytes: CLEAN_BYTES }, []],
    ['coco: every map bounces, as swiotlb-force', ['--platform', 'coco'], { ...calls, bounces: 3, bounceBytes: CLEAN_BYTES }, []],
    // 6.12 traces dma_sync_single_range_for_cpu as a sync at handle + offset; 2.6.37's driver calls
    // that range form for the sync from inside the FROM_DEVICE mapping (line 5 of the trace), whose
    // dma-debug checks the mapping's handle with offset + size: nothing to report.
    ['swiotlb-force on 2.6.37: a FROM_DEVICE map is not copied in', ['--platform', 'swiotlb-force', '--kernel', '2010'],
      { ...calls, bounces: 3, bounceBytes: CLEAN_BYTES - 8192, dmaDebugErrors: 0 }, []],
  ];
  for (const [description, args, expected, debug] of CASES) {
    it(description, () => {
      const res = replayJson(path, ...args, ...SMALL);
      assert.deepEqual(pick(res.counters), expected);
      assert.deepEqual(res.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`), debug);
      assert.equal(res.trace.device, DEV);
      assert.equal(res.trace.liveAtEnd, 0);
    });
  }
});

describe('trace: the result\'s trace section and dma-debug', () => {
  const OTHER = '0000:00:1f.0';
  const sg = Array.from({ length: 128 }, (_, i) => 0x50000000 + i * 0x2000);
  // [body, what it is]; line numbers are the index + 5 (a four-line header).
  const BODIES: string[] = [
    ev.mapPhys('TO_DEVICE', 0x30000000, 8192, 0x30000000), // 5: unmapped below with the wrong size
    ev.unmapPhys('TO_DEVICE', 0x30000000, 4096), // 6: unmap-size
    `dma_map_resource: ${DEV} dir=BIDIRECTIONAL dma_addr=fd000000 size=4096 phys_addr=fd000000 attrs=`, // mmio
    `dma_unmap_resource: ${DEV} dir=BIDIRECTIONAL dma_addr=fd000000 size=4096 attrs=`, // mmio
    ev.mapPhys('BIDIRECTIONAL', 0xfe000000, 65536, 0xfe000000, 'MMIO'), // mmio
    `dma_map_phys: ${DEV} dir=TO_DEVICE dma_addr=ffffffffffffffff size=4096 phys_addr=31000000 attrs=`, // failed on recording
    `dma_alloc: ${DEV} dir=BIDIRECTIONAL dma_addr=0 size=8192 virt_addr=(null) flags=GFP_KERNEL attrs=`, // failed
    `dma_map_sg_err: ${DEV} dir=TO_DEVICE dma_addrs={0x10000} err=-12 attrs=`, // failed
    `dma_alloc_sgt_err: ${DEV} dir=BIDIRECTIONAL phys_addrs={} size=8192 flags=GFP_KERNEL attrs=`, // failed
    ev.unmapPhys('TO_DEVICE', 0xdead0000, 4096), // before the trace
    ev.sync(true, 'FROM_DEVICE', 0xdeae0000, 4096), // before the trace
    ev.free(0x7e000000, 4096), // before the trace
    ev.unmapSg('TO_DEVICE', [0x60000000, 0x60001000]), // before the trace
    ev.mapPhys('TO_DEVICE', 0x32000000, 0, 0x32000000), // zero length
    ev.alloc(0x7d000000, 0), // zero length
    ev.mapPhys('TO_DEVICE', 0x40000000, 8 << 20, 0x40000000), // too large
    ev.alloc(0x7c000000, 8 << 20), // too large
    `dma_map_sg: ${DEV} dir=FROM_DEVICE nents=3/3 ents=1/1 dma_addrs={0x33000000} sizes={0x3000} phys_addrs={0x33000000,0x33004000,0x33008000} attrs=`, // merged
    // The merged list synced as the kernel prints it: entries past the segment DMA_MAPPING_ERROR, length 0.
    `dma_sync_sg_for_cpu: ${DEV} dir=FROM_DEVICE dma_addrs={0x33000000,0xffffffffffffffff,0xffffffffffffffff} sizes={0x3000,0,0}`,
    ev.syncSg(false, 'TO_DEVICE', [0x32000000], [0]), // zero length (a dma-direct entry of length 0)
    `dma_sync_sg_for_device: ${DEV} dir=TO_DEVICE dma_addrs={0xffffffffffffffff,0xffffffffffffffff} sizes={0,0}`, // failed on recording (its map did)
    `dma_sync_sg_for_device: ${DEV} dir=TO_DEVICE dma_addrs={0xffffffff,0xffffffff} sizes={0,0}`, // the same, with a 32-bit dma_addr_t
    ev.unmapSg('FROM_DEVICE', [0x33000000, 0x33004000, 0x33008000]),
    `dma_map_sg: ${DEV} dir=TO_DEVICE nents=128/300 ents=128/300 [TRUNCATED] dma_addrs=${arr(sg)} sizes=${arr(sg.map(() => 0x1000))} phys_addrs=${arr(sg)} attrs=`, // truncated
    ev.syncSg(false, 'TO_DEVICE', sg.slice(0, 2), [0x1000, 0x1000]),
    ev.unmapSg('TO_DEVICE', sg),
    ev.bounced(0x30000000, 8192),
    ev.bounced(0x33000000, 12288),
    ev.mapPhys('TO_DEVICE', 0x34000000, 4096, 0x34000000, '', OTHER), // another device: not replayed
    ev.bounced(0x34000000, 4096, OTHER),
    ev.mapPhys('FROM_DEVICE', 0x35000000, 4096, 0x35000000), // live at the end: a leak
    ev.sync(false, 'FROM_DEVICE', 0x35000800, 0), // zero length, inside a live replayed mapping
    ev.alloc(0x7b000000, 4096), // live at the end
  ];
  const lines = ['# tracer: nop', '#', 'cpus=2', '#', ...BODIES.map((b) => sys(b))];
  lines.splice(20, 0, 'CPU:1 [LOST 35 EVENTS]');
  const path = script(dir, 'summary.trace', lines.join('\n') + '\n');

  it('skipped, merged, truncated, lost, live at the end, recorded bounces, events by name', () => {
    const res = replayJson(path, '--platform', 'swiotlb-force', ...SMALL);
    const t = res.trace;
    assert.equal(t.format, 'ftrace');
    assert.equal(t.device, DEV);
    assert.deepEqual(t.devices, [{ name: DEV, events: BODIES.length - 2 }, { name: OTHER, events: 2 }]);
    assert.equal(t.lines, lines.length);
    assert.deepEqual(t.skipped, { mmio: 3, ccShared: 0, failedOnRecording: 6, beforeTrace: 4, afterUnmap: 0, zeroLength: 4, tooLarge: 2, cut: 0 });
    assert.equal(t.sgMerged, 1);
    assert.equal(t.sgTruncated, 1);
    assert.equal(t.lostEvents, 35);
    assert.equal(t.recordedBounces, 2);
    assert.equal(t.liveAtEnd, 2);
    assert.deepEqual(t.events, {
      dma_map_phys: 6, dma_unmap_phys: 2, dma_map_resource: 1, dma_unmap_resource: 1, dma_alloc: 4, dma_map_sg_err: 1, dma_alloc_sgt_err: 1,
      dma_sync_single_for_cpu: 1, dma_free: 1, dma_unmap_sg: 3, dma_map_sg: 2, dma_sync_sg_for_cpu: 1, dma_sync_sg_for_device: 4, dma_sync_single_for_device: 1, swiotlb_bounced: 2,
    });
    // 1 + 3 (merged) + 128 + 1 streaming maps replayed; the other device's is not.
    assert.equal(res.counters.maps, 133);
    assert.equal(res.counters.unmaps, 132);
    assert.equal(res.counters.syncsForDevice, 2);
    assert.equal(res.counters.coherentAllocs, 1);
    const classes = res.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`);
    assert.ok(classes.includes('unmap-size@6'), `an unmap of the wrong size, at its line: ${classes}`);
    // The release (at the last line) reports both live ones.
    assert.ok(classes.includes(`leak@${lines.length}`), `a leak for what is live at the end: ${classes}`);
    assert.match(res.dmaDebug.find((d: { class: string }) => d.class === 'leak').message, /count=2\]/);
    assert.ok(!classes.some((c: string) => c.startsWith('unmap-unknown')), 'an unmap of a mapping made before the trace is not replayed');
  });

  it('the human report says what was not replayed, the lost events and what is live at the end', () => {
    const r = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /trace: device 0000:03:00\.0, 31 events of 38 lines; not replayed: 0000:00:1f\.0 \(2 events\) \(--trace-device\)/);
    assert.match(r.stdout, /not replayed: 3 MMIO calls/);
    // A [TRUNCATED] list was replayed: its unprinted entries' later calls may be among those counted as made before.
    assert.match(r.stdout, /did not show being made \(made before it began, lost from it, entries past the 128 a \[TRUNCATED\] sg list printed, or/);
    assert.match(r.stdout, /INCOMPLETE: the ring buffer dropped 35 events/);
    assert.match(r.stdout, /2 mappings and allocations still live when the trace ended/);
  });
});

describe('trace: calls on a mapping that was not replayed are not replayed either', () => {
  // Page X is mapped, used and unmapped; then the same dma address is mapped again, too large to
  // replay: its sync and unmap belong to that mapping, not to the unmapped one (else dma-debug
  // reports a use after unmap and a double unmap the driver never made). A CC_SHARED map's and an
  // sg list's calls are counted with them too, an allocation's free with it; a mapping not
  // replayed is forgotten at its unmap, so later real misuse at its address is still reported.
  const X = 0x20000000, Y = 0x21000000, SG = 0x22000000, Z = 0x40000000, BIG = 8 << 20;
  const bodies = [
    ev.mapPhys('TO_DEVICE', X, 4096, X), ev.unmapPhys('TO_DEVICE', X, 4096),
    ev.mapPhys('TO_DEVICE', X, BIG, X), ev.sync(false, 'TO_DEVICE', X + (6 << 20), 4096), ev.unmapPhys('TO_DEVICE', X, BIG),
    ev.mapPhys('TO_DEVICE', Y, 4096, Y, 'CC_SHARED'), ev.sync(false, 'TO_DEVICE', Y + 256, 64), ev.unmapPhys('TO_DEVICE', Y, 4096),
    ev.mapSg('TO_DEVICE', [SG, SG + 0x2000], [SG, SG + 0x2000], [4096, 4096]).replace(/attrs=$/, 'attrs=CC_SHARED'),
    ev.syncSg(false, 'TO_DEVICE', [SG, SG + 0x2000], [4096, 4096]), ev.unmapSg('TO_DEVICE', [SG, SG + 0x2000]),
    ev.alloc(0x7c000000, BIG), ev.free(0x7c000000, BIG),
    // An sg list with one entry too large: unmapped as a list, its skipped entry forgotten.
    ev.mapSg('TO_DEVICE', [Z, Z + BIG], [Z, Z + BIG], [BIG, 4096]), ev.unmapSg('TO_DEVICE', [Z, Z + BIG]),
    // A zero-length map left live.
    ev.mapPhys('TO_DEVICE', Z + 0x1000, 0, Z + 0x1000),
    // Now real misuse at addresses the skipped mappings had: a double unmap at X, and at Z a map,
    // unmap, sync and unmap (a use after unmap, a double unmap).
    ev.unmapPhys('TO_DEVICE', X, 4096),
    ev.mapPhys('TO_DEVICE', Z, 4096, Z), ev.unmapPhys('TO_DEVICE', Z, 4096), ev.sync(false, 'TO_DEVICE', Z, 64), ev.unmapPhys('TO_DEVICE', Z, 4096),
    ev.mapPhys('TO_DEVICE', Z + 0x1000, 4096, Z + 0x1000), ev.unmapPhys('TO_DEVICE', Z + 0x1000, 4096), ev.unmapPhys('TO_DEVICE', Z + 0x1000, 4096),
  ];
  const path = traceFile('skipped-maps.trace', bodies);
  const lineOf = (i: number) => 5 + i; // a four-line header

  it('counted under the mapping\'s reason; dma-debug sees only the driver\'s own misuse', () => {
    const res = replayJson(path, '--platform', 'swiotlb-force', ...SMALL);
    const k = res.trace.skipped;
    assert.equal(k.tooLarge, 3 + 2 + 1, 'the map, its sync and unmap; the allocation and its free; the sg entry');
    assert.equal(k.ccShared, 3 + 4, 'map, sync, unmap; the sg list\'s map, two entry syncs, unmap');
    assert.equal(k.zeroLength, 1);
    assert.equal(k.beforeTrace, 0);
    assert.equal(res.trace.afterUnmap, 4, 'at X one double unmap; at Z a sync and an unmap after unmap; at Z + 4K one double unmap');
    const classes = res.dmaDebug.map((d: { class: string; op: number }) => `${d.class}@${d.op}`).filter((c: string) => !c.startsWith('leak'));
    assert.deepEqual(classes, [16, 19, 20, 23].map((i, n) => `${n === 1 ? 'sync' : 'unmap'}-unknown@${lineOf(i)}`), `each misuse at its line: ${classes}`);
  });
});

describe('trace: a mapping not replayed beside a replayed one at the same address', () => {
  // Both live at once is legal (a zero-length or too-large map of a page also mapped normally):
  // the unmap of each is matched by its size, a sync inside the live one is its; two sg lists
  // starting at the same page are told apart by all their physical addresses; an sg entry
  // unmapped alone leaves its list's dma_unmap_sg counted with the list.
  const X = 0x20000000, P = 0x60000000, Q = 0x70000000, BIG = 8 << 20;
  const bodies = [
    ev.mapPhys('TO_DEVICE', X, 4096, X), ev.mapPhys('TO_DEVICE', X, 0, X), ev.unmapPhys('TO_DEVICE', X, 4096), ev.unmapPhys('TO_DEVICE', X, 0),
    ev.mapPhys('TO_DEVICE', X, 4096, X), ev.mapPhys('TO_DEVICE', X, BIG, X), ev.unmapPhys('TO_DEVICE', X, 4096),
    ev.sync(false, 'TO_DEVICE', X, 4096), ev.unmapPhys('TO_DEVICE', X, BIG),
    ev.mapPhys('TO_DEVICE', Q, 4096, Q), ev.unmapPhys('TO_DEVICE', Q, 4096),
    ev.mapSg('TO_DEVICE', [P, Q], [P, Q], [4096, BIG]), ev.mapSg('TO_DEVICE', [P], [P], [4096]), ev.unmapSg('TO_DEVICE', [P]),
    ev.sync(false, 'TO_DEVICE', Q, 64), ev.unmapSg('TO_DEVICE', [P, Q]),
    ev.mapSg('TO_DEVICE', [P], [P], [4096]).replace(/attrs=$/, 'attrs=CC_SHARED'), ev.unmapPhys('TO_DEVICE', P, 4096), ev.unmapSg('TO_DEVICE', [P]),
    // The other order, and two replayed mappings of one start: each unmap takes the one of its size.
    ev.mapPhys('TO_DEVICE', X, 4096, X), ev.mapPhys('TO_DEVICE', X, 0, X), ev.unmapPhys('TO_DEVICE', X, 0), ev.unmapPhys('TO_DEVICE', X, 4096),
    ev.mapPhys('TO_DEVICE', X, 2048, X), ev.mapPhys('TO_DEVICE', X, 8192, X), ev.unmapPhys('TO_DEVICE', X, 2048), ev.unmapPhys('TO_DEVICE', X, 8192),
  ];
  it('no misuse reported, every call counted once under its mapping\'s reason', () => {
    const res = replayJson(traceFile('skipped-beside.trace', bodies), '--platform', 'swiotlb-force', ...SMALL);
    assert.deepEqual(res.dmaDebug.map((d: { class: string }) => d.class), []);
    const k = res.trace.skipped;
    assert.deepEqual([k.zeroLength, k.tooLarge, k.ccShared, k.beforeTrace, res.trace.afterUnmap], [2 + 2, 3 + 2, 3, 0, 0]);
    assert.equal(res.counters.maps, 2 + 1 + 1 + 1 + 3);
    assert.equal(res.counters.unmaps, 5 + 3);
  });
});

describe('trace: what a trace\'s format and its unfreed allocations say', () => {
  it('a 6.12.0–6.12.47 trace (dma_alloc with virt_addr= and no dir=) is named; allocations never freed are counted apart', () => {
    const path = traceFile('612.trace', [
      `dma_alloc: ${DEV} dma_addr=7f000000 size=8192 virt_addr=000000003c0c1d1e flags=GFP_KERNEL attrs=`,
      `dma_alloc: ${DEV} dma_addr=7f100000 size=4096 virt_addr=00000000aabbccdd flags=GFP_KERNEL attrs=`,
      `dma_free: ${DEV} dma_addr=7f000000 size=8192 virt_addr=000000003c0c1d1e attrs=`,
      ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000).replace(/^dma_map_phys/, 'dma_map_page'),
    ]);
    const t = replayJson(path, '--platform', 'coco', ...SMALL).trace;
    assert.equal(t.allocFormat612, true);
    assert.equal(t.liveAtEnd, 2);
    assert.equal(t.allocsLiveAtEnd, 1);
    const r = cli('replay', path, '--format', 'ftrace', '--platform', 'coco', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /from 6\.12\.0–6\.12\.47 \(dma_alloc prints no dir=\)/);
    // 6.12.0–6.12.47 did not trace allocations from a device's own pool: that reading is not offered.
    assert.match(r.stdout, /of those, 1 DMA-API allocation \(dma_alloc and its _pages, _sgt forms\) never freed in the trace: still in use when it ended \(a driver keeps its rings until its remove\) or a leak\n/);
  });

  it('a 6.13 trace is not taken for 6.12; its unfreed allocation may be the device\'s own pool', () => {
    const path = traceFile('613.trace', [ev.alloc(0x7f000000, 8192), ev.free(0x7f000000, 8192), ev.alloc(0x7f100000, 4096)]);
    const t = replayJson(path, '--platform', 'coco', ...SMALL).trace;
    assert.equal(t.allocFormat612, false);
    assert.equal(t.allocsLiveAtEnd, 1);
    const r = cli('replay', path, '--format', 'ftrace', '--platform', 'coco', ...SMALL);
    assert.match(r.stdout, /a leak, or, for dma_alloc, memory from the device's own coherent pool/);
    assert.match(r.stdout, /1 mapping or allocation still live .* dma-debug reports it as/);
  });
});

// ---- 5: which device ------------------------------------------------------------------------

describe('trace: the recording device', () => {
  const OTHER = '0000:00:02.0';
  const twoDevices = [
    ev.mapPhys('TO_DEVICE', 0x10000000, 4096, 0x10000000), ev.unmapPhys('TO_DEVICE', 0x10000000, 4096),
    ev.mapPhys('FROM_DEVICE', 0x20000000, 8192, 0x20000000, '', OTHER),
    ev.mapPhys('TO_DEVICE', 0x10001000, 4096, 0x10001000), ev.unmapPhys('TO_DEVICE', 0x10001000, 4096),
  ];
  const busy = traceFile('two-devices.trace', twoDevices);
  const LIST = /0000:03:00\.0 \(4 events\), 0000:00:02\.0 \(1 events?\)/;

  it('by default the device with most events is replayed, the others listed', () => {
    const res = replayJson(busy, '--platform', 'bare-metal', ...SMALL);
    assert.equal(res.trace.device, DEV);
    assert.deepEqual(res.trace.devices, [{ name: DEV, events: 4 }, { name: OTHER, events: 1 }]);
    assert.equal(res.counters.maps, 2);
    assert.equal(res.counters.unmaps, 2);
  });

  it('--trace-device picks another', () => {
    const res = replayJson(busy, '--platform', 'bare-metal', '--trace-device', OTHER, ...SMALL);
    assert.equal(res.trace.device, OTHER);
    assert.deepEqual(res.trace.events, { dma_map_phys: 1 });
    assert.equal(res.counters.maps, 1);
    assert.equal(res.counters.unmaps, 0);
    assert.equal(res.trace.liveAtEnd, 1);
  });

  it('a tie: exit 2, the devices listed, --trace-device named', () => {
    const tie = traceFile('tie.trace', [...twoDevices.slice(0, 3), ev.unmapPhys('FROM_DEVICE', 0x20000000, 8192, '', OTHER)]);
    expectUsage(cli('replay', tie, '--format', 'ftrace', ...SMALL), /tie\.trace: several devices have the most events \(0000:00:02\.0 \(2 events\), 0000:03:00\.0 \(2 events\)\); choose one with --trace-device$/m);
  });

  it('--trace-device naming a device with no events: exit 2, the devices listed', () => {
    expectUsage(cli('replay', busy, '--format', 'ftrace', '--trace-device', '0000:09:00.0', ...SMALL), new RegExp(`--trace-device: '0000:09:00\\.0' has no events in .*two-devices\\.trace \\(devices: ${LIST.source}\\)$`, 'm'));
  });

  it('--trace-device with --format jsonl: exit 2', () => {
    const jsonl = script(dir, 'plain.jsonl', [{ op: 'alloc', buf: 'a', pages: 1 }]);
    expectUsage(cli('replay', jsonl, '--trace-device', DEV, ...SMALL), /--trace-device: only with --format ftrace/);
  });

  it('--strategy with --format ftrace is taken (INTERFACE) and a note says it plays no part; the counters are those without it', () => {
    const out = join(dir, 'strategy-out.json');
    const r = cli('replay', busy, '--format', 'ftrace', '--trace-device', DEV, '--strategy', 'sync', '--out', out, '--json', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "gartbench: note: --strategy plays no part in a trace (it picks the TTM pool behind a script's tt_* ops, and a trace has none)\n");
    assert.ok(existsSync(out));
    const plain = cli('replay', busy, '--format', 'ftrace', '--trace-device', DEV, '--json', ...SMALL);
    assert.equal(plain.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout).counters, JSON.parse(plain.stdout).counters);
  });

  it('standard input with two devices and no --trace-device: exit 2, the devices listed', () => {
    const input = twoDevices.map((b) => sys(b)).join('\n') + '\n';
    expectUsage(cliAs({ input }, 'replay', '-', '--format', 'ftrace', ...SMALL), new RegExp(`^gartbench: <stdin>: the trace has events of 2 devices \\(${LIST.source}\\); choose one with --trace-device$`, 'm'));
  });

  it('standard input with two devices and --trace-device: that device', () => {
    const input = twoDevices.map((b) => sys(b)).join('\n') + '\n';
    const r = cliAs({ input }, 'replay', '-', '--format', 'ftrace', '--trace-device', OTHER, '--json', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).trace.device, OTHER);
  });

  it('--platform all with standard input: exit 2', () => {
    expectUsage(cliAs({ input: sys(twoDevices[0]!) + '\n' }, 'replay', '-', '--format', 'ftrace', '--platform', 'all', ...SMALL), /--platform all: .*give a file, not standard input/);
  });
});

// ---- 6: --platform all ----------------------------------------------------------------------

describe('trace: --platform all', () => {
  const MODERN = ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu', 'coco'];

  it('JSON: a gartbench.matrix/1 document, one cell per platform of the modern kernel, each with its trace section', () => {
    const path = traceFile('all.trace', CLEAN);
    const doc = replayJson(path, '--platform', 'all', ...SMALL);
    assert.equal(doc.schema, 'gartbench.matrix/1');
    assert.deepEqual(doc.cells.map((c: { scenario: { platform: string } }) => c.scenario.platform), MODERN);
    for (const c of doc.cells) {
      assert.equal(c.scenario.kernel, 'modern');
      assert.equal(c.trace.device, DEV);
      assert.equal(c.trace.events.dma_map_phys, 3);
      assert.equal(c.counters.maps, 3);
    }
    const bytes = Object.fromEntries(doc.cells.map((c: { scenario: { platform: string }; counters: { bounceBytes: number } }) => [c.scenario.platform, c.counters.bounceBytes]));
    assert.deepEqual(bytes, { 'bare-metal': 0, 'swiotlb-force': CLEAN_BYTES, 'xen-pv': CLEAN_BYTES, iommu: 0, coco: CLEAN_BYTES });
  });

  it('human: one row per platform', () => {
    const path = traceFile('all-human.trace', CLEAN);
    const r = cli('replay', path, '--format', 'ftrace', '--platform', 'all', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\S+\s+not checked\s/.test(l));
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), MODERN);
    // The modelled time in its own unit (format.ts duration): never "1 µs" for 920 ns.
    for (const l of rows) assert.match(l, /\s(\d+ ns|\d+\.\d µs|\d+\.\d\d ms)$/, l);
    assert.match(r.stdout, /^platform\s+verdict\s+maps\s+bounces/m);
    assert.match(r.stdout, /trace: device 0000:03:00\.0, 13 events/);
    // The machine line is the xen-pv cell's, so it names the Xen sizes; coco's own pool size beside
    // the swiotlb's when it differs (6% of 4 GiB: 256M).
    assert.match(r.stdout, /^machine \(the Xen sizes on xen-pv only\): RAM 512M, Xen host 6G, Xen low free 128M, swiotlb 4M, /m);
    const big = cli('replay', path, '--format', 'ftrace', '--platform', 'all', '--ram', '4G', '--host-ram', '16G');
    assert.match(big.stdout, /^machine \(the Xen sizes on xen-pv only\): RAM 4G, Xen host 16G, Xen low free 256M, swiotlb 64M \(coco: 256M\), /m);
  });
});

// ---- the translator's slot limit ------------------------------------------------------------

describe('trace translator: out of buffer slots, the least recently unmapped page buffer goes first', () => {
  /** The translator on an op recorder: each op as [code, slot]. */
  function translator(maxBuffers: number) {
    const ops: [number, number][] = [];
    const buf = new Int32Array(OP_WORDS);
    const engine = {
      opBuffer: () => buf,
      runBuffered: () => { ops.push([buf[0]!, buf[1]!]); },
      debug: () => ({ total: 0, records: [] }),
    } as unknown as Engine;
    return { t: new TraceTranslator('t.trace', { maxBuffers }, new OpSink(engine), DEV), ops };
  }
  const page = (i: number) => 0x10000000 + i * 0x1000;

  it('frees the oldest idle buffer and gives its slot to the new one; with none idle it is FILE:LINE', () => {
    const { t, ops } = translator(2);
    let line = 0;
    const feed = (body: string) => t.line(sys(body), ++line);
    for (const i of [0, 1]) feed(ev.mapPhys('TO_DEVICE', page(i), 4096, page(i)));
    for (const i of [0, 1]) feed(ev.unmapPhys('TO_DEVICE', page(i), 4096));
    ops.length = 0;
    feed(ev.mapPhys('TO_DEVICE', page(2), 4096, page(2)));
    assert.deepEqual(ops.slice(0, 2), [[Op.FREE, 0], [Op.ALLOC, 0]], 'page 0 (unmapped first) gives back slot 0');
    feed(ev.mapPhys('TO_DEVICE', page(1), 4096, page(1))); // the idle buffer of page 1 again: no new slot
    assert.throws(() => feed(ev.mapPhys('TO_DEVICE', page(3), 4096, page(3))), /t\.trace:7: more than 2 mappings and allocations live at once/);
  });

  it('a freed dma_alloc keeps its slot for a second dma_free, until slots run out (then it goes, oldest first)', () => {
    const { t, ops } = translator(2);
    let line = 0;
    const feed = (body: string) => t.line(sys(body), ++line);
    for (const i of [0, 1]) { feed(ev.alloc(page(i), 4096)); feed(ev.free(page(i), 4096)); }
    ops.length = 0;
    feed(ev.free(page(1), 4096)); // a second free: at the slot the first left
    assert.deepEqual(ops, [[Op.FREE_AT, 1]]);
    feed(ev.alloc(page(2), 4096)); // no slot free: the oldest kept one (page 0's) goes
    assert.deepEqual(ops.slice(1), [[Op.ALLOC_COHERENT, 0]]);
    feed(ev.free(page(0), 4096)); // its slot gone: counted as before
    assert.equal(t.summary.skipped.beforeTrace, 1);
    assert.equal(t.summary.freesAgain, 1);
  });
});
