// One source for every shared number: assembly/abi.ts is generated from src/engine/abi.ts by the
// build (src/engine/abigen.ts), never written by hand, and the build that ran is current.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../src/engine/abi.js';
import { constName, generateAbi } from '../src/engine/abigen.js';
import { ROOT } from './helpers.js';

describe('ABI: one spec, both engines', () => {
  it('assembly/abi.ts is exactly what the spec generates', () => {
    assert.equal(readFileSync(join(ROOT, 'assembly', 'abi.ts'), 'utf8'), generateAbi());
  });
  it('every enum, counter and debug class is in it, under the name the engine uses', () => {
    const text = generateAbi();
    const has = (name: string, value: number | bigint) => assert.match(text, new RegExp(`const ${name}: \\w+ = ${typeof value === 'bigint' || value > 2 ** 31 ? '0x' + value.toString(16) : value};`, 'i'), name);
    for (const [k, v] of Object.entries(abi.Op)) has(`OP_${k}`, v);
    for (const [k, v] of Object.entries(abi.Platform)) has(`PLATFORM_${constName(k)}`, v);
    abi.COUNTERS.forEach((n, i) => has(`C_${constName(n)}`, i));
    abi.DEBUG_CLASSES.forEach((n, i) => has(`DBG_${constName(n)}`, i));
    has('VIOLATION_WORDS', abi.VIOLATION_FIELDS.length);
    has('DMA_MAPPING_ERROR', abi.DMA_MAPPING_ERROR);
  });
  it('names are derived the kernel way', () => {
    assert.equal(constName('bare-metal'), 'BARE_METAL');
    assert.equal(constName('to_device'), 'TO_DEVICE');
    assert.equal(constName('dmaCoherent'), 'DMA_COHERENT');
    assert.equal(constName('sync-cpu-readonly'), 'SYNC_CPU_READONLY');
  });
});
