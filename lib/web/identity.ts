/**
 * Telling people apart at a glance: a colour and a short discriminator
 * derived from a user's id (never the name, which anyone can choose), so two
 * guests called "Ana Lima" look different. Pure and browser-safe.
 *
 * @module
 */

/** Hex digits in a discriminator: 4,096 values, enough to tell a room's namesakes apart at a glance. */
export const DISCRIMINATOR_CHARS = 3;

/** FNV-1a (32 bits) of `s`: small, fast, well spread for short strings. */
export function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A short tag derived from a user id, shown after the name.
 *
 * @example
 * ```ts
 * discriminator("guest:5b0d…"); // e.g. "4f2"
 * ```
 */
export function discriminator(id: string): string {
  return idHash(id).toString(16).padStart(8, "0").slice(0, DISCRIMINATOR_CHARS);
}

/**
 * Which of `count` avatar colours a user gets, from their id (a different
 * part of the hash than the discriminator uses).
 */
export function colorIndex(id: string, count: number): number {
  return (idHash(id) & 0xffff) % count;
}
