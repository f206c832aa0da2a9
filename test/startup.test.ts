// Start-up: a command loads only what it uses — no charting or benchmark library, no bench code,
// no worker pool for one worker, no reference model for the Wasm engine, no script reader for a
// workload. (How long it takes is a bench figure, not a test: timings do not belong in tests.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, scratch } from './helpers.js';

const dir = scratch();
const hook = join(dir, 'hook.mjs');
const loader = join(dir, 'loader.mjs');
writeFileSync(loader, "export async function load(url, ctx, next) { process.stderr.write(`LOADED ${url}\\n`); return next(url, ctx); }\n");
writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${loader}`)});\n`);

function loaded(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', hook, BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
}

const HEAVY = [/node_modules\//, /\/dist\/bench\//, /\/dist\/src\/engine\/js\.js$/, /\/dist\/src\/model\/(?!sim\/rand\.js$)/, /\/dist\/src\/run\/piscina\.js$/, /\/dist\/src\/source\/replay\.js$/, /node:worker_threads/];

describe('start-up loads only what the command uses', () => {
  it('run --pages 64 (the Wasm engine, one worker)', () => {
    const urls = loaded('run', '--pages', '64');
    assert.ok(urls.some((u) => u.endsWith('/dist/src/engine/wasm.js')), 'the Wasm engine is loaded');
    for (const u of urls) for (const h of HEAVY) assert.doesNotMatch(u, h);
  });

  it('--help and --version load no command at all', () => {
    for (const args of [['--version'], ['run', '--help'], ['merge', '--help']]) {
      const urls = loaded(...args);
      for (const u of urls) assert.doesNotMatch(u, /\/dist\/src\/(run\/(?!matrix\.js$)|engine\/(wasm|js|factory)|report\/result)|node_modules\//, `${args.join(' ')}: ${u}`);
    }
  });

  it('the reference model and the pool load when asked for', () => {
    const urls = loaded('run', '--pages', '64', '--engine', 'js', '--replicas', '2', '--workers', '2', '--oversubscribe');
    assert.ok(urls.some((u) => u.endsWith('/dist/src/run/piscina.js')));
  });
});
