// --out FILE at the edges (issue 8 point 7): checked before the simulation starts; a symbolic
// link, a device, a FIFO, a directory, a path under a regular file, a directory nobody may write
// in, or one of the command's own inputs → exit 2 with one line naming --out, and nothing the user
// had is changed. A good --out is written atomically.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { SMALL, cli, cliAs, cliWith, expectUsage, openScratch, script, seedUpload, unprivileged } from './helpers.js';

const dir = openScratch();
const good = script(dir, 'good.jsonl', seedUpload());
const RUN = ['run', '--pages', '64', ...SMALL];

/** Both commands that take --out FILE, and replay. */
const COMMANDS: { name: string; args: (out: string) => string[] }[] = [
  { name: 'run', args: (out) => [...RUN, '--out', out] },
  { name: 'replay', args: (out) => ['replay', good, ...SMALL, '--out', out] },
  { name: 'matrix', args: (out) => ['matrix', '--pages', '64', ...SMALL, '--out', out] },
];

function fresh(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('--out that is refused before the run', () => {
  const cases: { description: string; make: (d: string) => { out: string; unchanged: () => void }; pattern: RegExp }[] = [
    {
      description: 'a symbolic link to a file is neither followed nor replaced',
      make: (d) => {
        writeFileSync(join(d, 'real.json'), 'precious');
        symlinkSync('real.json', join(d, 'link.json'));
        return { out: join(d, 'link.json'), unchanged: () => {
          assert.equal(readlinkSync(join(d, 'link.json')), 'real.json');
          assert.equal(readFileSync(join(d, 'real.json'), 'utf8'), 'precious');
        } };
      },
      pattern: /--out: '.*link\.json' is a symbolic link/,
    },
    {
      description: 'a dangling symbolic link creates nothing at its target',
      make: (d) => {
        symlinkSync('nowhere.json', join(d, 'dangling.json'));
        return { out: join(d, 'dangling.json'), unchanged: () => assert.equal(existsSync(join(d, 'nowhere.json')), false) };
      },
      pattern: /--out: '.*dangling\.json' is a symbolic link/,
    },
    {
      description: "'-' (standard output to many tools) writes no file of that name",
      make: () => ({ out: '-', unchanged: () => assert.equal(existsSync('-'), false) }),
      pattern: /^gartbench: --out: '-' is not a file here; to print the JSON on standard output use --json\n$/,
    },
    {
      description: 'a device (/dev/null) stays a device',
      make: () => ({ out: '/dev/null', unchanged: () => assert.ok(lstatSync('/dev/null').isCharacterDevice()) }),
      pattern: /^gartbench: --out: '\/dev\/null' is a device, not a regular file/,
    },
    {
      description: 'a FIFO stays a FIFO',
      make: (d) => {
        const fifo = join(d, 'fifo');
        assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
        return { out: fifo, unchanged: () => assert.ok(lstatSync(fifo).isFIFO()) };
      },
      pattern: /--out: '.*fifo' is a FIFO, not a regular file/,
    },
    {
      description: 'a directory',
      make: (d) => ({ out: d, unchanged: () => assert.deepEqual(readdirSync(d), []) }),
      pattern: /--out: '.*' is a directory; give a file name/,
    },
    {
      description: 'a new path ending in a slash (a directory name, not a file)',
      make: (d) => ({ out: `${join(d, 'newdir')}/`, unchanged: () => assert.deepEqual(readdirSync(d), []) }),
      pattern: /--out: '.*newdir\/' ends in '\/', so it names a directory, not a file: give a file path/,
    },
    {
      description: 'a regular file\'s name with a slash after it',
      make: (d) => {
        writeFileSync(join(d, 'a.json'), 'precious');
        return { out: `${join(d, 'a.json')}/`, unchanged: () => assert.equal(readFileSync(join(d, 'a.json'), 'utf8'), 'precious') };
      },
      pattern: /--out: '.*a\.json\/' ends in '\/', so it names a directory, not a file: give a file path/,
    },
    {
      description: 'a path under a regular file',
      make: (d) => {
        writeFileSync(join(d, 'somefile'), 'precious');
        return { out: join(d, 'somefile', 'x.json'), unchanged: () => assert.equal(readFileSync(join(d, 'somefile'), 'utf8'), 'precious') };
      },
      pattern: /--out: '.*somefile\/x\.json' cannot be created: '.*somefile' is not a directory/,
    },
    {
      description: 'a path deeper under a regular file',
      make: (d) => {
        writeFileSync(join(d, 'somefile'), 'precious');
        return { out: join(d, 'somefile', 'a', 'b', 'x.json'), unchanged: () => assert.equal(readFileSync(join(d, 'somefile'), 'utf8'), 'precious') };
      },
      pattern: /--out: '.*somefile\/a\/b\/x\.json' cannot be created: '.*somefile' is not a directory/,
    },
    {
      description: 'the --costs file',
      make: (d) => {
        const costs = join(d, 'costs.json');
        writeFileSync(costs, '{"costs":{}}');
        return { out: costs, unchanged: () => assert.equal(readFileSync(costs, 'utf8'), '{"costs":{}}') };
      },
      pattern: /--out: '.*costs\.json' is the --costs file; give another file/,
    },
  ];
  for (const c of cases) {
    for (const cmd of COMMANDS) {
      it(`${c.description} (${cmd.name})`, () => {
        const d = fresh(`${cmd.name}-${cases.indexOf(c)}`);
        const { out, unchanged } = c.make(d);
        const extra = c.description === 'the --costs file' ? ['--costs', out] : [];
        expectUsage(cli(...cmd.args(out), ...extra), c.pattern, c.description);
        unchanged();
        assert.deepEqual(readdirSync(d).filter((f) => f.endsWith('.tmp') || f.endsWith('.probe')), [], 'no temporary file left');
      });
    }
  }

  it('the replayed script itself, however it is spelled (and a hard link to it)', () => {
    const d = fresh('self');
    const path = script(d, 'self.jsonl', seedUpload());
    const before = readFileSync(path, 'utf8');
    linkSync(path, join(d, 'hard.jsonl'));
    for (const out of [path, join(d, '.', '..', 'self', 'self.jsonl'), join(d, 'hard.jsonl')]) {
      expectUsage(cli('replay', path, ...SMALL, '--out', out), /--out: '.*' is the script being replayed; give another file/);
      assert.equal(readFileSync(path, 'utf8'), before);
    }
  });

  it('is checked before the run: it wins over a bad script line, and over a failing cell', () => {
    const d = fresh('order');
    const bad = script(d, 'bad.jsonl', '{"op":"alloc","buf":"a","pages":1}\n{"op":"nope"}\n');
    expectUsage(cli('replay', bad, '--out', '/dev/null'), /^gartbench: --out: /);
    expectUsage(cliWith({ GARTBENCH_FAULT: 'throw:0' }, ...RUN, '--out', '/dev/null'), /^gartbench: --out: /);
  });

  const user = unprivileged();
  it('a directory that cannot be written in (as an unprivileged user)', { skip: user ? false : 'cannot run as an unprivileged user here' }, () => {
    const d = fresh('locked');
    chmodSync(d, 0o555);
    for (const out of [join(d, 'r.json'), join(d, 'sub', 'r.json')]) {
      expectUsage(cliAs(user!, ...RUN, '--out', out), /^gartbench: --out: '.*r\.json' cannot be created in '.*locked' \(permission denied\)\n$/);
    }
    assert.deepEqual(readdirSync(d), []);
  });
});

describe('--out that is written', () => {
  it('creates missing directories and leaves no temporary file', () => {
    const d = fresh('deep');
    const out = join(d, 'a', 'b', 'r.json');
    const r = cli(...RUN, '--json', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).counters, JSON.parse(r.stdout).counters);
    assert.deepEqual(readdirSync(join(d, 'a', 'b')), ['r.json']);
  });

  it('replaces an existing regular file, keeping its permissions', () => {
    const d = fresh('replace');
    const out = join(d, 'r.json');
    writeFileSync(out, 'old');
    chmodSync(out, 0o640);
    const r = cli(...RUN, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).schema, 'gartbench.result/1');
    assert.equal(statSync(out).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(d), ['r.json']);
  });
});
