/**
 * Whether a message mentions someone, for notifications. Pure: safe to import
 * from islands.
 *
 * @module
 */

/**
 * Whether `text` mentions `name` (as `@name` or the whole name on its own),
 * ignoring case; a name inside a longer word does not count.
 *
 * @example
 * ```ts
 * mentions("thanks @ana!", "Ana"); // true
 * mentions("banana", "Ana");       // false
 * ```
 */
export function mentions(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}\\p{N}])@?${escaped}($|[^\\p{L}\\p{N}])`, "iu")
    .test(text);
}
