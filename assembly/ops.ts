// The op loop: decodes the harness's Int32Array stream and calls the kernel paths in program
// order. Models a driver (TTM + radeon/nouveau, 2010) issuing DMA API calls, nothing more.
// Different: ops on a slot that holds no usable buffer are no-ops, so replayed scripts with
// failed allocations keep going exactly like a driver that ignores the failure.

import { OP_WORDS, OP_ALLOC, OP_FREE, OP_ALLOC_COHERENT, OP_FREE_COHERENT, OP_EXCHANGE, OP_MAP,
  OP_MAPPING_ERROR, OP_SYNC_FOR_DEVICE, OP_SYNC_FOR_CPU, OP_UNMAP, OP_CPU_WRITE, OP_CPU_READ,
  OP_DEV_WRITE, OP_DEV_READ, OP_GART_BIND, OP_GART_UNBIND, OP_GPU_WRITE, OP_GPU_READ,
  OP_RELEASE, OP_TT_POPULATE, OP_TT_UNPOPULATE, OP_TT_BIND, OP_TT_UNBIND, OP_TT_SYNC, OP_GATT_CREATE, OP_ALLOC_PAGES, OP_UNMAP_ERROR, OP_SYNC_ERROR, OP_FREE_AT, OP_UNMAP_AT, OP_DEVICE_DOWN,
  POOL_AGP_FSB, CACHING_UC, BIND_MODE_FSB, C_GPU_SKIPPED_PAGES, GATT_MODE_FSB_HOOKS, MAX_TT_PAGES, MAX_GATT_ENTRIES, OP_DIR_BITS, PAGE_SHIFT } from './abi';
import { OPS_PTR, gart_pages, valid_slot, slot_rec, rec_usable, rec_kind, rec_failed, KIND_NONE } from './layout';
import { set_cur_op, count } from './sim/counters';
import { debug_release } from './dma/debug';
import { gart_unbind } from './drm/gart';
import { gatt_create, is_agp, agp_gart_unbind } from './drm/agp_gatt';
import { tt_populate, tt_unpopulate, tt_bind, tt_unbind, tt_sync, tt_cpu_write, tt_cpu_read, is_tt,
  tt_usable, ttm_teardown } from './drm/ttm_tt';
import { ttm_dma_pooled_blocks } from './drm/ttm_pool';
import { op_alloc, op_alloc_pages, op_free, op_exchange, op_alloc_coherent, op_free_coherent, dma_map, dma_unmap, dma_sync, dma_unmap_error, dma_sync_error, dma_free_at, dma_unmap_at,
  dma_mapping_error, gart_bind } from './driver/buffer_ops';
import { cpu_write, cpu_read, dev_write, dev_read, dev_skipped, gpu_write, gpu_read } from './driver/access';
import { explain_violation } from './driver/hops';
import { note_op } from './invariants';

@inline const DIR_MASK: i32 = (1 << OP_DIR_BITS) - 1;

/** Ops that name a buffer slot: is the slot in range and holding a usable buffer (not a tt)? */
@inline function on_buffer(slot: i32): bool {
  return valid_slot(slot) && rec_usable(slot_rec(slot)) && !is_tt(slot);
}

/** A slot holding a buffer whose allocation failed: device accesses to it are skipped (D22). */
@inline function failed_buffer(slot: i32): bool {
  return valid_slot(slot) && !is_tt(slot) && rec_kind(slot_rec(slot)) != KIND_NONE && rec_failed(slot_rec(slot));
}

/** Buffer ops that (re)fill or empty a slot leave a slot holding a tt alone. */
@inline function buffer_slot(slot: i32): bool { return valid_slot(slot) && !is_tt(slot); }

/** TT ops on a slot holding a completely populated tt. */
@inline function on_tt(slot: i32): bool { return valid_slot(slot) && tt_usable(slot); }

// DEVICE_DOWN: the driver never came up (its probe failed), so nothing it would do happens: each
// later op but RELEASE is dropped, and a page the GPU or the device was to reach counts as skipped,
// so the result says none of the requested moves was made. One machine per instance: starts false.
let device_down = false;

function dropped(code: i32, a: i32, b: i32, c: i32): void {
  if (code == OP_GPU_READ || code == OP_GPU_WRITE) count(C_GPU_SKIPPED_PAGES, max(0, min(b, gart_pages - a)));
  else if (code == OP_DEV_READ || code == OP_DEV_WRITE) dev_skipped(b, c);
}

function unknown_op(code: i32): void {
  abort('unknown op code ' + code.toString(), 'assembly/ops.ts', 0, 0);
  unreachable();
}

export function run_ops(n: i32, first_op: i32): void {
  for (let i = 0; i < n; i++) {
    const op = OPS_PTR + <usize>(i * OP_WORDS * 4);
    const code = load<i32>(op);
    const a = load<i32>(op, 4);
    const b = load<i32>(op, 8);
    const c = load<i32>(op, 12);
    const d = load<i32>(op, 16);
    set_cur_op(<i64>first_op + i);
    if (device_down && code != OP_RELEASE) {
      dropped(code, a, b, c);
      note_op(false);
      continue;
    }
    switch (code) {
      // d, e: a trace's recorded first page, low 32 bits and high bits + 1 (0: none)
      case OP_ALLOC: if (valid_slot(a)) op_alloc(a, b, c, load<i32>(op, 20) == 0 ? -1 : ((<i64>(load<i32>(op, 20) - 1) << 32) | <i64><u32>d) << PAGE_SHIFT); break;
      case OP_ALLOC_PAGES: if (valid_slot(a)) op_alloc_pages(a, b, c & DIR_MASK, d, c >> OP_DIR_BITS, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_FREE: if (buffer_slot(a)) op_free(a); break;
      case OP_ALLOC_COHERENT: if (valid_slot(a)) op_alloc_coherent(a, b, c, d, load<i32>(op, 20)); break;
      case OP_FREE_COHERENT: if (buffer_slot(a)) op_free_coherent(a, b, c, d); break;
      case OP_EXCHANGE: if (on_buffer(a)) op_exchange(a, b); break;
      // b: the direction, and above OP_DIR_BITS an sg call's entry count (0: a single-page call);
      // an sg entry's sixth word: its call's number (entries of one dma_map_sg share it)
      case OP_MAP: if (on_buffer(a)) dma_map(a, b & DIR_MASK, c, d, b >> OP_DIR_BITS, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_MAPPING_ERROR: if (on_buffer(a)) dma_mapping_error(a); break;
      case OP_SYNC_FOR_DEVICE: if (on_buffer(a)) dma_sync(a, b & DIR_MASK, c, d, false, b >> OP_DIR_BITS, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_SYNC_FOR_CPU: if (on_buffer(a)) dma_sync(a, b & DIR_MASK, c, d, true, b >> OP_DIR_BITS, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_UNMAP: if (on_buffer(a)) dma_unmap(a, b & DIR_MASK, c, b >> OP_DIR_BITS, d, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_UNMAP_ERROR: dma_unmap_error(b & DIR_MASK, a, c); break;
      case OP_SYNC_ERROR: dma_sync_error(b & DIR_MASK, a, c != 0); break;
      case OP_FREE_AT: if (buffer_slot(a)) dma_free_at(a, b, c != 0, d, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_UNMAP_AT: if (on_buffer(a)) dma_unmap_at(a, b, c, d, load<i32>(op, 20), load<i32>(op, 24)); break;
      case OP_CPU_WRITE: if (on_buffer(a)) cpu_write(a, b, c); else if (on_tt(a)) tt_cpu_write(a, b, c); break;
      case OP_CPU_READ: if (on_buffer(a)) cpu_read(a, b, c); else if (on_tt(a)) tt_cpu_read(a, b, c); break;
      case OP_DEV_WRITE: if (on_buffer(a)) dev_write(a, b, c); else if (failed_buffer(a)) dev_skipped(b, c); break;
      case OP_DEV_READ: if (on_buffer(a)) dev_read(a, b, c); else if (failed_buffer(a)) dev_skipped(b, c); break;
      case OP_GART_BIND: if (on_buffer(a)) gart_bind(a, b); break;
      case OP_GART_UNBIND: if (is_agp()) agp_gart_unbind(a, b); else gart_unbind(a, min(b, gart_pages - a)); break;
      case OP_GPU_WRITE: gpu_write(a, min(b, gart_pages - a)); break;
      case OP_GPU_READ: gpu_read(a, min(b, gart_pages - a)); break;
      case OP_RELEASE: debug_release(ttm_dma_pooled_blocks()); ttm_teardown(); break;
      case OP_TT_POPULATE:
        if (valid_slot(a) && b >= 1 && b <= MAX_TT_PAGES && <u32>c <= <u32>POOL_AGP_FSB && <u32>d <= <u32>CACHING_UC) tt_populate(a, b, c, d);
        break;
      case OP_TT_UNPOPULATE: if (valid_slot(a) && is_tt(a)) tt_unpopulate(a); break;
      case OP_TT_BIND: if (valid_slot(a) && is_tt(a) && <u32>c <= <u32>BIND_MODE_FSB) tt_bind(a, b, c); break;
      case OP_TT_UNBIND: if (valid_slot(a) && is_tt(a)) tt_unbind(a); break;
      case OP_TT_SYNC: if (on_tt(a)) tt_sync(a, b != 0, c); break;
      case OP_GATT_CREATE: if (a >= 1 && a <= MAX_GATT_ENTRIES && <u32>b <= <u32>GATT_MODE_FSB_HOOKS) gatt_create(a, b); break;
      case OP_DEVICE_DOWN: device_down = true; break;
      default: unknown_op(code); break;
    }
    explain_violation();
    note_op(code == OP_RELEASE);
  }
}
