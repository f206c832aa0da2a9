// Kernel traces with DMA addresses past 2^53 (powernv's 64-bit bypass window: pci-ioda.c sets
// tce_bypass_base to 1 << 59, so a bypass mapping's dma_addr is phys + 2^59): they read, fold per
// trace (source/traceAddr.ts), replay exactly as the same trace at low addresses, and print unfolded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddrFolder, MAX_REGIONS, parseAddr } from '../src/source/traceAddr.js';
import { TraceSyntaxError, parseTraceLine } from '../src/source/traceEvents.js';
import { SMALL } from './helpers.js';
import { DEV, arr, ev, h, replayJson, sys, traceFile } from './traceLines.js';

const BYPASS = 2n ** 59n;
/** Address text: phys, or phys + 2^59 as the bypass window prints it. */
const at = (phys: number, high: boolean) => (high ? (BigInt(phys) + BYPASS).toString(16) : h(phys));
const arrAt = (xs: number[], high: boolean) => (high ? `{${xs.map((x) => `0x${at(x, true)}`).join(',')}}` : arr(xs));

const P = 0x1_0c4a_2000, Q = 0x1_2000_0000, R = 0x1_2001_0000, S = 0x1_3000_0000;
function trace(high: boolean): string[] {
  return [
    `dma_map_page: ${DEV} dir=FROM_DEVICE dma_addr=${at(P, high)} size=2048 phys_addr=${h(P)} attrs=`,
    `dma_sync_single_for_cpu: ${DEV} dir=FROM_DEVICE dma_addr=${at(P + 1024, high)} size=512`,
    `dma_unmap_page: ${DEV} dir=FROM_DEVICE dma_addr=${at(P, high)} size=2048 attrs=`,
    `dma_map_sg: ${DEV} dir=TO_DEVICE nents=2/2 ents=2/2 dma_addrs=${arrAt([Q, R], high)} sizes=${arr([4096, 8192])} phys_addrs=${arr([Q, R])} attrs=`,
    `dma_sync_sg_for_device: ${DEV} dir=TO_DEVICE dma_addrs=${arrAt([Q, R], high)} sizes=${arr([4096, 8192])}`,
    `dma_unmap_sg: ${DEV} dir=TO_DEVICE phys_addrs=${arr([Q, R])} attrs=`,
    // Unmapped in the wrong direction, and a coherent buffer never freed: dma-debug names them.
    `dma_map_page: ${DEV} dir=TO_DEVICE dma_addr=${at(S, high)} size=4096 phys_addr=${h(S)} attrs=`,
    `dma_unmap_page: ${DEV} dir=FROM_DEVICE dma_addr=${at(S, high)} size=4096 attrs=`,
    `dma_alloc: ${DEV} dir=BIDIRECTIONAL dma_addr=${at(0x2000_0000, high)} size=8192 virt_addr=00000000c0ffee00 flags=GFP_KERNEL attrs=`,
  ];
}

describe('trace: DMA addresses past 2^53 (powernv bypass window)', () => {
  for (const platform of ['iommu', 'swiotlb-force', 'xen-pv']) {
    it(`replay as the same trace at low addresses (${platform}, both engines)`, () => {
      const runs = (['wasm', 'js'] as const).flatMap((engine) => [false, true].map((high) =>
        replayJson(traceFile(`high-${platform}-${engine}-${high}.trace`, trace(high)), '--platform', platform, '--kernel', 'modern', '--engine', engine, ...SMALL)));
      for (const r of runs.slice(1)) assert.deepEqual(r.counters, runs[0].counters);
      const c = runs[0].counters;
      assert.equal(c.maps, 4);
      assert.equal(c.unmaps, 4);
      assert.equal(c.syncsForCpu + c.syncsForDevice, 3);
      assert.deepEqual(runs[1].dmaDebug.map((d: { class: string }) => d.class), runs[0].dmaDebug.map((d: { class: string }) => d.class));
      assert.ok(runs[0].dmaDebug.some((d: { class: string }) => d.class === 'unmap-direction'));
    });
  }

  it('shows no folded address anywhere in the result', () => {
    const r = replayJson(traceFile('high-result.trace', trace(true)), '--platform', 'iommu', '--kernel', 'modern', ...SMALL);
    const folded = (v: unknown): boolean => typeof v === 'number' ? v >= 2 ** 52 && v < 2 ** 53
      : typeof v === 'string' ? /0x1[0-9a-f]{12}\b/.test(v) : v !== null && typeof v === 'object' && Object.values(v).some(folded);
    assert.equal(folded(r), false);
    assert.ok(folded({ a: [2 ** 52 + 5] }) && folded('at 0x1000000000123'), 'the check itself sees them');
  });

  it('folds equal addresses to equal numbers, offsets within a region to offsets, and unfolds them', () => {
    const f = new AddrFolder();
    const a = parseAddr('800000010c4a2000', f)!, b = parseAddr('0x800000010c4a2800', f)!, c = parseAddr('ff00000000001000', f)!;
    assert.equal(b - a, 0x800);
    assert.equal(parseAddr('800000010c4a2000', f), a);
    assert.ok(a < 2 ** 53 && c < 2 ** 53 && a >= 2 ** 52);
    assert.equal(f.hex(a), '0x800000010c4a2000');
    assert.equal(f.hex(c), '0xff00000000001000');
    assert.equal(f.hex(0x1000), '0x1000');
    assert.equal(parseAddr('ffffffffffffffff', f), -1);
    assert.equal(parseAddr('800000010c4a2000'), null); // no folder: not read
  });

  it(`more than ${MAX_REGIONS} regions above 2^52 in one trace is a clear error`, () => {
    const f = new AddrFolder();
    const line = (i: number) => sys(ev.unmapPhys('TO_DEVICE', 0, 4096).replace('dma_addr=0', `dma_addr=${(BYPASS + (BigInt(i) << 44n)).toString(16)}`));
    for (let i = 0; i < MAX_REGIONS; i++) assert.equal(parseTraceLine(line(i), f).kind, 'event');
    assert.throws(() => parseTraceLine(line(MAX_REGIONS), f), (e: Error) => e instanceof TraceSyntaxError && new RegExp(`one more 16 TiB region .* than the ${MAX_REGIONS}`).test(e.message));
  });

  it('a physical address at or above 2^52 is an error naming it, never folded (only DMA addresses fold)', () => {
    const f = new AddrFolder();
    const past = '10000000000000'; // 2^52
    const lines = [
      sys(`dma_map_page: ${DEV} dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=${past} attrs=`),
      sys(`dma_map_sg: ${DEV} dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs=${arr([0x1000])} sizes=${arr([4096])} phys_addrs={0x${past}} attrs=`),
      sys(`dma_unmap_sg: ${DEV} dir=TO_DEVICE phys_addrs={0x${past}} attrs=`),
    ];
    for (const l of lines) {
      assert.throws(() => parseTraceLine(l, f), (e: Error) => e instanceof TraceSyntaxError && /phys_addrs?: (0x)?10000000000000 lies at or above 2\^52, where x86-64 and arm64 physical addresses end: replay reads physical addresses below 2\^52 only/.test(e.message), l);
    }
    // The highest physical address there is, 2^52 − 4 KiB, reads.
    assert.equal(parseTraceLine(sys(`dma_map_page: ${DEV} dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=ffffffffff000 attrs=`), f).kind, 'event');
  });

  it('a mapping running past its 16 TiB region is not found by a sync in the region folded next', () => {
    // A map of 8 KiB at 4 KiB below a region's end, then a sync at the base of another region: as
    // at low addresses (the same trace 2^59 lower), the sync finds nothing.
    const at2 = (high: boolean, a: bigint) => (high ? a + BYPASS : a).toString(16);
    const end = (1n << 44n) - 4096n, other = 5n << 44n;
    const body = (high: boolean) => [
      `dma_map_page: ${DEV} dir=TO_DEVICE dma_addr=${at2(high, end)} size=8192 phys_addr=${h(0x1000_0000)} attrs=`,
      `dma_sync_single_for_device: ${DEV} dir=TO_DEVICE dma_addr=${at2(high, other)} size=4096`,
    ];
    const [lo, hi] = [false, true].map((high) => replayJson(traceFile(`spill-${high}.trace`, body(high)), '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL));
    assert.equal(hi.counters.syncsForDevice, lo.counters.syncsForDevice);
    assert.deepEqual(hi.counters, lo.counters);
  });
});
