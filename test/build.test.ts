// scripts/build.mjs: a current build is recognised (and so not rebuilt by npm test or npm run
// bench); a changed source or a missing output is not. Run on a scratch tree, never the real one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, scratch } from './helpers.js';

interface BuildScript {
  OUTPUTS: string[];
  inputsHash(root: string): string;
  buildStatus(root: string): 'current' | 'stale' | 'missing';
  recordInputs(root: string, hash: string): void;
}

const load = async () => (await import(pathToFileURL(join(ROOT, 'scripts', 'build.mjs')).href)) as BuildScript;

function tree(b: BuildScript): string {
  const dir = scratch();
  for (const f of ['assembly/index.ts', 'src/cli.ts', 'bench/index.ts', 'test/a.test.ts', 'tsconfig.json', 'asconfig.json', ...b.OUTPUTS]) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), `// ${f}\n`);
  }
  return dir;
}

describe('build if stale', () => {
  it('no record of a build: missing; recorded: current', async () => {
    const b = await load();
    const dir = tree(b);
    assert.equal(b.buildStatus(dir), 'missing');
    b.recordInputs(dir, b.inputsHash(dir));
    assert.equal(b.buildStatus(dir), 'current');
  });

  it('a touched but unchanged source stays current; a changed one is stale', async () => {
    const b = await load();
    const dir = tree(b);
    b.recordInputs(dir, b.inputsHash(dir));
    utimesSync(join(dir, 'src/cli.ts'), new Date(), new Date(Date.now() + 60_000));
    assert.equal(b.buildStatus(dir), 'current');
    writeFileSync(join(dir, 'assembly/index.ts'), '// changed\n');
    assert.equal(b.buildStatus(dir), 'stale');
  });

  it('a new source file is stale; a missing output is missing', async () => {
    const b = await load();
    const dir = tree(b);
    b.recordInputs(dir, b.inputsHash(dir));
    writeFileSync(join(dir, 'bench/new.ts'), '// new\n');
    assert.equal(b.buildStatus(dir), 'stale');
    b.recordInputs(dir, b.inputsHash(dir));
    rmSync(join(dir, b.OUTPUTS[0]!));
    assert.equal(b.buildStatus(dir), 'missing');
  });
});
