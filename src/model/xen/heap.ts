// Xen's domain heap (twin of assembly/xen/heap.ts; xen/common/page_alloc.c, Xen 4.0/4.1): one
// binary buddy per zone, zone z = machine frames [2^z, 2^(z+1)) (page_to_zone: fls(mfn) - 1), free
// lists FIFO (page_list_add_tail / page_list_remove_head). alloc_heap_pages walks the zones from
// the highest allowed down, takes the head of the smallest sufficient order and keeps its top
// piece, appending the lower halves; free_heap_pages merges with free buddies and appends. One
// node, no tmem, dma_bitsize 0 (no first pass on a single-node host), no separate low reserve.
import { PAGE_SHIFT, XEN_HEAP_MAX_ORDER, XEN_NO_LIMIT_BITS, XEN_NR_ZONES } from '../../engine/abi.js';

const NONE = -1;
const ORDERS = XEN_HEAP_MAX_ORDER + 1;

/** page_to_zone for a domain-heap frame: the index of its top bit. */
export function heapZone(mfn: number): number {
  return 31 - Math.clz32(mfn);
}

/** bits_to_zone: the highest zone whose frames all lie below 2^bits (0 for bits <= PAGE_SHIFT). */
function bitsToZone(bits: number): number {
  return bits < PAGE_SHIFT + 1 ? 0 : bits - (PAGE_SHIFT + 1);
}

export class XenHeap {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** Order of the free block starting at this frame, or -1 if it heads none. */
  private readonly headOrder: Int8Array;
  private readonly heads = new Int32Array(XEN_NR_ZONES * ORDERS).fill(NONE);
  private readonly tails = new Int32Array(XEN_NR_ZONES * ORDERS).fill(NONE);
  /** avail[zone]: free frames per zone. */
  readonly avail = new Float64Array(XEN_NR_ZONES);

  /** init_node_heap for a host of `hostPages` frames: everything empty. */
  constructor(readonly hostPages: number) {
    this.next = new Int32Array(hostPages);
    this.prev = new Int32Array(hostPages);
    this.headOrder = new Int8Array(hostPages).fill(NONE);
  }

  /**
   * init_heap_pages for [start, end): frame by frame ascending with merging, which leaves the
   * largest aligned blocks (at most order 20, never across a zone) appended in ascending order.
   */
  addRange(start: number, end: number): void {
    let frame = start;
    while (frame < end) {
      let order = XEN_HEAP_MAX_ORDER;
      while (order > 0 && (frame % 2 ** order !== 0 || frame + 2 ** order > end)) order--;
      const zone = heapZone(frame);
      this.addTail(zone, order, frame);
      this.avail[zone]! += 2 ** order;
      frame += 2 ** order;
    }
  }

  /**
   * alloc_domheap_pages(NULL, order, MEMF_bits(addressBits)) → alloc_heap_pages(1, zoneHi): 0 bits
   * is no limit; zone 0 (MEMZONE_XEN) never serves a domain. The first block of 2^order frames, or -1.
   */
  allocDomheapPages(order: number, addressBits: number): number {
    const bits = addressBits === 0 ? XEN_NO_LIMIT_BITS : addressBits;
    const zoneHi = Math.min(bitsToZone(bits), XEN_NR_ZONES - 1);
    for (let zone = zoneHi; zone >= 1; zone--) {
      if (this.avail[zone]! < 2 ** order) continue;
      for (let j = order; j <= XEN_HEAP_MAX_ORDER; j++) {
        let pg = this.heads[zone * ORDERS + j]!;
        if (pg === NONE) continue;
        this.unlink(zone, j, pg);
        while (j !== order) {
          j--;
          this.addTail(zone, j, pg);
          pg += 2 ** j;
        }
        this.avail[zone]! -= 2 ** order;
        return pg;
      }
    }
    return NONE;
  }

  /** free_heap_pages: merge with the predecessor or successor block of the same order while free. */
  freeHeapPages(mfn: number, order: number): void {
    const zone = heapZone(mfn);
    this.avail[zone]! += 2 ** order;
    let pg = mfn;
    while (order < XEN_HEAP_MAX_ORDER) {
      const mask = 2 ** order;
      const buddy = Math.floor(pg / mask) % 2 === 1 ? pg - mask : pg + mask;
      if (buddy < 0 || buddy >= this.hostPages || this.headOrder[buddy] !== order) break;
      this.unlink(zone, order, buddy);
      pg = Math.min(pg, buddy);
      order++;
    }
    this.addTail(zone, order, pg);
  }

  /** Calls fn for every free block (for the invariant checks). */
  forEachFreeBlock(fn: (block: number, order: number) => void): void {
    for (let zone = 0; zone < XEN_NR_ZONES; zone++) {
      for (let j = 0; j <= XEN_HEAP_MAX_ORDER; j++) {
        for (let b = this.heads[zone * ORDERS + j]!; b !== NONE; b = this.next[b]!) fn(b, j);
      }
    }
  }

  private addTail(zone: number, order: number, block: number): void {
    const list = zone * ORDERS + order;
    const tail = this.tails[list]!;
    this.next[block] = NONE;
    this.prev[block] = tail;
    if (tail !== NONE) this.next[tail] = block;
    else this.heads[list] = block;
    this.tails[list] = block;
    this.headOrder[block] = order;
  }

  private unlink(zone: number, order: number, block: number): void {
    const list = zone * ORDERS + order;
    const next = this.next[block]!;
    const prev = this.prev[block]!;
    if (prev !== NONE) this.next[prev] = next;
    else this.heads[list] = next;
    if (next !== NONE) this.prev[next] = prev;
    else this.tails[list] = prev;
    this.headOrder[block] = NONE;
  }
}
