/**
 * Guest identities: a display name and a fresh id, nothing stored.
 *
 * @module
 */

import type { ChatUser } from "../chat/types.ts";
import { normalizeDisplayName } from "../chat/names.ts";

/**
 * Makes a guest user from a submitted display name, or `null` when the name
 * is not 1–32 characters after normalization.
 */
export function createGuest(name: unknown): ChatUser | null {
  const clean = normalizeDisplayName(name);
  return clean
    ? { id: `guest:${crypto.randomUUID()}`, name: clean, kind: "guest" }
    : null;
}
