// The end-to-end sections of `npm run bench`, run at tiny sizes: every figure carries median, min,
// max and samples and names the command that made it; targets say met or not met beside what was
// measured; benchmark.json ranks no corrupt or incomplete strategy; the ratios are of the kind CI
// may (end-to-end) or may not (scale, parallel) fail on. A profile is summed by function name,
// the release engine's functions named from build/engine.wat. No timing is asserted.
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { BENCHMARKS, sectionCommand } from '../bench/index.js';
import { measureEndToEnd, uploadArgv } from '../bench/endToEnd.js';
import { measureCostPerPage } from '../bench/costPerPage.js';
import { measureScaling } from '../bench/scaling.js';
import { BIN, measureStartup, runProcess } from '../bench/startup.js';
import { measureEras } from '../bench/eras.js';
import { type CpuProfile, engineFunctionNames, frameName, measureProfile, summarizeProfile, wasmFunctionCount, watFunctionNames } from '../bench/profile.js';
import { renderMarkdown } from '../bench/report.js';
import type { BenchReport, Section } from '../bench/types.js';
import { collectGarbage, userRun } from '../bench/userRun.js';
import { processRun } from '../bench/processRun.js';
import { USAGE_MARK } from '../bench/childUsage.js';
import { threadFaults } from '../src/run/reuse.js';

const SPREAD = /^[\d.]+ \([\d.]+–[\d.]+\)/; // "median (min–max)"
const quiet = () => {};
const tinyMachine = { ram: '1G', 'host-ram': '8G', 'xen-low-free': '512M' };

/** Every timed benchmark.json entry of a section carries its range and at least 5 samples. */
function assertTimedMetrics(s: Section): void {
  for (const m of s.metrics) {
    assert.ok(m.timed, m.name);
    assert.match(m.range ?? '', /^± \d/, m.name);
    assert.ok(Number(/median of (\d+) samples/.exec(m.extra ?? '')?.[1]) >= 5, m.name);
  }
}

describe('bench: the report leads with end-to-end figures', () => {
  it('the four end-to-end sections come first, the micro-benchmarks after', () => {
    const ids = BENCHMARKS.map((b) => b.id);
    assert.deepEqual(ids.slice(0, 4), ['end-to-end', 'cost-per-page', 'profile', 'scaling']);
    for (const micro of ['engine-throughput', 'inner-loop', 'micro']) assert.ok(ids.indexOf(micro) > 3, micro);
    assert.equal(sectionCommand('profile', true, 1), 'gartbench bench --quick --only profile');
    assert.equal(sectionCommand('scaling', false, 7), 'gartbench bench --only scaling --seed 7');
  });

  it('a user command runs in-process as typed, with its results', async () => {
    const u = await userRun(uploadArgv({ pages: 256, machine: tinyMachine, seed: 1, rounds: 1, warmup: 0 }, 'sync', 'js'));
    assert.equal(u.command, 'gartbench run --platform xen-pv --device r100 --strategy sync --workload upload --pages 256 --ram 1G --host-ram 8G --xen-low-free 512M --seed 1 --engine js');
    assert.equal(u.results.length, 1);
    assert.equal(u.results[0]!.engine.kind, 'js');
    await assert.rejects(userRun(['run', '--pages', '0']), /gartbench run --pages 0 exited 2/);
  });
});

describe('bench: end to end, both engines (tiny)', async () => {
  const s = await measureEndToEnd({ pages: 1024, machine: tinyMachine, seed: 1, rounds: 5, warmup: 0 }, quiet);

  it('three tables, each run as its own process, in this process and as a thread\'s later cell: a row per strategy and engine, plus the whole set, each with its spread, samples and command', () => {
    assert.equal(s.tables.length, 3);
    assert.match(s.tables[0]!.caption!, /^Each command as its own process/);
    assert.match(s.tables[1]!.caption!, /^The same commands in the bench's process/);
    assert.match(s.tables[2]!.caption!, /^The same commands' cells run in this process as one thread's later cells/);
    for (const [t, table] of s.tables.entries()) {
      const rows = table.rows;
      const own = t === 0;
      assert.equal(table.columns.at(-2), ['peak RSS MiB', 'page faults', 'memory handed on'][t]);
      assert.equal(rows.length, 4 * 2 + 2);
      for (const r of rows) {
        assert.match(String(r[3]), SPREAD, 'engine wall ms');
        assert.match(String(r[4]), SPREAD, 'pages/s');
        assert.equal(r[5], 5);
        assert.match(String(r[7]), /^[\d,]+ \([\d,]+–[\d,]+\)$/, 'page faults');
        if (t < 2) assert.ok(Number(String(r[7]).split(' ')[0]!.replace(/,/g, '')) > 0, 'a command that builds a machine touches fresh memory');
        assert.match(String(r.at(-1)), /^gartbench run .*--pages 1024 .*--engine (js|wasm)$|^the 4 commands above/);
      }
      for (const r of rows.filter((x) => x[2] === 'Wasm engine')) assert.match(String(r[6]), /^[\d.]+ \([\d.]+–[\d.]+\)×$/);
      // Where the thread's faults are known (Linux), reuse pays and is taken (src/run/reuse.ts).
      if (t === 2 && threadFaults() !== undefined) {
        // Every Wasm cell was built on the memory the one before it handed on, but the very first
        // (legacy's, in round 1: no warm-up round here).
        assert.deepEqual(rows.slice(0, 8).map((r) => r[8]), ['— (its heap)', '4 of 5', ...Array.from({ length: 3 }, () => ['— (its heap)', '5 of 5']).flat()]);
      }
      if (own) {
        // A process's own faults include node's start-up: more than the same command's in this process.
        const faults = (tb: number, i: number) => Number(String(s.tables[tb]!.rows[i]![7]).split(' ')[0]!.replace(/,/g, ''));
        for (let i = 0; i < 8; i++) assert.ok(faults(0, i) > faults(1, i), `row ${i}: own process ${faults(0, i)}, here ${faults(1, i)}`);
        for (const r of rows.slice(0, 8)) {
          const mb = Number(String(r[8]).split(' ')[0]);
          assert.ok(mb > 20 && mb < 2000, `peak RSS of a tiny run: ${r[8]}`);
        }
      }
    }
  });

  it('the later cells\' memory goes with them: the next run in this process starts on a fresh one', async () => {
    const u = await userRun(uploadArgv({ pages: 256, machine: tinyMachine, seed: 1, rounds: 1, warmup: 0 }, 'sync', 'wasm'));
    assert.equal(u.results[0]!.engine.reusedMemories, 0);
  });

  it('a target per strategy, judged on the own-process ratio, beside the in-process one; not judged: the size measured is not the issue\'s', () => {
    assert.equal(s.targets.length, 4);
    for (const t of s.targets) {
      assert.match(t.what, /Wasm ≥ 10× the reference model .*each run as its own process .*measured at 2\^10 pages; the issue's size, 2\^19/);
      assert.match(t.measured, /^[\d.]+ \([\d.]+–[\d.]+\)×, 5 rounds \(in the bench's process: [\d.]+ \([\d.]+–[\d.]+\)×; as a thread's later cell: [\d.]+ \([\d.]+–[\d.]+\)×\)$/);
      assert.equal(t.met, null, 'a ratio at 2^10 says nothing of 2^19');
    }
  });

  it('benchmark.json ranks only coherent, complete strategies; ratios with 5 samples every way, end-to-end (CI\'s guard) for a user\'s command', () => {
    assertTimedMetrics(s);
    const rows = s.tables[0]!.rows;
    for (const r of rows.filter((x) => x[2] === 'Wasm engine' && x[0] !== 'all 4')) {
      const named = s.metrics.filter((m) => m.name.includes(`r100 ${r[0]},`));
      assert.equal(named.length, r[1] === 'coherent' ? 6 : 0, `${r[0]} (${r[1]})`);
    }
    assert.ok(rows.some((r) => r[1] !== 'coherent'), 'legacy is corrupt here, so the rule is exercised');
    const ratios = Object.entries(s.ratios);
    assert.equal(ratios.length, 15);
    assert.equal(ratios.filter(([k]) => k.startsWith('end to end (own process): ')).length, 5);
    assert.equal(ratios.filter(([k]) => k.startsWith('end to end (later cell): ')).length, 5);
    for (const [key, r] of ratios) {
      assert.match(key, /^end to end( \(own process\)| \(later cell\))?: upload xen-pv\/r100.* at 2\^10 pages, Wasm ÷ model$/);
      assert.equal(r.kind, key.includes('(later cell)') ? 'later-cell' : 'end-to-end', 'only a user command\'s ratio guards CI');
      assert.equal(r.samples.length, 5);
    }
  });
});

describe('bench: a command as its own process reports its own usage', () => {
  it('its result, wall, page faults and peak RSS; a failure\'s error is the command\'s own', async () => {
    const p = await processRun(uploadArgv({ pages: 256, machine: tinyMachine, seed: 1, rounds: 1, warmup: 0 }, 'sync', 'wasm'));
    assert.equal(p.result.engine.kind, 'wasm');
    assert.equal(p.result.completion.pagesRequested, 256);
    assert.ok(p.wallMs > p.result.engine.wallMs, 'the process outlasts its engine work');
    assert.ok(p.minorFaults > 1000, `a node process takes thousands of faults: ${p.minorFaults}`);
    assert.ok(p.maxRssKiB > 20 * 1024, `peak RSS ${p.maxRssKiB} KiB`);
    // A failing command's error is its own, without the usage line.
    await assert.rejects(processRun(['run', '--pages', '0']), (e: Error) => /gartbench run --pages 0 exited 2: gartbench: --pages/.test(e.message) && !e.message.includes(USAGE_MARK));
  });

  it('the preload reports only where it was given as --import: not in a process that imports it, nor one that names it otherwise', () => {
    const usage = new URL('../bench/childUsage.js', import.meta.url).href;
    const stderrOf = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8' }).stderr;
    assert.match(stderrOf(['--import', usage, '-e', '0']), new RegExp(`^\\n${USAGE_MARK}\\{"minorFaults":\\d+,"maxRssKiB":\\d+\\}\\n$`));
    assert.equal(stderrOf(['--input-type=module', '-e', `await import(${JSON.stringify(usage)}); // childUsage`]), '');
    assert.equal(stderrOf(['--import', usage, '-e', 'process.exit(3)']), '', 'a failing process reports nothing');
  });
});

describe('bench: cost per page by size (tiny)', async () => {
  const s = await measureCostPerPage({ sizes: [2 ** 10, 2 ** 11, 2 ** 12], small: 2 ** 10, large: 2 ** 12, machine: { ram: '1G' }, seed: 1, rounds: 5, warmup: 0,
    modern: { sizes: [2 ** 10, 2 ** 11], small: 2 ** 10, large: 2 ** 11 } }, quiet);

  it('a row per size with its spread and command, a chart with both measures, a scale ratio that never fails', () => {
    const rows = s.tables[0]!.rows;
    assert.deepEqual(rows.map((r) => r[0]), ['2^10', '2^11', '2^12']);
    for (const r of rows) {
      for (const i of [2, 3, 4]) assert.match(String(r[i]), /^-?[\d.]+ \(-?[\d.]+–-?[\d.]+\)$/);
      assert.equal(r[5], 5);
      assert.match(String(r[7]), /^gartbench run --platform swiotlb-force --device r600 --strategy sync --workload upload --pages \d+ --ram 1G --seed 1$/);
    }
    assert.equal(s.charts[0]!.bars.length, 6);
    assert.deepEqual(Object.values(s.ratios).map((r) => [r.kind, r.samples.length]), [['scale', 5], ['scale', 5]]);
    // The modern sweep: its own table, a row per size with its command.
    assert.deepEqual(s.tables[1]!.rows.map((r) => r[0]), ['2^10', '2^11']);
    for (const r of s.tables[1]!.rows) assert.match(String(r[6]), /^gartbench run --kernel modern --platform bare-metal --device r600 --strategy sync --workload churn --pages \d+ --seed 1$/);
    assertTimedMetrics(s);
  });

  it('the target names the span actually measured when it is not the issue\'s', () => {
    assert.equal(s.targets.length, 2);
    assert.match(s.targets[0]!.what, /2\^22 pages within 1\.3× of 2\^18 .*measured 2\^12 ÷ 2\^10 instead/);
    assert.match(s.targets[1]!.what, /^modern churn .*not the issue's\): cost per page at 2\^11 within 1\.3× of 2\^10/);
    assert.match(s.targets[0]!.measured, /^2\^12 ÷ 2\^10: [\d.]+ \([\d.]+–[\d.]+\)×, 5 rounds \(without the machine's build: /);
    assert.equal(s.targets[0]!.met, null, 'a span of 2^12 ÷ 2^10 says nothing of 2^22 ÷ 2^18');
    assert.equal(typeof s.targets[1]!.met, 'boolean', 'the modern guard is stated at the size it measured');
  });
});

describe('bench: each command starts without the garbage of the ones before it', () => {
  it('collectGarbage collects a dead Wasm memory, and leaves no gc() behind in this context', async () => {
    // Made and dropped in a frame of its own; a WeakRef keeps its target alive until this job ends.
    const ref = (() => new WeakRef(new WebAssembly.Memory({ initial: 16 })))();
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    assert.equal(ref.deref(), undefined);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  });
});

describe('bench: worker scaling by wall time (tiny)', async () => {
  const ceiling = { rounds: 5, sizes: { alu: 1e5, bandwidth: 2 ** 26, 'first-touch': 2 ** 20 } };
  const s = await measureScaling({ sizes: [{ pages: 2 ** 10, machine: tinyMachine }], replicas: 4, seed: 1, rounds: 5, warmup: 0, ceiling }, quiet);

  it('a matrix and 4 replicas on 1 and 2 workers, wall and reported engine time, parallel ratios', () => {
    const rows = s.tables[0]!.rows;
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((r) => [r[1], r[3]]), [[1, 20], [2, 20], [1, 1], [2, 1]]);
    for (const r of rows) {
      assert.ok(Number(r[2]) >= 1 && Number(r[2]) <= Number(r[1]), 'workers used: at most those asked for');
      assert.match(String(r[4]), SPREAD);
      assert.match(String(r[5]), SPREAD);
      assert.match(String(r[8]), new RegExp(`^gartbench (matrix|run) .*--workers ${r[1]}$`));
    }
    assert.match(String(rows[3]![8]), /--replicas 4/);
    assert.equal(s.targets.length, 2);
    for (const t of s.targets) {
      // Met only when both medians reach 1.7×: in this process and as whole processes.
      const m = /^in this process ([\d.]+) \([\d.]+–[\d.]+\)×, as whole processes ([\d.]+) \([\d.]+–[\d.]+\)×, 5 rounds each /.exec(t.measured);
      assert.ok(m, t.measured);
      assert.equal(t.met, Number(m[1]) >= 1.7 && Number(m[2]) >= 1.7);
    }
    for (const r of Object.values(s.ratios)) assert.equal(r.kind, 'parallel');
    assertTimedMetrics(s);
  });

  it('the same commands as whole processes, with their speed-up', () => {
    const rows = s.tables[1]!.rows;
    assert.deepEqual(rows.map((r) => r[1]), [1, 2, 1, 2]);
    for (const r of rows) {
      assert.match(String(r[2]), SPREAD);
      assert.equal(r[3], 5);
      assert.match(String(r[5]), new RegExp(`^gartbench (matrix|run) .*--workers ${r[1]}$`));
    }
    assert.deepEqual(rows.map((r) => String(r[4]).endsWith('×')), [false, true, false, true]);
    assert.equal(s.metrics.filter((m) => / as whole processes, 2 workers ÷ 1 by wall time$/.test(m.name)).length, 2);
  });

  it("beside it, this machine's own two-thread ceiling for arithmetic, bandwidth and first touch", () => {
    const t = s.tables[2]!;
    assert.deepEqual(t.rows.map((r) => String(r[0]).split(' ')[0]), ['arithmetic', 'memory', 'first']);
    for (const r of t.rows) {
      assert.match(String(r[2]), SPREAD);
      assert.match(String(r[3]), SPREAD);
      assert.equal(r[4], 5);
      const up = Number(String(r[5]).split(' ')[0]);
      assert.ok(up > 0 && up < 4, `a two-thread speed-up: ${r[5]}`);
    }
    for (const tg of s.targets) assert.match(tg.measured, /two-thread ceiling, measured in the same run after both tables: arithmetic [\d.]+ \([\d.]+–[\d.]+\)×, memory bandwidth [\d.]+ \([\d.]+–[\d.]+\)×, first touch [\d.]+ \([\d.]+–[\d.]+\)×/);
    assert.equal(s.metrics.filter((m) => m.name.startsWith('machine ceiling: ')).length, 3);
  });
});

describe('bench: CPU profiles', () => {
  it('self time is summed by function name; a sample lasts until the next; idle is left out', () => {
    const wasm = ['~lib/builtins/abort', 'assembly/dma/swiotlb/bus_to_slot', 'assembly/sim/stamps/write_page'];
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' } },
        { id: 2, callFrame: { functionName: 'wasm-function[1]', url: 'wasm://wasm/0001' } },
        { id: 3, callFrame: { functionName: 'wasm-function[1]', url: 'wasm://wasm/0001' } }, // another call site, same function
        { id: 4, callFrame: { functionName: 'generateWorkload', url: 'file:///x/dist/src/source/workloads.js' } },
        { id: 5, callFrame: { functionName: '(idle)', url: '' } },
        { id: 6, callFrame: { functionName: '(garbage collector)', url: '' } },
        { id: 7, callFrame: { functionName: 'readFileSync', url: 'node:fs' } },
      ],
      samples: [2, 3, 4, 5, 6, 7, 2],
      timeDeltas: [0, 100, 300, 50, 1000, 20, 30],
    };
    const s = summarizeProfile(p, wasm);
    // Sample i lasts timeDeltas[i + 1]: bus_to_slot 100 + 300, workloads 50, idle (1000) dropped, GC 20, fs 30, the last sample 0.
    assert.deepEqual(s.functions.map((f) => [f.name, f.where, f.us]), [
      ['dma/swiotlb/bus_to_slot', 'Wasm engine', 400],
      ['generateWorkload (src/source/workloads.js)', 'gartbench (JS)', 50],
      ['readFileSync (node)', 'node', 30],
      ['(garbage collector)', 'garbage collector', 20],
    ]);
    assert.equal(s.totalUs, 500);
    assert.equal(frameName({ functionName: 'wasm-function[9]', url: 'wasm://wasm/1' }, wasm)!.name, 'wasm-function[9]', 'unknown index: kept as V8 names it');
  });

  it('function names come from the .wat in function-space order, imports first; the count is the module\'s', () => {
    const wat = '(module\n (import "env" "abort" (func $~lib/builtins/abort (param i32)))\n (func $a/b (param $0 i32)\n )\n (func $c/d\n )\n)';
    assert.deepEqual(watFunctionNames(wat), ['~lib/builtins/abort', 'a/b', 'c/d']);
    // (module (import "env" "f" (func)) (func) (func)): type, import, function sections, two empty bodies.
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 9, 1, 3, 101, 110, 118, 1, 102, 0, 0, 3, 3, 2, 0, 0, 10, 7, 2, 2, 0, 11, 2, 0, 11]);
    assert.equal(wasmFunctionCount(bytes), 3);
    const names = engineFunctionNames();
    assert.ok(names.length > 10, 'build/engine.wat describes build/engine.wasm');
    for (const n of names) assert.match(n, /^(assembly\/|~)/);
  });

  it('a whole run profiled in a child process: parts and top functions with their spread, Wasm functions named', async () => {
    const s = await measureProfile({ commands: [{ argv: ['run', '--pages', '2048', '--seed', '1'], label: 'small', why: 'a test' }], repeats: 2, intervalUs: 100, top: 40 }, quiet);
    const [parts, top] = s.tables;
    assert.match(parts!.caption!, /^`gartbench run --pages 2048 --seed 1` — a test\. 2 profiles/);
    assert.deepEqual(parts!.rows.map((r) => r[0]), ['Wasm engine', 'gartbench (JS)', 'node', 'garbage collector', 'V8 (program)']);
    const total = parts!.rows.reduce((a, r) => a + Number(String(r[1]).split(' ')[0]), 0);
    assert.ok(total > 90 && total < 110, `medians of the parts add up to about 100%: ${total}`);
    const engine = top!.rows.filter((r) => r[2] === 'Wasm engine');
    assert.ok(engine.length > 0, 'the engine shows in the profile');
    for (const r of engine) assert.doesNotMatch(String(r[1]), /wasm-function/, 'named from build/engine.wat');
    for (const r of top!.rows) assert.match(String(r[3]), SPREAD);
  });
});

describe('bench report text', () => {
  it('each section says the command that made it; targets read met / not met', () => {
    const report = {
      schema: 'gartbench.bench/1', wallSeconds: 3, costs: [],
      environment: { node: 'v20', cpu: 'x', cores: 2, memoryGiB: 1, platform: 'linux-x64', commit: 'c', seed: 1, quick: true, date: 'd', loadAverage: { start: 1.5, end: 2.25 } },
      sections: [{
        id: 's', title: 'T', question: 'q', tables: [], charts: [], notes: [], metrics: [], ratios: {}, command: 'gartbench bench --quick --only s', seconds: 1.5,
        targets: [{ what: 'a', measured: '2.0 (1.0–3.0)×, 5 rounds', met: true }, { what: 'b', measured: '1.0 (0.5–2.0)×, 5 rounds', met: false }],
      }],
    } as BenchReport;
    const md = renderMarkdown(report);
    assert.match(md, /load 1\.5 → 2\.25/);
    assert.match(md, /Made in 1\.5 s of this run; alone: `gartbench bench --quick --only s`\./);
    assert.match(md, /\| a \| 2\.0 \(1\.0–3\.0\)×, 5 rounds \| met \|/);
    assert.match(md, /\| b \| 1\.0 \(0\.5–2\.0\)×, 5 rounds \| \*\*not met\*\* \|/);
  });
});

describe('bench: start-up, whole processes (tiny)', async () => {
  const s = await measureStartup(1, 0, quiet);

  it('node -e 0 as the baseline, each command timed from spawn to exit with its spread and its ratio', () => {
    const rows = s.tables[0]!.rows;
    assert.deepEqual(rows.map((r) => r[0]), ['node -e 0', 'gartbench run --pages 64', 'gartbench run --pages 64 --json', 'gartbench run --help']);
    for (const r of rows) assert.match(String(r[1]), SPREAD);
    assert.equal(rows[0]![3], 'baseline');
    for (const r of rows.slice(1)) assert.match(String(r[3]), /×$/);
    assert.equal(s.targets.length, 1);
    assert.match(s.targets[0]!.what, /run --pages 64 ≤ 3× node -e 0/);
    assert.equal(s.targets[0]!.met, Number(s.targets[0]!.measured.split(' ')[0]) <= 3);
    for (const r of Object.values(s.ratios)) assert.equal(r.kind, 'micro');
  });
});

describe('bench: whole processes start from a small launcher', () => {
  it('gives back a child\'s output and time, and its failure with the command and its error', async () => {
    const ok = await runProcess(['-e', 'process.stdout.write("hi")'], 'echo', true);
    assert.equal(ok.stdout, 'hi');
    assert.ok(ok.ms > 0);
    await assert.rejects(runProcess(['-e', 'process.stderr.write("boom"); process.exit(3)'], 'failing command'), /^Error: failing command exited 3: boom$/);
    // Requests after a failure still run, one at a time.
    const [a, b] = await Promise.all([runProcess(['-e', 'process.stdout.write("a")'], 'a', true), runProcess(['-e', 'process.stdout.write("b")'], 'b', true)]);
    assert.deepEqual([a.stdout, b.stdout], ['a', 'b']);
  });

  it("a run's peak RSS is its own, not the size of the large process that started it", () => {
    // This process holds 400 MiB, touched, and forks the run itself (not through the launcher); the
    // run's own peak is far less. getrusage's maxrss counts the forked copy of the parent (Linux),
    // VmHWM does not.
    const big = Buffer.alloc(400 * 2 ** 20, 1);
    const r = JSON.parse(spawnSync(process.execPath, [BIN, 'run', '--pages', '64', '--json'], { encoding: 'utf8' }).stdout);
    assert.ok(big[big.length - 1] === 1);
    assert.ok(r.engine.peakRssBytes > 20 * 2 ** 20 && r.engine.peakRssBytes < 300 * 2 ** 20, `peakRssBytes ${r.engine.peakRssBytes}`);
  });
});

describe('bench: the two kernels side by side (tiny)', async () => {
  const s = await measureEras({ pages: 256, boPages: 64, ram: 2 ** 30, hostRam: 8 * 2 ** 30, xenLowFree: 512 * 2 ** 20 }, 1, quiet);

  it('a row per device × platform × strategy of 6.12 (auto included), 2.6.37 beside it where it has the cell', () => {
    const rows = s.tables[0]!.rows;
    assert.equal(rows.length, 2 * 5 * 5);
    const row = (d: string, p: string, st: string) => rows.find((r) => r[0] === d && r[1] === p && String(r[2]).startsWith(st))!;
    // drm_need_swiotlb: Xen PV and memory encryption → the coherent pool; 1 GiB of RAM is inside both masks → legacy.
    // 2.6.37's radeon always maps alloc_page's pages: auto is legacy there.
    assert.equal(row('r100', 'xen-pv', 'auto')[2], 'auto → legacy (2010), coherent (modern)');
    assert.equal(row('r100', 'coco', 'auto')[2], 'auto → coherent');
    assert.equal(row('r600', 'bare-metal', 'auto')[2], 'auto → legacy (2010), legacy (modern)');
    // 2.6.37 has no coco; its auto cell is its legacy cell under another name.
    assert.equal(row('r100', 'coco', 'legacy')[3], '— (not in 2.6.37)');
    assert.equal(row('r100', 'xen-pv', 'auto')[3], row('r100', 'xen-pv', 'legacy')[3]);
    assert.equal(row('r100', 'xen-pv', 'auto')[4], row('r100', 'xen-pv', 'legacy')[4]);
    // The seed's bug on both kernels: legacy under Xen is corrupt.
    assert.match(String(row('r100', 'xen-pv', 'legacy')[3]), /corrupt/);
    assert.match(String(row('r100', 'xen-pv', 'legacy')[5]), /corrupt/);
    for (const m of s.metrics) assert.equal(m.timed, false);
  });
});
