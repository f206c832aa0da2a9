#!/usr/bin/env node
// The build, and the check that spares it: `npm ci` builds once (prepare → `npm run build`, which
// always builds); `npm test`, `npm run bench` and `npm run golden` call this with --if-stale and
// rebuild only when a source changed since the last successful build.
//
// "Current" means: every output exists and build/.inputs.sha256 holds the SHA-256 of the inputs
// the last successful build started from (the content of every file under assembly/, src/, bench/
// and test/, plus asconfig.json, tsconfig.json, package.json and package-lock.json). Content, not
// mtimes: a checkout or a copy that touches files without changing them does not force a build.
//
//   node scripts/build.mjs             build (always), then record the inputs' hash
//   node scripts/build.mjs --if-stale  build only if an output is missing or an input changed
//   node scripts/build.mjs --status    print current | stale | missing and exit 0 (never builds)
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const INPUT_DIRS = ['assembly', 'src', 'bench', 'test'];
export const INPUT_FILES = ['asconfig.json', 'tsconfig.json', 'package.json', 'package-lock.json'];
export const OUTPUTS = ['build/engine.wasm', 'build/engine.debug.wasm', 'build/innerloop.wasm', 'dist/src/cli/main.js', 'dist/bench/index.js'];
export const STAMP = 'build/.inputs.sha256';
/** Written by the build itself (src/engine/abigen.ts from src/engine/abi.ts, which is an input). */
export const GENERATED = ['assembly/abi.ts'];

function walk(root, dir, out) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) walk(root, rel, out);
    else if (e.isFile()) out.push(rel);
  }
}

/** SHA-256 over the path and content of every input, in a fixed order. */
export function inputsHash(root) {
  const files = [];
  for (const d of INPUT_DIRS) walk(root, d, files);
  for (const f of INPUT_FILES) if (existsSync(join(root, f))) files.push(f);
  const generated = new Set(GENERATED.map((g) => join(...g.split('/'))));
  files.splice(0, files.length, ...files.filter((f) => !generated.has(f)));
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(relative(root, join(root, f)).split(sep).join('/')).update('\0');
    h.update(readFileSync(join(root, f))).update('\0');
  }
  return h.digest('hex');
}

/** 'current' (outputs there, inputs unchanged), 'stale' (an input changed) or 'missing' (an output or the record is). */
export function buildStatus(root) {
  if (OUTPUTS.some((o) => !existsSync(join(root, o))) || !existsSync(join(root, STAMP))) return 'missing';
  return readFileSync(join(root, STAMP), 'utf8').trim() === inputsHash(root) ? 'current' : 'stale';
}

export function recordInputs(root, hash) {
  mkdirSync(dirname(join(root, STAMP)), { recursive: true });
  writeFileSync(join(root, STAMP), `${hash}\n`);
}

function npmRun(root, script) {
  // Under npm, npm_execpath is npm's own CLI: run it with this node, no shell needed.
  const cli = process.env.npm_execpath;
  const r = cli && /\.[cm]?js$/.test(cli)
    ? spawnSync(process.execPath, [cli, 'run', script], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', script], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * Builds — TypeScript, then assembly/abi.ts from the compiled spec, then Wasm — and records the
 * hash of the inputs it started from.
 */
export function build(root) {
  const hash = inputsHash(root);
  // A source that was deleted or moved must not leave its old output behind (node --test would run it).
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  npmRun(root, 'build:ts');
  npmRun(root, 'build:abi');
  npmRun(root, 'build:wasm');
  recordInputs(root, hash);
}

function main(argv) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (argv.includes('--status')) {
    process.stdout.write(`${buildStatus(root)}\n`);
    return;
  }
  if (argv.includes('--if-stale')) {
    const status = buildStatus(root);
    if (status === 'current') {
      process.stderr.write('build: current (sources unchanged since the last build), not rebuilt\n');
      return;
    }
    process.stderr.write(`build: ${status === 'stale' ? 'sources changed since the last build' : 'no complete build yet'}, building\n`);
  }
  build(root);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
