// Modern dma-debug's active cachelines (twin of assembly/dma/debug_cacheline.ts; kernel/dma/debug.c
// 6.12: dma_active_cacheline, the radix tree keyed by to_cacheline_number, with its overlap
// counter in RADIX_TREE_MAX_TAGS tag bits). dma/debug.ts calls in from add_dma_entry and
// dma_entry_free; 2010 has none of this.
// Different: a Map stands in for the radix tree (same answers); the entry the kernel stores at a
// node is never read back in 6.12, so none is kept.
import { ACTIVE_CACHELINE_MAX_OVERLAP } from '../../engine/abi.js';

export class ActiveCachelines {
  /** Cacheline number → overlap counter (0..ACTIVE_CACHELINE_MAX_OVERLAP). */
  private readonly overlap = new Map<number, number>();

  /**
   * active_cacheline_insert (the caller skips DMA_TO_DEVICE): a new cacheline gets overlap 0 and
   * the result is 0; an existing one is radix_tree_insert's EEXIST: active_cacheline_inc_overlap
   * adds one, but active_cacheline_set_overlap keeps a value past ACTIVE_CACHELINE_MAX_OVERLAP out
   * of the 3 tag bits (the counter stays at 7; the kernel's WARN_ONCE there is no err_printk, so
   * no record). The result is the incremented value (1..8).
   */
  insert(cln: number): number {
    const old = this.overlap.get(cln);
    if (old === undefined) {
      this.overlap.set(cln, 0);
      return 0;
    }
    const next = old + 1;
    if (next <= ACTIVE_CACHELINE_MAX_OVERLAP) this.overlap.set(cln, next);
    return next;
  }

  /**
   * active_cacheline_remove: active_cacheline_dec_overlap takes one off; below 0 the node goes. A
   * cacheline with no node reads overlap 0 and so does nothing — as after a counter that stuck at
   * 7 let the node go while mappings of it were still live.
   */
  remove(cln: number): void {
    const old = this.overlap.get(cln);
    if (old === undefined) return;
    if (old - 1 < 0) this.overlap.delete(cln);
    else this.overlap.set(cln, old - 1);
  }
}
