// Reading scripts and traces: lines split as node's readline splits them (\n, \r\n, a lone \r),
// wherever the input's chunks end (source/replay.ts LineSplitter, readLines); the translator's
// insertion-ordered sets (source/fifoMap.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineSplitter, readLines } from '../src/source/replay.js';
import { FifoMap } from '../src/source/fifoMap.js';
import { scratch } from './helpers.js';
import { collectGarbage } from '../bench/userRun.js';

function split(chunks: string[], unterminated: boolean[] = []): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l, u) => { out.push(l); unterminated.push(u); });
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

async function readline(chunks: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const l of createInterface({ input: Readable.from(chunks), crlfDelay: Infinity })) out.push(l);
  return out;
}

/** A small seeded generator (mulberry32), so a failure names a case that replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('LineSplitter', () => {
  it('splits at \\n, \\r\\n and a lone \\r, keeping empty lines and a last line without a break', () => {
    assert.deepEqual(split(['a\nb\r\nc\rd']), ['a', 'b', 'c', 'd']);
    assert.deepEqual(split(['\n\n']), ['', '']);
    assert.deepEqual(split(['a\r\r\n']), ['a', '']);
    assert.deepEqual(split(['\r']), ['']);
    assert.deepEqual(split(['']), []);
  });

  it('a \\r at the end of a chunk and a \\n at the start of the next are one break', () => {
    assert.deepEqual(split(['a\r', '\nb']), ['a', 'b']);
    assert.deepEqual(split(['a\r', 'b']), ['a', 'b']);
    assert.deepEqual(split(['a\r']), ['a']);
    assert.deepEqual(split(['a', '', 'b\n']), ['ab']);
  });

  it('a line longer than many chunks comes out whole, and a final \\r after it ends it', () => {
    const piece = 'x'.repeat(65536);
    const chunks = Array.from({ length: 40 }, () => piece);
    assert.deepEqual(split([...chunks, '\r']).map((l) => l.length), [40 * 65536]);
    assert.deepEqual(split(['a', ...chunks, '\r', '\nb']).map((l) => l.length), [1 + 40 * 65536, 1]);
  });

  it('gives what readline gives for random text cut into random chunks (400 cases)', async () => {
    const next = rng(20261130);
    const alphabet = ['a', 'b', '\r', '\n', ' ', '\uFEFF', 'é'];
    for (let n = 0; n < 400; n++) {
      const len = Math.floor(next() * 24);
      let text = '';
      for (let i = 0; i < len; i++) text += alphabet[Math.floor(next() * alphabet.length)];
      const chunks: string[] = [];
      for (let at = 0; at < text.length;) {
        const step = 1 + Math.floor(next() * 5);
        chunks.push(text.slice(at, at + step));
        at += step;
      }
      const unterminated: boolean[] = [];
      assert.deepEqual(split(chunks, unterminated), await readline(chunks), `case ${n}: ${JSON.stringify(chunks)}`);
      // Only a last line with no break after it is unterminated (a file cut short ends so).
      const cut = text !== '' && !/[\r\n]$/.test(text);
      assert.deepEqual(unterminated, unterminated.map((_, i) => cut && i === unterminated.length - 1), `case ${n}: ${JSON.stringify(chunks)}`);
    }
  });
});

describe('readLines', () => {
  it('numbers the lines of a file from 1, skips a leading BOM, and counts a last line without a break', async () => {
    const path = join(scratch(), 'lines.txt');
    writeFileSync(path, '\uFEFFone\r\ntwo\rthree\n\nfour');
    const seen: [number, string][] = [];
    const n = await readLines(path, (text, line) => seen.push([line, text]));
    assert.equal(n, 5);
    assert.deepEqual(seen, [[1, 'one'], [2, 'two'], [3, 'three'], [4, ''], [5, 'four']]);
  });
});

describe('FifoMap (the trace translator\'s idle and unmapped sets)', () => {
  it('shift() takes entries in insertion order; a deleted and re-set key goes last; empty gives undefined', () => {
    const m = new FifoMap<string, number>();
    assert.equal(m.shift(), undefined);
    m.set('a', 1); m.set('b', 2); m.set('c', 3);
    m.delete('a'); m.set('a', 4); m.set('b', 5); // b keeps its place, as Map.set
    assert.deepEqual([m.shift(), m.shift(), m.shift(), m.shift()], [['b', 5], ['c', 3], ['a', 4], undefined]);
    m.set('d', 6); // after the map was empty
    assert.deepEqual(m.shift(), ['d', 6]);
  });

  it('keeps nothing of entries it no longer holds: 1,000,000 deletes and sets of 50 keys after a shift', () => {
    const m = new FifoMap<number, object>();
    for (let i = 0; i < 4097; i++) m.set(i, {});
    m.shift();
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      const k = 1 + (i % 50);
      m.delete(k);
      m.set(k, { i });
    }
    collectGarbage();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 16 * 2 ** 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(m.size, 4096);
    assert.deepEqual(m.shift(), [51, {}]);
  });

  it('agrees with a list model over 20,000 random sets, deletes and shifts', () => {
    const next = rng(4096);
    const m = new FifoMap<number, number>();
    const model: [number, number][] = [];
    for (let i = 0; i < 20_000; i++) {
      const k = Math.floor(next() * 64);
      const r = next();
      if (r < 0.5) {
        m.set(k, i);
        const at = model.findIndex(([key]) => key === k);
        if (at >= 0) model[at]![1] = i; else model.push([k, i]);
      } else if (r < 0.75) {
        const at = model.findIndex(([key]) => key === k);
        assert.equal(m.delete(k), at >= 0);
        if (at >= 0) model.splice(at, 1);
      } else {
        assert.deepEqual(m.shift(), model.shift(), `step ${i}`);
      }
      assert.equal(m.size, model.length);
    }
  });
});
