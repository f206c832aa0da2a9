// Sharding (`--shard K/N`, INTERFACE): one sweep spread over machines by a scheduler the user
// already runs (a CI matrix, a Kubernetes Indexed Job, a Slurm array). Every shard lists the same
// cells in the same order; shard K runs those whose index i (0-based) has i mod N = K − 1, so the
// N slices have equal sizes (they differ by one cell at most) and each holds a spread of the
// sweep rather than one end of it. `gartbench merge` puts the cells back in order by index.
import { UsageError, shown } from '../errors.js';

/** Shard K of N (1 ≤ K ≤ N). */
export interface Shard {
  index: number;
  count: number;
}

export const MAX_SHARDS = 1 << 16;

/** `--shard K/N`, or a usage error naming the option. */
export function parseShard(text: string, option = 'shard'): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const bad = (why: string) => new UsageError(`--${option}: ${shown(text)} ${why}`);
  if (!m) throw bad('is not K/N (this machine\'s shard K of N, e.g. 2/4)');
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (count < 1 || count > MAX_SHARDS) throw bad(`has N outside 1..${MAX_SHARDS}`);
  if (index < 1 || index > count) throw bad(`has K outside 1..${count} (K counts from 1)`);
  return { index, count };
}

/** The indices (0-based, ascending) of the cells shard `s` runs, out of `total`. */
export function shardIndices(total: number, s: Shard): number[] {
  const out: number[] = [];
  for (let i = s.index - 1; i < total; i += s.count) out.push(i);
  return out;
}

/** The items shard `s` runs, in order, with their indices in the whole list. What `matrix` and
 * the bench call on their ordered list of cells (plans). */
export function shardSlice<T>(items: readonly T[], s: Shard): { items: T[]; indices: number[] } {
  const indices = shardIndices(items.length, s);
  return { items: indices.map((i) => items[i]!), indices };
}

/** A part of a sharded run, as `merge` sees it: its file's name and its shard. */
export interface ShardPart {
  name: string;
  index: number;
  count: number;
}

/**
 * Checks that `parts` are the shards of one `--shard N` run of `total` items (what: "the 20-cell
 * matrix"), each once, none missing and all of one run (`otherRun` names how a part differs from the
 * first, if it does); a problem is a usage error of one line naming the files.
 * Returns the parts by shard index.
 */
export function checkShardSet<P extends ShardPart>(parts: P[], total: number, what: string, otherRun: (p: P, first: P) => string | undefined): Map<number, P> {
  const first = parts[0]!;
  const byIndex = new Map<number, P>();
  for (const p of parts) {
    if (p.count !== first.count) throw new UsageError(`${p.name} is shard ${p.index}/${p.count}, but ${first.name} is shard ${first.index}/${first.count}: every part must come from the same --shard N`);
    const other = otherRun(p, first);
    if (other) throw new UsageError(`${p.name} is from another run than ${first.name}: ${other}`);
    const twin = byIndex.get(p.index);
    if (twin) throw new UsageError(`${p.name} and ${twin.name} are both shard ${p.index}/${p.count}: the parts overlap; give each shard once`);
    byIndex.set(p.index, p);
  }
  const missing: number[] = [];
  const needed = Math.min(first.count, total);
  for (let k = 1; k <= needed; k++) if (!byIndex.has(k)) missing.push(k);
  if (missing.length) {
    const list = missing.slice(0, 8).map((k) => `${k}/${first.count}`).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
    throw new UsageError(`missing shard${missing.length === 1 ? '' : 's'} ${list} of ${what}: give all ${needed} parts`);
  }
  return byIndex;
}

/** The shard (1-based K) that runs cell `i`. */
export function shardOfCell(i: number, count: number): number {
  return (i % count) + 1;
}
