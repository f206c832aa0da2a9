// assembly/abi.ts mirrors src/engine/abi.ts: one number on each side of the boundary.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../src/engine/abi.js';
import { ROOT } from './helpers.js';

/** The `@inline export const NAME: T = EXPR;` constants of assembly/abi.ts, evaluated. */
function assemblyConstants(): Map<string, number> {
  const text = readFileSync(join(ROOT, 'assembly', 'abi.ts'), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/export const (\w+): \w+ = ([^;]+);/g)) {
    let expr = m[2]!.replace(/_(?=[0-9A-Fa-f])/g, '');
    expr = expr.replace(/\b[A-Z][A-Z0-9_]*\b/g, (n) => String(out.get(n) ?? NaN));
    if (!/^[\d\sxa-fA-F()<>+\-*/|&]+$/.test(expr)) continue;
    out.set(m[1]!, Number(BigInt.asIntN(64, BigInt(Math.trunc(Function(`return (${expr.replace(/0xFFFFFFFFFFFFFFFF/i, '-1')})`)())))));
  }
  return out;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase();

describe('ABI mirror', () => {
  const asm = assemblyConstants();
  const expectEqual = (name: string, value: number) => assert.equal(asm.get(name), value, `assembly/abi.ts ${name}`);

  it('op codes', () => {
    for (const [k, v] of Object.entries(abi.Op)) expectEqual(`OP_${k}`, v);
    expectEqual('OP_WORDS', abi.OP_WORDS);
  });
  it('counters, in order', () => {
    abi.COUNTERS.forEach((n, i) => expectEqual(`C_${snake(n)}`, i));
    expectEqual('COUNTER_COUNT', abi.COUNTERS.length);
  });
  it('dma-debug classes and record sizes', () => {
    abi.DEBUG_CLASSES.forEach((n, i) => expectEqual(`DBG_${snake(n)}`, i));
    expectEqual('DEBUG_WORDS', abi.DEBUG_WORDS);
    expectEqual('VIOLATION_WORDS', abi.VIOLATION_WORDS);
    expectEqual('MAX_DEBUG_RECORDS', abi.MAX_DEBUG_RECORDS);
  });
  it('enums', () => {
    for (const [k, v] of Object.entries(abi.Platform)) expectEqual(`PLATFORM_${snake(k)}`, v);
    expectEqual('KERNEL_2010', abi.Kernel['2010']);
    expectEqual('KERNEL_MODERN', abi.Kernel.modern);
    for (const [k, v] of Object.entries(abi.Dir)) expectEqual(`DMA_${snake(k)}`, v);
    for (const [k, v] of Object.entries(abi.Zone)) expectEqual(`ZONE_${snake(k)}`, v);
    for (const [k, v] of Object.entries(abi.ViolationKind)) expectEqual(`VIOLATION_${snake(k)}`, v);
    for (const [k, v] of Object.entries(abi.GartFamily)) expectEqual(`GART_${snake(k)}`, v);
    for (const [k, v] of Object.entries(abi.Via)) expectEqual(`VIA_${snake(k)}`, v);
  });
  it('kernel constants', () => {
    for (const k of ['PAGE_SHIFT', 'IO_TLB_SHIFT', 'IO_TLB_SEGSIZE', 'IO_TLB_OVERFLOW_PAGES', 'MAX_ORDER', 'XEN_MAX_EXCHANGE_ORDER',
      'KERNEL_RESERVED_PAGES', 'XEN_LOW_BASE_MFN', 'DMA32_LIMIT_PFN', 'IOMMU_BASE', 'IOMMU_WINDOW_PAGES'] as const) {
      expectEqual(k, abi[k] as number);
    }
  });
});
