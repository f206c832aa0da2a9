// A Map whose oldest entry leaves in O(1), for the trace translator's bounded sets of idle and
// unmapped buffers (source/trace.ts). A Map keeps insertion order, but a fresh iterator walks past
// every entry deleted at its front (V8 leaves holes there until it rehashes), so taking the oldest
// of 4096 entries with `map.keys().next()` cost thousands of steps (~8% of a trace replay). Here
// the entries also form a doubly linked list in insertion order, whose head is the oldest.

interface Node<K, V> { key: K; value: V; prev: Node<K, V> | null; next: Node<K, V> | null }

export class FifoMap<K, V> {
  private readonly map = new Map<K, Node<K, V>>();
  private head: Node<K, V> | null = null;
  private tail: Node<K, V> | null = null;

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** A new key goes last; an existing one keeps its place (as Map.set). */
  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old) {
      old.value = value;
      return;
    }
    const node: Node<K, V> = { key, value, prev: this.tail, next: null };
    if (this.tail) this.tail.next = node; else this.head = node;
    this.tail = node;
    this.map.set(key, node);
  }

  delete(key: K): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.map.delete(key);
    if (node.prev) node.prev.next = node.next; else this.head = node.next;
    if (node.next) node.next.prev = node.prev; else this.tail = node.prev;
    return true;
  }

  /** The entries, newest first. */
  *newestFirst(): Generator<[K, V]> {
    for (let n = this.tail; n; n = n.prev) yield [n.key, n.value];
  }

  /** Removes and returns the oldest entry (insertion order), or undefined when empty. */
  shift(): [K, V] | undefined {
    const node = this.head;
    if (!node) return undefined;
    this.delete(node.key);
    return [node.key, node.value];
  }
}
