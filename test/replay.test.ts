// The seed's bug at the level of single DMA-API operations, on both engines (INTERFACE.md
// replay), and the replay command's contract: JSON shape, exit codes, line numbers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SMALL, cli, expectUsage, scratch, script, seedReadback, seedUpload } from './helpers.js';

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

  it('past 100 dma-debug reports, the human list says --json keeps only the first 100 of them', () => {
    const n = 150;
    const bufs = Array.from({ length: n }, (_, i) => `b${i}`);
    const path = script(dir, 'many-debug.jsonl', [
      ...bufs.map((buf) => ({ op: 'alloc', buf, pages: 1 })), ...bufs.map((buf) => ({ op: 'map', buf, dir: 'to_device' })),
      ...bufs.map((buf) => ({ op: 'unmap', buf, dir: 'from_device' })),
    ]);
    const one = cli('replay', path, '--platform', 'bare-metal', ...SMALL);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^dma-debug \(150 reports\):$/m);
    assert.match(one.stdout, /^ {2}… 90 more in --json, which keeps the first 100 of the 150$/m);
    const all = cli('replay', path, '--platform', 'all', ...SMALL);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^first dma-debug report per platform \(--json lists each platform's first 100\):$/m);
    const few = cli('replay', script(dir, 'few-debug.jsonl', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'map', buf: 'a', dir: 'to_device' }, { op: 'unmap', buf: 'a', dir: 'from_device' }]), '--platform', 'all', ...SMALL);
    assert.match(few.stdout, /^first dma-debug report per platform \(all of them in --json\):$/m);
  });

  it('dma-debug messages are the kernel\'s err_printk texts filled in as the kernel does (dir2name, 0x%016llx, the entry\'s size)', () => {
    const ops = [
      { op: 'alloc', buf: 'a', pages: 2 }, { op: 'map', buf: 'a', dir: 'to_device' },
      { op: 'sync_for_cpu', buf: 'a', dir: 'from_device', offset: 0, size: 4096 }, { op: 'unmap', buf: 'a', dir: 'to_device' },
      { op: 'alloc', buf: 'b', pages: 1 }, { op: 'map', buf: 'b', dir: 'bidirectional' }, { op: 'mapping_error', buf: 'b' },
    ];
    const path = script(dir, 'messages.jsonl', ops);
    for (const kernel of ['2010', 'modern']) {
      const r = cli('replay', path, '--platform', 'bare-metal', '--kernel', kernel, '--json', ...SMALL);
      assert.equal(r.code, 0, r.stderr);
      const d = JSON.parse(r.stdout).dmaDebug as { class: string; message: string }[];
      const sync = d.find((x) => x.class === 'sync-direction')!.message;
      // The sync asked 4096 bytes of an 8192-byte mapping: the kernel prints the entry's size.
      assert.match(sync, /^device driver syncs DMA memory with different direction \[device address=0x[0-9a-f]{16}\] \[size=8192 bytes\] \[mapped with DMA_TO_DEVICE\] \[synced with DMA_FROM_DEVICE\]$/);
      const leak = d.find((x) => x.class === 'leak')!.message;
      if (kernel === 'modern') {
        // 6.12 names one leaked entry: b's, the only one left.
        assert.match(leak, /^device driver has pending DMA allocations while released from device \[count=1\] One of leaked entries details: \[device address=0x[0-9a-f]{16}\] \[size=4096 bytes\] \[mapped with DMA_BIDIRECTIONAL\] \[mapped as single\]$/);
      } else {
        assert.equal(leak, 'device driver has pending DMA allocations while released from device [count=1]');
      }
    }
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

describe('replay fields: each op takes exactly the fields INTERFACE.md lists', () => {
  it('a misspelt field is a usage error naming it and the valid ones, not its default taken silently', () => {
    const path = script(dir, 'typo.jsonl', [{ op: 'alloc', buf: 'a', pages: 2, zone: 'dma32' }, { op: 'cpu_write', buf: 'a', ofset: 4096, size: 4096 }]);
    expectUsage(cli('replay', path, ...SMALL), /:2: cpu_write: unknown field 'ofset' \(valid: op, buf, offset, size\)$/m);
  });

  it('every op with every field it documents replays (exit 0)', () => {
    const ops: object[] = [
      { op: 'alloc', buf: 'a', pages: 2, zone: 'dma32' }, { op: 'alloc_coherent', buf: 'c', pages: 1 },
      { op: 'exchange', buf: 'a', addressBits: 32 }, { op: 'map', buf: 'a', dir: 'bidirectional', offset: 0, size: 8192 },
      { op: 'mapping_error', buf: 'a' }, { op: 'sync_for_device', buf: 'a', dir: 'to_device', offset: 0, size: 4096 },
      { op: 'sync_for_cpu', buf: 'a', dir: 'from_device', offset: 0, size: 4096 },
      { op: 'cpu_write', buf: 'a', offset: 0, size: 4096 }, { op: 'cpu_read', buf: 'a', offset: 0, size: 4096 },
      { op: 'dev_write', buf: 'a', offset: 0, size: 4096 }, { op: 'dev_read', buf: 'a', offset: 0, size: 4096 },
      { op: 'gart_bind', buf: 'a', gpuPage: 0 }, { op: 'gpu_write', gpuPage: 0, pages: 1 }, { op: 'gpu_read', gpuPage: 0, pages: 1 },
      { op: 'gart_unbind', gpuPage: 0, pages: 2 }, { op: 'unmap', buf: 'a', dir: 'bidirectional', size: 8192 },
      { op: 'tt_populate', buf: 't', pages: 4, caching: 'wc' }, { op: 'tt_bind', buf: 't', gpuPage: 8 },
      { op: 'tt_sync', buf: 't', for: 'device' }, { op: 'tt_unbind', buf: 't' }, { op: 'tt_unpopulate', buf: 't' },
      { op: 'free_coherent', buf: 'c' }, { op: 'free', buf: 'a' },
    ];
    const seen = new Set(ops.map((o) => (o as { op: string }).op));
    assert.equal(seen.size, 23, 'all 23 ops');
    const r = cli('replay', script(dir, 'all-fields.jsonl', ops), '--platform', 'swiotlb-force', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('a 2.6.37 panic is said, not hidden behind the verdict', () => {
  // A 256 KiB pool (128 slots, 2 the dummy page's): a 32-page map takes 64 slots; a 64-page one then
  // finds no room and is larger than the 32 KiB overflow buffer, so 2.6.37's swiotlb_full panics.
  it('swiotlb_full over the overflow buffer: one PANIC line on 2010, none on 6.12 (DMA_MAPPING_ERROR)', () => {
    const path = script(dir, 'panic.jsonl', [
      { op: 'alloc', buf: 'a', pages: 32, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' },
      { op: 'alloc', buf: 'b', pages: 64, zone: 'dma32' }, { op: 'map', buf: 'b', dir: 'bidirectional' },
    ]);
    const old = cli('replay', path, '--platform', 'swiotlb-force', '--swiotlb', '256K', '--kernel', '2010');
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout, /^kernel: PANIC — 2\.6\.37 would have panicked once in this run: a streaming map larger than swiotlb's 32 KiB overflow buffer found the pool full/m);
    const modern = cli('replay', path, '--platform', 'swiotlb-force', '--swiotlb', '256K', '--kernel', 'modern');
    assert.equal(modern.code, 0, modern.stderr);
    assert.doesNotMatch(modern.stdout, /PANIC/);
  });
});

describe('6.12 xen_swiotlb_free_coherent destroys only what the allocation exchanged (PageXenRemapped)', () => {
  it('a driver\'s own exchange of a coherent buffer is not undone at its free on 6.12; 2.6.37 destroys at every free', () => {
    const path = script(dir, 'exchange-coherent.jsonl', [
      { op: 'alloc_coherent', buf: 'c', pages: 1 }, { op: 'exchange', buf: 'c', addressBits: 32 }, { op: 'free_coherent', buf: 'c' },
    ]);
    const counts = (kernel: string, engine: string) => {
      const r = cli('replay', path, '--platform', 'xen-pv', '--device', 'r600', '--kernel', kernel, '--engine', engine, '--json', ...SMALL);
      assert.equal(r.code, 0, r.stderr);
      const c = JSON.parse(r.stdout).counters;
      return [c.hypercalls, c.exchangedFrames];
    };
    for (const engine of ['wasm', 'js']) {
      // r600's 40-bit coherent allocation needs no exchange on 6.12: only the driver's own, kept at the free.
      assert.deepEqual(counts('modern', engine), [1, 1], engine);
      // 2.6.37's alloc_coherent always exchanges and its free always destroys: 3 hypercalls.
      assert.deepEqual(counts('2010', engine), [3, 3], engine);
    }
  });
});

describe('a script\'s sync of part of a mapping is dma_sync_single_range_for_* (handle, offset into the mapping, size)', () => {
  it('2.6.37 dma-debug checks it at the handle with offset + size where the dma ops have the range hook; ppc64\'s have none', () => {
    const path = script(dir, 'range-sync.jsonl', [
      { op: 'alloc', buf: 'a', pages: 3 }, { op: 'map', buf: 'a', dir: 'from_device', offset: 0, size: 8192 },
      { op: 'sync_for_cpu', buf: 'a', dir: 'from_device', offset: 4096, size: 4096 },
      { op: 'sync_for_cpu', buf: 'a', dir: 'from_device', offset: 4096, size: 8192 },
      { op: 'unmap', buf: 'a', dir: 'from_device', size: 8192 }, { op: 'free', buf: 'a' },
    ]);
    // RAM past 4 GiB: 2.6.37 x86-64 then runs swiotlb's dma_map_ops (pci_swiotlb_detect_4gb), which have the range hook.
    const reports = (platform: string, kernel: string, engine: string) => {
      const r = cli('replay', path, '--platform', platform, '--kernel', kernel, '--engine', engine, '--json', ...SMALL, '--ram', '8G');
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout).dmaDebug as { class: string; op: number; message: string }[]).map((d) => [d.class, d.op, d.message]);
    };
    for (const engine of ['wasm', 'js']) {
      // x86 swiotlb: debug_dma_sync_single_range_for_cpu finds the mapping; the second runs past its 8 KiB.
      const x86 = reports('bare-metal', '2010', engine);
      assert.deepEqual(x86.map(([c, op]) => [c, op]), [['sync-outside', 4]], engine);
      assert.match(String(x86[0]![2]), /\[allocation size=8192 bytes\] \[sync offset\+size=12288\]$/);
      // ppc64's dma_iommu_ops: dma_sync_single_range_for_cpu is dma_sync_single_for_cpu at handle + offset, which 2.6.37's exact lookup does not find.
      assert.deepEqual(reports('iommu', '2010', engine).map(([c, op]) => [c, op]), [['sync-unknown', 3], ['sync-unknown', 4]], engine);
      // 6.12 makes the two calls one: contained, then past the end (no entry contains it).
      assert.deepEqual(reports('bare-metal', 'modern', engine).map(([c, op]) => [c, op]), [['sync-unknown', 4], ['map-error-unchecked', 5]], engine);
    }
  });
});
