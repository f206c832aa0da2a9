// A synthetic kernel trace for the trace-replay benchmark (and tests): deterministic text in the
// format `trace-cmd report` prints for the dma and swiotlb events of Linux 6.12 (the TP_printk
// formats of include/trace/events/dma.h and swiotlb.h; src/source/traceEvents.ts). It is made
// up, not recorded: a GPU (0000:03:00.0) whose TTM pool maps blocks of order 0–2 and keeps up to
// `maxLive` of them mapped, syncs some, takes scatter-gather lists for imported buffers and
// allocates coherent rings; a NIC (0000:00:1f.6) maps receive buffers; a recording machine with
// swiotlb=force (a swiotlb_bounced line, FORCE, before each GPU map); scheduler events between.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const GPU = '0000:03:00.0';
const NIC = '0000:00:1f.6';

/** Park–Miller, so the text is the same on every machine and node. */
function rng(seed: number): () => number {
  let s = (seed % 2147483646) + 1;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

const hex = (v: number) => v.toString(16);

/** Yields `lines` lines of trace text. */
export function* syntheticTrace(lines: number, seed: number, maxLive = 4096): Generator<string> {
  const r = rng(seed);
  let n = 0;
  let t = 1000;
  const line = (task: string, pid: number, event: string, fields: string) => {
    n++;
    t += 0.000001 + r() * 0.00002;
    return `${(task + '-' + pid).padStart(16)} [${String(Math.floor(r() * 8)).padStart(3, '0')}] ${t.toFixed(6)}: ${event.padEnd(28)} ${fields}`;
  };
  const live: { dma: number; size: number }[] = [];
  const taken = new Set<number>();
  // The recording swiotlb's slot address: distinct from every live one, as its allocator makes it.
  const bounceAddr = () => {
    let a;
    do a = 0x7c000000 + Math.floor(r() * 16384) * 16384; while (taken.has(a));
    taken.add(a);
    return a;
  };
  const sg: { phys: number[]; dmas: number[]; sizes: number[] }[] = [];
  const rings: number[] = [];
  yield '# synthetic: written by bench/traceGen.ts in the 6.12 trace-cmd report format, not recorded';
  yield 'cpus=8';
  n += 2;
  while (n < lines) {
    const x = r();
    if (x < 0.30 && live.length < maxLive && n + 2 <= lines) {
      const order = r() < 0.7 ? 0 : r() < 0.5 ? 1 : 2;
      const size = 4096 << order;
      // Guest pages anywhere in 16 GiB: some below 4 GiB, most above.
      const phys = Math.floor(r() * (4 << 20) / (1 << order)) * size;
      const dma = phys; // swiotlb=force prints the page's own dma address in swiotlb_bounced
      yield line('kworker/u16:3', 211, 'swiotlb_bounced:', `dev_name: ${GPU} dma_mask=ffffffffff dev_addr=${hex(dma)} size=${size} FORCE`);
      const bounce = bounceAddr();
      yield line('kworker/u16:3', 211, 'dma_map_page:', `${GPU} dir=BIDIRECTIONAL dma_addr=${hex(bounce)} size=${size} phys_addr=${hex(phys)} attrs=`);
      live.push({ dma: bounce, size });
    } else if (x < 0.45 && live.length > 0) {
      const m = live[Math.floor(r() * live.length)]!;
      const cpu = r() < 0.5;
      yield line('Xorg', 1834, cpu ? 'dma_sync_single_for_cpu:' : 'dma_sync_single_for_device:', `${GPU} dir=BIDIRECTIONAL dma_addr=${hex(m.dma)} size=${m.size}`);
    } else if (x < 0.70 && live.length > 0) {
      const k = Math.floor(r() * live.length);
      const m = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      taken.delete(m.dma);
      yield line('kworker/u16:3', 211, 'dma_unmap_page:', `${GPU} dir=BIDIRECTIONAL dma_addr=${hex(m.dma)} size=${m.size} attrs=`);
    } else if (x < 0.76) {
      if (sg.length < 8 && n + 7 <= lines) {
        const k = 1 + Math.floor(r() * 6);
        const phys = Array.from({ length: k }, () => Math.floor(r() * (4 << 20)) * 4096);
        const sizes = phys.map(() => 4096 * (1 + Math.floor(r() * 2)));
        const dmas = sizes.map(() => bounceAddr());
        const arr = (v: number[]) => `{${v.map((e) => '0x' + hex(e)).join(',')}}`;
        // dma_direct_map_sg bounces entry by entry: one swiotlb_bounced each, then the list's event.
        for (let i = 0; i < k; i++) yield line('Xorg', 1834, 'swiotlb_bounced:', `dev_name: ${GPU} dma_mask=ffffffffff dev_addr=${hex(phys[i]!)} size=${sizes[i]} FORCE`);
        yield line('Xorg', 1834, 'dma_map_sg:', `${GPU} dir=TO_DEVICE dma_addrs=${arr(dmas)} sizes=${arr(sizes)} phys_addrs=${arr(phys)} attrs=`);
        sg.push({ phys, dmas, sizes });
      } else {
        const l = sg.shift()!;
        for (const d of l.dmas) taken.delete(d);
        yield line('Xorg', 1834, 'dma_unmap_sg:', `${GPU} dir=TO_DEVICE phys_addrs={${l.phys.map((e) => '0x' + hex(e)).join(',')}} attrs=`);
      }
    } else if (x < 0.78) {
      if (rings.length < 16) {
        const dma = 0x7f000000 + rings.length * 0x10000;
        yield line('Xorg', 1834, 'dma_alloc:', `${GPU} dma_addr=${hex(dma)} size=65536 virt_addr=00000000${hex(0x4a7e0000 + rings.length)} flags=GFP_KERNEL attrs=`);
        rings.push(dma);
      } else {
        const dma = rings.pop()!;
        yield line('Xorg', 1834, 'dma_free:', `${GPU} dma_addr=${hex(dma)} size=65536 virt_addr=00000000${hex(0x4a7e0000 + rings.length)} attrs=`);
      }
    } else if (x < 0.90 && n + 2 <= lines) {
      const phys = Math.floor(r() * (1 << 20)) * 4096 + 0x40;
      yield line('irq/45-e1000e', 900, 'dma_map_page:', `${NIC} dir=FROM_DEVICE dma_addr=${hex(phys)} size=1522 phys_addr=${hex(phys)} attrs=`);
      yield line('irq/45-e1000e', 900, 'dma_unmap_page:', `${NIC} dir=FROM_DEVICE dma_addr=${hex(phys)} size=1522 attrs=`);
    } else {
      yield line('Xorg', 1834, 'sched_switch:', 'prev_comm=Xorg prev_pid=1834 prev_prio=120 prev_state=S ==> next_comm=swapper/2 next_pid=0 next_prio=120');
    }
  }
}

/** Writes the trace to `path`, streaming. */
export async function writeSyntheticTrace(path: string, lines: number, seed: number): Promise<void> {
  const out = createWriteStream(path);
  for (const l of syntheticTrace(lines, seed)) if (!out.write(l + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}
