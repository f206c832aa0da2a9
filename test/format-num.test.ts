// The report's numbers are written without ICU (start-up), exactly as toLocaleString('en-US') writes them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { duration, num } from '../src/report/format.js';

describe('num', () => {
  it('equals toLocaleString("en-US") on integers, tenths, fractions and edge values', () => {
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = [0, -0, 1.0005, 2.5, 0.9995, 9.9996, 999.9995, -0.0001, 1e20, 1e21, 1e-7, NaN, Infinity, -Infinity, 2 ** 53, 123456789.0125];
    for (let i = 0; i < 20000; i++) {
      const k = rand();
      values.push(k < 0.3 ? Math.round(rand() * 1e12) / 10 : k < 0.6 ? Math.floor(rand() * 1e15) * (rand() < 0.1 ? -1 : 1)
        : k < 0.8 ? Math.round((rand() - 0.5) * 1e7) / 1e4 : (rand() - 0.5) * 10 ** Math.floor(rand() * 25 - 5));
    }
    for (const v of values) assert.equal(num(v), v.toLocaleString('en-US'), String(v));
    assert.equal(num(1234567), '1,234,567');
  });
});

describe('duration', () => {
  it('names each magnitude in its own unit and never rounds 920 ns up to "1 µs" or prints a fraction of a ns', () => {
    assert.equal(duration(919.6), '920 ns');
    assert.equal(duration(0), '0 ns');
    assert.equal(duration(2540), '2.5 µs');
    assert.equal(duration(1_234_567), '1.23 ms');
    assert.equal(duration(3.2e9), '3.20 s');
  });
});
