// `gartbench merge` of bench parts (`bench --shard K/N`, each DIR/report.json): the sections put
// back in report order into one report, each section keeping the machine that made it (timings
// from different machines are never combined: every ratio stays within its own section, measured
// side by side on one machine). A bad part is one line and exit 2, and nothing is written.
import { dirname, resolve } from 'node:path';
import { UsageError, escapeText, shown } from '../src/errors.js';
import type { Io } from '../src/cli/command.js';
import type { Values } from '../src/cli/options.js';
import { checkShardSet, shardIndices } from '../src/run/shard.js';
import { checkReportDir, renderMarkdown, writeReport } from './report.js';
import { toJson } from '../src/cli/output.js';
import { BENCH_SCHEMA } from '../src/report/shard.js';
import type { BenchReport, BenchShardRecord, Section } from './types.js';


export interface BenchPart {
  name: string;
  doc: unknown;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown, min: number): x is number => Number.isInteger(x) && (x as number) >= min;
const show = (v: unknown) => escapeText(typeof v === 'string' ? v : JSON.stringify(v) ?? 'none');

type Part = BenchReport & { shard: BenchShardRecord };

/** The arrays every section carries (bench/types.ts Section); a part edited by hand may lack one. */
const SECTION_ARRAYS = ['tables', 'metrics', 'charts', 'targets', 'notes'] as const;

function checkPart(p: BenchPart): Part {
  const bad = (why: string) => new UsageError(`${shown(p.name)}: ${why}`);
  const d = p.doc;
  if (!isObject(d) || d.schema !== BENCH_SCHEMA) throw bad(`not a ${BENCH_SCHEMA} report; give the report.json files that bench --shard K/N wrote`);
  const s = d.shard;
  if (s === undefined) throw bad('a whole bench report, not a shard\'s part (it has no "shard" record); give the report.json files that bench --shard K/N wrote');
  if (!isObject(s) || !isCount(s.count, 1) || !isCount(s.index, 1) || s.index > s.count || !Array.isArray(s.sections) || !Array.isArray(s.all)
    || !isObject(s.of) || !Array.isArray(d.sections) || !isObject(d.environment) || !Array.isArray(d.costs)) {
    throw bad('its "shard" record or sections are malformed (was the file edited?)');
  }
  const broken = (d.sections as unknown[]).find((x) => !isObject(x) || typeof x.id !== 'string' || SECTION_ARRAYS.some((k) => !Array.isArray(x[k])));
  if (broken !== undefined) throw bad(`a section is malformed (${isObject(broken) && typeof broken.id === 'string' ? `${show(broken.id)} lacks one of ${SECTION_ARRAYS.join(', ')}` : 'no id'}; was the file edited?)`);
  const allIds = s.all as unknown[];
  const want = shardIndices(allIds.length, { index: s.index, count: s.count }).map((i) => allIds[i]);
  const have = (d.sections as unknown[]).map((x) => (isObject(x) ? x.id : undefined));
  if (JSON.stringify(s.sections) !== JSON.stringify(want) || JSON.stringify(have) !== JSON.stringify(want)) {
    throw bad(`holds sections that are not shard ${s.index}/${s.count}'s (was the file edited?)`);
  }
  return d as unknown as Part;
}

/** How part `p` differs from part `f` in what every part of one bench run shares, if it does: the
 * options, the version and the engine build (a section's figures are its build's). */
function otherRun(f: Part, p: Part): string | undefined {
  const [s, fs] = [p.shard, f.shard];
  for (const [k, what] of [['quick', '--quick'], ['seed', '--seed'], ['version', 'gartbench version']] as const) {
    if (s.of[k] !== fs.of[k]) return `${what} ${show(s.of[k])}, not ${show(fs.of[k])}`;
  }
  const build = (d: Part) => d.environment.engineSha256;
  if (build(p) !== build(f)) return `another engine build (engine ${show(build(p)?.slice(0, 12) ?? 'not recorded')}, not ${show(build(f)?.slice(0, 12) ?? 'not recorded')})`;
  if (JSON.stringify(s.all) !== JSON.stringify(fs.all)) return `its sections are ${show(s.all.join(','))}, not ${show(fs.all.join(','))} (another --only)`;
  return undefined;
}

/** Joins the parts of one sharded bench into one report (sections in report order). */
export function mergeBenchParts(parts: BenchPart[]): BenchReport {
  const docs = parts.map((p) => ({ name: shown(p.name), doc: checkPart(p) }));
  const first = docs[0]!;
  const { all } = first.doc.shard;
  const byIndex = checkShardSet(docs.map((d) => ({ name: d.name, index: d.doc.shard.index, count: d.doc.shard.count, doc: d.doc })), all.length, `the ${all.length}-section bench`,
    (p, f) => otherRun(f.doc, p.doc));
  const byId = new Map<string, Section>();
  for (const { doc } of docs) for (const sec of doc.sections) byId.set(sec.id, sec);
  const head = byIndex.get(1)!.doc;
  return {
    schema: BENCH_SCHEMA,
    environment: head.environment,
    wallSeconds: Math.max(...docs.map((d) => d.doc.wallSeconds)), // the parts ran side by side
    sections: all.map((id) => byId.get(id)!),
    costs: head.costs,
    shards: docs.length,
  };
}

/** merge's bench half: --out DIR gets report.md, report.html, report.json and benchmark.json. */
export async function mergeBench(parts: BenchPart[], v: Values, io: Io): Promise<void> {
  const out = v.out;
  if (typeof out !== 'string') throw new UsageError('--out: merging bench parts writes report files: give --out DIR (a directory)');
  for (const p of parts) {
    if (resolve(dirname(p.name)) === resolve(out)) throw new UsageError(`--out: ${shown(out)} holds the part ${shown(p.name)}, which the merged report.json would replace; give another directory`);
  }
  checkReportDir(out, parts.map((p) => ({ path: p.name, is: 'one of the parts being merged' })));
  const report = mergeBenchParts(parts);
  const files = await writeReport(out, report);
  io.out(v.json ? toJson(report) : renderMarkdown(report));
  io.err(`wrote ${files.join(', ')}\n`);
}
