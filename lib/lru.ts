/**
 * A `Map` bounded in size: setting a key makes it the most recent, and past
 * `max` entries the least recently set is forgotten. For the caches and
 * bookkeeping that must not grow with what peers do (room heads, rate-limit
 * buckets, rooms due for retention).
 *
 * @module
 */

/**
 * A `Map` of at most `max` entries that forgets the least recently set one
 * first (`get` does not count as use: set the key again for that).
 *
 * @example
 * ```ts
 * const heads = new LruMap<string, number>(2);
 * heads.set("a", 1).set("b", 2).set("a", 3).set("c", 4);
 * [...heads.keys()]; // ["a", "c"]: "b" was the least recently set
 * ```
 */
export class LruMap<K, V> extends Map<K, V> {
  readonly #max: number;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  /** Entries kept at most. */
  get max(): number {
    return this.#max;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    // Oldest first: a Map keeps insertion order.
    if (this.size > this.#max) super.delete(this.keys().next().value!);
    return this;
  }
}
