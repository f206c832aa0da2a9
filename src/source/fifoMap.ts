// A Map whose oldest entry leaves in O(1), for the trace translator's bounded sets of idle and
// unmapped buffers (source/trace.ts). A Map keeps insertion order, but a fresh iterator walks past
// every entry deleted at its front (V8 leaves holes there until it rehashes), so taking the oldest
// of 4096 entries with `map.keys().next()` cost thousands of steps (~8% of a trace replay). One
// iterator kept for the map's life steps forward instead: a Map iterator sees the entries added
// after it (ECMAScript's live iteration) until it once reports done, which shift() never lets it.

export class FifoMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Every live entry lies ahead of it: entries leave its front only through shift(). */
  private order: IterableIterator<[K, V]> | undefined;

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** A new key goes last; an existing one keeps its place (as Map.set). */
  set(key: K, value: V): void {
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Removes and returns the oldest entry (insertion order), or undefined when empty. */
  shift(): [K, V] | undefined {
    if (this.map.size === 0) return undefined; // a call past the end would end the iterator for good
    this.order ??= this.map.entries();
    const next = this.order.next();
    if (next.done) throw new Error('FifoMap: its iterator ended with entries left');
    this.map.delete(next.value[0]);
    return next.value;
  }
}
