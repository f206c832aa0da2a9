// The coco platform (docs/ENGINE.md §16; MODEL.md §9): a confidential-computing guest (SEV-SNP or
// TDX) on the modern kernel, Linux 6.12. Every case runs on both engines and checks numbers derived
// by hand from the 6.12 source it cites:
// - dma_direct_map_page (kernel/dma/direct.h): is_swiotlb_force_bounce — x86's pci_swiotlb_detect
//   sets SWIOTLB_FORCE under CC_ATTR_GUEST_MEM_ENCRYPT (arch/x86/kernel/pci-dma.c) — sends every
//   map to swiotlb_map, whatever the device's mask;
// - mem_encrypt_setup_arch (arch/x86/mm/mem_encrypt.c) + swiotlb_adjust_size and
//   swiotlb_adjust_nareas/round_up_default_nslabs (kernel/dma/swiotlb.c): the pool is 6 % of RAM,
//   clamped to 64 MiB–1 GiB, aligned to a segment, then rounded up to a power of two;
// - dma_direct_alloc / dma_direct_free (kernel/dma/direct.c): dma_set_decrypted and
//   dma_set_encrypted convert coherent memory to shared and back, one call over PFN_UP(size) pages.
// Pools are read back as in test/engine-swiotlb-modern.test.ts: an AGP bridge has no GART dummy page
// holding slots, and an unmap with a wrong size (1 byte) reports `unmap-size` at the bus address.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CC_PRIVATE_TARGET, GartFamily, Kernel, Platform, ViolationKind, Via, VIOLATION_FIELDS, Zone, type MachineConfig } from '../src/engine/abi.js';
import { UsageError } from '../src/errors.js';
import { bootSwiotlbBytes, machineConfig } from '../src/run/machine.js';
import { platformsOf } from '../src/run/matrix.js';
import {
  BIDI, COHERENT, ENGINES, PAGE, POOL_PFN, TO_DEV, alloc, allocCoherent, bind, cpuRead, cpuWrite, devWrite, freeCoherent, gpuRead,
  gpuWrite, map, oracleOf, runModel, runOn, syncDev, unbind, unmap, type OpWords,
} from './engineHarness.js';
import { cli, expectUsage } from './helpers.js';
import type { Buffer } from '../src/model/driver/buffers.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const coco = { platform: Platform.coco, kernel: Kernel.modern };
const agp = { gartFamily: GartFamily.agp };
const slotBus = (slot: number) => BigInt(POOL_PFN * PAGE + slot * 2048);
const word = (v: bigint[] | null, f: (typeof VIOLATION_FIELDS)[number]) => (v === null ? -1 : Number(v[VIOLATION_FIELDS.indexOf(f)]));
const via = (v: bigint[] | null) => word(v, 'via');

/** The MachineConfig the CLI builds for a coco guest of `ram` bytes with the default --swiotlb. */
const cocoMachine = (ram: number, device: 'r600' | 'r100' = 'r600', swiotlb = 64 * MiB): MachineConfig => machineConfig({
  platform: 'coco', device, kernel: 'modern', ram, hostRam: 0, xenLowFree: 0, swiotlb, payloadBytes: 0, seed: 1,
});

describe('coco pool size from RAM (mem_encrypt_setup_arch, swiotlb_adjust_size, round_up_default_nslabs; 6.12)', () => {
  it('512 MiB: 6 % is 30.7 MiB, clamped up to IO_TLB_DEFAULT_SIZE = 64 MiB (32768 slots, a power of two)', () => {
    // 536870912 · 6 / 100 = 32212254 < 64 MiB → 64 MiB.
    assert.equal(bootSwiotlbBytes('coco', 512 * MiB, 64 * MiB), 64 * MiB);
  });
  it('4 GiB: 6 % = 245.76 MiB → 125952 slots (246 MiB) → rounded up to 131072 slots = 256 MiB', () => {
    // 4294967296 · 6 / 100 = 257698037; ALIGN(…, 2048) = 257699840 = 125830 slots; ALIGN(125830, 128)
    // = 125952 (swiotlb_adjust_size); not a power of two, so swiotlb_adjust_nareas' round_up_default_nslabs
    // makes it 2^17 = 131072 slots · 2 KiB = 256 MiB.
    assert.equal(bootSwiotlbBytes('coco', 4 * GiB, 64 * MiB), 256 * MiB);
    assert.equal(cocoMachine(4 * GiB).nslabs, 131072);
  });
  it('2 GiB: 6 % = 122.88 MiB → 62976 slots → 65536 slots = 128 MiB', () => {
    // 2147483648 · 6 / 100 = 128849018; /2048 rounded up = 62915; ALIGN 128 = 62976; 2^16 = 65536.
    assert.equal(bootSwiotlbBytes('coco', 2 * GiB, 64 * MiB), 128 * MiB);
  });
  it('32 GiB: 6 % = 1.92 GiB, clamped to SZ_1G (524288 slots, already a power of two)', () => {
    assert.equal(bootSwiotlbBytes('coco', 32 * GiB, 64 * MiB), GiB);
  });
  it('an explicit swiotlb= of another size wins (swiotlb_adjust_size returns when default_nslabs moved); 64M cannot be told from the default', () => {
    assert.equal(bootSwiotlbBytes('coco', 4 * GiB, 128 * MiB), 128 * MiB);
    assert.equal(cocoMachine(4 * GiB, 'r600', 4 * MiB).nslabs, 2048);
    assert.equal(bootSwiotlbBytes('coco', 4 * GiB, 64 * MiB), 256 * MiB);
    // swiotlb=48M is not the default, so not adjusted; round_up_default_nslabs then makes 24576
    // slots a power of two: 32768 slots = 64 MiB (not the 6% pool).
    assert.equal(bootSwiotlbBytes('coco', 4 * GiB, 48 * MiB), 64 * MiB);
  });
  it('other platforms keep --swiotlb as given', () => {
    for (const p of ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu'] as const) assert.equal(bootSwiotlbBytes(p, 4 * GiB, 64 * MiB), 64 * MiB);
  });
});

describe('coco is the modern kernel\'s only (usage error with 2010; a 2010 matrix leaves it out)', () => {
  it('machineConfig: --kernel 2010 with --platform coco is a UsageError naming both options', () => {
    assert.throws(() => machineConfig({
      platform: 'coco', device: 'r100', kernel: '2010', ram: GiB, hostRam: 0, xenLowFree: 0, swiotlb: 64 * MiB, payloadBytes: 0, seed: 1,
    }), (e: unknown) => e instanceof UsageError && /--platform/.test(e.message) && /--kernel/.test(e.message));
  });
  it('the CLI: exit 2, one line naming --platform and --kernel', () => {
    expectUsage(cli('run', '--platform', 'coco', '--device', 'r100', '--pages', '16'), /--platform: coco .*--kernel modern.*--kernel 2010/);
  });
  it('platforms per kernel: 2010 has four, modern five (coco last)', () => {
    assert.deepEqual(platformsOf('2010'), ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu']);
    assert.deepEqual(platformsOf('modern'), ['bare-metal', 'swiotlb-force', 'xen-pv', 'iommu', 'coco']);
  });
  it('a coco result lists the conversion extras; other platforms do not (golden cells gain no keys)', () => {
    const run = (p: string) => JSON.parse(cli('run', '--platform', p, '--kernel', 'modern', '--device', 'r600', '--strategy', 'coherent',
      '--pages', '16', '--bo-pages', '4', '--ram', '512M', '--json').stdout) as { extra: Record<string, number>; machine: { swiotlbBytes: number } };
    const c = run('coco');
    assert.ok('ccConversions' in c.extra && 'ccConvertedPages' in c.extra);
    assert.equal(c.machine.swiotlbBytes, 64 * MiB);
    assert.ok(!('ccConversions' in run('bare-metal').extra));
  });
  it('the human report prints the conversions on coco only', () => {
    const human = (p: string) => cli('run', '--platform', p, '--kernel', 'modern', '--device', 'r600', '--strategy', 'coherent',
      '--pages', '16', '--bo-pages', '4', '--ram', '512M').stdout;
    assert.match(human('coco'), /\n {2}coco {7}ccConversions 8 {2}ccConvertedPages 32\n/);
    assert.doesNotMatch(human('bare-metal'), /ccConversions/);
  });
});

for (const engine of ENGINES) {
  describe(`coco: forced bounce, shared coherent memory, the seed's bug alive (engine ${engine})`, () => {
    // dma_direct_map_page: is_swiotlb_force_bounce → swiotlb_map, though a 40-bit device reaches
    // the page (bare metal maps it directly). The first page-sized run in an empty pool is slot 0
    // (area 0's cursor 0); the modern swiotlb copies in at every map (swiotlb_tbl_map_single's
    // swiotlb_bounce, all directions): 4096 bytes; the probe's BIDIRECTIONAL unmap of 1 byte copies
    // that 1 byte back (swiotlb_tbl_unmap_single bounces the size it is given): 4097.
    it('a 40-bit device: every map bounces (bare metal: none)', async () => {
      const ops: OpWords[] = [alloc(0, 1, Zone.normal), map(0, BIDI), unmap(0, BIDI, 1)];
      const bare = await runOn(engine, { platform: Platform['bare-metal'], kernel: Kernel.modern, maskBits: 40, ...agp }, ops);
      assert.deepEqual([bare.c.maps, bare.c.bounces], [1, 0]);
      const o = await runOn(engine, { ...coco, maskBits: 40, ...agp }, ops);
      assert.deepEqual([o.c.maps, o.c.bounces, o.c.bounceBytes, o.c.swiotlbPeakSlots], [1, 1, 4097, 2]);
      assert.deepEqual(o.dma.filter((_, i) => o.classes[i] === 'unmap-size'), [slotBus(0)]);
    });

    // The pool the CLI builds for 512 MiB of RAM is 64 MiB = 32768 slots: 8 areas of 4096 slots,
    // 256 segments of 128. A 64-page (256 KiB = 128-slot) map takes one whole segment: 256 fit,
    // the 257th finds no room in any area — "swiotlb buffer is full", DMA_MAPPING_ERROR.
    it('512 MiB of RAM: a 64 MiB pool — 256 maps of 256 KiB fit, the 257th is full', async () => {
      const cfg = cocoMachine(512 * MiB);
      assert.equal(cfg.nslabs, 32768);
      const ops: OpWords[] = [];
      for (let b = 0; b < 257; b++) ops.push(alloc(b, 64), map(b, BIDI, 0, 64 * PAGE));
      const o = await runOn(engine, { ...cfg, ...agp }, ops);
      assert.deepEqual([o.c.bounces, o.c.swiotlbFull, o.c.mappingErrors, o.c.swiotlbPeakSlots], [256, 1, 1, 32768]);
    });

    // dma_direct_alloc → dma_set_decrypted: one set_memory_decrypted over PFN_UP(3 pages) = 3 pages
    // (the block is order 2); dma_direct_free → dma_set_encrypted: one more call, 3 more pages. No
    // streaming map, no bounce: the device and the CPU share the (now shared) pages.
    it('dma_alloc_coherent converts PFN_UP(size) pages to shared, dma_free_coherent back: 2 calls, 6 pages', async () => {
      const ops: OpWords[] = [allocCoherent(0, 3), devWrite(0, 0, 3 * PAGE), cpuRead(0, 0, 3 * PAGE), freeCoherent(0)];
      const o = await runOn(engine, { ...coco, maskBits: 40, ...agp }, ops);
      assert.deepEqual([o.c.coherentAllocs, o.c.ccConversions, o.c.ccConvertedPages, o.c.bounces], [1, 2, 6, 0]);
      assert.deepEqual([o.c.staleReads, o.c.lostWrites, o.c.foreignReads], [0, 0, 0]);
      const bare = await runOn(engine, { platform: Platform['bare-metal'], kernel: Kernel.modern, maskBits: 40, ...agp }, ops);
      assert.deepEqual([bare.c.ccConversions, bare.c.ccConvertedPages], [0, 0]);
    });

    // The seed's upload (alloc → map → bind → CPU write → GPU read) on an r600 (40-bit): the GART
    // holds the bounce address, the CPU writes the original after the map's copy, and the GPU reads
    // the bounce slot's old contents — stale, exactly the seed's swiotlb=force case. A
    // dma_sync_single_for_device before the read copies the write in: coherent.
    it("the seed's upload without sync is corrupt (stale through a swiotlb slot); with sync it is coherent", async () => {
      const upload = (sync: boolean): OpWords[] => [alloc(0, 1), map(0, BIDI), bind(0, 0), cpuWrite(0),
        ...(sync ? [syncDev(0, TO_DEV)] : []), gpuRead(0, 1)];
      const cfg = { ...coco, maskBits: 40, gartFamily: GartFamily.r600 };
      const bad = await runOn(engine, cfg, upload(false));
      assert.deepEqual([bad.c.bounces, bad.c.staleReads, bad.kind, via(bad.violation)], [1, 1, ViolationKind.stale, Via.swiotlb]);
      const good = await runOn(engine, cfg, upload(true));
      assert.deepEqual([good.c.bounces, good.c.staleReads, good.c.syncsForDevice, good.kind], [1, 0, 1, ViolationKind.none]);
    });

    // A confidential guest's pages are private until set_memory_decrypted (mm/set_memory.ts): a page
    // bound into the GART by its physical address, never mapped, is out of the GPU's reach. Its
    // read sees no data (foreign), its write never lands, so the CPU's read after it misses it
    // (lost). On bare metal the same ops are coherent: the platform alone makes the difference.
    it('a page never mapped: the GPU reads nothing and its write is lost (bare metal: coherent)', async () => {
      const ops: OpWords[] = [alloc(0, 1), bind(0, 0), cpuWrite(0), gpuRead(0, 1), gpuWrite(0, 1), cpuRead(0)];
      const cfg = { maskBits: 40, gartFamily: GartFamily.r600 };
      const bare = await runOn(engine, { platform: Platform['bare-metal'], kernel: Kernel.modern, ...cfg }, ops);
      assert.deepEqual(oracleOf(bare), COHERENT);
      const o = await runOn(engine, { ...coco, ...cfg }, ops);
      assert.deepEqual(oracleOf(o), { stale: 0, lost: 1, foreign: 1 });
      assert.equal(o.kind, ViolationKind.foreign);
      assert.equal(word(o.violation, 'mfn'), -1, 'the read reached no frame');
      assert.equal(word(o.violation, 'ccPrivate'), CC_PRIVATE_TARGET);
      assert.equal(word(bare.violation, 'ccPrivate'), -1, 'no violation on bare metal');
    });

    // dma_direct_alloc shares a coherent block (dma_set_decrypted) and dma_direct_free makes it
    // private again (dma_set_encrypted): the GPU reads the block through its handle while it lives;
    // the same pfn, freed and taken again by a plain alloc (the buddy hands back the page it was
    // given last), is out of reach once more.
    it('a coherent block is shared while it lives; freed and reallocated, its page is private again', async () => {
      const cfg = { ...coco, maskBits: 40, gartFamily: GartFamily.r600 };
      const live: OpWords[] = [allocCoherent(0, 1), bind(0, 0), cpuWrite(0), gpuRead(0, 1)];
      assert.deepEqual(oracleOf(await runOn(engine, cfg, live)), COHERENT);
      const again: OpWords[] = [...live, unbind(0, 1), freeCoherent(0), alloc(1, 1), bind(1, 1), cpuWrite(1), gpuRead(1, 1)];
      const o = await runOn(engine, cfg, again);
      assert.deepEqual(oracleOf(o), { stale: 0, lost: 0, foreign: 1 });
      assert.deepEqual([o.c.ccConversions, o.c.ccConvertedPages], [2, 2]);
    });
  });
}

describe('coco: which pages are shared (the model\'s table, mm/setMemory.ts)', () => {
  it('the boot pool is shared, the first free page is not; a coherent block is shared until it is freed, and the next alloc gets its pfn', () => {
    const cfg = { ...coco, maskBits: 40, gartFamily: GartFamily.r600 };
    const boot = runModel(cfg, []);
    const shared = boot.trans.ccShared!;
    const poolPages = boot.layout.poolPages;
    assert.deepEqual([shared[POOL_PFN], shared[POOL_PFN + poolPages - 1], shared[POOL_PFN + poolPages], shared[POOL_PFN - 1]], [1, 1, 0, 0]);
    const live = runModel(cfg, [allocCoherent(0, 1)]);
    const pfn = (live.slots[0] as Buffer).pfn;
    assert.equal(live.trans.ccShared![pfn], 1);
    const after = runModel(cfg, [allocCoherent(0, 1), freeCoherent(0), alloc(1, 1)]);
    assert.equal((after.slots[1] as Buffer).pfn, pfn, 'the plain alloc got the block back (so the engine test above reads it)');
    assert.equal(after.trans.ccShared![pfn], 0);
    assert.equal(runModel({ platform: Platform['bare-metal'], kernel: Kernel.modern }, []).trans.ccShared, null);
  });
});

describe('coco: an AGP GATT in private memory (the CLI, both engines)', () => {
  for (const engine of ENGINES) {
    it(`phys and fsb-hooks: the chipset cannot read the table, every GPU read fails; dma-coherent's table and pages are shared (engine ${engine})`, () => {
      const run = (gatt: string) => {
        const r = cli('run', '--device', 'agp', '--gatt', gatt, '--platform', 'coco', '--kernel', 'modern', '--pages', '256', '--engine', engine, '--json');
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout) as { verdict: string; counters: Record<string, number>; extra: Record<string, number>; firstViolation: { detail: string; mfn: number | null } | null };
      };
      for (const gatt of ['phys', 'fsb-hooks']) {
        const o = run(gatt);
        assert.equal(o.verdict, 'corrupt', gatt);
        assert.equal(o.counters.foreignReads, o.counters.gpuReads, `${gatt}: every GPU page read failed`);
        assert.ok(o.counters.gpuReads! > 0);
        assert.match(o.firstViolation!.detail, /private to this confidential guest/);
        assert.match(o.firstViolation!.detail, /the chipset gets no entry: the GPU reads nothing/);
        assert.match(o.firstViolation!.detail, /the GATT is neither/);
      }
      const ok = run('dma-coherent');
      assert.equal(ok.verdict, 'coherent');
      assert.ok(ok.extra.ccConversions! > 0, 'the table and the pages were converted');
    });
  }
});
