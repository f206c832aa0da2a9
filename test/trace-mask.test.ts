// The recording device's DMA mask, as swiotlb_bounced prints it: kept in the trace summary and,
// when it reaches other memory of the simulated machine than --device's mask, said beside it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers.js';
import { DEV, ev, replayJson, traceFile } from './traceLines.js';
import { maskBits } from '../src/source/traceAddr.js';

const bounced = (mask: string) => `swiotlb_bounced: dev_name: ${DEV} dma_mask=${mask} dev_addr=123456000 size=4096 FORCE`;
const body = (mask: string) => [bounced(mask), ev.mapPhys('TO_DEVICE', 0x7e000000, 4096, 0x123456000), ev.unmapPhys('TO_DEVICE', 0x7e000000, 4096)];
const text = (path: string, ...args: string[]) => {
  const r = cli('replay', path, '--format', 'ftrace', '--platform', 'bare-metal', '--kernel', 'modern', ...args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').find((l) => l.includes("recording device's DMA mask"));
};

describe('trace: the recording device\'s DMA mask', () => {
  it('reads a mask\'s width from its %llx text', () => {
    assert.equal(maskBits('ffffffff'), 32);
    assert.equal(maskBits('ffffffffff'), 40);
    assert.equal(maskBits('ffffffffffffffff'), 64);
    assert.equal(maskBits('0x3fffffff'), 30);
    assert.equal(maskBits('0'), 0);
    assert.equal(maskBits('zz'), undefined);
  });

  it('is kept, each width once in the order seen, and said only where it reaches other memory than --device\'s', () => {
    const wide = traceFile('mask64.trace', [...body('ffffffffffffffff'), bounced('ffffffff'), bounced('0'), bounced('ffffffffffffffff')]); // 0: no dev->dma_mask
    assert.deepEqual(replayJson(wide, '--platform', 'bare-metal', '--ram', '8G').trace.recordedMaskBits, [64, 32]);
    const w64 = traceFile('mask64only.trace', body('ffffffffffffffff'));
    assert.equal(text(w64, '--device', 'r100', '--ram', '8G'), "  the recording device's DMA mask: 64 bits (swiotlb_bounced's dma_mask); --device r100 has 32 bits, and what bounces here follows --device's mask (r600 and nv50 have 40 bits, which reach all of this machine's memory as the recorded mask does: --device r600)");
    assert.equal(text(w64, '--device', 'r600', '--ram', '8G'), undefined, '40 and 64 bits reach all of 8 GiB alike');
    assert.equal(text(w64, '--device', 'r100', '--ram', '4G'), undefined, 'with 4 GiB of RAM, 32 bits reach it all too');
    const w32 = traceFile('mask32.trace', body('ffffffff'));
    assert.match(text(w32, '--device', 'nv50', '--ram', '8G') ?? '', /32 bits \(swiotlb_bounced's dma_mask\); --device nv50 has 40 bits, and what bounces here follows --device's mask \(r100, nv04 and agp have 32 bits: --device r100\)$/);
    const two = traceFile('mask-two.trace', [...body('ffffffff'), bounced('ffffffffff')]);
    assert.match(text(two, '--device', 'r100', '--ram', '8G') ?? '', /: 32 bits, then 40 bits \(swiotlb_bounced's dma_mask\); --device r100 has 32 bits, and what bounces here follows --device's mask \(r600 and nv50 have 40 bits: --device r600\)$/, 'advice for the last width, not the first');
    assert.match(text(two, '--device', 'r600', '--ram', '8G') ?? '', /\(the last, 40 bits, reaches what --device's does\)$/, 'never the device in use');
    for (const platform of ['swiotlb-force', 'coco', 'iommu']) {
      const r = cli('replay', w64, '--format', 'ftrace', '--platform', platform, '--kernel', 'modern', '--device', 'r100', '--ram', '8G');
      assert.doesNotMatch(r.stdout, /recording device's DMA mask/, `${platform}: the mask decides no bounce there`);
    }
    const all = cli('replay', w64, '--format', 'ftrace', '--platform', 'all', '--kernel', 'modern', '--device', 'r100', '--ram', '4G');
    assert.match(all.stdout, /what bounces on xen-pv follows --device's mask/, 'with 4 GiB of RAM only Xen\'s 16 GiB host is out of 32 bits\' reach');
    const w30 = traceFile('mask30.trace', body('3fffffff'));
    assert.match(text(w30, '--device', 'r100', '--ram', '8G') ?? '', /30 bits .*\(no modelled device has a mask that narrow\)$/);
  });
});
