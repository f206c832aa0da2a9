// gartbench.matrix/1 documents, whole or in shards, and `merge`: the parts of one sharded matrix
// joined into exactly the document one unsharded run writes — its cells in order, every counter
// as it was. Each part says which cells it holds and what run it belongs to (`shard`), so parts
// that overlap, are missing, or come from another run (other options, another engine build) are
// refused with one line that names the problem.
import type { PlatformName } from '../engine/abi.js';
import { UsageError, escapeText, shown } from '../errors.js';
import type { MachineSizes } from '../run/machine.js';
import { matrixOrder } from '../run/matrix.js';
import type { Plan } from '../run/plan.js';
import { type Shard, checkShardSet, shardIndices } from '../run/shard.js';
import type { Costs } from './costs.js';
import { toolRecord } from './provenance.js';
import { type EngineRecord, type EngineRun, type Result, engineRecord, pageOps } from './result.js';

export const MATRIX_SCHEMA = 'gartbench.matrix/1';
/** The bench's report.json (bench/types.ts BenchReport), whole or a part of `bench --shard K/N`. */
export const BENCH_SCHEMA = 'gartbench.bench/1';

/** What one matrix run is, whatever its shard: every part of the run carries the same. */
export interface RunIdentity {
  /** The scenario every cell shares (all but platform, strategy and gatt). */
  scenario: Record<string, unknown>;
  sizes: MachineSizes;
  /** 'default', or the --costs file's SHA-256 (its path may differ from machine to machine). */
  costs: string;
  version: string;
  engineSha256: string;
}

/** A part's `shard` record: shard `index` of `count`, holding cells `cells` of `total`. */
export interface ShardRecord {
  index: number;
  count: number;
  cells: number[];
  total: number;
  of: RunIdentity;
}

/** How a merged matrix ran: its parts ran apart, so wallMs is the slowest part's (the wall had
 * they run side by side), and workers, cellMs the sums over the parts. */
export type MergedEngine = EngineRecord & { shards: number };

export interface MatrixDoc {
  schema: typeof MATRIX_SCHEMA;
  shard?: ShardRecord;
  /** How the whole run went (over every cell): an addition to the INTERFACE shape. */
  engine: EngineRecord | MergedEngine;
  cells: Result[];
}

const SHARED = ['platform', 'strategy', 'gatt', 'strategyAsked'];

function commonScenario(s: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !SHARED.includes(k)));
}

/** The identity of a matrix run from its plans (all of them, not a shard's). */
export function runIdentity(plans: Plan[], costs: Costs): RunIdentity {
  const p = plans[0]!;
  const tool = toolRecord(p.scenario.engine);
  return {
    scenario: commonScenario(p.scenario), sizes: p.sizes,
    costs: costs.source === 'default' ? 'default' : costs.source.sha256, version: tool.version, engineSha256: tool.engineSha256,
  };
}

/** The matrix document: whole, or (with `shard`) one part of a sharded run. */
export function matrixDoc(cells: Result[], run: EngineRun, kind: string, shard?: ShardRecord): MatrixDoc {
  const engine = engineRecord(kind, run, cells.reduce((t, r) => t + pageOps(r.counters as Parameters<typeof pageOps>[0]), 0));
  return shard ? { schema: MATRIX_SCHEMA, shard, engine, cells } : { schema: MATRIX_SCHEMA, engine, cells };
}

export function shardRecord(s: Shard, total: number, of: RunIdentity): ShardRecord {
  return { index: s.index, count: s.count, cells: shardIndices(total, s), total, of };
}

/** How a mismatch is named to the user: the option that sets the field. */
const FIELD_NAMES: Record<string, string> = {
  device: '--device', workload: '--workload', pages: '--pages', boPages: '--bo-pages', rounds: '--rounds', seed: '--seed',
  kernel: '--kernel', replicas: '--replicas', payloadBytes: '--payload-bytes', engine: '--engine', ram: '--ram',
  hostRam: '--host-ram', xenLowFree: '--xen-low-free', swiotlb: '--swiotlb', costs: '--costs', version: 'gartbench version',
  engineSha256: 'engine build (sha256)',
};

const show = (v: unknown) => escapeText(typeof v === 'string' ? v : JSON.stringify(v) ?? 'none');

/** The first field in which two identities differ, in words; undefined when they are the same. */
function difference(a: RunIdentity, b: RunIdentity): string | undefined {
  const flat = (x: RunIdentity): Record<string, unknown> => ({ ...x.scenario, ...x.sizes, costs: x.costs, version: x.version, engineSha256: x.engineSha256 });
  const [fa, fb] = [flat(a), flat(b)];
  for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
    if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k])) return `${FIELD_NAMES[k] ?? k} ${show(fb[k])}, not ${show(fa[k])}`;
  }
  return undefined;
}

export interface Part {
  name: string;
  doc: unknown;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown, min: number): x is number => Number.isInteger(x) && (x as number) >= min;

/** Checks one part and returns it typed; every problem is one line naming the file. */
function checkPart(p: Part): MatrixDoc & { shard: ShardRecord } {
  const bad = (why: string) => new UsageError(`${shown(p.name)}: ${why}`);
  const d = p.doc;
  if (!isObject(d) || d.schema !== MATRIX_SCHEMA) {
    throw bad(`not a ${MATRIX_SCHEMA} document${isObject(d) && typeof d.schema === 'string' ? ` (its schema is ${show(d.schema)})` : ''}; give the parts that matrix --shard K/N --out FILE wrote`);
  }
  const s = d.shard;
  if (s === undefined) throw bad('a whole matrix, not a shard\'s part (it has no "shard" record); give the parts that matrix --shard K/N --out FILE wrote');
  if (!isObject(s) || !isCount(s.count, 1) || !isCount(s.index, 1) || s.index > s.count || !isCount(s.total, 0) || !Array.isArray(s.cells) || !isObject(s.of)
    || !isObject(s.of.scenario) || !isObject(s.of.sizes) || !Array.isArray(d.cells) || !isObject(d.engine)) {
    throw bad('its "shard" record or cells are malformed (was the file edited?)');
  }
  const cells = d.cells as unknown[];
  const expected = shardIndices(s.total, { index: s.index, count: s.count });
  if (JSON.stringify(s.cells) !== JSON.stringify(expected) || cells.length !== expected.length) {
    throw bad(`holds cells that are not shard ${s.index}/${s.count}'s (was the file edited?)`);
  }
  const of = s.of as unknown as RunIdentity;
  const order = matrixOrder(of.scenario.device as Parameters<typeof matrixOrder>[0], of.scenario.kernel as Parameters<typeof matrixOrder>[1]);
  if (order.length !== s.total) throw bad(`says the matrix has ${s.total} cells; a ${show(of.scenario.device)} matrix has ${order.length}`);
  cells.forEach((c, j) => {
    const i = expected[j]!;
    const want = order[i]!;
    const sc = isObject(c) && isObject(c.scenario) ? c.scenario : undefined;
    const tool = isObject(c) && isObject(c.tool) ? c.tool : undefined;
    if (!sc || !isObject((c as Record<string, unknown>).counters) || sc.platform !== want.platform || (sc.strategyAsked ?? sc.strategy) !== want.strategy || sc.gatt !== want.gatt
      || JSON.stringify(commonScenario(sc)) !== JSON.stringify(of.scenario) || tool?.engineSha256 !== of.engineSha256) {
      throw bad(`cell ${i + 1} is not the matrix's ${cellName(want.platform, want.strategy ?? want.gatt)} of this run (was the file edited?)`);
    }
  });
  return d as unknown as MatrixDoc & { shard: ShardRecord };
}

function cellName(platform: PlatformName, variant: string | null): string {
  return `${platform} ${variant}`;
}

/** Joins the parts of one sharded matrix into the unsharded document (cells in order). */
export function mergeParts(parts: Part[]): MatrixDoc {
  const docs = parts.map((p) => ({ name: shown(p.name), doc: checkPart(p) }));
  const first = docs[0]!;
  const { total } = first.doc.shard;
  checkShardSet(docs.map((d) => ({ name: d.name, index: d.doc.shard.index, count: d.doc.shard.count, of: d.doc.shard.of })), total, `the ${total}-cell matrix`,
    (p, f) => difference(f.of, p.of));
  const cells = new Array<Result>(total);
  for (const { doc } of docs) doc.shard.cells.forEach((i, j) => { cells[i] = doc.cells[j]!; });
  return { schema: MATRIX_SCHEMA, engine: mergedEngine(docs.map((d) => d.doc.engine), cells), cells };
}

function mergedEngine(parts: EngineRecord[], cells: Result[]): MergedEngine {
  const sum = (f: (e: EngineRecord) => number) => parts.reduce((t, e) => t + (Number(f(e)) || 0), 0);
  const max = (f: (e: EngineRecord) => number) => parts.reduce((m, e) => Math.max(m, Number(f(e)) || 0), 0);
  const wallMs = max((e) => e.wallMs);
  const ops = cells.reduce((t, r) => t + pageOps(r.counters as Parameters<typeof pageOps>[0]), 0);
  const capped = parts.find((e) => e.workersCappedBy)?.workersCappedBy ?? null;
  return {
    kind: parts[0]!.kind, wallMs, pageOpsPerSec: wallMs > 0 ? Math.round(ops / (wallMs / 1000)) : 0, workers: sum((e) => e.workers),
    workersAsked: sum((e) => e.workersAsked), workersCappedBy: capped,
    workersRan: parts.every((e) => typeof e.workersRan === 'number') ? sum((e) => e.workersRan!) : null, cellMs: Math.round(sum((e) => e.cellMs) * 10) / 10,
    machineBytes: max((e) => e.machineBytes), reusedMemories: parts.every((e) => typeof e.reusedMemories === 'number') ? sum((e) => e.reusedMemories!) : null, peakRssBytes: max((e) => e.peakRssBytes),
    shards: parts.length,
  };
}
