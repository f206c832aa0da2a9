// Modern dma-debug's active cachelines (kernel/dma/debug.c 6.12: dma_active_cacheline, the radix
// tree keyed by to_cacheline_number, with its overlap counter in RADIX_TREE_MAX_TAGS tag bits).
// dma/debug.ts calls in from add_dma_entry and dma_entry_free; 2010 has none of this.
// Different: a hash of dense nodes stands in for the radix tree (same answers, no allocation
// after init); the entry the kernel stores at a node is never read back in 6.12, so none is kept.

import { ACTIVE_CACHELINE_MAX_OVERLAP } from '../abi';
import { debug_capacity, debug_cln_ptr, debug_cln_hash_ptr, DEBUG_CLN_BYTES, DEBUG_HASH_BITS, DEBUG_HASH_SIZE } from '../layout';

/** Fibonacci hashing, as dma/debug.ts's. */
@inline function hash(key: u64): usize {
  return <usize>((key * 0x9E3779B97F4A7C15) >> (64 - DEBUG_HASH_BITS));
}

// A node per cacheline number (pfn and offset of the mapped memory in 64-byte lines) holding an overlap
// counter. Nodes (DEBUG_CLN_BYTES: number u64, overlap i32, next i32) stay dense like the
// entries and sit on singly linked chains by hash of the number. There are never more nodes
// than live tracked entries (each node stands for its counter + 1 of them at most).
let cln_nodes: i32 = 0;
@inline function cln_node(i: i32): usize {
  assert(i >= 0 && i < debug_capacity, 'dma-debug cacheline out of range');
  return debug_cln_ptr + <usize>(i * DEBUG_CLN_BYTES);
}
@inline function cln_head(cln: u64): usize { return debug_cln_hash_ptr + (hash(cln) << 2); }

function cln_find(cln: u64): i32 {
  for (let k = load<i32>(cln_head(cln)); k != 0; k = load<i32>(cln_node(k - 1), 12)) {
    if (load<u64>(cln_node(k - 1)) == cln) return k - 1;
  }
  return -1;
}

/** The link (a chain head or a node's next) that holds node i (as i + 1). */
function cln_link_to(i: i32): usize {
  let at = cln_head(load<u64>(cln_node(i)));
  while (load<i32>(at) != i + 1) at = cln_node(load<i32>(at) - 1) + 12;
  return at;
}

/** radix_tree_delete: unlink node i, move the last node into its place. */
function cln_delete(i: i32): void {
  store<i32>(cln_link_to(i), load<i32>(cln_node(i), 12));
  const last = --cln_nodes;
  if (i == last) return;
  store<i32>(cln_link_to(last), i + 1);
  memory.copy(cln_node(i), cln_node(last), DEBUG_CLN_BYTES);
}

/**
 * active_cacheline_insert (kernel/dma/debug.c 6.12; the caller skips DMA_TO_DEVICE): a new
 * cacheline gets a node with overlap 0 and the result is 0; an existing one is radix_tree_insert's
 * EEXIST: active_cacheline_inc_overlap adds one, but active_cacheline_set_overlap keeps a value
 * past ACTIVE_CACHELINE_MAX_OVERLAP out of the 3 tag bits (the counter stays at 7; the kernel's
 * WARN_ONCE there is no err_printk, so no record). The result is the incremented value (1..8).
 */
export function active_cacheline_insert(cln: u64): i32 {
  const i = cln_find(cln);
  if (i < 0) {
    const n = cln_node(cln_nodes);
    const h = cln_head(cln);
    store<u64>(n, cln); store<i32>(n, 0, 8); store<i32>(n, load<i32>(h), 12);
    store<i32>(h, ++cln_nodes);
    return 0;
  }
  const overlap = load<i32>(cln_node(i), 8) + 1;
  if (overlap <= ACTIVE_CACHELINE_MAX_OVERLAP) store<i32>(cln_node(i), overlap, 8);
  return overlap;
}

/**
 * active_cacheline_remove (6.12): active_cacheline_dec_overlap takes one off; below 0 the node
 * goes. A cacheline with no node reads overlap 0 and so does nothing — as after a counter that
 * stuck at 7 let the node go while mappings of it were still live.
 */
export function active_cacheline_remove(cln: u64): void {
  const i = cln_find(cln);
  if (i < 0) return;
  const overlap = load<i32>(cln_node(i), 8) - 1;
  if (overlap < 0) cln_delete(i); else store<i32>(cln_node(i), overlap, 8);
}

export function active_cacheline_reset(): void {
  cln_nodes = 0;
  if (debug_cln_hash_ptr != 0) memory.fill(debug_cln_hash_ptr, 0, <usize>DEBUG_HASH_SIZE * 4);
}
