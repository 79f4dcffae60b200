/**
 * Room names and display names: their limits and the one normalization each
 * gets wherever it comes from (a URL, a form, a Google profile). Pure: safe to
 * import from islands.
 *
 * @module
 */

/** Longest room name after normalization. */
export const MAX_ROOM_CHARS = 64;
/** Longest display name after normalization. */
export const MAX_NAME_CHARS = 32;
/** Controls (but whitespace, which collapses to a space), zero-width, bidi-override and isolate characters. */
// deno-lint-ignore no-control-regex
const NAME_STRIP = new RegExp(
  "[\\u0000-\\u0008\\u000e-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff]",
  "g",
);

/**
 * Normalizes a room name (NFKC, lower case, spaces to `-`) and checks it is
 * 1–64 characters of `[a-z0-9-_]`. Returns `null` when it is not a valid room.
 *
 * @example
 * ```ts
 * normalizeRoomName(" General Chat "); // "general-chat"
 * normalizeRoomName("../etc");          // null
 * ```
 */
export function normalizeRoomName(input: string): string | null {
  if (typeof input !== "string" || input.length > MAX_ROOM_CHARS * 4) {
    return null;
  }
  const room = input.normalize("NFKC").trim().toLowerCase().replace(
    /\s+/g,
    "-",
  );
  if (room.length < 1 || room.length > MAX_ROOM_CHARS) return null;
  return /^[a-z0-9_-]+$/.test(room) ? room : null;
}

/**
 * The room name closest to what someone typed, for offering it when
 * {@link normalizeRoomName} refuses the input: accents dropped, every run of
 * other characters turned into one `-`, no `-` at either end, cut to
 * {@link MAX_ROOM_CHARS}. Returns `null` when nothing usable is left.
 *
 * @example
 * ```ts
 * suggestRoomName("My Room!"); // "my-room"
 * suggestRoomName("Café");     // "cafe"
 * suggestRoomName("!!!");      // null
 * ```
 */
export function suggestRoomName(input: string): string | null {
  if (typeof input !== "string") return null;
  const room = input.slice(0, MAX_ROOM_CHARS * 4).normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_ROOM_CHARS)
    .replace(/-+$/, "");
  return normalizeRoomName(room);
}

/**
 * Normalizes a display name: NFKC, control and bidi-override characters
 * removed, inner whitespace collapsed, trimmed. Returns `null` unless the result
 * is 1–32 characters.
 */
export function normalizeDisplayName(input: unknown): string | null {
  if (typeof input !== "string" || input.length > MAX_NAME_CHARS * 8) {
    return null;
  }
  const name = input.normalize("NFKC")
    .replace(NAME_STRIP, "")
    .replace(/\s+/g, " ")
    .trim();
  if (name.length < 1 || name.length > MAX_NAME_CHARS) return null;
  return name;
}

/**
 * A display name from a profile we do not control (Google's): the same
 * normalization as {@link normalizeDisplayName}, but a long name is cut to
 * {@link MAX_NAME_CHARS} (at a character boundary) rather than refused.
 * Returns `null` when nothing is left.
 *
 * @example
 * ```ts
 * profileDisplayName("Ana\u202e Lima"); // "Ana Lima"
 * ```
 */
export function profileDisplayName(input: unknown): string | null {
  if (typeof input !== "string") return null;
  const name = input.slice(0, MAX_NAME_CHARS * 8).normalize("NFKC")
    .replace(NAME_STRIP, "")
    .replace(/\s+/g, " ")
    .trim();
  const cut = [...name].slice(0, MAX_NAME_CHARS).join("").slice(
    0,
    MAX_NAME_CHARS,
  ).trim();
  return normalizeDisplayName(cut);
}

/**
 * Room names of direct messages begin with this (`dm-` and a hash of the two
 * user ids). Only the direct-message path makes such a room; every other
 * path finds it hidden (see `lib/chat/access.ts`).
 */
export const DIRECT_ROOM_PREFIX = "dm-";

/**
 * Whether `room` is a direct-message room's name.
 *
 * @example
 * ```ts
 * isDirectRoom("dm-0f3a…"); // true
 * isDirectRoom("general");  // false
 * ```
 */
export function isDirectRoom(room: string): boolean {
  return room.startsWith(DIRECT_ROOM_PREFIX);
}
