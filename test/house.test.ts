// The house rules (docs/ARCHITECTURE.md), checked over the source tree: no import cycles; in both
// engines imports only go down the subsystem layers; every engine file has a reference-model twin
// at the same path and the reverse; the platform is read in few engine files; no file is long;
// src/ never imports bench/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from './helpers.js';

/** The layers, bottom first: a file may import its own layer and those below. */
export const LAYERS = ['base', 'sim', 'mm', 'xen', 'dma', 'drm', 'driver', 'top'] as const;
const TOP_FILES = ['index', 'ops', 'invariants'];
const BASE_FILES = ['abi', 'layout'];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...files(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Relative imports of a file, resolved to repository paths (type-only imports count too). */
function importsOf(file: string): string[] {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '');
    out.push(target.endsWith('.ts') ? target : `${target}.ts`);
  }
  return out;
}

function layerOf(root: string, file: string): number {
  const rel = relative(root, file).split('/');
  if (rel.length === 1) {
    const base = rel[0]!.replace(/\.ts$/, '');
    if (BASE_FILES.includes(base)) return 0;
    if (TOP_FILES.includes(base)) return LAYERS.length - 1;
    return -1;
  }
  return LAYERS.indexOf(rel[0] as (typeof LAYERS)[number]);
}

const norm = (p: string) => p.replace(/[_-]/g, '').toLowerCase();

describe('the house', () => {
  const engine = files('assembly').filter((f) => f !== 'assembly/abi.ts');
  const model = files('src/model');
  const src = files('src');

  it('no import cycles in assembly/ or src/', () => {
    const graph = new Map([...engine, ...src].map((f) => [f, importsOf(f).filter((t) => t.startsWith('assembly/') || t.startsWith('src/'))]));
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') assert.fail(`import cycle: ${[...stack.slice(stack.indexOf(f)), f].join(' → ')}`);
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) visit(t);
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) visit(f);
  });

  for (const [name, root, list] of [['assembly', 'assembly', engine], ['the reference model', 'src/model', model]] as const) {
    it(`${name}: every file sits in a layer, and imports only go down`, () => {
      for (const f of list) {
        const from = layerOf(root, f);
        assert.ok(from >= 0, `${f} is in no layer (${LAYERS.join(', ')})`);
        for (const t of importsOf(f).filter((x) => x.startsWith(`${root}/`))) {
          assert.ok(layerOf(root, t) <= from, `${f} (${LAYERS[from]}) imports ${t} (${LAYERS[layerOf(root, t)]}), a layer above`);
        }
      }
    });
  }

  it('every engine file has a twin in src/model at the same path, and every model file one in assembly', () => {
    const e = new Set(engine.map((f) => norm(relative('assembly', f))));
    const m = new Set(model.map((f) => norm(relative('src/model', f))));
    assert.deepEqual([...e].filter((f) => !m.has(f)), [], 'engine files without a model twin');
    assert.deepEqual([...m].filter((f) => !e.has(f)), [], 'model files without an engine twin');
  });

  it('the platform is read in at most 6 engine files, all in the layout, xen/ or dma/', () => {
    const readers = engine.filter((f) => /\bPLATFORM_[A-Z_]+\b|\bplatform\s*[=!]=/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.ok(readers.length <= 6, readers.join(', '));
    for (const f of readers) assert.match(f, /^assembly\/(layout\.ts|xen\/|dma\/)/, `${f} reads the platform`);
  });

  it('no source file over 400 lines', () => {
    for (const f of [...engine, ...src, ...files('bench'), ...files('test')]) {
      const lines = readFileSync(join(ROOT, f), 'utf8').split('\n').length;
      assert.ok(lines <= 400, `${f}: ${lines} lines`);
    }
  });

  it('src/ never imports bench/ (the CLI reaches the bench through bin/)', () => {
    for (const f of src) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      assert.doesNotMatch(text, /(?:from|import\()\s*['"][./]*bench\//, f);
    }
  });

  it('no number both engines use is defined twice: the model takes every shared constant from src/engine/abi.ts', () => {
    const defs = (list: string[]) => new Set(list.flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/(?:const|let)\s+([A-Z][A-Z0-9_]{3,})\s*(?::[^=]+)?=\s*[0-9]/g)].map((m) => norm(m[1]!))));
    const e = defs(engine);
    const twice = [...defs(model)].filter((n) => e.has(n));
    assert.deepEqual(twice, []);
  });
});
