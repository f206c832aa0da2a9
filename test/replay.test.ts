// The seed's bug at the level of single DMA-API operations, on both engines (INTERFACE.md
// replay), and the replay command's contract: JSON shape, exit codes, line numbers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SMALL, cli, scratch, script, seedReadback, seedUpload } from './helpers.js';

const dir = scratch();

interface Case { description: string; platform: string; ops: object[]; device?: string; expect: Partial<Record<string, number>>; verdict: string }

const CASES: Case[] = [
  { description: 'xen-pv, 32-bit device: DMA32 page bounces and the GPU reads the stale copy', platform: 'xen-pv', ops: seedUpload(), expect: { staleReads: 1, bounces: 1, syncsForDevice: 0 }, verdict: 'corrupt' },
  { description: 'xen-pv: a sync_for_device before the GPU read makes it coherent', platform: 'xen-pv', ops: seedUpload({ syncBeforeRead: true }), expect: { staleReads: 0, bounces: 1, syncsForDevice: 1 }, verdict: 'coherent' },
  { description: 'xen-pv: a dma_alloc_coherent buffer needs no bounce', platform: 'xen-pv', ops: seedUpload({ coherent: true }), expect: { staleReads: 0, bounces: 0, coherentAllocs: 1 }, verdict: 'coherent' },
  { description: 'swiotlb=force on bare metal behaves like Xen', platform: 'swiotlb-force', ops: seedUpload(), expect: { staleReads: 1, bounces: 1 }, verdict: 'corrupt' },
  { description: 'plain bare metal never bounces a DMA32 page', platform: 'bare-metal', ops: seedUpload(), expect: { staleReads: 0, bounces: 0 }, verdict: 'coherent' },
  { description: 'iommu: the IOVA maps the page itself', platform: 'iommu', ops: seedUpload(), expect: { staleReads: 0, bounces: 0 }, verdict: 'coherent' },
  { description: 'xen-pv readback: the GPU write lands in the bounce slot and is lost', platform: 'xen-pv', ops: seedReadback(), expect: { lostWrites: 1, staleReads: 0 }, verdict: 'corrupt' },
  { description: 'xen-pv readback with sync_for_cpu: coherent', platform: 'xen-pv', ops: seedReadback({ syncBeforeRead: true }), expect: { lostWrites: 0, syncsForCpu: 1 }, verdict: 'coherent' },
  { description: 'swiotlb-force readback loses the write too', platform: 'swiotlb-force', ops: seedReadback(), expect: { lostWrites: 1 }, verdict: 'corrupt' },
  { description: 'xen-pv, 40-bit device: a single page is reachable, no bounce', platform: 'xen-pv', device: 'r600', ops: seedUpload(), expect: { staleReads: 0, bounces: 0 }, verdict: 'coherent' },
];

for (const engine of ['wasm', 'js']) {
  describe(`replay of the seed's operations (engine ${engine})`, () => {
    for (const c of CASES) {
      it(c.description, () => {
        const path = script(dir, `case-${engine}-${CASES.indexOf(c)}.jsonl`, c.ops);
        const r = cli('replay', path, '--platform', c.platform, '--device', c.device ?? 'r100', '--engine', engine, '--json', ...SMALL);
        assert.equal(r.code, 0, r.stderr);
        const res = JSON.parse(r.stdout);
        assert.equal(res.schema, 'gartbench.result/1');
        assert.equal(res.verdict, c.verdict);
        for (const [k, v] of Object.entries(c.expect)) assert.equal(res.counters[k], v, `${k}`);
        assert.equal(res.counters.dmaDebugErrors, 0, JSON.stringify(res.dmaDebug));
        if (c.verdict === 'corrupt') {
          assert.ok(res.firstViolation, 'a corrupt run names its first violation');
          assert.ok(res.firstViolation.op > 0, 'op is a script line');
        } else {
          assert.equal(res.firstViolation, null);
        }
      });
    }
  });
}

describe('replay output', () => {
  it('the first violation names the script line of the bad read and its address chain', () => {
    const path = script(dir, 'chain.jsonl', seedUpload());
    const r = cli('replay', path, '--platform', 'xen-pv', '--json', ...SMALL);
    const v = JSON.parse(r.stdout).firstViolation;
    const readLine = seedUpload().findIndex((o) => (o as { op: string }).op === 'gpu_read') + 1;
    assert.equal(v.kind, 'stale');
    assert.equal(v.op, readLine);
    assert.match(v.dmaAddr, /^0x[0-9a-f]+$/);
    assert.match(v.detail, /PTE/);
  });

  it('the human report states the verdict and the first violation', () => {
    const path = script(dir, 'human.jsonl', seedUpload());
    const r = cli('replay', path, '--platform', 'xen-pv', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /verdict: CORRUPT/);
    assert.match(r.stdout, /first violation \(stale\)/);
  });

  it('--out writes the same JSON that --json prints', () => {
    const path = script(dir, 'out.jsonl', seedUpload());
    const out = `${dir}/result.json`;
    const r = cli('replay', path, '--platform', 'xen-pv', '--json', '--out', out, ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout);
    const b = JSON.parse(readFileSync(out, 'utf8'));
    delete a.engine; delete b.engine;
    assert.deepEqual(a, b);
  });
});
