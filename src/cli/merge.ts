// `gartbench merge PART.json...`: the parts of a sharded matrix (matrix --shard K/N --out PART)
// joined into the document one unsharded run writes. Nothing is simulated: a bad part (missing,
// overlapping, from another run, not a part) is one line and exit 2, and --out is left as it was.
import { readFileSync, statSync } from 'node:fs';
import { UsageError, fsReason, msg, oneLine, shown } from '../errors.js';
import type { Command } from './command.js';
import { checkOutPath, emit } from './output.js';
import { OUTPUT_OPTIONS } from './options.js';

export const merge: Command = {
  usage: 'gartbench merge PART.json... [--json] [--out FILE]',
  about: 'Joins the parts that `gartbench matrix --shard K/N --out PART.json` wrote (one per shard, in any order)\ninto the matrix one unsharded run gives: its cells in order, every counter as it was. Refuses (exit 2,\none line) parts that overlap, a missing shard, parts of another run (other options, another engine\nbuild) and files that are not parts.',
  specs: OUTPUT_OPTIONS,
  positionals: Infinity,
  async run(v, args, io) {
    if (args.length === 0) throw new UsageError(msg.missing('PART.json (the files matrix --shard K/N --out wrote; see gartbench merge --help)'));
    checkOutPath(v.out, args.map((path) => ({ path, is: 'one of the parts being merged' })));
    const parts = args.map((name) => ({ name, doc: readPart(name) }));
    const [{ formatMatrix }, { mergeParts }] = await Promise.all([import('../report/matrixFormat.js'), import('../report/shard.js')]);
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
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${shown(name)}: not JSON (${oneLine((e as Error).message)})`);
  }
}
