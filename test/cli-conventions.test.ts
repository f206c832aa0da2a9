// The command line's conventions (INTERFACE.md "Commands"): --version/-V, -h/--help after every
// command, no arguments → the usage on stderr with exit 2, and help texts that cite only
// documents the package ships.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, cli, scratch } from './helpers.js';

const COMMANDS = ['run', 'matrix', 'replay', 'bench', 'merge'];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };

describe('version and usage', () => {
  for (const flag of ['--version', '-V']) {
    it(`${flag} prints 'gartbench X.Y.Z' from package.json and exits 0`, () => {
      const r = cli(flag);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `gartbench ${pkg.version}\n`);
      assert.match(pkg.version, /^\d+\.\d+\.\d+/);
      assert.equal(r.stderr, '');
    });
  }

  it('no arguments: the usage on stderr, nothing on stdout, exit 2', () => {
    const r = cli();
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /usage: gartbench <command>/);
  });

  it('--help and -h alone: the usage on stdout, exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = cli(flag);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /usage: gartbench <command>/);
      assert.match(r.stdout, /--version/);
    }
  });
});

describe('-h and --help after every command', () => {
  for (const cmd of COMMANDS) {
    for (const flag of ['-h', '--help']) {
      it(`${cmd} ${flag}`, () => {
        const r = cli(cmd, flag);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^usage: gartbench ${cmd}`));
        assert.match(r.stdout, /-h, --help/);
        assert.equal(r.stderr, '');
      });
    }
  }

  it('wins over other options, even bad ones', () => {
    for (const args of [['run', '--platform', 'vax', '-h'], ['replay', 'x.jsonl', '--turbo', '--help'], ['matrix', '--pages', '-h']]) {
      const r = cli(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: gartbench /);
    }
  });

  it("after '--' it is an argument, not a request for help", () => {
    const r = cli('replay', '--', '-h');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^gartbench: -h: cannot read/);
  });
});

describe('help texts cite documents the package ships', () => {
  const texts = [cli('--help').stdout, ...COMMANDS.map((c) => cli(c, '--help').stdout)];
  const shipped = (path: string) => path === 'README.md' || pkg.files.some((f) => path === f || path.startsWith(`${f}/`));

  it('never the development spec (MODEL.md, ../shared)', () => {
    for (const t of texts) assert.doesNotMatch(t, /MODEL\.md|shared\//);
  });

  it('every cited document and section exists and is in package.json "files"', () => {
    let cited = 0;
    for (const t of texts) {
      // A citation is a document's upper-case name (README.md, docs/ENGINE.md), not an output file.
      for (const m of t.matchAll(/((?:[\w.-]+\/)*[A-Z][A-Z0-9_-]*\.md)((?:,? ?§\d+)*)/g)) {
        const doc = m[1]!;
        cited++;
        assert.ok(shipped(doc), `${doc} is not shipped (package.json "files": ${pkg.files.join(', ')})`);
        assert.ok(existsSync(join(ROOT, doc)), `${doc} exists`);
        const text = readFileSync(join(ROOT, doc), 'utf8');
        for (const s of m[2]!.matchAll(/§(\d+)/g)) assert.match(text, new RegExp(`^## ${s[1]}\\. `, 'm'), `${doc} §${s[1]}`);
      }
    }
    assert.ok(cited > 0, 'the help cites its documents');
  });
});

// A reader that goes away (`gartbench … | head`): the pipe's EPIPE is not an internal failure.
// The read end is closed before the child has started, so its first write fails.
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('a closed stdout (EPIPE)', () => {
  it('--help: exit 0, nothing on stderr (no stack trace)', async () => {
    const r = await withClosedStdout(['--help']);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  });
  it('run --json --out FILE: exit 0, nothing on stderr, and the file is still written', async () => {
    const out = join(scratch(), 'r.json');
    const r = await withClosedStdout(['run', '--pages', '64', '--json', '--out', out]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).schema, 'gartbench.result/1');
  });
});

describe('stdout that cannot be written (a full disk)', { skip: existsSync('/dev/full') ? false : 'needs /dev/full' }, () => {
  it('run: exit 1 (an internal failure) with one line naming the error, no stack trace', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [BIN, 'run', '--pages', '64'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'gartbench: cannot write to stdout: ENOSPC\n');
    } finally {
      closeSync(full);
    }
  });
});
