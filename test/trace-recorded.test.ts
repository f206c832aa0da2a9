// A replayed trace's dma-debug report names the simulated machine's device address (a bounce
// slot, an IOVA); the engineer's own dmesg names the recording machine's. Each report on a trace
// line carries that line's recorded address too (`traceAddress`): the call's own, an sg entry's
// for an entry's report, a folded 64-bit address unfolded; the text output adds it where it
// differs. The release's 6.12 leak report carries the address of the entry it names (its map's or
// allocation's line: entryOp); 2.6.37's names no entry, and a JSON-script replay carries none.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL, cli } from './helpers.js';
import { DEV, ev, replayJson, traceFile } from './traceLines.js';

type Debug = { class: string; op: number; message: string; entryOp?: number; traceAddress?: string }[];
function both(path: string, ...args: string[]): Debug {
  const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, ...args, '--engine', e, ...SMALL).dmaDebug as Debug);
  assert.deepEqual(w, j, 'both engines');
  return w!;
}
const HEADER = 4;
const D = 0x7f000000, DPHYS = 0x12340000;

describe('trace replay: dma-debug reports name the address the trace recorded', () => {
  // Many maps first: the op buffer has run and moved on many times, so the double unmap's address is one the sink kept.
  const many = Array.from({ length: 3000 }, (_, i) => [ev.mapPhys('TO_DEVICE', 0x7e000000 + i * 0x1000, 64, 0x20000000 + i * 0x1000), ev.unmapPhys('TO_DEVICE', 0x7e000000 + i * 0x1000, 64)]).flat();
  const double = traceFile('recorded-double.trace', [ev.mapPhys('FROM_DEVICE', D, 2048, DPHYS), ev.unmapPhys('FROM_DEVICE', D, 2048), ...many, ev.unmapPhys('FROM_DEVICE', D, 2048), ev.mapPhys('TO_DEVICE', 0x7d000000, 512, 0x30000000)]);
  const doubleLine = HEADER + 2 + many.length + 1;

  it('a double unmap: the recorded handle beside the simulated one, on every platform; the leak its entry\'s map\'s (6.12; 2.6.37 names no entry)', () => {
    for (const [platform, kernel] of [['swiotlb-force', 'modern'], ['swiotlb-force', '2010'], ['iommu', 'modern'], ['bare-metal', 'modern'], ['xen-pv', 'modern']]) {
      const d = both(double, '--platform', platform!, '--kernel', kernel!);
      const at = `${platform} ${kernel}`;
      const leak = kernel === 'modern' ? ['leak', doubleLine + 1, '0x7d000000', doubleLine + 1] : ['leak', doubleLine + 1, undefined, undefined];
      assert.deepEqual(d.map((x) => [x.class, x.op, x.traceAddress, x.entryOp]), [['unmap-unknown', doubleLine, '0x7f000000', undefined], leak], at);
    }
  });

  it('the text output adds the recorded address beside the simulated one', () => {
    const bounced = cli('replay', double, '--format', 'ftrace', '--platform', 'swiotlb-force', ...SMALL);
    assert.equal(bounced.code, 0, bounced.stderr);
    const line = bounced.stdout.split('\n').find((l) => l.includes('unmap-unknown'))!;
    assert.match(line, /has not allocated \[device address=0x[0-9a-f]{16}\] \[size=2048 bytes\] \(the trace recorded device address 0x7f000000\)$/);
    assert.doesNotMatch(line, /device address=0x000000007f000000/, 'swiotlb-force bounced it: a slot address');
  });

  it('an sg list: each entry\'s report names that entry\'s recorded address', () => {
    const phys = [0x40000000, 0x40010000], dmas = [0x7c000000, 0x7c100000];
    const path = traceFile('recorded-sg.trace', [ev.mapSg('TO_DEVICE', phys, dmas, [4096, 4096]), `dma_unmap_sg: ${DEV} dir=FROM_DEVICE phys_addrs={0x${phys[0]!.toString(16)},0x${phys[1]!.toString(16)}} attrs=`]);
    const d = both(path, '--platform', 'swiotlb-force');
    assert.deepEqual(d.map((x) => [x.class, x.traceAddress]), [['unmap-direction', '0x7c000000'], ['unmap-direction', '0x7c100000']]);
  });

  it('a sync that starts at an unmapped mapping and runs into a live one names the address the line recorded, not the live one\'s', () => {
    const path = traceFile('recorded-sync-before.trace', [
      ev.mapPhys('FROM_DEVICE', 0x60000800, 2048, 0x50000800), ev.unmapPhys('FROM_DEVICE', 0x60000800, 2048),
      ev.mapPhys('FROM_DEVICE', 0x60001000, 4096, 0x50001000), ev.sync(false, 'TO_DEVICE', 0x60000800, 4096), ev.unmapPhys('FROM_DEVICE', 0x60001000, 4096)]);
    const d = both(path, '--platform', 'swiotlb-force', '--kernel', '2010');
    assert.ok(d.length > 0, 'the sync is reported');
    for (const x of d) assert.deepEqual([x.op, x.traceAddress], [HEADER + 4, '0x60000800'], x.class);
  });

  it('an entry the replay placed inside a segment a recording IOMMU merged names no address (none was printed)', () => {
    const path = traceFile('recorded-merged.trace', [
      `dma_map_sg: ${DEV} dir=FROM_DEVICE nents=3/3 ents=1/1 dma_addrs={0x80000000} sizes={0x3000} phys_addrs={0x40000000,0x40010000,0x40020000} attrs=`,
      `dma_unmap_sg: ${DEV} dir=TO_DEVICE phys_addrs={0x40000000,0x40010000,0x40020000} attrs=`,
      `dma_unmap_sg: ${DEV} dir=FROM_DEVICE phys_addrs={0x40000000,0x40010000,0x40020000} attrs=`]);
    const d = both(path, '--platform', 'iommu', '--kernel', 'modern');
    for (const line of [HEADER + 2, HEADER + 3]) { // the unmap, and the same list unmapped again
      const unmaps = d.filter((x) => x.op === line);
      assert.ok(unmaps.length >= 2, `line ${line}: the entries are reported`);
      assert.deepEqual(unmaps.map((x) => x.traceAddress), ['0x80000000', ...unmaps.slice(1).map(() => undefined)], `line ${line}`);
    }
    const text = cli('replay', path, '--format', 'ftrace', '--platform', 'all', ...SMALL);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /swiotlb-force: line \d+ [a-z-]+: .*\(dma-debug's entry from line \d+; the trace recorded device address 0x8000000\d\)/, '--platform all names it too');
  });

  it('a 64-bit address past 2^52 is named as the trace printed it, not as folded', () => {
    const big = '800000012340000'; // powernv's bypass window: phys + 2^59
    const path = traceFile('recorded-big.trace', [
      `dma_map_phys: ${DEV} dir=TO_DEVICE dma_addr=${big} size=4096 phys_addr=12340000 attrs=`,
      `dma_unmap_phys: ${DEV} dir=TO_DEVICE dma_addr=${big} size=4096 attrs=`,
      `dma_unmap_phys: ${DEV} dir=TO_DEVICE dma_addr=${big} size=4096 attrs=`,
    ]);
    const d = both(path, '--platform', 'bare-metal');
    assert.deepEqual(d.map((x) => [x.class, x.traceAddress]), [['unmap-unknown', `0x${big}`]]);
  });

  it('a JSON-script replay has no recorded address', () => {
    const r = cli('replay', 'examples/misuse.jsonl', '--json');
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout).dmaDebug as Debug;
    assert.ok(d.length > 0, 'misuse.jsonl makes reports');
    for (const x of d) assert.equal(x.traceAddress, undefined);
  });
});

describe('trace replay: a report names the line that made the entry it is about (entryOp)', () => {
  // The map far behind: 20,000 ops between it and the reports, more than the op buffer holds, so its line is one the sink pinned.
  const filler = Array.from({ length: 10000 }, (_, i) => [ev.mapPhys('TO_DEVICE', 0x7e000000 + i * 0x1000, 64, 0x20000000 + i * 0x1000), ev.unmapPhys('TO_DEVICE', 0x7e000000 + i * 0x1000, 64)]).flat();
  const keptMap = ev.mapPhys('FROM_DEVICE', D, 4096, DPHYS), leaked = ev.mapPhys('TO_DEVICE', 0x7c000000, 2048, 0x30000000);
  const path = traceFile('entry-op.trace', [keptMap, leaked, ...filler, ev.sync(true, 'TO_DEVICE', D, 4096), ev.unmapPhys('FROM_DEVICE', D, 2048)]);
  const syncLine = HEADER + 3 + filler.length;
  it('a sync\'s and an unmap\'s reports name the map\'s line; the 6.12 leak its own map\'s line and recorded address (both engines)', () => {
    const d = both(path, '--platform', 'swiotlb-force', '--kernel', 'modern');
    assert.deepEqual(d.map((x) => [x.class, x.op, x.entryOp, x.traceAddress]), [
      ['sync-direction', syncLine, HEADER + 1, '0x7f000000'],
      ['unmap-size', syncLine + 1, HEADER + 1, '0x7f000000'],
      ['leak', syncLine + 1, HEADER + 2, '0x7c000000'], // the release, at the trace's last line
    ]);
    const text = cli('replay', path, '--format', 'ftrace', '--platform', 'swiotlb-force', '--kernel', 'modern', ...SMALL);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`line ${syncLine + 1} unmap-size: .*\\(dma-debug's entry from line ${HEADER + 1}; the trace recorded device address 0x7f000000\\)`));
    assert.match(text.stdout, new RegExp(`line ${syncLine + 1} leak: .*\\(dma-debug's entry from line ${HEADER + 2}; the trace recorded device address 0x7c000000\\)`));
  });
  it('a JSON-script replay names the script\'s line', () => {
    const r = cli('replay', 'examples/misuse.jsonl', '--json');
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout).dmaDebug as Debug;
    // rx is mapped at line 2, synced (line 3) and unmapped (line 4) wrongly; 2.6.37's leak names no entry.
    assert.deepEqual(d.map((x) => [x.class, x.op, x.entryOp]), [['sync-direction', 3, 2], ['sync-cpu-readonly', 3, 2], ['unmap-size', 4, 2], ['unmap-direction', 4, 2], ['leak', 6, undefined]]);
  });
  it('a map whose push filled the op buffer (the buffer ran, the window moved past it) is still named', () => {
    // 2 allocations (an op each), then maps of 3 ops each (the page buffer, the map, dma_mapping_error): the map of
    // entry 5460 is op 16383, the buffer's last; those around it too, each unmapped with the wrong size at the end.
    const keep = [5458, 5459, 5460, 5461, 5462], at = (i: number) => 0x40000000 + i * 0x1000;
    const maps = Array.from({ length: 6000 }, (_, i) => ev.mapPhys('TO_DEVICE', at(i), 64, at(i)));
    const unmaps = Array.from({ length: 6000 }, (_, i) => i).filter((i) => !keep.includes(i)).map((i) => ev.unmapPhys('TO_DEVICE', at(i), 64));
    const path = traceFile('entry-op-boundary.trace', [ev.alloc(0x7f000000, 4096), ev.alloc(0x7f002000, 4096), ...maps, ...unmaps, ...keep.map((i) => ev.unmapPhys('TO_DEVICE', at(i), 32))]);
    const d = both(path, '--platform', 'bare-metal', '--kernel', 'modern').filter((x) => x.class === 'unmap-size'); // 6,000 live bounces would fill a small pool
    assert.deepEqual(d.map((x) => [x.entryOp, x.traceAddress]), keep.map((i) => [HEADER + 3 + i, `0x${at(i).toString(16)}`]));
  });
});
