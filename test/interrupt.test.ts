// Ctrl-C (issue 8 point 7): a run stopped by SIGINT exits 130 with one line saying so — no
// "internal error", nothing on stdout, no output file — on worker threads, on the main thread and
// while a replay waits for its script. The signal is sent once the CLI has opened an input that is
// a FIFO, so it surely listens for it; wherever the run is then, the answer must be the same.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, SMALL, scratch } from './helpers.js';

const dir = scratch();
const fifos = spawnSync('mkfifo', [join(dir, 'probe')]).status === 0;

/**
 * Starts the CLI with `args`, where `fifo` is one of its input files (a replay script or a --costs
 * file): once the CLI opens it, its SIGINT handler is certainly installed (main() installs it
 * first). `feed` is written to it; `close` ends it (else the CLI waits for more). Ctrl-C follows
 * `afterMs` later: at once, the run is still starting; later, cells are running.
 */
async function interrupt(args: string[], fifo: string, feed: string, close: boolean, afterMs = 0): Promise<Outcome> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let ended = false;
  const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, signal) => { ended = true; resolve([code, signal]); }));
  let fd: number | undefined;
  while (fd === undefined) {
    if (ended) assert.fail(`the CLI ended before it opened ${fifo}: ${stderr}`);
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO until the CLI opens it to read
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENXIO') throw e;
      await sleep(5);
    }
  }
  writeSync(fd, feed);
  if (close) closeSync(fd);
  await sleep(afterMs);
  child.kill('SIGINT');
  const [code, signal] = await exited;
  if (!close) closeSync(fd);
  return { code, signal, stdout, stderr };
}

interface Outcome { code: number | null; signal: string | null; stdout: string; stderr: string }

function fifo(name: string): string {
  const path = join(dir, name);
  assert.equal(spawnSync('mkfifo', [path]).status, 0);
  return path;
}

function expectInterrupted(r: Outcome, out: string): void {
  assert.equal(r.signal, null, 'exits, not killed by the signal');
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr, 'gartbench: interrupted (Ctrl-C); no result was written\n');
  assert.equal(r.stdout, '');
  assert.equal(existsSync(out), false, 'no output file');
}

// Long enough (seconds per cell) that the signal always lands before the end.
const LONG = ['--workload', 'stream', '--pages', '4096', '--rounds', '50000', ...SMALL];
const COSTS = '{"costs":{}}';

describe('Ctrl-C', { skip: fifos ? false : 'needs mkfifo' }, () => {
  it('with workers: run --workers 2 --replicas 8 exits 130, one line, no output file', async () => {
    const out = join(dir, 'pool.json');
    const costs = fifo('pool.costs');
    expectInterrupted(await interrupt(['run', ...LONG, '--workers', '2', '--replicas', '8', '--costs', costs, '--out', out], costs, COSTS, true), out);
  });

  it('with workers, once cells are running', async () => {
    const out = join(dir, 'pool-later.json');
    const costs = fifo('pool-later.costs');
    expectInterrupted(await interrupt(['run', ...LONG, '--workers', '2', '--replicas', '8', '--costs', costs, '--out', out], costs, COSTS, true, 700), out);
  });

  it('on the main thread: --workers 1 the same', async () => {
    const out = join(dir, 'main.json');
    const costs = fifo('main.costs');
    expectInterrupted(await interrupt(['run', ...LONG, '--workers', '1', '--replicas', '2', '--costs', costs, '--out', out], costs, COSTS, true), out);
  });

  it('on the main thread, inside a long cell', async () => {
    const out = join(dir, 'main-later.json');
    const costs = fifo('main-later.costs');
    expectInterrupted(await interrupt(['run', ...LONG, '--workers', '1', '--costs', costs, '--out', out], costs, COSTS, true, 700), out);
  });

  it('matrix the same', async () => {
    const out = join(dir, 'matrix.json');
    const costs = fifo('matrix.costs');
    expectInterrupted(await interrupt(['matrix', ...LONG, '--workers', '2', '--json', '--costs', costs, '--out', out], costs, COSTS, true, 700), out);
  });

  it('replay while it waits for the rest of its script', async () => {
    const out = join(dir, 'replay.json');
    const script = fifo('replay.jsonl');
    expectInterrupted(await interrupt(['replay', script, ...SMALL, '--out', out], script, '{"op":"alloc","buf":"a","pages":1}\n', false), out);
  });
});
