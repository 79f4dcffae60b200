/**
 * `@name` completion in the composer: where the `@query` under the caret is,
 * who it may name, and the draft once a name is picked. Pure and
 * browser-safe; the composer renders the list.
 *
 * @module
 */

import { MAX_NAME_CHARS } from "../chat/names.ts";

/** Most names the list offers at once. */
export const MAX_SUGGESTIONS = 6;

/** An `@query` being typed: the `@` at `start`, the caret at `end`. */
export interface MentionQuery {
  start: number;
  end: number;
  /** What follows the `@` up to the caret. */
  query: string;
}

/**
 * The `@query` ending at `caret`, if the caret is in one: an `@` at the start
 * or after a space or punctuation, then at most a name's length on one line.
 *
 * @example
 * ```ts
 * mentionQueryAt("hi @an", 6); // { start: 3, end: 6, query: "an" }
 * mentionQueryAt("a@b.com", 7); // null
 * ```
 */
export function mentionQueryAt(
  text: string,
  caret: number,
): MentionQuery | null {
  const lineStart = text.lastIndexOf("\n", caret - 1) + 1;
  const at = text.lastIndexOf("@", caret - 1);
  if (at < lineStart || caret - at - 1 > MAX_NAME_CHARS) return null;
  if (at > 0 && /[\p{L}\p{N}_@]/u.test(text[at - 1])) return null;
  const query = text.slice(at + 1, caret);
  if (query.startsWith(" ") || query.includes("  ")) return null;
  return { start: at, end: caret, query };
}

/**
 * Who `query` may name among `people` (not `meId`), best first: names that
 * start with it, then names with a word that does; at most
 * {@link MAX_SUGGESTIONS}. One entry per name.
 */
export function suggestions<U extends { id: string; name: string }>(
  query: string,
  people: readonly U[],
  meId?: string,
): U[] {
  const q = query.toLocaleLowerCase();
  const prefix: U[] = [];
  const word: U[] = [];
  const seen = new Set<string>();
  for (const person of people) {
    if (person.id === meId) continue;
    const name = person.name.toLocaleLowerCase();
    if (seen.has(name)) continue;
    if (name.startsWith(q)) prefix.push(person);
    else if (name.split(/\s+/).some((w) => w.startsWith(q))) word.push(person);
    else continue;
    seen.add(name);
  }
  const byName = (a: U, b: U) => a.name.localeCompare(b.name);
  return [...prefix.sort(byName), ...word.sort(byName)].slice(
    0,
    MAX_SUGGESTIONS,
  );
}

/**
 * The draft with `@query` replaced by `@name ` and where the caret goes.
 *
 * @example
 * ```ts
 * complete("hi @an!", { start: 3, end: 6, query: "an" }, "Ana Lima");
 * // { text: "hi @Ana Lima !", caret: 13 }
 * ```
 */
export function complete(
  text: string,
  at: MentionQuery,
  name: string,
): { text: string; caret: number } {
  const inserted = `@${name} `;
  return {
    text: text.slice(0, at.start) + inserted + text.slice(at.end),
    caret: at.start + inserted.length,
  };
}
