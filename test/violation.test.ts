// The first violation, hop by hop (INTERFACE.md firstViolation): for each kind of address a
// reader can use — a swiotlb bounce slot, the 2010 overflow buffer, an IOVA, an AGP GATT entry, a
// plain machine frame, no address at all — both engines name the same hops, and the explanation
// names each of them without a placeholder or an internal term.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replayPlanFrom, workloadPlanFrom } from '../src/cli/plans.js';
import { loadCosts } from '../src/report/costs.js';
import type { Result } from '../src/report/result.js';
import { resultsOf } from '../src/report/results.js';
import { scratch, script, seedReadback, seedUpload } from './helpers.js';

const dir = scratch();
const SMALL = { ram: 512 * 2 ** 20, 'host-ram': 6 * 2 ** 30, 'xen-low-free': 128 * 2 ** 20, swiotlb: 4 * 2 ** 20, 'payload-bytes': 0, seed: 1 };

async function run(name: string, ops: object[], platform: string, device = 'r100', engine: 'wasm' | 'js' = 'wasm', kernel = '2010', swiotlb?: number, strategy?: string): Promise<Result> {
  const v = { ...SMALL, platform, device, kernel, engine, ...(swiotlb ? { swiotlb } : {}), ...(strategy ? { strategy } : {}) };
  const [r] = await resultsOf([replayPlanFrom(v, script(dir, `${name}-${engine}.jsonl`, ops))], loadCosts(undefined), { workers: 1 });
  return r!;
}

/** No placeholder printed as an address, no unexplained internal term. */
function assertReadable(detail: string): void {
  assert.doesNotMatch(detail, /0xffffffffffffffff/, detail);
  assert.doesNotMatch(detail, /\bunit\b|\bversion\b|stamp/, detail);
}

interface Case {
  description: string;
  platform: string;
  device?: string;
  kernel?: string;
  swiotlb?: number;
  ops: object[];
  check: (r: Result) => void;
}

const bind = (buf: string, gpuPage = 0) => ({ op: 'gart_bind', buf, gpuPage });

const CASES: Case[] = [
  {
    description: "xen-pv, the seed's bug: the GPU reads bounce slot N; the page's own frame is above 4 GiB",
    platform: 'xen-pv', ops: seedUpload(),
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.kind, 'stale');
      assert.equal(v.via, 'swiotlb');
      assert.ok(v.slot !== null && v.slot >= 0);
      assert.ok(v.pageMfn! >= 2 ** 20, 'the page itself is a high machine frame');
      assert.ok(v.mfn! < 2 ** 20, 'the GPU read a frame of the low bounce pool');
      assert.notEqual(v.mfn, v.pageMfn);
      assert.equal(v.seenOp, 1, 'saw what line 1 (the alloc zero-fill) wrote');
      assert.equal(v.expectedOp, 5, 'expected what line 5 (cpu_write) wrote');
      assert.match(v.detail, new RegExp(`bounce slot ${v.slot} of xen-swiotlb at machine 0x`));
      assert.match(v.detail, new RegExp(`machine frame 0x${v.pageMfn!.toString(16)}\\b`));
      assert.match(v.detail, /zero-fill at alloc \(line 1\)/);
      assert.match(v.detail, /CPU's write \(line 5\)/);
      assert.match(v.detail, /dma_sync_single_for_device/);
    },
  },
  {
    description: 'swiotlb-force readback: the CPU reads the page; the device was given bounce slot N; its write is lost',
    platform: 'swiotlb-force', ops: seedReadback(),
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.kind, 'lost');
      assert.equal(v.reader, 'cpu');
      assert.equal(v.via, 'swiotlb');
      assert.equal(v.mfn, v.pageMfn, 'the CPU reads the page itself');
      assert.match(v.detail, /the device was given dma address 0x[0-9a-f]+: bounce slot \d+ of swiotlb/);
      assert.match(v.detail, /GPU's write through the GART \(line 5\)/);
    },
  },
  {
    description: 'swiotlb-force 2010 with the pool too small: the map returns the overflow buffer',
    platform: 'swiotlb-force', swiotlb: 256 * 1024,
    ops: [{ op: 'alloc', buf: 'a', pages: 128, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, bind('a'), { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.via, 'overflow');
      assert.equal(v.slot, null);
      assert.match(v.detail, /overflow buffer/);
    },
  },
  {
    description: 'iommu: a buffer bound without a map hands the GART a physical address that no IOVA covers',
    platform: 'iommu',
    ops: [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, bind('a'), { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.kind, 'foreign');
      assert.equal(v.via, 'iommu');
      assert.equal(v.mfn, null, 'the IOMMU faults: no frame reached');
      assert.match(v.detail, /an IOVA with no IOMMU entry \(the IOMMU faults\)/);
      assert.match(v.detail, /reached no memory/);
    },
  },
  {
    description: "xen-pv, 40-bit device bound without a map: virt_to_phys's address is some other machine frame",
    platform: 'xen-pv', device: 'r600',
    ops: [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, bind('a'), { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.via, 'direct');
      assert.equal(v.mfn, v.pfn, 'the pseudo-physical address read as a machine address');
      assert.notEqual(v.mfn, v.pageMfn);
      assert.match(v.detail, /no page of this guest|which backs pfn/);
      assert.match(v.detail, /not the machine address of the page/);
    },
  },
  {
    description: 'nv50: a GPU read of an unbound page meets an invalid PTE and names no address',
    platform: 'bare-metal', device: 'nv50',
    ops: [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, bind('a'), { op: 'gart_unbind', gpuPage: 0, pages: 1 }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.kind, 'foreign');
      assert.equal(v.via, null);
      assert.equal(v.dmaAddr, null);
      assert.equal(v.pfn, null);
      assert.match(v.detail, /GART PTE 0x0 is not valid: the GPU reads nothing/);
    },
  },
  {
    description: "2010 xen-pv: a failed map's error value (0) bound into the GART leads the GPU to machine frame 0, and the detail says so",
    platform: 'xen-pv', device: 'r100',
    ops: [{ op: 'alloc', buf: 'a', pages: 128, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, bind('a'), { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(r.counters.mappingErrors, 1);
      assert.deepEqual([v.kind, v.via, v.dmaAddr, v.mfn], ['foreign', null, '0x0', 0]);
      assert.match(v.detail, /GART PTE 0x0 → dma address 0x0: the error value a failed map returned \(2\.6\.37 xen-swiotlb's DMA_ERROR_CODE\)/);
      assert.doesNotMatch(v.detail, /not valid/);
    },
  },
  {
    description: 'a GPU read through a bounce address after its unmap: the slot belongs to no mapping, and the reason says so (no sync would help)',
    platform: 'xen-pv', device: 'r100',
    ops: [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, bind('a'), { op: 'cpu_write', buf: 'a' },
      { op: 'sync_for_device', buf: 'a', dir: 'bidirectional' }, { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.via, 'swiotlb');
      assert.match(v.detail, /\(a slot no mapping holds now\)/);
      assert.match(v.detail, /the bounce slot belongs to no live mapping: its address was used after the unmap/);
      assert.doesNotMatch(v.detail, /no dma_sync_single_for_device/);
    },
  },
  {
    description: 'a CPU read after an unmap that copied nothing back (TO_DEVICE): the reason does not say the address was used after the unmap',
    platform: 'swiotlb-force', device: 'r100',
    ops: [{ op: 'alloc', buf: 'a', pages: 1, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'from_device' }, { op: 'dev_write', buf: 'a' },
      { op: 'unmap', buf: 'a', dir: 'to_device', size: 4096 }, { op: 'cpu_read', buf: 'a' }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.kind, 'lost');
      assert.match(v.detail, /the device's write in it never came back to the page — the unmap copies back only a FROM_DEVICE or BIDIRECTIONAL mapping/);
      assert.doesNotMatch(v.detail, /the GART or the driver still held it/);
    },
  },
  {
    description: 'modern swiotlb full: the failed map is DMA_MAPPING_ERROR, which names no address',
    platform: 'swiotlb-force', kernel: 'modern', swiotlb: 256 * 1024,
    ops: [{ op: 'alloc', buf: 'a', pages: 128, zone: 'dma32' }, { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'dev_write', buf: 'a', size: 4096 }, { op: 'cpu_read', buf: 'a', size: 4096 }],
    check: (r) => {
      const v = r.firstViolation!;
      assert.equal(v.via, null);
      assert.equal(v.dmaAddr, null);
    },
  },
];

for (const engine of ['wasm', 'js'] as const) {
  describe(`first violation, hop by hop (engine ${engine})`, () => {
    for (const c of CASES) {
      it(c.description, async () => {
        const r = await run(`v${CASES.indexOf(c)}`, c.ops, c.platform, c.device, engine, c.kernel, c.swiotlb);
        assert.ok(r.firstViolation, 'a violation');
        c.check(r);
        assertReadable(r.firstViolation!.detail);
      });
    }
  });
}

describe('first violation: both engines say the same', () => {
  for (const c of CASES) {
    it(c.description, async () => {
      const [w, j] = await Promise.all(['wasm', 'js'].map((e) => run(`same${CASES.indexOf(c)}`, c.ops, c.platform, c.device, e as 'wasm', c.kernel, c.swiotlb)));
      assert.deepEqual(w!.firstViolation, j!.firstViolation);
    });
  }
});

describe('first violation through the GART dummy page', () => {
  const unbound = [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 5, pages: 1 }];
  it('an unbound entry leads to the page the driver mapped at init, named by driver, on every route', async () => {
    const cases = [
      ['r100', 'swiotlb-force', /\(the bounce copy of pfn 0x[0-9a-f]+, radeon's GART dummy page, mapped by radeon_dummy_page_init for unbound entries\)/],
      ['r600', 'bare-metal', /which backs pfn 0x[0-9a-f]+, radeon's GART dummy page, mapped by radeon_dummy_page_init for unbound entries, not this page/],
      ['nv04', 'iommu', /an IOVA the IOMMU maps to pfn 0x[0-9a-f]+, nouveau's sgdma dummy page, mapped by nouveau_sgdma_init for unbound entries, not this page/],
    ] as const;
    for (const [device, platform, text] of cases) {
      const [w, j] = await Promise.all((['wasm', 'js'] as const).map((e) => run(`dummy-${device}`, unbound, platform, device, e)));
      assert.deepEqual(w!.firstViolation, j!.firstViolation);
      assert.match(w!.firstViolation!.detail, text);
      assertReadable(w!.firstViolation!.detail);
    }
  });
  it('2.6.37 nouveau: a populate whose map failed leaves its entries at the dummy page, and the reason says so', async () => {
    for (const engine of ['wasm', 'js'] as const) {
      const v = { ...SMALL, swiotlb: 2 * 2 ** 20, platform: 'xen-pv', device: 'nv04', kernel: '2010', strategy: 'sync', workload: 'stream', pages: 1024, 'bo-pages': 256, rounds: 1, replicas: 1, engine };
      const [r] = await resultsOf([workloadPlanFrom(v, new Set())], loadCosts(undefined), { workers: 1 });
      const f = r!.firstViolation!;
      assert.match(f.detail, /the bounce copy of pfn 0x[0-9a-f]+, nouveau's sgdma dummy page/, f.detail);
      assert.match(f.detail, /— the populate could not map this page, so the bind wrote no entry for it: the entry still points at the dummy page$/);
    }
  });
  it('a page of a live buffer is not called the dummy page', async () => {
    const f = (await run('dummy-not', [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'map', buf: 'a', dir: 'to_device' }, bind('a'), { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }], 'swiotlb-force')).firstViolation!;
    assert.doesNotMatch(f.detail, /dummy page/);
  });
});

describe('first violation through a GART entry bound from a failed map', () => {
  // 128 pages do not fit a 256 KiB swiotlb: the map fails; the script binds its return anyway.
  const ops = [
    { op: 'alloc', buf: 'a', pages: 128 }, { op: 'map', buf: 'a', dir: 'bidirectional' }, bind('a'),
    { op: 'cpu_write', buf: 'a' }, { op: 'gpu_read', gpuPage: 0, pages: 1 },
  ];
  it('6.12: the PTE holds DMA_MAPPING_ERROR as far as it can, named as such, not as a plain machine frame', async () => {
    for (const [device, addr] of [['r600', '0xfffffffffffff000'], ['r100', '0xfffff000']] as const) {
      const [w, j] = await Promise.all((['wasm', 'js'] as const).map((e) => run(`failed-${device}`, ops, 'swiotlb-force', device, e, 'modern', 256 * 1024)));
      assert.deepEqual(w!.firstViolation, j!.firstViolation);
      const f = w!.firstViolation!;
      assert.equal(f.reader, 'gpu');
      assert.equal(f.dmaAddr, addr);
      assert.match(f.detail, new RegExp(`dma address ${addr}: the error value a failed map returned \\(DMA_MAPPING_ERROR, ~0, as far as the PTE holds it\\), which the driver bound without checking dma_mapping_error\\(\\); as an address it is machine frame `));
      assert.match(f.detail, /— the map failed and the driver put its error value in the GART: the GPU goes wherever that value points, never to the page$/);
      assertReadable(f.detail);
    }
  });
  // 512 maps of 4 MiB fill the IOMMU's 2 GiB window: the next map fails.
  const fill = [{ op: 'alloc', buf: 'a', pages: 1024, zone: 'normal' }, ...Array.from({ length: 512 }, () => ({ op: 'map', buf: 'a', dir: 'bidirectional' }))];
  it('6.12 IOMMU: the error value may be an IOVA another mapping holds (the dummy page\'s): named as the error value, no teardown story', async () => {
    const bound = [...fill, { op: 'mapping_error', buf: 'a' }, bind('a'), { op: 'cpu_write', buf: 'a', offset: 0, size: 4096 }, { op: 'gpu_read', gpuPage: 0, pages: 1 }];
    const [w, j] = await Promise.all((['wasm', 'js'] as const).map((e) => run('failed-iommu', bound, 'iommu', 'r100', e, 'modern')));
    assert.deepEqual(w!.firstViolation, j!.firstViolation);
    const d = w!.firstViolation!.detail;
    assert.match(d, /dma address 0xfffff000: the error value a failed map returned \(DMA_MAPPING_ERROR, ~0, as far as the PTE holds it\), which the driver bound without checking dma_mapping_error\(\); as an address it is an IOVA the IOMMU maps to pfn 0x[0-9a-f]+, radeon's GART dummy page/);
    assert.match(d, /— the map failed and the driver put its error value in the GART: the GPU goes wherever that value points, never to the page$/);
    assert.doesNotMatch(d, /torn down|wrote no entry/);
  });
  it('2.6.37 nouveau: a populate whose map failed wrote no entry: not called an error value, and the entry is what it was', async () => {
    const tt = [{ op: 'tt_populate', buf: 't', pages: 128, caching: 'cached' }, { op: 'tt_bind', buf: 't', gpuPage: 0 }, { op: 'cpu_write', buf: 't' }, { op: 'gpu_read', gpuPage: 0, pages: 1 }];
    // Behind the IOMMU the entry still holds the dummy page's IOVA; 511 maps of 4 MiB and one of
    // 1000 pages leave the window less room than the populate's 128 pages.
    const nearly = [...fill.slice(0, 512), { op: 'alloc', buf: 'c', pages: 1000, zone: 'normal' }, { op: 'map', buf: 'c', dir: 'bidirectional' }];
    const [w, j] = await Promise.all((['wasm', 'js'] as const).map((e) => run('noentry-iommu', [...nearly, ...tt], 'iommu', 'nv04', e, '2010', undefined, 'sync')));
    assert.deepEqual(w!.firstViolation, j!.firstViolation);
    assert.match(w!.firstViolation!.detail, /— the populate could not map this page, so the bind wrote no entry for it: the entry still points at the dummy page$/);
    assert.doesNotMatch(w!.firstViolation!.detail, /error value|DMA_ERROR_CODE|torn down/);
    // Under Xen, after another buffer was bound there first, it holds that buffer's address.
    const first = [{ op: 'alloc', buf: 'b', pages: 4 }, { op: 'exchange', buf: 'b', addressBits: 32 }, { op: 'map', buf: 'b', dir: 'bidirectional' }, bind('b')];
    const x = (await run('noentry-xen', [...first, ...tt], 'xen-pv', 'nv04', 'wasm', '2010', 256 * 1024, 'sync')).firstViolation!;
    assert.match(x.detail, /— the populate could not map this page, so the bind wrote no entry for it: the entry still points where it pointed before the bind$/);
    assert.doesNotMatch(x.detail, /error value|DMA_ERROR_CODE|dummy page/);
  });
  it('2.6.37 keeps its own words: the overflow buffer (swiotlb-force), Xen\'s 0', async () => {
    const over = (await run('failed-2010', ops, 'swiotlb-force', 'r100', 'wasm', '2010', 256 * 1024)).firstViolation!;
    assert.equal(over.via, 'overflow');
    assert.doesNotMatch(over.detail, /DMA_MAPPING_ERROR/);
    const xen = (await run('failed-2010-xen', ops, 'xen-pv', 'r100', 'wasm', '2010', 256 * 1024)).firstViolation!;
    assert.match(xen.detail, /the error value a failed map returned \(2\.6\.37 xen-swiotlb's DMA_ERROR_CODE\), used as an address/);
  });
});

describe('first violation of an AGP GATT', () => {
  it('phys under Xen: the chipset reads the entry at the pseudo-physical base, not where the table is', async () => {
    for (const engine of ['wasm', 'js'] as const) {
      const v = { ...SMALL, platform: 'xen-pv', device: 'agp', kernel: '2010', gatt: 'phys', strategy: 'legacy', workload: 'upload', pages: 64, 'bo-pages': 16, rounds: 1, replicas: 1, engine };
      const [r] = await resultsOf([workloadPlanFrom(v, new Set())], loadCosts(undefined), { workers: 1 });
      const f = r!.firstViolation!;
      assert.deepEqual([f.via, f.kind], ['gatt', 'foreign']);
      assert.match(f.detail, /the chipset reads GATT entry 0 at machine 0x[0-9a-f]+ \(bridge base 0x[0-9a-f]+: virt_to_phys\(\) of the table, its pseudo-physical address, which under Xen PV is not its machine address\): a frame of no page of this guest, not the table the CPU filled \(machine frame 0x[0-9a-f]+\)/);
      assert.match(f.detail, /not the machine address of the table/);
      assertReadable(f.detail);
    }
  });
  // A readback's CPU read finds the GPU's write missing: the GPU's route to the page (the GATT
  // entry the chipset fetched), not a dma handle, says where that write went.
  const readback = async (platform: string, gatt: string, engine: 'wasm' | 'js') => {
    const v = { ...SMALL, platform, device: 'agp', kernel: '2010', gatt, strategy: 'legacy', workload: 'readback', pages: 64, 'bo-pages': 16, rounds: 1, replicas: 1, engine };
    const [r] = await resultsOf([workloadPlanFrom(v, new Set())], loadCosts(undefined), { workers: 1 });
    return r!;
  };
  it('a CPU read of a lost GPU write names the GPU\'s route through the GATT: phys under Xen, dma-coherent behind an IOMMU', async () => {
    // The bridge base: a pseudo-physical address under Xen, an IOVA behind the IOMMU (past this guest's RAM).
    for (const [platform, gatt] of [['xen-pv', 'phys'], ['iommu', 'dma-coherent']] as const) {
      const [w, j] = await Promise.all([readback(platform, gatt, 'wasm'), readback(platform, gatt, 'js')]);
      assert.deepEqual(w.firstViolation, j.firstViolation);
      const f = w.firstViolation!;
      assert.deepEqual([f.kind, f.reader, f.via, f.gpuPage], ['lost', 'cpu', 'gatt', 0]);
      assert.equal(f.dmaAddr, null, 'the chipset found no valid entry: no address');
      assert.match(f.detail, /^CPU read of buffer #1, page pfn 0x[0-9a-f]+ \(machine frame 0x[0-9a-f]+\): the GPU reaches it as GPU page 0 → the chipset reads GATT entry 0 at machine 0x[0-9a-f]+ \(bridge base 0x[0-9a-f]+: /);
      assert.match(f.detail, gatt === 'phys' ? /bridge base 0x[0-9a-f]+: virt_to_phys\(\) of the table, its pseudo-physical address/
        : /bridge base 0x[0-9a-f]+: the table's dma_alloc_coherent\(\) handle, an IOVA, which the chipset takes for a machine address: it fetches the GATT past the IOMMU\)/);
      // Off the table, what the chipset took for an entry is not modelled: no value is printed for it (pte null).
      const holder = platform === 'xen-pv' ? "Xen's or another domain's memory" : 'memory that is no page of this guest';
      assert.ok(f.pte === null && !/entry 0x0\b/.test(f.detail) && f.detail.includes(`: a frame of no page of this guest, not the table the CPU filled (machine frame `), f.detail);
      assert.ok(f.detail.includes(`) → what that frame holds at that offset (${holder}), which the chipset takes for the entry, is not modelled: the GPU's writes go wherever it points, never this page (taken here as no valid entry); the CPU read bytes 0–2047`), f.detail);
      assert.match(f.detail, /saw the zero-fill of the AGP pages when (agp_generic_alloc_pages\(\) allocated them \(__GFP_ZERO\)|dma_alloc_coherent\(\) gave them) \(op 1\)/);
      const twice = platform === 'xen-pv' ? "; and were the table found, each entry in it, page_to_phys() of its page, is a pseudo-physical address too" : '';
      assert.ok(f.detail.endsWith(`expected the GPU's write through the AGP aperture (GATT) (op 6) — the bridge was given an address that is not the machine address of the table, so the chipset reads its entries from another frame${twice}`), f.detail);
      assert.doesNotMatch(f.detail, /dma address|holds no dma address/);
      assertReadable(f.detail);
    }
  });
  it('a TTM readback keeps the dma handle hop: the GATT route is for AGP pages only', async () => {
    const v = { ...SMALL, platform: 'swiotlb-force', device: 'r100', kernel: '2010', strategy: 'legacy', workload: 'readback', pages: 64, 'bo-pages': 16, rounds: 1, replicas: 1, engine: 'wasm' };
    const [r] = await resultsOf([workloadPlanFrom(v, new Set())], loadCosts(undefined), { workers: 1 });
    const f = r!.firstViolation!;
    assert.equal(f.via, 'swiotlb');
    assert.equal(f.gpuPage, null);
    assert.match(f.detail, /the device was given dma address 0x[0-9a-f]+: bounce slot \d+ of swiotlb/);
  });
});

describe('first violation with payload bytes: a partial sync', () => {
  const runPayload = async (name: string, ops: object[], engine: 'wasm' | 'js', kernel = '2010') => {
    const v = { ...SMALL, 'payload-bytes': 4096, platform: 'swiotlb-force', device: 'r100', kernel, engine };
    const [r] = await resultsOf([replayPlanFrom(v, script(dir, `${name}-${engine}.jsonl`, ops))], loadCosts(undefined), { workers: 1 });
    return r!;
  };
  const upload = [
    { op: 'alloc', buf: 'b', pages: 1 }, { op: 'map', buf: 'b', dir: 'to_device' }, { op: 'cpu_write', buf: 'b' },
    { op: 'sync_for_device', buf: 'b', dir: 'to_device', offset: 0, size: 100 }, { op: 'dev_read', buf: 'b' },
  ];
  const readback = [
    { op: 'alloc', buf: 'b', pages: 1 }, { op: 'map', buf: 'b', dir: 'from_device' }, { op: 'dev_write', buf: 'b' },
    { op: 'sync_for_cpu', buf: 'b', dir: 'from_device', offset: 0, size: 2148 }, { op: 'cpu_read', buf: 'b' },
  ];
  it('the device sees the CPU\'s write in part: the detail names the first byte that differs and why a sync missed it', async () => {
    for (const engine of ['wasm', 'js'] as const) {
      const f = (await runPayload('partial-up', upload, engine)).firstViolation!;
      assert.equal(f.kind, 'stale');
      assert.match(f.detail, /saw the CPU's write \(line 3\) in part: payload byte 100, the first that differs, is not that write's, expected the CPU's write \(line 3\)/);
      assert.match(f.detail, /no dma_sync_single_for_device reached these bytes after it; a sync copies only the range it is given\)/);
      assertReadable(f.detail);
      // 6.12's swiotlb also cuts a sync at its mapping's end (swiotlb_bounce); 2.6.37's does not.
      const modern = (await runPayload('partial-up-modern', upload, engine, 'modern')).firstViolation!;
      assert.match(modern.detail, /a sync copies only the range it is given, within one mapping\)/);
    }
  });
  it('the CPU misses bytes of the device\'s write past a partial sync_for_cpu: lost, not "the bounce slot holds an older copy"', async () => {
    for (const engine of ['wasm', 'js'] as const) {
      const f = (await runPayload('partial-back', readback, engine)).firstViolation!;
      assert.equal(f.kind, 'lost');
      assert.match(f.detail, /payload byte 2148, the first that differs/);
      assert.match(f.detail, /no dma_sync_single_for_cpu reached these bytes after it; a sync copies only the range it is given\)/);
      assert.doesNotMatch(f.detail, /older copy|dma_sync_single_for_device/);
      assertReadable(f.detail);
    }
  });
});

describe('first violation behind an IOMMU: a write through a read-only IOVA', () => {
  it('the CPU reads the page while the to_device IOVA is live: the reason names the read-only IOVA, on both engines', async () => {
    const ops = [{ op: 'alloc', buf: 'a', pages: 1 }, { op: 'map', buf: 'a', dir: 'to_device' }, { op: 'dev_write', buf: 'a' },
      { op: 'cpu_read', buf: 'a' }, { op: 'unmap', buf: 'a', dir: 'to_device' }];
    const [w, j] = await Promise.all(['wasm', 'js'].map((e) => run('ro-iova', ops, 'iommu', 'r100', e as 'wasm', 'modern')));
    assert.deepEqual(w!.firstViolation, j!.firstViolation);
    const f = w!.firstViolation!;
    assert.ok(f.kind === 'lost' && /an IOVA the IOMMU maps to this page/.test(f.detail), f.detail);
    assert.match(f.detail, /the IOVA is read-only \(a DMA_TO_DEVICE mapping: .*\): a device write through it faults and never reaches the page$/);
    assertReadable(f.detail);
  });
});

describe('first violation: a GPU write through a GART entry its buffer left behind', () => {
  it('the CPU reads a new buffer on the freed page: the write is named once, and the reason says the entry outlived its mapping, on both engines', async () => {
    const ops = [
      // The GPU's read caches the IOVA's translation: a lazy IOMMU's IOTLB keeps it after the unmap.
      { op: 'alloc', buf: 'a', pages: 1 }, { op: 'map', buf: 'a', dir: 'bidirectional' }, { op: 'gart_bind', buf: 'a', gpuPage: 0 },
      { op: 'gpu_read', gpuPage: 0, pages: 1 }, { op: 'unmap', buf: 'a', dir: 'bidirectional' }, { op: 'free', buf: 'a' },
      { op: 'alloc', buf: 'c', pages: 1 }, { op: 'cpu_write', buf: 'c' }, { op: 'gpu_write', gpuPage: 0, pages: 1 }, { op: 'cpu_read', buf: 'c' },
    ];
    for (const platform of ['bare-metal', 'iommu']) {
      const [w, j] = await Promise.all((['wasm', 'js'] as const).map((e) => run(`stale-entry-${platform}`, ops, platform, 'r100', e, 'modern')));
      const v = w!.firstViolation!;
      assert.deepEqual(v, j!.firstViolation, platform);
      assert.equal(v.kind, 'foreign', platform);
      assert.match(v.detail, /saw the GPU's write through a GART entry no live buffer owned \(line 9\)/, platform);
      assert.doesNotMatch(v.detail, /through the GART through/, platform);
      assert.match(v.detail, /the GART entry that write went through was left behind by a buffer since freed, and its address led to this page/, platform);
      assertReadable(v.detail);
    }
  });
});
