// dma-debug's cacheline tracking on a trace's maps (6.12 add_dma_entry → active_cacheline_insert):
// two live maps whose memory starts in the same cacheline, neither DMA_TO_DEVICE, are "cacheline
// tracking EEXIST" unless the later one has DMA_ATTR_SKIP_CPU_SYNC. A trace's maps become buffers
// of their own, so the cacheline numbers are those of the memory the trace recorded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SMALL } from './helpers.js';
import { ev, replayJson, traceFile } from './traceLines.js';

const P = 0x7e000000;
type Debug = { class: string; message: string }[];
/** Both engines' dma-debug for these lines (they must agree), on one platform and kernel. */
function debugOf(name: string, body: string[], platform = 'bare-metal', kernel = 'modern'): Debug {
  const path = traceFile(name, body);
  const [w, j] = (['wasm', 'js'] as const).map((e) => replayJson(path, '--platform', platform, '--kernel', kernel, '--engine', e, ...SMALL));
  assert.deepEqual(w.dmaDebug, j.dmaDebug, 'both engines');
  assert.deepEqual(w.counters, j.counters, 'both engines');
  return (w.dmaDebug as Debug).filter((d) => d.class !== 'leak');
}
const overlaps = (d: Debug) => d.filter((x) => x.class === 'overlap').length;

describe('trace: two live maps of one cacheline (dma-debug EEXIST)', () => {
  it('is reported on 6.12, on every platform, by the recorded memory (the maps are buffers of their own here)', () => {
    const body = [ev.mapPhys('FROM_DEVICE', 0x1000, 1500, P), ev.mapPhys('BIDIRECTIONAL', 0x2000, 1500, P + 32), ev.unmapPhys('FROM_DEVICE', 0x1000, 1500), ev.unmapPhys('BIDIRECTIONAL', 0x2000, 1500)];
    for (const platform of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']) {
      const d = debugOf(`eexist-${platform}.trace`, body, platform);
      assert.deepEqual(d.map((x) => x.class), ['overlap'], platform);
      assert.match(d[0]!.message, /^cacheline tracking EEXIST, overlapping mappings aren't supported/);
    }
    assert.equal(overlaps(debugOf('eexist-2010.trace', body, 'bare-metal', '2010')), 0, '2.6.37 had no cacheline tracking');
  });

  it('not for DMA_TO_DEVICE (never tracked), another cacheline, or a map done while the first was unmapped', () => {
    assert.equal(overlaps(debugOf('to-device.trace', [ev.mapPhys('TO_DEVICE', 0x1000, 64, P), ev.mapPhys('FROM_DEVICE', 0x2000, 64, P), ev.mapPhys('TO_DEVICE', 0x3000, 64, P)])), 0);
    assert.equal(overlaps(debugOf('next-line.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 4096, P), ev.mapPhys('FROM_DEVICE', 0x2000, 64, P + 64)])), 0, 'only the first cacheline of a mapping is tracked');
    assert.equal(overlaps(debugOf('sequential.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 64, P), ev.unmapPhys('FROM_DEVICE', 0x1000, 64), ev.mapPhys('FROM_DEVICE', 0x1000, 64, P)])), 0);
  });

  it('DMA_ATTR_SKIP_CPU_SYNC keeps the report back for its own map, but its entry is still tracked', () => {
    assert.equal(overlaps(debugOf('skip-second.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 64, P), ev.mapPhys('FROM_DEVICE', 0x2000, 64, P, 'SKIP_CPU_SYNC')])), 0);
    assert.equal(overlaps(debugOf('skip-first.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 64, P, 'SKIP_CPU_SYNC'), ev.mapPhys('FROM_DEVICE', 0x2000, 64, P)])), 1);
  });

  it('an sg list\'s entries are tracked too, with the list\'s attrs', () => {
    const sg = (attrs: string) => `dma_map_sg: 0000:03:00.0 dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={0x5000,0x6000} sizes={0x40,0x40} phys_addrs={0x${P.toString(16)},0x${(P + 0x1000).toString(16)}} attrs=${attrs}`;
    assert.equal(overlaps(debugOf('sg.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 64, P), sg('')])), 1);
    assert.equal(overlaps(debugOf('sg-skip.trace', [ev.mapPhys('FROM_DEVICE', 0x1000, 64, P), sg('SKIP_CPU_SYNC')])), 0);
  });
});
