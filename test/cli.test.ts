// Bad input: exit 2, one line naming the problem (and the valid values), nothing on stdout, no
// output file created or changed (INTERFACE.md exit codes).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SMALL, cli, scratch, script, seedUpload } from './helpers.js';

const dir = scratch();
const good = script(dir, 'good.jsonl', seedUpload());

function expectUsage(args: string[], pattern: RegExp): void {
  const r = cli(...args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
}

describe('replay scripts: SCRIPT:LINE errors', () => {
  const CASES: { description: string; text: string; pattern: RegExp }[] = [
    { description: 'malformed JSON', text: '{"op":"alloc","buf":"a","pages":1}\n{"op": oops}\n', pattern: /bad\.jsonl:2: not valid JSON/ },
    { description: 'a line that is not an object', text: '[1,2]\n', pattern: /:1: each line must be a JSON object/ },
    { description: 'unknown op, with the valid ones', text: '{"op":"alloc","buf":"a","pages":1}\n\n{"op":"dance","buf":"a"}\n', pattern: /:3: unknown op 'dance' \(valid: alloc, free, .*gpu_read, tt_populate, tt_bind, tt_unbind, tt_sync, tt_unpopulate\)/ },
    { description: 'unknown buffer', text: '{"op":"map","buf":"zz","dir":"to_device"}\n', pattern: /:1: unknown buffer 'zz'/ },
    { description: 'use after free', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"free","buf":"a"}\n{"op":"cpu_read","buf":"a"}\n', pattern: /:3: unknown buffer 'a'/ },
    { description: 'wrong field type', text: '{"op":"alloc","buf":"a","pages":"one"}\n', pattern: /:1: "pages" must be an integer/ },
    { description: 'bad direction names the valid ones', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"map","buf":"a","dir":"sideways"}\n', pattern: /:2: "dir" must be one of to_device, from_device, bidirectional|"dir" must be one of bidirectional, to_device, from_device/ },
    { description: 'a range outside the buffer', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"cpu_write","buf":"a","offset":2048,"size":4096}\n', pattern: /:2: "offset" 2048 \+ "size" 4096 runs past the buffer/ },
    { description: 'an offset that is not a multiple of 2048', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"cpu_write","buf":"a","offset":100,"size":200}\n', pattern: /:2: "offset" and "size" must be multiples of 2048/ },
    { description: 'a buffer allocated twice', text: '{"op":"alloc","buf":"a","pages":1}\n{"op":"alloc","buf":"a","pages":1}\n', pattern: /:2: buffer 'a' is already allocated/ },
    { description: 'an empty script', text: '\n\n', pattern: /\.jsonl: the script has no operations/ },
    { description: 'a gpu page outside the GART', text: '{"op":"gpu_read","gpuPage":99999999,"pages":1}\n', pattern: /:1: "gpuPage" 99999999 is outside/ },
  ];
  for (const c of CASES) {
    it(c.description, () => {
      const path = script(dir, 'bad.jsonl', c.text);
      expectUsage(['replay', path, ...SMALL], c.pattern);
    });
  }

  it('a script that does not exist', () => expectUsage(['replay', `${dir}/nope.jsonl`], /nope\.jsonl: cannot read \(no such file\)$/m));
  it('byte-exact offsets are fine with --payload-bytes 4096', () => {
    const path = script(dir, 'bytes.jsonl', '{"op":"alloc","buf":"a","pages":1}\n{"op":"cpu_write","buf":"a","offset":100,"size":200}\n{"op":"cpu_read","buf":"a","offset":100,"size":200}\n');
    const r = cli('replay', path, '--payload-bytes', '4096', '--json', ...SMALL);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).verdict, 'coherent');
  });
});

describe('options', () => {
  const CASES: { description: string; args: string[]; pattern: RegExp }[] = [
    { description: 'unknown command lists the commands', args: ['dance'], pattern: /unknown command 'dance' \(valid: run, matrix, replay, merge, bench\)/ },
    { description: 'unknown option', args: ['replay', good, '--turbo'], pattern: /^gartbench: unknown option '--turbo' for 'replay' \(see 'gartbench replay --help'\)\n/ },
    { description: 'a misspelt option names the one meant', args: ['run', '--platfrom', 'xen-pv'], pattern: /unknown option '--platfrom' for 'run' \(did you mean '--platform'\?\)/ },
    { description: 'a cut-short option names the nearest whole one', args: ['run', '--swio', '4M'], pattern: /\(did you mean '--swiotlb'\?\)/ },
    { description: 'bad platform names the valid ones', args: ['replay', good, '--platform', 'vax'], pattern: /--platform: 'vax' is not valid \(valid: bare-metal, swiotlb-force, xen-pv, iommu, coco, all\)/ },
    { description: 'bad device', args: ['run', '--device', 'voodoo'], pattern: /--device: 'voodoo' is not valid \(valid: r100, r600, nv04, nv50, agp\)/ },
    { description: 'bad kernel', args: ['replay', good, '--kernel', '1999'], pattern: /--kernel: '1999' is not valid \(valid: 2010, modern\)/ },
    { description: 'a size that cannot be parsed', args: ['replay', good, '--ram', 'lots'], pattern: /--ram: 'lots' is not a size/ },
    { description: 'a swiotlb pool that is not whole segments', args: ['replay', good, '--swiotlb', '100K'], pattern: /--swiotlb: 100K is (outside|not a multiple)/ },
    { description: 'payload bytes out of range', args: ['replay', good, '--payload-bytes', '5000'], pattern: /--payload-bytes: '5000' is not a whole number from 0 to 4096/ },
    { description: 'a Xen host too small for the guest', args: ['replay', good, '--platform', 'xen-pv', '--ram', '4G', '--host-ram', '6G'], pattern: /--host-ram: 6G must exceed --ram 4G by at least 4G/ },
    { description: "Xen's low free memory does not fit below 4 GiB beside the xen-swiotlb pool", args: ['replay', good, '--platform', 'xen-pv', '--xen-low-free', '3800M'], pattern: /^gartbench: --xen-low-free: 3800M is outside 0\.\.3776M \(Xen's free memory below 4 GiB beside the 64M xen-swiotlb pool\)\n$/ },
    { description: '--xen-low-free in whole pages', args: ['replay', good, '--platform', 'xen-pv', '--xen-low-free', '6K'], pattern: /--xen-low-free: 6K is not a multiple of 4K/ },
    { description: '--strategy with agp', args: ['run', '--device', 'agp', '--strategy', 'sync'], pattern: /--strategy: not with --device agp/ },
    { description: '--gatt without agp', args: ['run', '--device', 'r100', '--gatt', 'phys'], pattern: /--gatt: only with --device agp/ },
    { description: 'a working set larger than RAM', args: ['run', '--ram', '512M', '--pages', '200000'], pattern: /--pages: a working set of 200000 pages \(781\.2M\) is larger than/ },
    { description: 'a negative page count', args: ['run', '--pages', '-5'], pattern: /--pages: '-5' is not a whole number from 1/ },
    { description: 'a missing script', args: ['replay'], pattern: /missing SCRIPT\.jsonl/ },
    { description: 'an unreadable cost file', args: ['replay', good, '--costs', `${dir}/none.json`], pattern: /--costs: cannot read/ },
  ];
  for (const c of CASES) it(c.description, () => expectUsage(c.args, c.pattern));

  it('--xen-low-free 0 is valid: the booted guest may leave Xen nothing below 4 GiB', () => {
    for (const size of ['0', '3776M']) {
      const r = cli('replay', good, '--platform', 'xen-pv', '--xen-low-free', size, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).machine.xenLowFreeBytes, size === '0' ? 0 : 3776 * 2 ** 20);
    }
  });

  it('with --xen-low-free 0 a 40-bit device still gets coherent memory (exchanged above 4 GiB); a 32-bit one does not', () => {
    const coherent = script(dir, 'coherent.jsonl', [
      { op: 'alloc_coherent', buf: 'c', pages: 16 }, { op: 'cpu_write', buf: 'c' }, { op: 'dev_read', buf: 'c' }, { op: 'free_coherent', buf: 'c' },
    ]);
    const counters = (device: string) => {
      const r = cli('replay', coherent, '--platform', 'xen-pv', '--device', device, '--xen-low-free', '0', '--json');
      assert.equal(r.code, 0, r.stderr);
      const { coherentAllocs, allocFailures, hypercalls, exchangedFrames } = JSON.parse(r.stdout).counters;
      return { coherentAllocs, allocFailures, hypercalls, exchangedFrames };
    };
    // 2.6.37: alloc_coherent exchanges 16 frames at 40 bits, free_coherent destroys them.
    assert.deepEqual(counters('r600'), { coherentAllocs: 1, allocFailures: 0, hypercalls: 2, exchangedFrames: 32 });
    assert.deepEqual(counters('nv50'), { coherentAllocs: 1, allocFailures: 0, hypercalls: 2, exchangedFrames: 32 });
    // 32 bits: nothing left below 4 GiB, the exchange fails and so does the allocation.
    assert.deepEqual(counters('r100'), { coherentAllocs: 0, allocFailures: 2, hypercalls: 1, exchangedFrames: 0 });
  });

  it('a failed run leaves an existing --out file exactly as it was', () => {
    const out = `${dir}/keep.json`;
    writeFileSync(out, 'precious');
    const bad = script(dir, 'broken.jsonl', '{"op":"alloc","buf":"a","pages":1}\n{"op":"nope"}\n');
    expectUsage(['replay', bad, '--out', out, ...SMALL], /broken\.jsonl:2/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
  });

  it('a failed run creates no --out file', () => {
    const out = `${dir}/never.json`;
    expectUsage(['run', '--device', 'agp', '--strategy', 'sync', '--out', out], /--strategy/);
    assert.equal(existsSync(out), false);
  });

  it('--help on every command lists every option with its default', () => {
    for (const cmd of ['run', 'matrix', 'replay', 'bench']) {
      const r = cli(cmd, '--help');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: gartbench /);
      for (const opt of ['--seed', '--engine', '--ram']) if (cmd !== 'bench') assert.match(r.stdout, new RegExp(`${opt} .*\\(default: `));
    }
    const r = cli('run', '--help');
    for (const opt of ['platform', 'device', 'strategy', 'gatt', 'workload', 'pages', 'bo-pages', 'rounds', 'kernel', 'replicas', 'workers', 'costs', 'host-ram', 'xen-low-free', 'swiotlb', 'payload-bytes', 'json', 'out']) {
      assert.match(r.stdout, new RegExp(`--${opt}\\b`), opt);
    }
  });
});
