// `gartbench merge PART.json...`: the parts of a sharded matrix (matrix --shard K/N --out PART)
// joined into the document one unsharded run writes. Nothing is simulated: a bad part (missing,
// overlapping, from another run, not a part) is one line and exit 2, and --out is left as it was.
import { readFileSync, statSync } from 'node:fs';
import { UsageError, fsReason, jsonWhere, msg, shown } from '../errors.js';
import type { Command } from './command.js';
import { checkOutPath, emit } from './output.js';
import { OUTPUT_OPTIONS } from './options.js';

export const merge: Command = {
  usage: 'gartbench merge PART.json... [--json] [--out FILE|DIR]',
  about: 'Joins the parts that `gartbench matrix --shard K/N --out PART.json` wrote (one per shard, in any order)\ninto the matrix one unsharded run gives: its cells in order, every counter as it was. Refuses (exit 2,\none line) parts that overlap, a missing shard, parts of another run (other options, another engine\nbuild) and files that are not parts. Given the report.json files of `gartbench bench --shard K/N --out DIR`,\nit joins the bench\'s sections in report order into --out DIR (report.md, report.html, report.json,\nbenchmark.json), each section naming the machine that made it.',
  specs: [OUTPUT_OPTIONS[0]!, { ...OUTPUT_OPTIONS[1]!, arg: 'FILE|DIR', help: 'also write the merged matrix to FILE (atomically); for bench parts, the directory the merged report files go to (required)' }],
  positionals: Infinity,
  async run(v, args, io) {
    if (args.length === 0) throw new UsageError(msg.missing('PART.json (the files matrix --shard K/N --out wrote; see gartbench merge --help)'));
    const parts = args.map((name) => ({ name, doc: readPart(name) }));
    const [{ formatMatrix }, { BENCH_SCHEMA, mergeParts }] = await Promise.all([import('../report/matrixFormat.js'), import('../report/shard.js')]);
    const isBenchReport = (doc: unknown) => typeof doc === 'object' && doc !== null && (doc as { schema?: unknown }).schema === BENCH_SCHEMA;
    const bench = parts.filter((p) => isBenchReport(p.doc));
    if (bench.length > 0) {
      if (bench.length !== parts.length) throw new UsageError(`${shown(parts.find((p) => !isBenchReport(p.doc))!.name)} is not a bench report, but ${shown(bench[0]!.name)} is: merge bench parts or matrix parts, not both`);
      if (!io.benchMerge) throw new UsageError('bench parts are merged by the installed command (bin/gartbench.mjs), which brings the bench');
      return (await io.benchMerge())(parts, v, io);
    }
    checkOutPath(v.out, args.map((path) => ({ path, is: 'one of the parts being merged' })));
    const doc = mergeParts(parts);
    emit(v, io, doc, () => formatMatrix(doc.cells, { engine: doc.engine }));
  },
};

function readPart(name: string): unknown {
  let text: string;
  try {
    if (statSync(name).isDirectory()) throw new UsageError(`${shown(name)}: is a directory; give the part files`);
    text = readFileSync(name, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${shown(name)}: ${msg.cannotRead(fsReason(e))}`);
  }
  const json = text.replace(/^\uFEFF/, ''); // a byte-order mark, as an editor may write
  try {
    return JSON.parse(json);
  } catch (e) {
    throw new UsageError(`${shown(name)}: not JSON (${jsonWhere(json, e as Error)})`);
  }
}
