// Inputs at the edges (issue 8 point 7): whatever a user types or feeds in, a bad input is exit 2
// with ONE line on stderr naming the option or FILE:LINE, nothing on stdout, and no internal error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_BO_PAGES } from '../src/engine/abi.js';
import { BIN, SMALL, cli, cliAs, expectUsage, openScratch, scratch, script, seedUpload, unprivileged } from './helpers.js';

const dir = scratch();
const good = script(dir, 'good.jsonl', seedUpload());

describe('user text with a newline or a control character is echoed escaped', () => {
  const NL = 'a\nb';
  const CASES: { description: string; args: string[]; pattern: RegExp }[] = [
    { description: 'a command name', args: [NL], pattern: /unknown command 'a\\nb'/ },
    { description: 'an option value', args: ['run', '--platform', NL], pattern: /--platform: 'a\\nb' is not valid \(valid: / },
    { description: 'an option name', args: ['run', `--${NL}`], pattern: /unknown option '--a\\nb' for 'run'/ },
    { description: 'an option name with a quote in it', args: ['run', "--it's"], pattern: /unknown option '--it's' for 'run'/ },
    { description: 'an extra argument with a terminal escape', args: ['run', 'x\x1b[31m'], pattern: /unexpected argument 'x\\u001b\[31m' for 'run'/ },
    { description: 'a size', args: ['run', '--ram', '4\nG'], pattern: /--ram: '4\\nG' is not a size/ },
    { description: 'a whole number', args: ['run', '--pages', '5\r\nx'], pattern: /--pages: '5\\r\\nx' is not a whole number/ },
    { description: 'a backslash stays distinguishable from an escape', args: ['run', '--device', 'a\\nb'], pattern: /--device: 'a\\\\nb' is not valid/ },
    { description: 'a script path', args: ['replay', join(dir, 'no\nsuch.jsonl')], pattern: /no\\nsuch\.jsonl: cannot read \(no such file\)/ },
    { description: 'a --costs path', args: ['replay', good, '--costs', join(dir, 'no\nsuch.json')], pattern: /--costs: cannot read '.*no\\nsuch\.json' \(no such file\)/ },
  ];
  for (const c of CASES) it(c.description, () => expectUsage(cli(...c.args), c.pattern, c.description));

  const LINES: { description: string; text: string; pattern: RegExp }[] = [
    { description: 'a buffer name in a script line', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"free","buf":"x\\ny"}\n', pattern: /:2: unknown buffer 'x\\ny'/ },
    { description: 'a buffer allocated twice', text: '{"op":"alloc","buf":"\\u2028","pages":1}\n{"op":"alloc","buf":"\\u2028","pages":1}\n', pattern: /:2: buffer '\\u2028' is already allocated/ },
    { description: 'an op name in a script line', text: '{"op":"da\\nnce"}\n', pattern: /:1: unknown op 'da\\nnce' \(valid: / },
    { description: 'a control character in a line that is not JSON', text: '{"op":\x1b}\n', pattern: /:1: not valid JSON/ },
  ];
  for (const c of LINES) {
    it(c.description, () => expectUsage(cli('replay', script(dir, 'esc.jsonl', c.text), ...SMALL), c.pattern, c.description));
  }

  it('a buffer name in a report is escaped too', () => {
    const path = script(dir, 'named.jsonl', seedUpload().map((o) => ('buf' in o ? { ...o, buf: 'line\nbreak' } : o)));
    const r = cli('replay', path, '--platform', 'xen-pv', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /'line\\nbreak'/);
    assert.doesNotMatch(r.stdout, /line\nbreak/);
  });
});

describe('option values at the edges', () => {
  const CASES: { description: string; args: string[]; pattern: RegExp }[] = [
    { description: '--json=true takes no value', args: ['run', '--json=true'], pattern: /^gartbench: --json: takes no value/ },
    { description: '--json=1 on replay takes no value', args: ['replay', good, '--json=1'], pattern: /^gartbench: --json: takes no value/ },
    { description: '--quick=1 takes no value', args: ['bench', '--quick=1'], pattern: /^gartbench: --quick: takes no value/ },
    { description: '--pages -Infinity gets the range message', args: ['run', '--pages', '-Infinity'], pattern: /--pages: '-Infinity' is not a whole number from 1 to \d+/ },
    { description: '--pages -NaN too', args: ['run', '--pages', '-NaN'], pattern: /--pages: '-NaN' is not a whole number from 1 to \d+/ },
    { description: '--pages=-Infinity too', args: ['run', '--pages=-Infinity'], pattern: /--pages: '-Infinity' is not a whole number from 1/ },
    { description: '--pages Infinity too', args: ['run', '--pages', 'Infinity'], pattern: /--pages: 'Infinity' is not a whole number from 1/ },
    { description: '--ram -4G is not a size', args: ['run', '--ram', '-4G'], pattern: /--ram: '-4G' is not a size/ },
    { description: 'a size too large to hold', args: ['run', '--ram', '99999999999999999999999G'], pattern: /--ram: '99999999999999999999999G' is too large to be a size \(more than 2\^53 bytes; see --help for the option's range\)\n$/ },
    { description: "--bo-pages over the real maximum names it", args: ['run', '--bo-pages', String(2 ** 20)], pattern: new RegExp(`--bo-pages: '${2 ** 20}' is not a whole number from 1 to ${MAX_BO_PAGES}`) },
    { description: "--bo-pages just over it too", args: ['run', '--bo-pages', String(MAX_BO_PAGES + 1)], pattern: new RegExp(`--bo-pages: '${MAX_BO_PAGES + 1}' is not a whole number from 1 to ${MAX_BO_PAGES}`) },
    { description: 'an option without its value', args: ['run', '--pages'], pattern: /^gartbench: --pages: needs a value\n$/ },
    { description: 'an option followed by another option', args: ['run', '--platform', '--json'], pattern: /^gartbench: --platform: needs a value\n$/ },
  ];
  for (const c of CASES) it(c.description, () => expectUsage(cli(...c.args), c.pattern, c.description));
});

describe('a machine the Wasm engine cannot hold is a usage error, before anything runs', () => {
  it('run, matrix and replay name --ram and --host-ram, the need and the limit (exit 2, one line, no file)', () => {
    const out = join(dir, 'too-large.json');
    for (const args of [['run', '--platform', 'xen-pv'], ['matrix'], ['replay', good, '--platform', 'xen-pv']]) {
      expectUsage(cli(...args, '--host-ram', '256G', '--ram', '250G', '--out', out),
        /^gartbench: --ram 250G with --host-ram 256G: the Wasm engine's tables for this machine need [\d.]+ GiB, more than its 4\.00 GiB of linear memory; use a smaller --ram or --host-ram, or --engine js/, args.join(' '));
      assert.equal(existsSync(out), false);
    }
  });

  it('the largest xen-pv guest the README names for a 256G host fits', () => {
    const r = cli('run', '--platform', 'xen-pv', '--host-ram', '256G', '--ram', '248G', '--pages', '64', '--json');
    assert.equal(r.code, 0, r.stderr);
  });

  it('a guest just past it says its need and the limit in a unit that tells them apart', () => {
    const r = cli('run', '--platform', 'xen-pv', '--host-ram', '256G', '--ram', '249G', '--pages', '64');
    expectUsage(r, /need ([\d.]+) MiB, more than its 4095\.9 MiB of linear memory;/, '249G');
    assert.ok(Number(/need ([\d.]+) MiB/.exec(r.stderr)![1]) > 4095.9375, "the need exceeds the limit");
  });
});

it('--bo-pages accepts its real maximum', () => {
  const r = cli('run', '--bo-pages', String(MAX_BO_PAGES), '--pages', '64', '--json', ...SMALL);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).scenario.boPages, MAX_BO_PAGES);
});

describe('--costs: an object of finite, non-negative costs', () => {
  const CASES: { description: string; text: string; pattern: RegExp }[] = [
    { description: 'a cost that overflows to Infinity', text: '{"costs":{"hypercall":{"ns":1e999}}}', pattern: /--costs: .*'hypercall\.ns' must be a number from 0 to/ },
    { description: 'a negative cost', text: '{"costs":{"hypercall":{"ns":-1}}}', pattern: /'hypercall\.ns' must be a number from 0/ },
    { description: 'a cost too large to sum', text: '{"costs":{"hypercall":{"ns":1e300}}}', pattern: /'hypercall\.ns' must be a number from 0 to 1000000000000/ },
    { description: 'a cost given as a string', text: '{"costs":{"hypercall":{"ns":"5"}}}', pattern: /'hypercall\.ns' must be a number/ },
    { description: 'a cost given as a bare number', text: '{"costs":{"hypercall":5}}', pattern: /'hypercall\.ns' must be a number/ },
    { description: 'a null entry', text: '{"costs":{"hypercall":null}}', pattern: /'hypercall\.ns' must be a number/ },
    { description: 'an unknown cost, with the valid ones', text: '{"costs":{"warp":{"ns":1}}}', pattern: /unknown cost 'warp' \(valid: pageAlloc, / },
    { description: 'an array', text: '[]', pattern: /--costs: .*expected a JSON object/ },
    { description: 'null', text: 'null', pattern: /--costs: .*expected a JSON object/ },
    { description: 'a string', text: '"x"', pattern: /--costs: .*expected a JSON object/ },
    { description: '"costs" as an array', text: '{"costs":[]}', pattern: /--costs: .*expected a JSON object/ },
    { description: 'not JSON, over several lines', text: '{\n  "costs": {\n', pattern: /--costs: .*not valid JSON \(at line 3, column 1\)/ },
    { description: 'not JSON: the place, never the file\'s text', text: 'secret: hunter2\n', pattern: /--costs: .*not valid JSON \(a character JSON does not allow\)/ },
    { description: 'JSON cut short', text: '{"costs":', pattern: /--costs: .*not valid JSON \(it ends before the JSON does\)/ },
    { description: 'another schema', text: '{"schema":"foo","costs":{}}', pattern: /--costs: .*"schema" is 'foo', not 'gartbench\.costs\/1'/ },
    { description: 'a schema that is an object, named by its type', text: '{"schema":{"a":1},"costs":{}}', pattern: /"schema" is a JSON object, not 'gartbench\.costs\/1'/ },
    { description: 'a long schema, cut', text: `{"schema":"${'x'.repeat(5000)}","costs":{}}`, pattern: /"schema" is 'x{40}…', not/ },
    { description: 'an unknown field of a cost (a typo)', text: '{"costs":{"hypercall":{"ns":5,"nss":6}}}', pattern: /unknown field 'hypercall\.nss' \(valid: ns, per, source\)/ },
  ];
  for (const c of CASES) {
    it(c.description, () => {
      const file = join(dir, 'costs.json');
      writeFileSync(file, c.text);
      expectUsage(cli('run', '--pages', '64', '--costs', file), c.pattern, c.description);
      expectUsage(cli('replay', good, '--costs', file, ...SMALL), c.pattern, c.description);
    });
  }

  it('a byte-order mark before the JSON is taken as an editor wrote it', () => {
    const file = join(dir, 'costs-bom.json');
    writeFileSync(file, '\uFEFF{"costs":{"hypercall":{"ns":5}}}');
    const r = cli('run', '--pages', '64', '--costs', file, '--json');
    assert.equal(r.code, 0, r.stderr);
  });

  it("a file that is not JSON: the error never quotes the file's text", () => {
    const file = join(dir, 'costs-secret.json');
    writeFileSync(file, 'root:x:0:0:hunter2\n');
    const r = cli('run', '--pages', '64', '--costs', file);
    expectUsage(r, /not valid JSON/);
    assert.doesNotMatch(r.stderr, /hunter2|root:x/);
  });

  it('a directory', () => {
    mkdirSync(join(dir, 'costs.d'), { recursive: true });
    expectUsage(cli('run', '--costs', join(dir, 'costs.d')), /--costs: cannot read '.*costs\.d' \(is a directory\)/);
  });

  it('the largest accepted cost still gives numbers, never null, in the JSON', () => {
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ costs: Object.fromEntries(['hypercall', 'gpuPage', 'bounceCopyByte'].map((k) => [k, { ns: 1e12 }])) }));
    const r = cli('run', '--platform', 'xen-pv', '--strategy', 'xen-aware', '--pages', '1024', '--json', '--costs', file, ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout).modeled;
    for (const k of ['totalNs', 'nsPerPage', 'mibPerSec']) assert.ok(Number.isFinite(m[k]), `${k}: ${m[k]}`);
  });
});

describe('the replay script', () => {
  const user = unprivileged();
  const pub = openScratch();

  it('unreadable: SCRIPT: cannot read (permission denied), exit 2', { skip: user ? false : 'cannot run as an unprivileged user here' }, () => {
    const path = script(pub, 'secret.jsonl', seedUpload());
    chmodSync(path, 0o000);
    expectUsage(cliAs(user!, 'replay', path), /^gartbench: .*secret\.jsonl: cannot read \(permission denied\)\n$/);
  });

  it('a directory: SCRIPT: cannot read (is a directory)', () => expectUsage(cli('replay', dir), /^gartbench: .*: cannot read \(is a directory\)\n$/));
  it('missing: SCRIPT: cannot read (no such file)', () => expectUsage(cli('replay', join(dir, 'none.jsonl')), /^gartbench: .*none\.jsonl: cannot read \(no such file\)\n$/));
  it('a device: SCRIPT: cannot read (not a regular file or a pipe)', () => expectUsage(cli('replay', '/dev/zero'), /^gartbench: \/dev\/zero: cannot read \(not a regular file or a pipe\)\n$/));

  it('a pipe, as bash gives <(…)', { skip: existsSync('/bin/bash') ? false : 'no bash' }, () => {
    const r = spawnSync('/bin/bash', ['-c', 'exec "$0" "$1" replay <(cat "$2") --json', process.execPath, BIN, good], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).scenario.script, /^\/dev\/fd\/\d+$/);
  });

  it("'-' reads standard input", () => {
    const text = seedUpload().map((o) => JSON.stringify(o)).join('\n') + '\n';
    const r = cliAs({ input: text }, 'replay', '-', '--platform', 'xen-pv', '--json', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.equal(res.verdict, 'corrupt');
    assert.equal(res.scenario.script, '-');
    const fromFile = JSON.parse(cli('replay', good, '--platform', 'xen-pv', '--json', ...SMALL).stdout);
    assert.deepEqual(res.counters, fromFile.counters);
  });

  it("'-' names standard input in its errors", () => {
    expectUsage(cliAs({ input: '{"op":"alloc","buf":"a","pages":1}\n{"op":"nope"}\n' }, 'replay', '-'), /^gartbench: <stdin>:2: unknown op 'nope'/);
    expectUsage(cliAs({ input: '' }, 'replay', '-'), /^gartbench: <stdin>: the script has no operations\n$/);
  });

  it('a leading UTF-8 byte-order mark is ignored, from a file and from standard input; CRLF too', () => {
    const text = '\uFEFF' + seedUpload().map((o) => JSON.stringify(o)).join('\r\n') + '\r\n';
    const path = script(dir, 'bom.jsonl', text);
    const want = JSON.parse(cli('replay', good, '--json', ...SMALL).stdout).counters;
    for (const r of [cli('replay', path, '--json', ...SMALL), cliAs({ input: Buffer.from(text, 'utf8') }, 'replay', '-', '--json', ...SMALL)]) {
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).counters, want);
    }
  });

  it('a BOM anywhere but the start is still an error', () => {
    const path = script(dir, 'bom2.jsonl', '{"op":"alloc","buf":"a","pages":1}\n\uFEFF{"op":"free","buf":"a"}\n');
    expectUsage(cli('replay', path, ...SMALL), /bom2\.jsonl:2: not valid JSON/);
  });
});
