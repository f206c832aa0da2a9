// GART PTE formats through the op stream (docs/ENGINE.md §10, D2, D15): what each family keeps of
// a bus address, and the raw PTE a GPU read reports in the first violation, on both engines.
// The pure encoders are checked directly in model-pieces.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GartFamily, Kernel, Platform, ViolationKind } from '../src/engine/abi.js';
import {
  COHERENT, ENGINES, PAGE, TO_DEV, alloc, allocCoherent, bind, cpuWrite, gpuRead, map, oracleOf, runCases, runOn, unbind,
} from './engineHarness.js';

const upload = [alloc(0), map(0), bind(0), cpuWrite(0), gpuRead()];
type Family = keyof typeof GartFamily;

/** The violation's words, by name (VIOLATION_FIELDS order). */
function fields(v: bigint[] | null) {
  assert.ok(v, 'a violation');
  const [kind, , reader, , mfn, dmaAddr, gpuPage, pte] = v;
  return { kind, reader, mfn, dmaAddr, gpuPage, pte };
}

for (const engine of ENGINES) {
  describe(`GART PTE formats (xen-pv, 40-bit mask: bus addresses above 4 GiB) (engine ${engine})`, () => {
    const rows: { family: Family; foreign: number }[] = [
      { family: 'r100', foreign: 1 }, // low 32 bits only: the GPU reads some other frame
      { family: 'r600', foreign: 0 },
      { family: 'nv04', foreign: 1 },
      { family: 'nv50', foreign: 0 }, // 8 high bits kept
    ];
    for (const r of rows) {
      it(`${r.family}: ${r.foreign ? 'truncates' : 'keeps'} a 40-bit address`, async () => {
        const { c, kind, invariants } = await runOn(engine, { maskBits: 40, gartFamily: GartFamily[r.family] }, upload);
        assert.equal(c.bounces, 0); assert.equal(c.foreignReads, r.foreign);
        if (r.foreign) assert.equal(kind, ViolationKind.foreign);
        assert.equal(invariants, 0);
      });
    }
    runCases(engine, [
      // nv50: each bind and unbind flushes the PFIFO and the PGRAPH TLB (nv50_vm_flush, engines 5 and 0): 2 + 2.
      { description: 'nv50: an unbound page is invalid and a GPU read of it is foreign', cfg: { maskBits: 40, gartFamily: GartFamily.nv50 },
        ops: [...upload, unbind(0, 1), gpuRead()], expect: { foreignReads: 1, tlbFlushes: 4, gartWrites: 2 } },
      { description: '40-bit device + r100 on xen: the coherent handle\'s PTE is truncated, the GPU reads the wrong frame',
        cfg: { maskBits: 40 }, ops: [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()], expect: { foreignReads: 1 } },
      { description: '40-bit device + r600 on xen: the coherent handle\'s PTE is exact, coherent',
        cfg: { maskBits: 40, gartFamily: GartFamily.r600 }, ops: [allocCoherent(0), bind(0), cpuWrite(0), gpuRead()],
        check: (o) => assert.deepEqual(oracleOf(o), COHERENT) },
    ]);
  });

  describe(`the PTE a GPU read reports (twins of the encodePte/pteValid pieces) (engine ${engine})`, () => {
    // The seed bug on xen-pv: the GART holds the bounce slot's bus address, below 4 GiB, so the
    // flags each family ORs in are the only difference between the raw PTE and the address.
    const flags: Record<Family, bigint> = { r100: 0n, r600: 0x67n, nv04: 3n, nv50: 0x21n, agp: 0n };
    for (const family of ['r100', 'r600', 'nv04', 'nv50'] as const) {
      it(`${family}: the seed bug's PTE is the bounce address | 0x${flags[family].toString(16)}`, async () => {
        const v = fields((await runOn(engine, { gartFamily: GartFamily[family] }, upload)).violation);
        assert.equal(v.kind, BigInt(ViolationKind.stale));
        assert.ok(v.dmaAddr > 0n && v.dmaAddr < 1n << 32n && v.dmaAddr % BigInt(PAGE) === 0n);
        assert.equal(v.pte, v.dmaAddr | flags[family]);
        assert.equal(v.mfn, v.dmaAddr / BigInt(PAGE));
      });
    }
    it('nv04 on the modern kernel: no dummy page (nv04_vmm_pgt_unmap writes 0), no TLB flush (nv04_vmm has none); 2.6.37 points unbound entries at the dummy page', async () => {
      const ops = [allocCoherent(0), bind(0), unbind(0, 1), gpuRead()];
      const cfg = { platform: Platform['swiotlb-force'], gartFamily: GartFamily.nv04 };
      const modern = await runOn(engine, { ...cfg, kernel: Kernel.modern }, ops);
      const v = fields(modern.violation);
      assert.deepEqual([v.kind, v.pte, v.dmaAddr, v.mfn], [BigInt(ViolationKind.foreign), 0n, -1n, -1n]);
      assert.equal(modern.c.tlbFlushes, 0);
      assert.equal(modern.c.swiotlbPeakSlots, 0, 'no boot mapping holds bounce slots');
      const old = await runOn(engine, cfg, ops);
      const w = fields(old.violation);
      assert.ok(w.pte !== 0n && (w.pte & 3n) === 3n, 'the dummy page\'s entry');
      assert.equal(old.c.swiotlbPeakSlots, 2, 'the dummy page\'s bounce');
    });
    it('nv50: unbind writes an invalid zero entry; the read reports no address and no frame', async () => {
      const v = fields((await runOn(engine, { gartFamily: GartFamily.nv50 }, [allocCoherent(0), bind(0), unbind(0, 1), gpuRead()])).violation);
      assert.deepEqual([v.kind, v.reader, v.pte, v.dmaAddr, v.mfn], [BigInt(ViolationKind.foreign), 2n, 0n, -1n, -1n]);
    });
    it('r600 on the modern kernel: a DMA_MAPPING_ERROR handle keeps all 64 bits and decodes beyond RAM', async () => {
      // A 128-slot pool: the dummy page holds slots 0-1 (§1), one 63-page map the other 126; the
      // next map fails with all ones (§5, D15).
      const ops = [alloc(0, 63), map(0, TO_DEV, 0, 63 * PAGE), alloc(1), map(1), bind(1), gpuRead()];
      const cfg = { platform: Platform['swiotlb-force'], kernel: Kernel.modern, nslabs: 128, gartFamily: GartFamily.r600 };
      const v = fields((await runOn(engine, cfg, ops)).violation);
      assert.equal(v.kind, BigInt(ViolationKind.foreign));
      assert.equal(v.pte, BigInt.asIntN(64, 0xffff_ffff_ffff_f067n)); // (~0 & ~0xFFF) | 0x67
      assert.equal(v.dmaAddr, BigInt.asIntN(64, 0xffff_ffff_ffff_f000n));
      assert.equal(v.mfn, -1n, 'nothing is there');
    });
  });
}
