// The page lists TTM threads struct pages onto (twin of assembly/drm/ttm_page.ts): a pool's
// list, and a tt's page array as the allocators fill it. Each pool entry carries its pfn, the
// coherent handle (dma pools; -1 otherwise) and whether Xen exchanged it.

/** A tt's page array as the allocators see it (drm/ttmTt.ts's Tt is one). */
export interface PageArray {
  readonly pages: number;
  readonly pool: number;
  readonly caching: number;
  /** Pages held so far. */
  readonly count: number;
  readonly pfn: Int32Array;
  /** Appends a page with its coherent handle (-1: none) and whether Xen exchanged it. */
  addPage(pfn: number, coh: number, exchanged: boolean): void;
  isExchanged(i: number): boolean;
  /** The coherent handle of page i, or -1. */
  cohOf(i: number): number;
  /** Forgets every page it holds (a 3.3 dma populate that failed gave them back). */
  clear(): void;
}

/**
 * A pool's page list: take at the head, give back at the tail, shrink from the tail. Each entry
 * carries its pfn, coherent handle (dma pools; -1 otherwise) and whether Xen exchanged it.
 * A ring buffer, so that a million pages cost three typed arrays.
 */
export class PageDeque {
  private pfns = new Int32Array(16);
  private handles = new Float64Array(16);
  private exchanged = new Uint8Array(16);
  private head = 0;
  size = 0;
  /** The handle and exchanged flag of the entry the last pop returned. */
  poppedHandle = -1;
  poppedExchanged = false;

  pushHead(pfn: number, handle: number, exchanged: boolean): void {
    this.grow();
    this.head = (this.head - 1) & (this.pfns.length - 1);
    this.put(this.head, pfn, handle, exchanged);
  }

  pushTail(pfn: number, handle: number, exchanged: boolean): void {
    this.grow();
    this.put((this.head + this.size - 1) & (this.pfns.length - 1), pfn, handle, exchanged);
  }

  popHead(): number {
    const at = this.head;
    this.head = (this.head + 1) & (this.pfns.length - 1);
    this.size--;
    return this.take(at);
  }

  popTail(): number {
    this.size--;
    return this.take((this.head + this.size) & (this.pfns.length - 1));
  }

  /** Drops every entry (pages lost to the 2.6.37 fill miscount: ttmPageAlloc.ts). */
  clear(): void {
    this.size = 0;
  }

  private put(at: number, pfn: number, handle: number, exchanged: boolean): void {
    this.pfns[at] = pfn;
    this.handles[at] = handle;
    this.exchanged[at] = exchanged ? 1 : 0;
  }

  private take(at: number): number {
    this.poppedHandle = this.handles[at];
    this.poppedExchanged = this.exchanged[at] === 1;
    return this.pfns[at];
  }

  /** Makes room for one more entry (size grows by one; the caller fills the new slot). */
  private grow(): void {
    const cap = this.pfns.length;
    if (this.size === cap) {
      const pfns = new Int32Array(cap * 2), handles = new Float64Array(cap * 2), exchanged = new Uint8Array(cap * 2);
      for (let i = 0; i < cap; i++) {
        const from = (this.head + i) & (cap - 1);
        pfns[i] = this.pfns[from];
        handles[i] = this.handles[from];
        exchanged[i] = this.exchanged[from];
      }
      this.pfns = pfns;
      this.handles = handles;
      this.exchanged = exchanged;
      this.head = 0;
    }
    this.size++;
  }
}

